"""What a worker host may do in DynamoDB, declared once.

The worker's task role is built from this (``infra/wafleet_infra/workers.py``), a template test
checks the synthesized role against it, and the process tests check every request the worker
hosts really make against it (``tests/aws_requests.py``). A worker never touches users, webhook
endpoints and deliveries, portal events or setup requests. On the tenant item it writes only
what a worker owns; what the API owns (the business name, its number, the template, the setup
status, the operator's intent, the number to link by code, the restart count) is out of reach.
"""

from __future__ import annotations

from pynamodb.attributes import Attribute

from chalicelib.store.models import SetupRequestModel, TenantModel

# Settings field of the table -> DynamoDB actions (without the "dynamodb:" prefix). Writes to
# the tenants table are TENANT_WRITES below, each limited to WORKER_TENANT_ATTRIBUTES.
WORKER_TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "tenants_table": ("GetItem",),
    # A status change's entry, in the transaction that changes the status.
    "history_table": ("PutItem",),
    "messages_table": ("GetItem", "PutItem", "UpdateItem", "Query"),
    # Its own heartbeat and placements; a draining host looks for one with room (Scan) and
    # places a tenant there.
    "hosts_table": ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"),
}
TENANT_WRITES = ("UpdateItem", "ConditionCheckItem")
# The files answers carry (``store.media``): the worker only reads them.
WORKER_MEDIA_ACTIONS = ("s3:GetObject",)

_t = TenantModel
_WORKER_OWNED: tuple[Attribute, ...] = (  # type: ignore[type-arg]
    _t.tenant_id,  # the key: every request names it
    # the three statuses, and what a status change writes with them
    _t.tenant_status,
    _t.session_state,
    _t.worker_status,
    _t.seq,
    _t.last_event,
    _t.updated_at,
    # the lease (a drained host starts its tenant elsewhere: a new lease, through the table)
    _t.owner_id,
    _t.lease_epoch,
    _t.started_at,
    _t.task_ref,
    # liveness and memory
    _t.heartbeat_at,
    _t.last_seen_at,
    _t.host_share_mb,
    _t.browser_mb,
    _t.browser_cpu,
    # the code on screen, and when the phone linked
    _t.qr_payload,
    _t.qr_at,
    _t.qr_attempt,
    _t.qr_attempts_max,
    _t.qr_expires_at,
    _t.qr_kind,
    _t.linked_at,
    _t.other_number,
    # the canary's last result
    _t.canary_at,
    _t.canary_ok,
    _t.canary_ms,
    _t.canary_fails,
    # the WhatsApp Web page it served
    _t.wa_served,
    _t.wa_refused,
    # reconnects and errors
    _t.reconnect_attempts,
    _t.next_retry_at,
    _t.last_error,
    _t.last_error_at,
)
WORKER_TENANT_ATTRIBUTES: frozenset[str] = frozenset(str(a.attr_name) for a in _WORKER_OWNED)
# Everything else on the tenant item belongs to the API and the operators.
API_TENANT_ATTRIBUTES: frozenset[str] = (
    frozenset(str(a.attr_name) for a in TenantModel.get_attributes().values())
    - WORKER_TENANT_ATTRIBUTES
)

# The stream function's one write (``setup_requests.activate`` on a worker's READY): the setup
# status of the tenant item and of its request, nothing else.
ACTIVATION_TENANT_ATTRIBUTES: frozenset[str] = frozenset(
    str(a.attr_name)
    for a in (_t.tenant_id, _t.setup_id, _t.setup_status, _t.updated_at, _t.link_phone)
)
ACTIVATION_REQUEST_ATTRIBUTES: frozenset[str] = frozenset(
    str(a.attr_name) for a in (SetupRequestModel.request_id, SetupRequestModel.status)
)
