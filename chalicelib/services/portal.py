"""What a tenant's users can do in the portal, always within their own tenant."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from chalicelib.control import runtime
from chalicelib.domain import rules, templates, validation
from chalicelib.domain.errors import RateLimitedError, ValidationError
from chalicelib.domain.statuses import TemplateType
from chalicelib.domain.summary import WEEK_MS, Summary, summarize
from chalicelib.domain.transitions import Actor, Event
from chalicelib.domain.views import HistoryView, MessageView, SetupRequestView, TenantView
from chalicelib.store import (
    history,
    media,
    messages,
    portal_events,
    replies,
    setup_requests,
    tenants,
    views,
)


def tenant(tenant_id: str) -> TenantView:
    """The tenant's state (one read)."""
    return views.tenant(tenants.get_tenant(tenant_id))


def message_page(
    tenant_id: str, *, limit: int, cursor: str | None
) -> tuple[list[MessageView], str | None]:
    """Logged messages, newest first."""
    page = messages.list_messages(tenant_id, limit=limit, cursor_token=cursor)
    return [views.message(m) for m in page.items], page.next_cursor


def history_page(
    tenant_id: str, *, limit: int, cursor: str | None, since_ms: int | None
) -> tuple[list[HistoryView], str | None]:
    """Status transitions, newest first."""
    page = history.list_history(tenant_id, limit=limit, cursor_token=cursor, since_ms=since_ms)
    return [views.history(h) for h in page.items], page.next_cursor


SUMMARY_READ_CAP = 2000  # messages read for the week's count at most (the rest: "at least")


def summary(tenant_id: str) -> Summary:
    """Replies of the last day and week, the last reply, the last problem and its end: one
    Query of the week's messages (capped) and one of the newest 100 history entries."""
    now = runtime.get().clock.now_ms()
    replies, more = messages.replies_since(tenant_id, now - WEEK_MS, cap=SUMMARY_READ_CAP)
    recent = history.list_history(tenant_id, limit=100)
    return summarize(
        [views.message(m) for m in replies],
        [views.history(h) for h in recent.items],
        now_ms=now,
        more=more,
    )


def current_setup_request(tenant_id: str) -> SetupRequestView | None:
    """The tenant's latest setup request, if any."""
    request = setup_requests.current_for(tenant_id, tenants.get_tenant(tenant_id).setup_id)
    return views.setup_request(request) if request else None


def submit_setup_request(
    tenant_id: str,
    user_id: str,
    *,
    template: TemplateType,
    whatsapp_number: str,
    business_name: str | None,
    notes: str | None,
) -> SetupRequestView:
    """Ask for a bot; the request and its audit entry are one transaction."""
    request = setup_requests.submit(
        tenant_id,
        user_id,
        template=template,
        whatsapp_number=whatsapp_number,
        business_name=business_name,
        notes=notes,
        now_ms=runtime.get().clock.now_ms(),
    )
    return views.setup_request(request)


def set_paused(tenant_id: str, user_id: str, *, paused: bool) -> TenantView:
    """Stop or start replying (the worker stays linked)."""
    now = runtime.get().clock.now_ms()
    event = Event.PAUSED if paused else Event.RESUMED
    tenants.apply_event(tenant_id, event, Actor.TENANT, now_ms=now)
    portal_events.record(tenant_id, user_id, f"tenant.{event.value}", now_ms=now)
    return views.tenant(tenants.get_tenant(tenant_id, consistent=True))


def choose_link_method(
    tenant_id: str, user_id: str, *, code: bool, phone: str | None
) -> str | None:
    """Link by pairing code (``code``) or by QR. A code is only ever for the tenant's own
    approved number (WhatsApp prompts that phone): ``phone``, if given, must be it. Each code
    asked for is in the event log, and so is each refused for asking too often."""
    now = runtime.get().clock.now_ms()
    if not code:
        tenants.request_pairing_code(tenant_id, None, now_ms=now)
        portal_events.record(tenant_id, user_id, "tenant.link_qr", now_ms=now)
        return None
    approved = tenants.get_tenant(tenant_id, consistent=True).phone
    if not approved:
        raise ValidationError("phone", "your WhatsApp number is not approved yet: request setup")
    if phone is not None and phone != approved:
        masked = validation.mask_number(approved)
        raise ValidationError("phone", f"a code can only be for your approved number {masked}")
    try:
        tenants.request_pairing_code(tenant_id, approved, now_ms=now)
    except RateLimitedError:
        portal_events.record(tenant_id, user_id, "tenant.link_code_refused", now_ms=now)
        raise
    portal_events.record(tenant_id, user_id, "tenant.link_code", now_ms=now)
    return approved


def replies_doc(tenant_id: str) -> dict[str, Any]:
    """The owner's replies (None until saved), the starting point of the business type, and
    the kept versions (who saved each, when)."""
    item = tenants.get_tenant(tenant_id, consistent=True)
    version, kept = replies.versions(tenant_id)
    starting = rules.Rules(topics=templates.of(item.template_type).topics)
    return {
        "version": version,
        "rules": json.loads(item.rules) if item.rules else None,
        "starting": rules.to_doc(starting),
        "versions": [
            {"version": v["version"], "at": v["at"], "by": v["by"]} for v in reversed(kept)
        ],
    }


def save_replies(tenant_id: str, who: str, doc: Any, *, base: int) -> int:
    """Validate and save a new version (409 if another was saved since ``base``). Every file
    an answer carries is checked in S3 by its content first."""
    parsed = rules.parse(doc)
    topics = tuple(
        dataclasses.replace(t, media=media.check(tenant_id, t.media, f"topics.{n}.media"))
        if t.media
        else t
        for n, t in enumerate(parsed.topics)
    )
    clean = rules.to_doc(dataclasses.replace(parsed, topics=topics))
    now = runtime.get().clock.now_ms()
    version = replies.save(tenant_id, clean, base=base, user_id=who, now_ms=now)
    portal_events.record(tenant_id, who, "tenant.replies_saved", now_ms=now, version=version)
    return version


def restore_replies(tenant_id: str, who: str, version: int) -> int:
    """Save a kept version again, as the newest."""
    current, rules_then = replies.saved(tenant_id, version)
    return save_replies(tenant_id, who, rules_then, base=current)


def preview_reply(
    tenant_id: str, text: str, *, at_ms: int | None, doc: Any, number: str | None
) -> rules.Outcome:
    """What the bot would answer ``text`` at ``at_ms`` (now if None), with the saved replies or
    the unsaved ``doc`` being edited: the worker's own function. From ``number``, the bot
    decides with what it knows of that contact's chat (taken over, opted out, greeted); from
    nobody, as for a contact it never wrote to."""
    item = tenants.get_tenant(tenant_id, consistent=True)
    saved = json.loads(item.rules) if item.rules else {}
    current = rules.parse(doc if doc is not None else saved)
    now = at_ms if at_ms is not None else runtime.get().clock.now_ms()
    record = messages.chat_record(tenant_id, number[1:] + "@c.us") if number else rules.NEW_CHAT
    name, kind = item.name, item.template_type
    return rules.reply(current, kind, name, number or "", text, record=record, now_ms=now)


def upload_media(tenant_id: str, who: str, doc: Any) -> dict[str, Any]:
    """Where the browser uploads a picture or PDF for an answer (a presigned POST)."""
    if not isinstance(doc, dict):
        raise ValidationError("body", "must be an object")
    post = media.upload(tenant_id, name=doc.get("name"), kind=doc.get("type"), size=doc.get("size"))
    now = runtime.get().clock.now_ms()
    portal_events.record(tenant_id, who, "tenant.media_upload", now_ms=now, media=post["id"])
    return post
