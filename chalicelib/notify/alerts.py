"""E-mails to a tenant's owners when the bot needs them, and when it is back.

Causes: a code to link is waiting, the phone logged the bot out, the bot has not answered
for ``alert_error_after_s``, and back to normal after any of those. At most one mail per
cause per hour; owners can turn them off (``hooks.set_alerts``).
"""

from __future__ import annotations

import logging

from chalicelib.control import runtime
from chalicelib.domain.words import LOGGED_OUT
from chalicelib.notify import queue
from chalicelib.store import hooks
from chalicelib.store.models import UserModel

logger = logging.getLogger(__name__)
EVERY_MS = 3600 * 1000
PROBLEMS = ("code_waiting", "logged_out", "not_answering")
# "Answering again" ends an outage the owner was told of; a first link ends none.
OUTAGES = ("logged_out", "not_answering")

SUBJECT = {
    "code_waiting": "Your WhatsApp bot is waiting for you to link it",
    "logged_out": "Your WhatsApp bot was logged out",
    "not_answering": "Your WhatsApp bot is not answering",
    "back": "Your WhatsApp bot is answering again",
}
TEXT = {
    "code_waiting": "Open the linking page and scan the code with WhatsApp on your phone:",
    "logged_out": "WhatsApp logged your bot out. Link it again from the linking page:",
    "not_answering": "Your bot has not answered for a while. See what is going on:",
    "back": "Your bot is linked and answers your customers again. Its status:",
}
PAGE = {
    "code_waiting": "whatsapp.html",
    "logged_out": "whatsapp.html",
    "not_answering": "status.html",
    "back": "status.html",
}


def cause_of(event: str, detail: str | None, to_tenant: str, from_tenant: str) -> str | None:
    """Which alert a status change calls for, if any (``not_answering`` comes from the
    reaper: only an ERROR that lasts is worth a mail)."""
    if event == "qr" and from_tenant != "QR_PENDING":
        return "code_waiting"
    if event == "auth_failure" and (detail or "").startswith(LOGGED_OUT):
        return "logged_out"
    if to_tenant == "ACTIVE" and from_tenant != "ACTIVE":
        return "back"
    return None


def owners(tenant_id: str) -> list[str]:
    """The e-mail addresses of a tenant's users."""
    return [u.email for u in UserModel.scan(UserModel.tenant_id == tenant_id) if u.email]


def notify(tenant_id: str, cause: str) -> bool:
    """Mail the owners about ``cause`` unless turned off or mailed within the hour."""
    rt = runtime.get()
    settings = rt.settings
    if not settings.alert_from or not hooks.alerts_enabled(tenant_id):
        return False
    now = rt.clock.now_ms()
    if cause == "back":
        # Only worth saying if the owner was told of an outage since the last "back"; and
        # then always (not once an hour): every "not answering" gets its "answering again".
        told = [hooks.last_mail(tenant_id, c) or 0 for c in OUTAGES]
        if max(told) <= (hooks.last_mail(tenant_id, "back") or 0):
            return False
    every = 0 if cause == "back" else EVERY_MS
    to = owners(tenant_id)
    if not to or not hooks.claim_mail(tenant_id, cause, now_ms=now, every_ms=every):
        return False
    link = f"{settings.portal_url.rstrip('/')}/{PAGE[cause]}"
    text = f"{TEXT[cause]}\n\n{link}\n\nTurn these e-mails off on the Notifications page.\n"
    queue.send_mail(to, SUBJECT[cause], text)
    logger.info("owner alert sent", extra={"tenant_id": tenant_id, "cause": cause})
    return True
