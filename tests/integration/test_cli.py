"""``wafleet replies``: the Replies page for scripts, on the same store and validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from devstack import cli
from tests.integration.test_api import Account


@pytest.fixture
def run(client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(cli, "_store", lambda settings=None: settings)  # the test's moto

    def invoke(*args: str, stdin: str | None = None) -> Any:
        return CliRunner().invoke(cli.main, list(args), input=stdin)

    return invoke


def test_an_operator_shows_edits_and_sets_a_tenants_replies(run: Any, alice: Account) -> None:
    empty = run("replies", "show", "--tenant", alice.tenant_id)
    assert empty.exit_code == 0, empty.output
    shown = json.loads(empty.output)
    assert (shown["version"], shown["rules"]) == (0, None)
    mine = {**shown["starting"], "topics": [{"keywords": ["prices"], "answer": "Cut 30."}]}
    saved = run(
        "replies", "set", "--tenant", alice.tenant_id, "--file", "-", stdin=json.dumps(mine)
    )
    assert saved.exit_code == 0, saved.output
    assert json.loads(saved.output)["version"] == 1
    # The whole output of `show`, edited, is accepted too.
    again = json.loads(run("replies", "show", "--tenant", alice.tenant_id).output)
    again["rules"]["greeting"] = "Welcome!"
    second = run(
        "replies", "set", "--tenant", alice.tenant_id, "--file", "-", stdin=json.dumps(again)
    )
    assert json.loads(second.output)["version"] == 2
    first = json.loads(run("replies", "show", "--tenant", alice.tenant_id, "--version", "1").output)
    assert first["rules"]["topics"][0]["answer"] == "Cut 30." and first["rules"]["greeting"] is None


def test_a_mistake_is_refused_with_its_field_and_nothing_is_saved(run: Any, alice: Account) -> None:
    bad = {"topics": [{"keywords": ["prices"], "answer": "{price}"}]}
    refused = run(
        "replies", "set", "--tenant", alice.tenant_id, "--file", "-", stdin=json.dumps(bad)
    )
    assert refused.exit_code == 1 and "topics.0.answer" in refused.output
    assert (
        run("replies", "set", "--tenant", alice.tenant_id, "--file", "-", stdin="{").exit_code == 1
    )
    stale = run(
        "replies", "set", "--tenant", alice.tenant_id, "--base", "3", "--file", "-", stdin="{}"
    )
    assert stale.exit_code == 1 and "saved meanwhile" in stale.output
    assert json.loads(run("replies", "show", "--tenant", alice.tenant_id).output)["version"] == 0
    unknown = run("replies", "show", "--tenant", "t_nobody")
    assert unknown.exit_code == 1 and "tenant t_nobody not found" in unknown.output


def test_an_operator_pins_a_version_from_the_cli_and_is_warned_of_one_that_cannot_be_served(
    run: Any, alice: Account
) -> None:
    from chalicelib.store import portal_events, tenants
    from worker_container.wa_pages import DEFAULT_CATALOG, Catalog

    # The oldest version of the pinned catalog expired long ago (they last two months): the
    # pin is kept, and the operator told its browser will open the live site instead.
    oldest = min(Catalog(DEFAULT_CATALOG).known().values(), key=lambda k: k.released_ms)
    pinned = run("wa-version", "pin", alice.tenant_id, oldest.version)
    assert pinned.exit_code == 0, pinned.output
    assert "expired" in pinned.output and "live site" in pinned.output
    assert tenants.get_tenant(alice.tenant_id).wa_version == oldest.version
    wrong = run("wa-version", "pin", alice.tenant_id, "newest")
    assert wrong.exit_code == 1 and "WhatsApp Web version" in wrong.output
    assert tenants.get_tenant(alice.tenant_id).wa_version == oldest.version
    assert run("wa-version", "unpin", alice.tenant_id).exit_code == 0
    assert tenants.get_tenant(alice.tenant_id).wa_version is None
    logged = [(e.event_type, e.user_id) for e in portal_events.list_events(alice.tenant_id)]
    assert {("tenant.wa_version_unpinned", "cli"), ("tenant.wa_version_pinned", "cli")} <= set(
        logged
    )
    listed = run("wa-version", "list", "--all").output.splitlines()
    assert listed[0].startswith(f"{oldest.version}  expired ")


def test_a_canary_enabled_and_disabled_from_the_cli_is_in_the_tenants_event_log(
    run: Any, alice: Account, bob: Account
) -> None:
    from chalicelib.store import portal_events, tenants

    enabled = run("canary", "enable", alice.tenant_id, "--peer", bob.tenant_id)
    assert enabled.exit_code == 0, enabled.output
    assert (
        tenants.get_tenant(alice.tenant_id).canary_peer == tenants.get_tenant(bob.tenant_id).phone
    )
    assert run("canary", "disable", alice.tenant_id).exit_code == 0
    assert tenants.get_tenant(alice.tenant_id).canary_peer is None
    logged = [(e.event_type, e.user_id) for e in portal_events.list_events(alice.tenant_id)]
    assert set(logged) == {("tenant.canary_disabled", "cli"), ("tenant.canary_enabled", "cli")}
    itself = run("canary", "enable", alice.tenant_id, "--peer", alice.tenant_id)
    assert itself.exit_code == 1 and "another tenant" in itself.output
