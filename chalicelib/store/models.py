"""PynamoDB models, one per table.

The tenant item is written on every heartbeat, so its attribute names are short (DynamoDB bills
on the names too) and nothing large lives in it: the QR is kept as its raw payload and rendered
on read. ``infra/`` creates the same tables; a test proves the two agree.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.domain.errors import ConfigError
from chalicelib.settings import Settings

# Bounds that keep the tenant item under 1 KB in its largest form (asserted by a test).
MAX_NAME = 64
MAX_PHONE = 20
MAX_ERROR = 160
MAX_QR_PAYLOAD = 320
MAX_TASK_REF = 128


class TenantModel(Model):
    """The per-tenant state item: profile, the three statuses, lease, heartbeat, QR payload."""

    class Meta:
        table_name = "wafleet-tenants"
        region = "us-east-1"

    tenant_id = UnicodeAttribute(hash_key=True, attr_name="tid")
    name = UnicodeAttribute(attr_name="n")
    phone = UnicodeAttribute(null=True, attr_name="ph")
    created_at = NumberAttribute(attr_name="ca")
    tenant_status = UnicodeAttribute(attr_name="ts")
    session_state = UnicodeAttribute(attr_name="ss")
    worker_status = UnicodeAttribute(attr_name="ws")
    # Lease: a launch raises the epoch and sets a fresh owner; every worker write checks both.
    owner_id = UnicodeAttribute(null=True, attr_name="own")
    lease_epoch = NumberAttribute(default=0, attr_name="ep")
    # Status changes so far: orders history entries written in the same millisecond.
    seq = NumberAttribute(default=0, attr_name="sq")
    heartbeat_at = NumberAttribute(null=True, attr_name="hb")
    last_seen_at = NumberAttribute(null=True, attr_name="ls")
    started_at = NumberAttribute(null=True, attr_name="st")
    last_error = UnicodeAttribute(null=True, attr_name="er")
    last_error_at = NumberAttribute(null=True, attr_name="era")
    qr_payload = UnicodeAttribute(null=True, attr_name="qr")
    qr_at = NumberAttribute(null=True, attr_name="qa")
    qr_attempt = NumberAttribute(null=True, attr_name="qn")
    qr_attempts_max = NumberAttribute(null=True, attr_name="qm")
    qr_expires_at = NumberAttribute(null=True, attr_name="qx")
    qr_kind = UnicodeAttribute(null=True, attr_name="qk")  # "pairing" for a pairing code
    link_phone = UnicodeAttribute(null=True, attr_name="lp")  # link by pairing code for this number
    # When pairing codes were asked for in the last hour (ms): at most LINK_CODES_PER_HOUR.
    link_code_times: ListAttribute[float] = ListAttribute(
        of=NumberAttribute,  # type: ignore[arg-type]
        null=True,
        attr_name="lct",
    )
    linked_at = NumberAttribute(null=True, attr_name="lk")  # first ready since the last code
    # The number the phone linked ("+<digits>", as the page says) when it is not ``phone``:
    # written by the worker; while it is set no reply is claimed, until an operator confirms it.
    other_number = UnicodeAttribute(null=True, attr_name="onum")
    # The owner's replies (chalicelib/domain/rules.py) as JSON, and their version: the worker
    # reads them with the tenant item for each answer. Earlier versions: ``RulesModel``.
    rules = UnicodeAttribute(null=True, attr_name="rul")
    rules_version = NumberAttribute(null=True, attr_name="rv")
    # The canary (chalicelib/domain/canary.py), paired by an operator: this tenant probes
    # ``canary_peer``'s number, and answers probes from ``canary_of``'s. The worker writes
    # the last result: when, answered, round trip, failures in a row.
    canary_peer = UnicodeAttribute(null=True, attr_name="cyp")
    canary_peer_id = UnicodeAttribute(null=True, attr_name="cyi")
    canary_of = UnicodeAttribute(null=True, attr_name="cyo")
    canary_at = NumberAttribute(null=True, attr_name="cya")
    canary_ok = BooleanAttribute(null=True, attr_name="cyk")
    canary_ms = NumberAttribute(null=True, attr_name="cym")
    canary_fails = NumberAttribute(null=True, attr_name="cyf")
    # A pinned WhatsApp Web version (chalicelib/domain/wa_version.py), set by an operator; and
    # what the worker served at its last launch (the version, or "live") and, when that is not
    # the pin, why (not in the host's image, expired).
    wa_version = UnicodeAttribute(null=True, attr_name="wav")
    wa_served = UnicodeAttribute(null=True, attr_name="was")
    wa_refused = UnicodeAttribute(null=True, attr_name="war")
    reconnect_attempts = NumberAttribute(null=True, attr_name="ra")
    next_retry_at = NumberAttribute(null=True, attr_name="nr")
    # Current setup request, denormalised so a status read is one GetItem.
    setup_id = UnicodeAttribute(null=True, attr_name="sid")
    setup_status = UnicodeAttribute(null=True, attr_name="sst")
    template_type = UnicodeAttribute(null=True, attr_name="tt")
    # Operator intent: "RUN" or "STOP". An operator's stop is remembered; auto-restart obeys it.
    desired = UnicodeAttribute(null=True, attr_name="dw")
    task_ref = UnicodeAttribute(null=True, attr_name="tk")
    # The session's share of its host's own memory (Python, Playwright driver), in MB.
    host_share_mb = NumberAttribute(null=True, attr_name="rss")
    browser_mb = NumberAttribute(null=True, attr_name="bmb")
    # Its browser's CPU, as a share of one core over the last heartbeat interval.
    browser_cpu = NumberAttribute(null=True, attr_name="bcpu")
    restarts = NumberAttribute(null=True, attr_name="rc")
    restart_at = NumberAttribute(null=True, attr_name="rat")
    last_event = UnicodeAttribute(null=True, attr_name="lev")  # cause of the newest status change
    updated_at = NumberAttribute(null=True, attr_name="ua")


class HistoryModel(Model):
    """One status transition: from, to, cause, epoch, actor, time. Written with the transition."""

    class Meta:
        table_name = "wafleet-history"
        region = "us-east-1"

    tenant_id = UnicodeAttribute(hash_key=True, attr_name="tid")
    sk = UnicodeAttribute(range_key=True)  # "<at_ms:013d>#<seq:08d>": newest sorts last
    at = NumberAttribute()
    event = UnicodeAttribute()
    actor = UnicodeAttribute()
    epoch = NumberAttribute()
    from_tenant = UnicodeAttribute(attr_name="ft")
    from_session = UnicodeAttribute(attr_name="fs")
    from_worker = UnicodeAttribute(attr_name="fw")
    to_tenant = UnicodeAttribute(attr_name="tt")
    to_session = UnicodeAttribute(attr_name="ts")
    to_worker = UnicodeAttribute(attr_name="tw")
    detail = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True, attr_name="exp")  # TTL, epoch seconds


class MessagesByTime(LocalSecondaryIndex["MessageModel"]):
    """Newest-first log pages: one Query on (tenant, time)."""

    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True, attr_name="tid")
    time_key = UnicodeAttribute(range_key=True, attr_name="tk")


class MessageModel(Model):
    """An inbound or outbound message. The key embeds the WhatsApp id, so a put can dedupe."""

    class Meta:
        table_name = "wafleet-messages"
        region = "us-east-1"

    tenant_id = UnicodeAttribute(hash_key=True, attr_name="tid")
    message_key = UnicodeAttribute(range_key=True, attr_name="mk")  # "in#<wa id>" / "out#<wa id>"
    time_key = UnicodeAttribute(attr_name="tk")  # "<at_ms:013d>#<message_key>"
    direction = UnicodeAttribute()  # IN / OUT
    wa_message_id = UnicodeAttribute(attr_name="wid")
    from_number = UnicodeAttribute(null=True, attr_name="fn")
    to_number = UnicodeAttribute(null=True, attr_name="tn")
    text = UnicodeAttribute(null=True)
    at = NumberAttribute()
    state = UnicodeAttribute(null=True)  # inbound: RECEIVED -> REPLIED / IGNORED
    reply_to = UnicodeAttribute(null=True, attr_name="rt")
    chat = UnicodeAttribute(null=True, attr_name="ch")  # WhatsApp chat id (…@c.us or …@lid)
    expires_at = NumberAttribute(null=True, attr_name="exp")  # TTL, epoch seconds
    why = UnicodeAttribute(null=True)  # inbound IGNORED: why the bot stayed silent
    media = UnicodeAttribute(null=True, attr_name="med")  # reply: the file it carries (JSON)
    by_time = MessagesByTime()


class ChatModel(Model):
    """One chat's record for the bot: taken over by a person until, opted out, the recent
    automated replies. Kept in the messages table under ``chat#<chat id>`` without a time key,
    so the log's index never lists it."""

    class Meta:
        table_name = "wafleet-messages"
        region = "us-east-1"

    tenant_id = UnicodeAttribute(hash_key=True, attr_name="tid")
    key = UnicodeAttribute(range_key=True, attr_name="mk")
    taken_over_until = NumberAttribute(null=True, attr_name="tko")
    opted_out = BooleanAttribute(default=False, attr_name="opt")
    replies: ListAttribute[float] = ListAttribute(
        of=NumberAttribute,  # type: ignore[arg-type]
        null=True,
        attr_name="rr",
    )
    greeted_at = NumberAttribute(null=True, attr_name="grt")
    away_for = NumberAttribute(null=True, attr_name="awf")


class SetupByStatus(GlobalSecondaryIndex["SetupRequestModel"]):
    """Admin queue: requests in one status, oldest first."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class SetupRequestModel(Model):
    """A tenant's request to set up its bot: template and WhatsApp number; admins decide."""

    class Meta:
        table_name = "wafleet-setup-requests"
        region = "us-east-1"

    request_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    template_type = UnicodeAttribute()
    whatsapp_number = UnicodeAttribute()
    business_name = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = NumberAttribute()
    decided_at = NumberAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    by_status = SetupByStatus()


class NumberModel(Model):
    """Which tenant holds a WhatsApp number: one item per number, kept in the setup-requests
    table under ``num#<E164>`` (no ``status``, so the admin queue's index never lists it) and
    only ever written conditionally, so two tenants can never hold one number."""

    class Meta:
        table_name = "wafleet-setup-requests"
        region = "us-east-1"

    key = UnicodeAttribute(hash_key=True, attr_name="request_id")
    tenant_id = UnicodeAttribute()
    state = UnicodeAttribute()  # REQUESTED (a setup request is open) or APPROVED
    at = NumberAttribute()


class RulesModel(Model):
    """The last versions of a tenant's replies (who saved each, when), kept in the
    setup-requests table under ``rules#<tenant>`` (no ``status``: never in the admin queue)."""

    class Meta:
        table_name = "wafleet-setup-requests"
        region = "us-east-1"

    key = UnicodeAttribute(hash_key=True, attr_name="request_id")
    version = NumberAttribute()
    versions = UnicodeAttribute()  # JSON: [{"version", "at", "by", "rules"}], newest last


def number_key(number: str) -> str:
    return "num#" + number


class PortalEventModel(Model):
    """What users did in the portal (audit trail): setup submitted, paused, worker restarted..."""

    class Meta:
        table_name = "wafleet-portal-events"
        region = "us-east-1"

    tenant_id = UnicodeAttribute(hash_key=True, attr_name="tid")
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    payload = UnicodeAttribute(null=True)  # small JSON, never secrets or message text
    at = NumberAttribute()
    expires_at = NumberAttribute(null=True, attr_name="exp")  # TTL, epoch seconds


class UsersByEmail(GlobalSecondaryIndex["UserModel"]):
    """Find a user by e-mail (CLI, local sign-in)."""

    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class UserModel(Model):
    """Membership: a signed-in user (token subject) belongs to exactly one tenant."""

    class Meta:
        table_name = "wafleet-users"
        region = "us-east-1"

    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    tenant_id = UnicodeAttribute(null=True)  # admins may have none
    role = UnicodeAttribute()  # "tenant" or "admin"
    created_at = NumberAttribute()
    by_email = UsersByEmail()


class HookModel(Model):
    """A tenant's notification settings, one table, by sort key:

    ``ep#<id>`` a webhook endpoint; ``dl#<id>#<event id>`` one delivery of an event to it;
    ``mail#<cause>`` when the owner was last mailed for a cause; ``prefs`` the owner's choices.
    """

    class Meta:
        table_name = "wafleet-hooks"
        region = "us-east-1"

    tenant_id = UnicodeAttribute(hash_key=True, attr_name="tid")
    sk = UnicodeAttribute(range_key=True)
    url = UnicodeAttribute(null=True)
    events = UnicodeSetAttribute(null=True)
    secret = UnicodeAttribute(null=True)  # HMAC key; shown to the tenant once
    enabled = BooleanAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    # deliveries
    event_type = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)  # the event JSON as sent (signed as is)
    state = UnicodeAttribute(null=True)  # PENDING, DELIVERED, FAILED (retrying), DEAD, GONE
    attempts = NumberAttribute(null=True)
    next_at = NumberAttribute(null=True)
    last_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    # mail throttle and preferences
    sent_at = NumberAttribute(null=True)
    alerts = BooleanAttribute(null=True)
    expires_at = NumberAttribute(null=True, attr_name="exp")  # TTL, epoch seconds


class HostModel(Model):
    """Worker hosts (tasks that run several tenants) and what is placed on them, by sort key:

    ``host`` the host itself (status, room, heartbeat, memory); ``t#<tenant id>`` one tenant
    placed on it, with the lease its session must run under. A host reads its whole partition
    with one Query; nothing here is indexed, so a host's heartbeat writes one item only.
    """

    class Meta:
        table_name = "wafleet-hosts"
        region = "us-east-1"

    host_id = UnicodeAttribute(hash_key=True, attr_name="hid")
    sk = UnicodeAttribute(range_key=True)
    # the host
    status = UnicodeAttribute(null=True, attr_name="s")  # STARTING, RUNNING, DRAINING, GONE
    task_ref = UnicodeAttribute(null=True, attr_name="tk")
    capacity = NumberAttribute(null=True, attr_name="cap")  # tenants it may hold now
    assigned = NumberAttribute(null=True, attr_name="n")  # placements (changed with them)
    heartbeat_at = NumberAttribute(null=True, attr_name="hb")
    created_at = NumberAttribute(null=True, attr_name="ca")
    pss_mb = NumberAttribute(null=True, attr_name="mb")  # the whole host, PSS
    limit_mb = NumberAttribute(null=True, attr_name="lim")  # its task's memory
    tenant_mb: MapAttribute[str, float] = MapAttribute(
        null=True, attr_name="tm"
    )  # tenant id -> its browser's PSS
    reason = UnicodeAttribute(null=True, attr_name="why")  # why it drains or went away
    expires_at = NumberAttribute(null=True, attr_name="exp")  # TTL once GONE, epoch seconds
    # a placement
    owner_id = UnicodeAttribute(null=True, attr_name="own")
    epoch = NumberAttribute(null=True, attr_name="ep")
    placed_at = NumberAttribute(null=True, attr_name="pa")


ALL_MODELS: tuple[type[Model], ...] = (
    TenantModel,
    HistoryModel,
    MessageModel,
    SetupRequestModel,
    PortalEventModel,
    UserModel,
    HookModel,
    HostModel,
)


_shared: Connection | None = None
_endpoints: dict[str, str | None] = {}  # table name -> the endpoint it was bound to


def shared_connection() -> Connection:
    """The connection every transaction (and the server clock) uses: one client, one HTTP
    pool, rather than a new client per transaction."""
    global _shared
    meta: Any = TenantModel.Meta
    host = getattr(meta, "host", None)
    if _shared is None or _shared.region != meta.region or _shared.host != host:
        _shared = Connection(region=meta.region, host=host)
    return _shared


def bind(settings: Settings) -> None:
    """Point every model at the tables, region and endpoint of ``settings``.

    PynamoDB keeps a model's connection while its table name stays the same, so a table
    name is bound to one endpoint for the life of the process (tests that use two endpoints
    give their tables other names).
    """
    from chalicelib.store import cursor

    cursor.configure(settings.cursor_key)
    names = {
        TenantModel: settings.tenants_table,
        HistoryModel: settings.history_table,
        MessageModel: settings.messages_table,
        ChatModel: settings.messages_table,
        SetupRequestModel: settings.setup_table,
        NumberModel: settings.setup_table,
        RulesModel: settings.setup_table,
        PortalEventModel: settings.events_table,
        UserModel: settings.users_table,
        HookModel: settings.hooks_table,
        HostModel: settings.hosts_table,
    }
    for table in names.values():
        bound = _endpoints.setdefault(table, settings.dynamodb_endpoint)
        if bound != settings.dynamodb_endpoint:
            raise ConfigError(
                f"table {table} is bound to {bound or 'AWS'} in this process; "
                f"name the tables of {settings.dynamodb_endpoint or 'AWS'} otherwise"
            )
    for model, table in names.items():
        meta: Any = model.Meta
        meta.table_name = table
        meta.region = settings.region
        meta.host = settings.dynamodb_endpoint
        meta.billing_mode = "PAY_PER_REQUEST"


STREAMED: tuple[type[Model], ...] = (TenantModel, HistoryModel, MessageModel, SetupRequestModel)
"""Tables whose changes become webhooks and alerts (``chalicelib/notify``); infra/ streams
them too."""


def create_tables(*, wait: bool = True, streams: bool = False) -> None:
    """Create every table that does not exist yet (local stack and tests; AWS uses infra/).

    ``streams`` turns on the streams webhooks read (``make dev``); tests that do not need them
    leave them off, since moto keeps every stream record in memory.
    """
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=wait, billing_mode="PAY_PER_REQUEST")
            if streams and model in STREAMED:
                meta: Any = model.Meta
                client: Any = shared_connection().client
                client.update_table(
                    TableName=meta.table_name,
                    StreamSpecification={
                        "StreamEnabled": True,
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                )
