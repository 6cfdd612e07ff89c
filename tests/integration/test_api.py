"""The control-plane API through Chalice's test client: auth, isolation, validation, ETags."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from chalicelib.domain.clock import ManualClock
from chalicelib.domain.errors import TenantPausedError
from chalicelib.domain.transitions import Actor, Event
from chalicelib.store import messages, portal_events, tenants
from devstack.issuer import LocalIssuer
from tests.conftest import new_number
from tests.integration.conftest import Account, FakeLauncher

PORTAL_GETS = [
    "/portal/me",
    "/portal/tenant/current/status",
    "/portal/tenant/current/qr",
    "/portal/tenant/current/logs",
    "/portal/tenant/current/history",
    "/portal/tenant/current/setup-requests",
]
PORTAL_POSTS = [
    "/portal/tenant/current/setup-requests",
    "/portal/tenant/current/pause",
    "/portal/tenant/current/resume",
]
ADMIN_ROUTES = [
    ("GET", "/admin/tenants"),
    ("POST", "/admin/tenants"),
    ("GET", "/admin/tenants/{tid}"),
    ("GET", "/admin/setup-requests"),
    ("POST", "/admin/setup-requests/{rid}/approve"),
    ("POST", "/admin/setup-requests/{rid}/reject"),
    ("POST", "/admin/tenants/{tid}/worker/start"),
    ("POST", "/admin/tenants/{tid}/worker/stop"),
    ("POST", "/admin/tenants/{tid}/worker/restart"),
    ("GET", "/admin/hosts"),
    ("POST", "/admin/hosts/h_x/drain"),
]


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def post(client: Any, path: str, headers: dict[str, str], payload: Any = None) -> Any:
    data = json.dumps(payload) if payload is not None else ""
    return client.http.post(path, headers=headers, body=data)


# --- authentication ------------------------------------------------------------------------


def bad_tokens(issuer: LocalIssuer, sub: str) -> dict[str, str]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = issuer.token(sub)
    header, payload, _sig = good.split(".")
    none_alg = (
        base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
        + "."
        + payload
        + "."
    )
    return {
        "expired": issuer.token(sub, ttl_s=-120),
        "wrong issuer": issuer.token(sub, iss="https://evil.example.com"),
        "wrong audience": issuer.token(sub, aud="another-app"),
        "wrong key": jwt.encode(
            {
                "sub": sub,
                "iss": issuer.issuer,
                "aud": issuer.audience,
                "iat": 1,
                "exp": 9_999_999_999,
            },
            other_key,
            algorithm="RS256",
            headers={"kid": issuer.kid},
        ),
        "unknown kid": jwt.encode(
            {
                "sub": sub,
                "iss": issuer.issuer,
                "aud": issuer.audience,
                "iat": 1,
                "exp": 9_999_999_999,
            },
            other_key,
            algorithm="RS256",
            headers={"kid": "nope"},
        ),
        "alg none": none_alg,
        "hs256 with public key": jwt.encode({"sub": sub}, "secret", algorithm="HS256"),
        "tampered payload": header
        + "."
        + base64.urlsafe_b64encode(
            json.dumps(
                {
                    "sub": "someone-else",
                    "iss": issuer.issuer,
                    "aud": issuer.audience,
                    "iat": 1,
                    "exp": 9_999_999_999,
                }
            ).encode()
        )
        .decode()
        .rstrip("=")
        + "."
        + _sig,
        "garbage": "not.a.jwt",
    }


@pytest.mark.parametrize("path", PORTAL_GETS)
def test_missing_token_is_401_json(client: Any, path: str) -> None:
    response = client.http.get(path)
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "unauthorized"


def test_every_bad_token_is_401(client: Any, issuer: LocalIssuer, alice: Account) -> None:
    sub = "irrelevant"
    for name, token in bad_tokens(issuer, sub).items():
        for path in PORTAL_GETS:
            response = client.http.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (name, path, response.body)
    response = client.http.get(PORTAL_GETS[1], headers={"Authorization": alice.token})
    assert response.status_code == 401  # no "Bearer"


def test_valid_token_of_a_non_member_is_403(client: Any, issuer: LocalIssuer) -> None:
    token = issuer.token("not-in-users-table")
    response = client.http.get(PORTAL_GETS[1], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_tenant_users_get_403_on_every_admin_route(
    client: Any, alice: Account, method: str, path: str
) -> None:
    url = path.format(tid=alice.tenant_id, rid="sr_x")
    response = client.http.request(method, url, headers=alice.headers, body=b"{}")
    assert response.status_code == 403
    assert body(response)["error"]["code"] == "forbidden"


def test_health_needs_no_token(client: Any) -> None:
    assert client.http.get("/health").status_code == 200


# --- isolation -----------------------------------------------------------------------------


def test_no_portal_route_shows_another_tenants_data(
    client: Any, alice: Account, bob: Account, clock: ManualClock
) -> None:
    messages.record_inbound(
        alice.tenant_id,
        "alice-msg",
        from_number="+15550000001",
        to_number=None,
        text="alice secret order",
        at_ms=clock.now_ms(),
    )
    post(
        client,
        "/portal/tenant/current/setup-requests",
        alice.headers,
        {"templateType": "SALON", "whatsappNumber": new_number(), "businessName": "Alice"},
    )
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    tenants.apply_event(
        alice.tenant_id,
        Event.QR,
        Actor.WORKER,
        now_ms=clock.now_ms(),
        lease=lease,
        qr=tenants.QrCode("2@alice-qr", 1, 6, clock.now_ms() + 60000),
    )
    alice_markers = [alice.tenant_id, "Alice Bakery", "alice secret", "alice-msg", "alice-qr"]
    for path in PORTAL_GETS:
        response = client.http.get(path, headers=bob.headers)
        assert response.status_code == 200, path
        text = response.body.decode()
        for marker in alice_markers:
            assert marker not in text, (path, marker)
    # Query strings that name Alice's tenant are ignored: "current" is always the caller's.
    response = client.http.get(
        f"/portal/tenant/current/status?tenantId={alice.tenant_id}", headers=bob.headers
    )
    assert body(response)["tenant"]["id"] == bob.tenant_id
    for path in PORTAL_POSTS:
        post(client, path, bob.headers, {"templateType": "SHOP", "whatsappNumber": new_number()})
    alice_item = tenants.get_tenant(alice.tenant_id)
    assert alice_item.tenant_status == "QR_PENDING"
    assert alice_item.template_type == "SALON"


def test_a_cursor_from_another_tenant_is_refused(
    client: Any, alice: Account, bob: Account, clock: ManualClock
) -> None:
    for i in range(3):
        messages.record_inbound(
            alice.tenant_id,
            f"a{i}",
            from_number="+1555",
            to_number=None,
            text="x",
            at_ms=clock.now_ms() + i,
        )
    cursor = body(client.http.get("/portal/tenant/current/logs?limit=1", headers=alice.headers))[
        "nextCursor"
    ]
    assert cursor
    response = client.http.get(
        f"/portal/tenant/current/logs?limit=1&cursor={cursor}", headers=bob.headers
    )
    assert response.status_code == 400
    assert body(response)["error"]["field"] == "cursor"


# --- status, QR, ETags ---------------------------------------------------------------------


def test_status_shape_and_etag_304(client: Any, alice: Account, clock: ManualClock) -> None:
    first = client.http.get("/portal/tenant/current/status", headers=alice.headers)
    assert first.status_code == 200
    doc = body(first)
    assert doc["tenant"] == {
        "id": alice.tenant_id,
        "name": "Alice Bakery",
        "phone": "+491511111111",
        "status": "NEW",
        "createdAt": doc["tenant"]["createdAt"],
    }
    assert doc["tenant"]["createdAt"].startswith("20")
    # In words: nothing set up yet, the owner acts, on the setup page.
    assert doc["explain"]["who"] == "owner"
    assert doc["explain"]["action"]["href"] == "setup.html"
    assert doc["session"]["state"] == "DISCONNECTED"
    assert doc["worker"]["status"] == "STOPPED" and doc["worker"]["stale"] is False
    assert doc["setupRequest"] is None
    etag = first.headers["ETag"]
    again = client.http.get(
        "/portal/tenant/current/status", headers={**alice.headers, "If-None-Match": etag}
    )
    assert again.status_code == 304 and not again.body
    # Both carry the server's clock, so a countdown never runs on a cached time.
    assert first.headers["X-Server-Time"] == again.headers["X-Server-Time"] == str(clock.now_ms())


def test_status_reports_a_silent_worker_as_stale_before_the_reaper(
    client: Any, alice: Account, clock: ManualClock, api_settings: Any
) -> None:
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    fresh = body(client.http.get("/portal/tenant/current/status", headers=alice.headers))
    assert (fresh["worker"]["status"], fresh["tenant"]["status"]) == ("RUNNING", "ACTIVE")
    clock.advance(api_settings.stale_ms + 1)
    stale = body(client.http.get("/portal/tenant/current/status", headers=alice.headers))
    assert stale["worker"]["stale"] is True
    assert (stale["worker"]["status"], stale["tenant"]["status"]) == ("ERROR", "ERROR")
    assert stale["session"]["state"] == "DISCONNECTED"
    assert stale["explain"]["who"] == "operator"  # no automatic restarts in these settings
    # Nothing was written: the reaper still owns that change.
    assert tenants.get_tenant(alice.tenant_id).worker_status == "RUNNING"


def test_qr_is_a_real_image_of_the_stored_payload(
    client: Any, alice: Account, clock: ManualClock
) -> None:
    import zxingcpp
    from PIL import Image

    empty = body(client.http.get("/portal/tenant/current/qr", headers=alice.headers))
    assert empty["qr"] is None and empty["state"] == "DISCONNECTED"
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    payload = "2@" + "x" * 80 + ",pubkey==,identity==,secret=="
    tenants.apply_event(
        alice.tenant_id,
        Event.QR,
        Actor.WORKER,
        now_ms=clock.now_ms(),
        lease=lease,
        qr=tenants.QrCode(payload, 2, 6, clock.now_ms() + 20_000),
    )

    def later(ms: int) -> None:  # time passes; the worker keeps heartbeating meanwhile
        clock.advance(ms)
        tenants.heartbeat(lease, now_ms=clock.now_ms(), connected=False)

    later(5_000)
    response = client.http.get("/portal/tenant/current/qr", headers=alice.headers)
    doc = body(response)
    assert (doc["state"], doc["attempt"], doc["attemptsMax"]) == ("QR_READY", 2, 6)
    assert (doc["ageSeconds"], doc["expiresInSeconds"], doc["expired"]) == (5, 15, False)
    png = base64.b64decode(doc["qr"].split(",", 1)[1])
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [d.text for d in decoded] == [payload]
    # Polling the same code while it ages: 304; once it expires the answer changes.
    tag = response.headers["ETag"]
    later(1_000)
    again = client.http.get(
        "/portal/tenant/current/qr", headers={**alice.headers, "If-None-Match": tag}
    )
    assert again.status_code == 304
    later(20_000)
    expired = client.http.get(
        "/portal/tenant/current/qr", headers={**alice.headers, "If-None-Match": tag}
    )
    assert expired.status_code == 200 and body(expired)["expired"] is True
    assert body(expired)["qr"] is None  # a code past its validity is never handed out


# --- logs, history -------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "201", "abc", "-1", "1.5"])
def test_logs_limit_is_validated(client: Any, alice: Account, limit: str) -> None:
    response = client.http.get(f"/portal/tenant/current/logs?limit={limit}", headers=alice.headers)
    assert response.status_code == 400
    assert body(response)["error"]["field"] == "limit"


def test_logs_newest_first_masked_and_paged(
    client: Any, alice: Account, clock: ManualClock
) -> None:
    for i in range(60):
        messages.record_inbound(
            alice.tenant_id,
            f"m{i:02d}",
            from_number="+15551234567",
            to_number=None,
            text=f"hello {i}",
            at_ms=clock.now_ms() + i,
        )
    page = body(client.http.get("/portal/tenant/current/logs", headers=alice.headers))
    assert len(page["items"]) == 50
    assert page["items"][0]["text"] == "hello 59"
    assert page["items"][0]["from"] == "+15•••••4567"
    rest = body(
        client.http.get(
            f"/portal/tenant/current/logs?cursor={page['nextCursor']}", headers=alice.headers
        )
    )
    assert [m["text"] for m in rest["items"]][-1] == "hello 0"
    assert len(rest["items"]) == 10


def test_history_lists_transitions_newest_first(
    client: Any, alice: Account, clock: ManualClock
) -> None:
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    clock.advance(10)
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    items = body(client.http.get("/portal/tenant/current/history", headers=alice.headers))["items"]
    assert [(i["event"], i["to"]["worker"], i["epoch"]) for i in items] == [
        ("ready", "RUNNING", 1),
        ("launched", "STARTING", 1),
    ]
    bad = client.http.get("/portal/tenant/current/history?since=yesterday", headers=alice.headers)
    assert bad.status_code == 400 and body(bad)["error"]["field"] == "since"


# --- setup requests, pause ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"templateType": "SALON"}, "whatsappNumber"),
        ({"templateType": "SALON", "whatsappNumber": "12345"}, "whatsappNumber"),
        ({"templateType": "CASINO", "whatsappNumber": "+491511111111"}, "templateType"),
        ({"templateType": "SALON", "whatsappNumber": "+491511111111", "notes": "x" * 501}, "notes"),
        ([1, 2], "body"),
    ],
)
def test_setup_request_validation_names_the_field(
    client: Any, alice: Account, payload: Any, field: str
) -> None:
    response = post(client, "/portal/tenant/current/setup-requests", alice.headers, payload)
    assert response.status_code == 400
    assert body(response)["error"]["field"] == field
    assert tenants.get_tenant(alice.tenant_id).setup_id is None


def test_invalid_json_is_a_clear_400(client: Any, alice: Account) -> None:
    response = client.http.post(
        "/portal/tenant/current/setup-requests", headers=alice.headers, body="{not json"
    )
    assert response.status_code == 400
    assert body(response)["error"] == {
        "code": "validation_error",
        "message": "is not valid JSON",
        "field": "body",
    }


def test_setup_request_flow_with_admin_approval(
    client: Any, alice: Account, admin: dict[str, str]
) -> None:
    number = new_number()
    created = post(
        client,
        "/portal/tenant/current/setup-requests",
        alice.headers,
        {
            "templateType": "restaurant",
            "whatsappNumber": f"{number[:3]} {number[3:6]} {number[6:]}",
        },
    )
    assert created.status_code == 201
    request = body(created)["setupRequest"]
    assert (request["status"], request["templateType"], request["whatsappNumber"]) == (
        "PENDING",
        "RESTAURANT",
        number,
    )
    again = post(
        client,
        "/portal/tenant/current/setup-requests",
        alice.headers,
        {"templateType": "SHOP", "whatsappNumber": number},
    )
    assert again.status_code == 409
    queue = body(client.http.get("/admin/setup-requests", headers=admin))["items"]
    assert request["id"] in [r["id"] for r in queue]
    approved = post(client, f"/admin/setup-requests/{request['id']}/approve", admin)
    assert body(approved)["setupRequest"]["status"] == "APPROVED"
    twice = post(client, f"/admin/setup-requests/{request['id']}/reject", admin)
    assert twice.status_code == 409
    current = body(client.http.get("/portal/tenant/current/setup-requests", headers=alice.headers))[
        "setupRequest"
    ]
    assert current["status"] == "APPROVED"
    status = body(client.http.get("/portal/tenant/current/status", headers=alice.headers))
    assert status["tenant"]["phone"] == number
    assert status["setupRequest"]["status"] == "APPROVED"


def test_pause_needs_something_to_pause_and_resume_needs_a_pause(
    client: Any, alice: Account, clock: ManualClock
) -> None:
    assert post(client, "/portal/tenant/current/pause", alice.headers).status_code == 409
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    paused = post(client, "/portal/tenant/current/pause", alice.headers)
    assert body(paused)["tenant"]["status"] == "PAUSED"
    assert post(client, "/portal/tenant/current/pause", alice.headers).status_code == 409
    resumed = post(client, "/portal/tenant/current/resume", alice.headers)
    assert body(resumed)["tenant"]["status"] == "ACTIVE"


# --- admin: fleet and workers ---------------------------------------------------------------


def test_fleet_view_filters_and_flags_stale(
    client: Any,
    alice: Account,
    bob: Account,
    admin: dict[str, str],
    clock: ManualClock,
    api_settings: Any,
) -> None:
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    clock.advance(api_settings.stale_ms + 1)
    rows = body(client.http.get("/admin/tenants?limit=500&status=ERROR", headers=admin))["items"]
    ours = {r["id"]: r for r in rows}
    assert ours[alice.tenant_id]["stale"] is True and ours[alice.tenant_id]["worker"] == "ERROR"
    assert bob.tenant_id not in ours
    bad = client.http.get("/admin/tenants?status=HAPPY", headers=admin)
    assert bad.status_code == 400 and body(bad)["error"]["field"] == "status"


def test_a_filtered_fleet_view_pages_through_everyone_without_skipping(
    client: Any, admin: dict[str, str], clock: ManualClock
) -> None:
    paused = set()
    for i in range(9):
        tid = tenants.create_tenant(f"Paging {i}", now_ms=clock.now_ms()).tenant_id
        if i % 3 == 0:
            lease = tenants.acquire_lease(tid, now_ms=clock.now_ms(), stale_after_ms=1000)
            tenants.apply_event(tid, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
            tenants.apply_event(tid, Event.PAUSED, Actor.TENANT, now_ms=clock.now_ms())
            paused.add(tid)
    seen: list[str] = []
    cursor = ""
    for _ in range(50):
        page = body(
            client.http.get(f"/admin/tenants?limit=2&status=PAUSED&cursor={cursor}", headers=admin)
        )
        assert len(page["items"]) <= 2 and all(r["status"] == "PAUSED" for r in page["items"])
        seen += [r["id"] for r in page["items"]]
        if page["nextCursor"] is None:
            break
        assert page["items"], "a page before the end is never empty"
        cursor = page["nextCursor"]
    assert paused <= set(seen) and len(seen) == len(set(seen))


def test_start_takes_the_lease_and_a_second_start_is_409(
    client: Any, alice: Account, admin: dict[str, str], launcher: FakeLauncher
) -> None:
    started = post(client, f"/admin/tenants/{alice.tenant_id}/worker/start", admin)
    assert started.status_code == 202
    assert body(started)["worker"]["status"] == "STARTING"
    assert [(lease.tenant_id, lease.epoch) for lease in launcher.launched] == [(alice.tenant_id, 1)]
    assert tenants.get_tenant(alice.tenant_id).task_ref == f"fake:{alice.tenant_id}:1"
    second = post(client, f"/admin/tenants/{alice.tenant_id}/worker/start", admin)
    assert second.status_code == 409
    assert body(second)["error"]["code"] == "lease_held"
    assert len(launcher.launched) == 1


def test_stop_is_recorded_at_once_and_restart_gets_a_new_epoch(
    client: Any, alice: Account, admin: dict[str, str], launcher: FakeLauncher
) -> None:
    post(client, f"/admin/tenants/{alice.tenant_id}/worker/start", admin)
    stopped = body(post(client, f"/admin/tenants/{alice.tenant_id}/worker/stop", admin))
    assert stopped["worker"]["status"] == "STOPPED" and stopped["worker"]["desired"] == "STOP"
    assert launcher.stopped == [f"fake:{alice.tenant_id}:1"]
    restarted = body(post(client, f"/admin/tenants/{alice.tenant_id}/worker/restart", admin))
    assert (restarted["worker"]["status"], restarted["worker"]["epoch"]) == ("STARTING", 2)
    assert restarted["worker"]["desired"] == "RUN"


def test_launch_failure_marks_the_worker_error_at_once(
    client: Any, alice: Account, admin: dict[str, str], launcher: FakeLauncher
) -> None:
    from chalicelib.launch.base import LaunchError

    launcher.fail_with = LaunchError("ECS did not start a task: RESOURCE:ENI")
    response = post(client, f"/admin/tenants/{alice.tenant_id}/worker/start", admin)
    assert response.status_code == 502
    doc = body(client.http.get("/portal/tenant/current/status", headers=alice.headers))
    assert doc["worker"]["status"] == "ERROR"
    assert "RESOURCE:ENI" in doc["worker"]["lastError"]


def test_unknown_ids_are_404_for_admins(client: Any, admin: dict[str, str]) -> None:
    assert client.http.get("/admin/tenants/t_nope", headers=admin).status_code == 404
    assert post(client, "/admin/tenants/t_nope/worker/start", admin).status_code == 404
    assert post(client, "/admin/setup-requests/sr_nope/approve", admin).status_code == 404


def test_a_tenant_can_link_by_pairing_code_and_go_back_to_the_qr(
    client: Any, alice: Account, bob: Account, clock: ManualClock
) -> None:
    path = "/portal/tenant/current/link-code"
    approved = tenants.get_tenant(alice.tenant_id).phone
    assert approved == "+491511111111"
    # WhatsApp prompts the number a code is for: never anyone's but the tenant's own.
    for phone in ("12", "+4915112345678", bob_number := "+491522222222"):
        refused = post(client, path, alice.headers, {"phone": phone})
        assert refused.status_code == 400 and body(refused)["error"]["field"] == "phone"
    assert bob_number not in refused.body.decode() and approved not in refused.body.decode()
    assert tenants.get_tenant(alice.tenant_id, consistent=True).link_phone is None
    chosen = post(client, path, alice.headers, {"phone": "+49 151 1111 111"})
    assert body(chosen) == {"linkPhone": approved, "method": "pairing"}
    assert tenants.get_tenant(alice.tenant_id, consistent=True).link_phone == approved
    assert tenants.get_tenant(bob.tenant_id, consistent=True).link_phone is None
    # The worker publishes the code it got: the portal shows it to type, not as an image.
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    code = tenants.QrCode("ABCDEFGH", 1, 6, clock.now_ms() + 60_000, kind="pairing")
    tenants.apply_event(
        alice.tenant_id, Event.QR, Actor.WORKER, now_ms=clock.now_ms(), lease=lease, qr=code
    )
    shown = body(client.http.get("/portal/tenant/current/qr", headers=alice.headers))
    assert (shown["kind"], shown["code"], shown["qr"]) == ("pairing", "ABCD-EFGH", None)
    back = client.http.delete(path, headers=alice.headers)
    assert body(back) == {"linkPhone": None, "method": "qr"}
    assert tenants.get_tenant(alice.tenant_id, consistent=True).link_phone is None
    # Back to scanning: the pairing code is gone at once, before the worker's next QR.
    waiting = body(client.http.get("/portal/tenant/current/qr", headers=alice.headers))
    assert (waiting["kind"], waiting.get("code"), waiting["qr"]) == ("qr", None, None)


def test_pairing_codes_are_five_an_hour_and_each_is_in_the_event_log(
    client: Any, alice: Account, bob: Account, clock: ManualClock
) -> None:
    path = "/portal/tenant/current/link-code"
    for _ in range(5):
        assert post(client, path, alice.headers, {}).status_code == 200
        clock.advance(60_000)
    limited = post(client, path, alice.headers, {})
    assert limited.status_code == 429
    assert body(limited)["error"]["code"] == "rate_limited"
    # The first of the five was 5 min ago: the next is accepted 55 min from now.
    assert int(limited.headers["Retry-After"]) == 55 * 60
    assert post(client, path, bob.headers, {}).status_code == 200  # per tenant
    assert client.http.delete(path, headers=alice.headers).status_code == 200  # QR: no limit
    clock.advance(55 * 60_000)
    assert post(client, path, alice.headers, {}).status_code == 200
    logged = [e.event_type for e in portal_events.list_events(alice.tenant_id, limit=20)]
    assert logged.count("tenant.link_code") == 6
    assert logged.count("tenant.link_code_refused") == 1


def test_a_number_belongs_to_one_tenant_whoever_asks(
    client: Any, alice: Account, admin: dict[str, str]
) -> None:
    number = new_number()
    made = post(client, "/admin/tenants", admin, {"name": "Holder Cafe", "phone": number})
    assert made.status_code == 201
    for response in (
        post(
            client,
            "/portal/tenant/current/setup-requests",
            alice.headers,
            {"templateType": "SHOP", "whatsappNumber": number},
        ),
        post(client, "/admin/tenants", admin, {"name": "Second Cafe", "phone": number}),
    ):
        assert response.status_code == 409
        error = body(response)["error"]
        assert error["code"] == "number_taken" and "another business" in error["message"]
        assert "Holder Cafe" not in response.body.decode()  # who holds it is not said
    # Alice's own request was not opened by the refusal: she can ask for her number.
    mine = post(
        client,
        "/portal/tenant/current/setup-requests",
        alice.headers,
        {"templateType": "SHOP", "whatsappNumber": new_number()},
    )
    assert mine.status_code == 201


def test_a_phone_of_another_number_does_not_answer_until_an_operator_confirms_it(
    client: Any, alice: Account, admin: dict[str, str], clock: ManualClock
) -> None:
    from chalicelib.store import setup_requests
    from chalicelib.store.models import NumberModel, TenantModel, number_key

    approved, linked, someone_elses = new_number(), new_number(), new_number()
    TenantModel(alice.tenant_id).update(actions=[TenantModel.phone.set(approved)])
    NumberModel(number_key(approved), tenant_id=alice.tenant_id, state="APPROVED", at=0).save()
    NumberModel(number_key(someone_elses), tenant_id="t_other", state="APPROVED", at=0).save()
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    tenants.record_linked_number(lease, linked, approved=approved)  # what the page said
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    messages.record_inbound(
        alice.tenant_id, "3A01", from_number="+15550001", to_number=approved, text="hi", at_ms=1
    )

    def claim(inbound: str) -> bool:
        return messages.claim_reply(
            lease, inbound, reply_id=f"re-{inbound}", to_number="+15550001",
            from_number=approved, text="hello", at_ms=2,
        )  # fmt: skip

    with pytest.raises(TenantPausedError):
        claim("3A01")  # the store refuses a reply for the wrong number
    status = body(client.http.get("/portal/tenant/current/status", headers=alice.headers))
    assert status["explain"]["headline"] == "Your bot is linked to another number"
    assert linked in status["explain"]["next"] and status["explain"]["who"] == "operator"
    (row,) = [
        t for t in body(client.http.get("/admin/tenants", headers=admin))["items"]
        if t["id"] == alice.tenant_id
    ]  # fmt: skip
    assert row["linkedNumber"] == linked
    # A number another business holds is never confirmed for this one.
    tenants.record_linked_number(lease, someone_elses, approved=approved)
    taken = post(client, f"/admin/tenants/{alice.tenant_id}/confirm-number", admin)
    assert taken.status_code == 409 and body(taken)["error"]["code"] == "number_taken"
    tenants.record_linked_number(lease, linked, approved=approved)
    confirmed = post(client, f"/admin/tenants/{alice.tenant_id}/confirm-number", admin)
    assert confirmed.status_code == 200, confirmed.body
    assert body(confirmed)["tenant"]["phone"] == linked
    assert body(confirmed)["explain"]["headline"] == "You're all set!"
    assert (setup_requests.holder(linked), setup_requests.holder(approved)) == (
        alice.tenant_id,
        None,
    )
    messages.record_inbound(
        alice.tenant_id, "3A02", from_number="+15550001", to_number=linked, text="hi", at_ms=3
    )
    assert claim("3A02") is True
    again = post(client, f"/admin/tenants/{alice.tenant_id}/confirm-number", admin)
    assert again.status_code == 409


def test_the_summary_counts_what_whatsapp_took_and_tells_the_last_problem(
    client: Any, alice: Account, bob: Account, clock: ManualClock
) -> None:
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    for n in range(3):
        messages.record_inbound(
            alice.tenant_id, f"3A{n}", from_number="+15550001", to_number=None, text="hi",
            at_ms=clock.now_ms(),
        )  # fmt: skip
        messages.claim_reply(
            lease, f"3A{n}", reply_id=f"re-3A{n}", to_number="+15550001", from_number=None,
            text=f"answer {n}", at_ms=clock.now_ms(),
        )  # fmt: skip
        if n < 2:  # the third is still on its way
            messages.mark_sent(alice.tenant_id, f"re-3A{n}", None)
        clock.advance(1000)
    tenants.apply_event(
        alice.tenant_id, Event.DISCONNECTED, Actor.WORKER, now_ms=clock.now_ms(), lease=lease,
        detail="phone offline",
    )  # fmt: skip
    doc = body(client.http.get("/portal/tenant/current/summary", headers=alice.headers))
    assert doc["answered"] == {"last24h": 2, "last7d": 2, "more": False}
    assert doc["lastReply"]["text"] == "answer 1"
    assert doc["lastProblem"]["sentence"] == "Lost the connection to WhatsApp; reconnecting"
    assert doc["lastProblem"]["endedAt"] is None
    clock.advance(60_000)
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    later = body(client.http.get("/portal/tenant/current/summary", headers=alice.headers))
    assert later["lastProblem"]["endedAt"] is not None
    theirs = body(client.http.get("/portal/tenant/current/summary", headers=bob.headers))
    assert theirs == {
        "answered": {"last24h": 0, "last7d": 0, "more": False},
        "lastReply": None,
        "lastProblem": None,
    }


def test_the_owner_saves_replies_in_versions_previews_them_and_restores_one(
    client: Any, alice: Account, bob: Account
) -> None:
    path = "/portal/tenant/current/replies"
    start = body(client.http.get(path, headers=alice.headers))
    assert (start["version"], start["rules"], start["versions"]) == (0, None, [])
    assert start["starting"]["topics"]  # the business type's topics, to edit
    mine = {
        "timeZone": "Europe/Berlin",
        "hours": {"mon": ["09:00", "18:00"]},
        "topics": [{"keywords": ["prices"], "answer": "Cut 30 at {name}."}],
    }

    def put(rules: Any, base: int) -> Any:
        return client.http.put(
            path, headers=alice.headers, body=json.dumps({"rules": rules, "baseVersion": base})
        )

    bad = put({**mine, "hours": {"mon": ["18:00", "09:00"]}}, 0)
    assert bad.status_code == 400 and body(bad)["error"]["field"] == "hours.mon"
    saved = put(mine, 0)
    assert saved.status_code == 200 and body(saved)["version"] == 1
    assert body(saved)["rules"]["topics"][0]["answer"] == "Cut 30 at {name}."
    assert put(mine, 0).status_code == 409  # an editor that started from version 0
    second = {**mine, "topics": [{"keywords": ["prices"], "answer": "Cut 35."}]}
    assert put(second, 1).status_code == 200
    preview = post(
        client, f"{path}/preview", alice.headers, {"text": "PRICES?", "at": "2026-03-02T10:00:00Z"}
    )
    assert body(preview) == {"text": "Cut 35.", "why": "matched topic prices", "media": None}
    unsaved = post(client, f"{path}/preview", alice.headers, {"text": "prices", "rules": mine})
    assert body(unsaved)["text"] == "Cut 30 at Alice Bakery."
    restored = post(client, f"{path}/restore", alice.headers, {"version": 1})
    assert body(restored)["version"] == 3
    assert body(restored)["rules"]["topics"][0]["answer"] == "Cut 30 at {name}."
    assert [v["version"] for v in body(restored)["versions"]] == [3, 2, 1]
    assert post(client, f"{path}/restore", alice.headers, {"version": 9}).status_code == 404
    assert body(client.http.get(path, headers=bob.headers))["version"] == 0  # theirs alone


def test_the_preview_decides_with_what_the_bot_knows_of_a_customers_chat(
    client: Any, alice: Account, clock: Any
) -> None:
    from chalicelib.domain.conversation import ChatRecord
    from chalicelib.store import messages

    path = "/portal/tenant/current/replies/preview"
    now = clock.now_ms()
    messages.save_chat(
        alice.tenant_id, "4917000000001@c.us", ChatRecord(taken_over_until=now + 3_600_000)
    )
    taken = post(client, path, alice.headers, {"text": "hi", "from": "+49 1700 000 0001"})
    assert body(taken) == {"text": None, "why": "you took over this chat", "media": None}
    stranger = post(client, path, alice.headers, {"text": "hi", "from": "+4917000000002"})
    assert body(stranger)["text"]  # a contact the bot never wrote to gets an answer
    greeting = {"greeting": "Welcome to {name}!", "topics": [{"keywords": ["hi"], "answer": "Hi."}]}
    greeted = post(client, path, alice.headers, {"text": "hi", "rules": greeting})
    assert body(greeted) == {
        "text": "Welcome to Alice Bakery!\n\nHi.",
        "why": "greeting, matched topic hi",
        "media": None,
    }
    bad = post(client, path, alice.headers, {"text": "hi", "from": "mum"})
    assert bad.status_code == 400 and body(bad)["error"]["field"] == "from"


def test_an_operator_makes_a_tenant_a_canary_of_another_and_stops_it(
    client: Any, admin: dict[str, str], alice: Account, bob: Account
) -> None:
    from chalicelib.store import tenants

    path = f"/admin/tenants/{alice.tenant_id}/canary"
    made = client.http.put(path, headers=admin, body=json.dumps({"peer": bob.tenant_id}))
    assert made.status_code == 200, made.body
    bob_phone = tenants.get_tenant(bob.tenant_id).phone
    assert body(made)["canary"] == {
        "peer": bob_phone,
        "at": None,
        "ok": None,
        "roundTripMs": None,
        "failsInARow": 0,
    }
    assert tenants.get_tenant(bob.tenant_id).canary_of == tenants.get_tenant(alice.tenant_id).phone
    itself = client.http.put(path, headers=admin, body=json.dumps({"peer": alice.tenant_id}))
    assert itself.status_code == 400 and body(itself)["error"]["field"] == "peer"
    nobody = client.http.put(path, headers=admin, body=json.dumps({"peer": "t_nobody"}))
    assert nobody.status_code == 404
    owner = client.http.put(path, headers=alice.headers, body=json.dumps({"peer": bob.tenant_id}))
    assert owner.status_code == 403  # operators only
    stopped = client.http.delete(path, headers=admin)
    assert stopped.status_code == 200 and body(stopped)["canary"] is None
    assert tenants.get_tenant(bob.tenant_id).canary_of is None  # the peer stops answering


def test_an_operator_pins_a_tenants_whatsapp_web_version_and_unpins_it(
    client: Any, admin: dict[str, str], alice: Account
) -> None:
    from chalicelib.store import portal_events, tenants

    path = f"/admin/tenants/{alice.tenant_id}/wa-version"
    pinned = client.http.put(
        path, headers=admin, body=json.dumps({"version": "2.3000.1048032155-alpha"})
    )
    assert pinned.status_code == 200, pinned.body
    # Served from its next launch: the row says what is pinned, and nothing served yet.
    assert body(pinned)["whatsappWeb"] == {
        "pinned": "2.3000.1048032155-alpha",
        "served": None,
        "refused": None,
    }
    assert tenants.get_tenant(alice.tenant_id).wa_version == "2.3000.1048032155-alpha"
    fleet = body(client.http.get("/admin/tenants", headers=admin))
    (row,) = [r for r in fleet["items"] if r["id"] == alice.tenant_id]
    assert row["whatsappWeb"]["pinned"] == "2.3000.1048032155-alpha"
    for wrong in ({"version": "latest"}, {"version": 2}, {}):
        refused = client.http.put(path, headers=admin, body=json.dumps(wrong))
        assert refused.status_code == 400 and body(refused)["error"]["field"] == "version"
    assert tenants.get_tenant(alice.tenant_id).wa_version == "2.3000.1048032155-alpha"
    nobody = client.http.put(
        "/admin/tenants/t_nobody/wa-version", headers=admin, body=json.dumps({"version": "2.1.1"})
    )
    assert nobody.status_code == 404
    owner = client.http.delete(path, headers=alice.headers)
    assert owner.status_code == 403  # operators only
    unpinned = client.http.delete(path, headers=admin)
    assert unpinned.status_code == 200 and body(unpinned)["whatsappWeb"]["pinned"] is None
    events = [e.event_type for e in portal_events.list_events(alice.tenant_id)]
    assert {"tenant.wa_version_pinned", "tenant.wa_version_unpinned"} <= set(events)
