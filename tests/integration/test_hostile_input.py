"""Hostile input never gets a 500, roles come from one place and can be taken away.

Through Chalice's test client against moto, with the local issuer's tokens.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.api import auth
from chalicelib.domain.clock import ManualClock
from chalicelib.domain.statuses import SetupStatus
from chalicelib.store import cursor, portal_events, setup_requests, users
from devstack.issuer import LocalIssuer
from tests.integration.conftest import Account
from tests.integration.test_api import ADMIN_ROUTES, PORTAL_GETS, PORTAL_POSTS, body

MANY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Any JSON, with the strings that broke things: lone surrogates, NUL, very long text.
TEXT = st.one_of(
    st.text(st.characters(codec=None, categories=None), max_size=50),
    st.sampled_from(["x\udc00y", "\ud800", "\x00", "a" * 400_000, "+4915112345678"]),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "templateType",
    "whatsappNumber",
    "notes",
    "businessName",
    "name",
    "phone",
    "role",
    "tenantId",
    "reason",
    "email",
]


def routes(admin: bool) -> list[tuple[str, str]]:
    found = [("POST", p) for p in PORTAL_POSTS] + [("POST", "/portal/tenant/current/link-code")]
    if admin:
        found += [(m, p.format(tid="t_x", rid="r_x")) for m, p in ADMIN_ROUTES if m == "POST"]
        found += [("POST", "/admin/users/u_x/role")]
    return found


def send(client: Any, method: str, path: str, headers: dict[str, str], raw: bytes | str) -> Any:
    return client.http.request(method, path, headers=headers, body=raw)


def assert_error_shape(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.body[:300])
    if response.status_code >= 400:
        error = json.loads(response.body)["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


@MANY
@given(value=JSON, field=st.sampled_from(FIELDS))
def test_any_json_at_any_route_is_never_a_500(
    client: Any, alice: Account, admin: dict[str, str], value: Any, field: str
) -> None:
    for who, headers in (("tenant", alice.headers), ("admin", admin)):
        for method, path in routes(admin=who == "admin"):
            for payload in ({field: value}, value):
                response = send(client, method, path, headers, json.dumps(payload))
                assert_error_shape(response)


@pytest.mark.parametrize(
    "raw",
    ["[" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "\xff\xfe", "null", "{", "x" * 70_000],
)
def test_malformed_bodies_are_a_400(client: Any, alice: Account, raw: str) -> None:
    response = send(client, "POST", "/portal/tenant/current/setup-requests", alice.headers, raw)
    assert response.status_code == 400
    assert_error_shape(response)


def test_a_lone_surrogate_is_refused_and_nothing_is_written(client: Any, alice: Account) -> None:
    payload = {
        "templateType": "RESTAURANT",
        "whatsappNumber": "+4915112345678",
        "notes": "x\udc00y",
    }
    response = send(
        client, "POST", "/portal/tenant/current/setup-requests", alice.headers, json.dumps(payload)
    )
    assert response.status_code == 400 and json.loads(response.body)["error"]["field"] == "body"
    pending = setup_requests.list_by_status(SetupStatus.PENDING, limit=1000)
    assert [r for r in pending if r.tenant_id == alice.tenant_id] == []


@given(header=st.text(max_size=300), cursor_value=st.text(max_size=300))
@MANY
def test_hostile_headers_and_cursors_get_4xx(
    client: Any, alice: Account, header: str, cursor_value: str
) -> None:
    safe = header.encode("latin-1", "ignore").decode("latin-1").replace("\r", "").replace("\n", "")
    for path in PORTAL_GETS:
        for headers in (
            {"Authorization": safe},
            {**alice.headers, "If-None-Match": safe},
        ):
            assert_error_shape(client.http.get(path, headers=headers))
    query = json.dumps(cursor_value)[1:-1].replace("&", "").replace("#", "")
    for path in ("/portal/tenant/current/logs", "/portal/tenant/current/history"):
        assert_error_shape(client.http.get(f"{path}?cursor={query}", headers=alice.headers))


def test_a_hand_made_cursor_with_the_callers_own_tenant_is_refused(
    client: Any, alice: Account
) -> None:
    forged = cursor._b64(json.dumps({"tid": {"S": alice.tenant_id}, "mk": {"N": "1"}}).encode())
    for value in (forged, forged + ".AAAA"):
        response = client.http.get(
            f"/portal/tenant/current/logs?cursor={value}", headers=alice.headers
        )
        assert response.status_code == 400
        assert json.loads(response.body)["error"]["field"] == "cursor"


def token_for(issuer: LocalIssuer, **claims: Any) -> dict[str, str]:
    sub = claims.pop("sub", "u-nobody")
    return {"Authorization": "Bearer " + issuer.token(sub, **claims)}


def test_tokens_without_a_subject_or_not_id_tokens_or_too_old_are_a_401(
    client: Any, issuer: LocalIssuer
) -> None:
    old = time.time() - 13 * 3600
    for headers in (
        token_for(issuer, sub=""),
        token_for(issuer, sub="   "),
        token_for(issuer, token_use="access"),
        token_for(issuer, now=old, ttl_s=14 * 3600),  # unexpired, but issued 13 h ago
        token_for(issuer, ttl_s=48 * 3600),  # a lifetime no issuer of ours grants
    ):
        response = client.http.get("/portal/me", headers=headers)
        assert response.status_code == 401, response.body
        assert_error_shape(response)


def test_token_times_that_are_not_json_numbers_are_a_401(client: Any, issuer: LocalIssuer) -> None:
    now = int(time.time())
    for claims in (
        {"exp": str(now + 600)},  # PyJWT itself reads a numeric string as a time
        {"exp": True},
        {"iat": str(now)},
        {"nbf": str(now - 5)},
        {"nbf": [now]},
    ):
        response = client.http.get("/portal/me", headers=token_for(issuer, **claims))
        assert response.status_code == 401, (claims, response.body)
        assert_error_shape(response)


def test_a_groups_claim_never_grants_admin(
    client: Any, issuer: LocalIssuer, alice: Account, clock: ManualClock
) -> None:
    member = users.find_by_email(f"{alice.tenant_id}@example.com")
    assert member is not None
    for groups in (["admin"], "admin", "xadminx"):
        headers = token_for(issuer, sub=member.user_id, **{"cognito:groups": groups})
        assert client.http.get("/admin/tenants", headers=headers).status_code == 403


def test_authenticated_responses_are_not_stored_and_carry_security_headers(
    client: Any, alice: Account
) -> None:
    for response in (
        client.http.get("/portal/tenant/current/status", headers=alice.headers),
        client.http.get("/portal/me", headers={"Authorization": "Bearer nope"}),
        client.http.request("PUT", "/portal/me", headers=alice.headers, body=""),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "nope" not in response.body.decode() and alice.token not in response.body.decode()
    not_allowed = client.http.request("PUT", "/portal/me", headers=alice.headers, body="")
    assert not_allowed.status_code == 405
    assert json.loads(not_allowed.body)["error"]["code"] == "method_not_allowed"


def test_a_demoted_admin_loses_admin_within_a_minute(
    client: Any, issuer: LocalIssuer, clock: ManualClock
) -> None:
    now = [1000.0]
    auth.memberships.now = lambda: now[0]
    try:
        boss = users.add_user(
            "boss@example.com", role="admin", tenant_id=None, now_ms=clock.now_ms()
        )
        headers = token_for(issuer, sub=boss.user_id)
        assert client.http.get("/admin/tenants", headers=headers).status_code == 200
        # Another instance of the API (or the CLI) demotes them: this one's cache still has
        # the admin for a while, never for more than 30 s.
        users.set_role(boss.user_id, role="tenant", tenant_id="t_elsewhere")
        now[0] += 29
        assert client.http.get("/admin/tenants", headers=headers).status_code == 200
        now[0] += 2
        assert client.http.get("/admin/tenants", headers=headers).status_code == 403
        users.remove_user(boss.user_id)
        now[0] += 31
        assert client.http.get("/portal/me", headers=headers).status_code == 403
    finally:
        auth.memberships.now = time.monotonic


def test_admins_list_demote_and_remove_users_and_it_is_recorded(
    client: Any, issuer: LocalIssuer, alice: Account, admin: dict[str, str], clock: ManualClock
) -> None:
    other = users.add_user("ops2@example.com", role="admin", tenant_id=None, now_ms=clock.now_ms())
    other_headers = token_for(issuer, sub=other.user_id)
    assert client.http.get("/admin/tenants", headers=other_headers).status_code == 200
    listed = body(client.http.get("/admin/users", headers=admin))["items"]
    assert {"ops2@example.com", f"{alice.tenant_id}@example.com"} <= {u["email"] for u in listed}
    path = f"/admin/users/{other.user_id}/role"
    bad = client.http.post(path, headers=admin, body=json.dumps({"role": "tenant"}))
    assert bad.status_code == 400 and body(bad)["error"]["field"] == "tenantId"
    demoted = client.http.post(
        path, headers=admin, body=json.dumps({"role": "tenant", "tenantId": alice.tenant_id})
    )
    assert body(demoted)["role"] == "tenant"
    # The instance that made the change forgets its cached membership at once.
    assert client.http.get("/admin/tenants", headers=other_headers).status_code == 403
    assert client.http.get("/portal/me", headers=other_headers).status_code == 200
    assert client.http.delete(f"/admin/users/{other.user_id}", headers=admin).status_code == 200
    assert client.http.get("/portal/me", headers=other_headers).status_code == 403
    events = [e.event_type for e in portal_events.list_events(alice.tenant_id)]
    assert {"user.role", "user.removed"} <= set(events)
    me = body(client.http.get("/portal/me", headers=admin))["userId"]
    refused = client.http.delete(f"/admin/users/{me}", headers=admin)
    assert refused.status_code == 409  # no one locks themselves out


def test_api_errors_are_counted_and_credentials_never_logged(
    client: Any, alice: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib import observability

    observability.reset()
    capsys.readouterr()
    try:
        client.http.get("/portal/me", headers={"Authorization": "Bearer nope"})
        client.http.get("/portal/tenant/current/status", headers=alice.headers)
    finally:
        observability.reset()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    metrics = [line for line in lines if "_aws" in line]
    assert [m.get("Api4xx") for m in metrics] == [[1.0]] and metrics[0]["service"] == "api"
    assert "nope" not in json.dumps(lines)


def every_route() -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves."""
    from app import app

    return sorted((method, path) for path, entries in app.routes.items() for method in entries)


PATH_VALUE = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=40),
    st.sampled_from(["²", "١٢٣", "1_000", "9" * 4400, "x" * 10_000, "évt_1", "..", "%00"]),
)


@MANY
@given(value=PATH_VALUE)
def test_any_path_parameter_at_any_route_is_never_a_500(
    client: Any, alice: Account, admin: dict[str, str], value: str
) -> None:
    from urllib.parse import quote

    encoded = quote(value, safe="")
    for method, template in every_route():
        if "{" not in template:
            continue
        path = re.sub(r"\{[^}]+\}", encoded, template)
        for headers in (alice.headers, admin):
            assert_error_shape(client.http.request(method, path, headers=headers, body=b""))


def test_a_resend_of_a_delivery_id_that_is_no_number_is_a_404(
    client: Any, alice: Account, clock: ManualClock
) -> None:
    from chalicelib.store import hooks

    item = hooks.add_endpoint(
        alice.tenant_id, "https://hooks.example.com/in", {"status.changed"}, "s", now_ms=1
    )
    base = f"/portal/tenant/current/webhooks/{hooks.endpoint_id(item)}/deliveries"
    for delivery in ("²-evt_1", "١٢-evt_1", "9" * 4400 + "-evt_1", "1_0-evt_1", "-evt_1"):
        response = client.http.post(f"{base}/{delivery}/resend", headers=alice.headers, body=b"")
        assert response.status_code == 404, (delivery[:20], response.body[:200])
        assert_error_shape(response)
