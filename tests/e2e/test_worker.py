"""A tenant's session on a real worker host process, real Chromium, against the simulator and a
moto server; the host is started by the placer exactly as make dev and ECS start it."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from chalicelib.api import presenters
from chalicelib.control import workers
from chalicelib.domain import conversation, templates
from chalicelib.domain.clock import SystemClock
from chalicelib.domain.transitions import Actor, Event
from chalicelib.domain.words import WHATSAPP_CHANGED
from chalicelib.services import admin
from chalicelib.store import messages, tenants, views
from chalicelib.store.models import HistoryModel, MessageModel
from tests.processes import PHONE, Sim, Stack, command_line, eventually

pytestmark = pytest.mark.process


def new_tenant(name: str = "Pizza Roma") -> str:
    return tenants.create_tenant(name, now_ms=SystemClock().now_ms(), phone=PHONE).tenant_id


def item(tenant_id: str) -> Any:
    return tenants.get_tenant(tenant_id, consistent=True)


def statuses(tenant_id: str) -> tuple[str, str, str]:
    i = item(tenant_id)
    return (i.tenant_status, i.session_state, i.worker_status)


def published_qr(tenant_id: str) -> str:
    return eventually(lambda: item(tenant_id).qr_payload, what="a published QR")


def link(sim: Sim, tenant_id: str) -> None:
    payload = published_qr(tenant_id)
    assert payload in [s["payload"] for s in sim.showing()]  # the code the page shows now
    assert sim.link(payload)["phone"] == PHONE
    eventually(
        lambda: statuses(tenant_id) == ("ACTIVE", "CONNECTED", "RUNNING"),
        what="ACTIVE after linking",
    )


def history(tenant_id: str) -> list[str]:
    return [h.event for h in HistoryModel.query(tenant_id)]


def expected_reply(text: str) -> str:
    return templates.reply(None, "Pizza Roma", text)


def test_qr_link_reply_and_logs(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    payload = published_qr(tid)
    assert statuses(tid) == ("QR_PENDING", "QR_READY", "RUNNING")
    assert item(tid).qr_attempt == 1
    link(sim, tid)
    assert item(tid).qr_payload is None  # the QR is gone once linked
    inbound = sim.inbound("what are your opening hours?")
    reply = expected_reply("what are your opening hours?")
    eventually(lambda: [m["text"] for m in sim.sent()] == [reply], what="the template reply")

    def logged() -> set[tuple[str, str, str]]:
        page = messages.list_messages(tid, limit=10)
        return {(m.direction, m.wa_message_id, m.state) for m in page.items}

    # The reply is on WhatsApp first, then marked SENT with the id WhatsApp gave it.
    sent_id = sim.sent()[0]["id"]
    eventually(lambda: ("OUT", sent_id, "SENT") in logged(), what="reply logged as SENT")
    assert ("IN", inbound, "REPLIED") in logged()
    # Unpinned, the site checks for updates and installs its service worker, as the real one.
    eventually(
        lambda: sim.state.update_checks and sim.state.service_worker_fetches,
        what="the site's update check and service worker",
    )
    # The first heartbeat or the QR, whichever lands first, moves STARTING -> RUNNING.
    events = [e for e in history(tid) if e != "heartbeat"]
    assert events == ["launched", "qr", "ready"], history(tid)
    assert payload.encode() not in (stack.session_dir / f"{tid}.tar.gz").read_bytes()
    # Like a person: the chat is marked read, "typing…" shows for a moment, then the reply.
    activity = sim.call("GET", f"/control/phones/{PHONE}/activity")
    assert [a["kind"] for a in activity] == ["seen", "composing", "paused"]
    assert activity[0]["at"] <= activity[1]["at"] < activity[2]["at"] <= sim.sent()[0]["at"]
    # The recording the stack checks against the worker role at the end sees the host.
    called = {(c.action, stack.tables()[c.table]) for c in stack.host_calls()}
    assert {
        ("dynamodb:UpdateItem", "tenants_table"),
        ("dynamodb:PutItem", "history_table"),
        ("dynamodb:PutItem", "messages_table"),
    } <= called


def test_only_what_a_person_wrote_is_answered_a_picture_by_its_caption(
    stack: Stack, sim: Sim
) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    inbound = f"/control/phones/{PHONE}/inbound"
    # The real site delivers these as new messages; none is something to answer.
    for kind in ("e2e_notification", "notification_template", "gp2", "protocol", "revoked"):
        sim.call("POST", inbound, {"from": "+15550001", "text": "", "type": kind})
    sim.call(
        "POST",
        inbound,
        {"from": "120363000000000001@g.us", "text": "hours?", "author": "+15550002"},
    )
    sim.call(
        "POST", inbound, {"from": "status@broadcast", "text": "my story", "author": "+15550003"}
    )
    picture = sim.call(
        "POST",
        inbound,
        {"from": "+15550001", "text": "what are your opening hours?", "type": "image"},
    )["id"]
    eventually(lambda: len(sim.sent()) == 1, what="the picture answered")
    assert sim.sent()[0]["text"] == expected_reply("what are your opening hours?")
    eventually(
        lambda: messages.get_inbound(tid, picture).state == "REPLIED",  # type: ignore[union-attr]
        what="the picture logged as replied",
    )
    # Everything before it was handled first (messages reach the worker in order): no more.
    assert len(sim.sent()) == 1


def test_restart_restores_login_and_answers_backlog_exactly_once(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.inbound("menu")
    eventually(lambda: len(sim.sent()) == 1, what="first reply")
    workers.stop(tid)
    assert statuses(tid)[2] == "STOPPED"
    eventually(lambda: stack.session_ended(tid), what="session ended")
    backlog = [sim.inbound(f"hello {i}", sender=f"+1555000{i}") for i in range(3)]
    workers.start(tid)
    eventually(
        lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"),
        what="reconnected from the saved login",
    )
    eventually(lambda: len(sim.sent()) == 4, what="backlog answered")
    assert history(tid).count("qr") == 1  # no second QR: the login was restored
    for message_id in backlog:
        assert messages.get_inbound(tid, message_id).state == "REPLIED"  # type: ignore[union-attr]
    eventually(lambda: item(tid).heartbeat_at, what="heartbeats")
    assert len(sim.sent()) == 4  # and nothing twice


def test_a_reply_sent_but_not_recorded_is_confirmed_not_resent(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    first = sim.inbound("menu", sender="+15550001")
    eventually(lambda: len(sim.sent()) == 1, what="first reply")
    reply_key = f"out#re-{first}"
    eventually(
        lambda: MessageModel.get(tid, reply_key, consistent_read=True).state == "SENT",
        what="reply recorded",
    )
    workers.stop(tid)
    eventually(lambda: stack.session_ended(tid), what="session ended")
    # As if the worker had died between WhatsApp taking the reply and the store recording it.
    MessageModel(tid, reply_key).update(actions=[MessageModel.state.set("SENDING")])
    # "hello 1" comes from the first sender: opening that chat to confirm the reply marks it
    # read, so only the worker's own bookkeeping can still answer it.
    backlog = [sim.inbound(f"hello {i}", sender=f"+1555000{i}") for i in range(3)]
    workers.start(tid)
    eventually(lambda: len(sim.sent()) == 4, what="backlog answered")
    eventually(
        lambda: MessageModel.get(tid, reply_key, consistent_read=True).state == "SENT",
        what="the interrupted reply confirmed",
    )
    for message_id in backlog:
        eventually(
            lambda m=message_id: messages.get_inbound(tid, m).state == "REPLIED",  # type: ignore[union-attr]
            what="backlog replied",
        )
    eventually(lambda: item(tid).heartbeat_at, what="heartbeats")
    assert len(sim.sent()) == 4  # the first reply was not sent again


def test_duplicate_delivery_is_answered_once(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    message_id = sim.inbound("hours")
    eventually(lambda: len(sim.sent()) == 1, what="reply")
    # WhatsApp re-delivers the same message id (it happens after reconnects).
    sim.call(
        "POST",
        f"/control/phones/{PHONE}/inbound",
        {"from": "+15550001", "text": "hours", "id": message_id},
    )
    sim.inbound("book a table")
    eventually(lambda: len(sim.sent()) == 2, what="second reply")
    assert [m["text"] for m in sim.sent()] == [
        expected_reply("hours"),
        expected_reply("book a table"),
    ]


def test_rate_limit_spaces_replies(stack: Stack, sim: Sim) -> None:
    stack.configure(rate_per_min=60.0, rate_burst=1)
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    for i in range(3):
        sim.inbound(f"order {i}", sender=f"+1666000{i}")
    sent = eventually(lambda: sim.sent() if len(sim.sent()) == 3 else None, what="3 replies")
    # The limiter hands out one send a second; what the site records adds each send's own
    # path through the page (typing, the socket), which varies by a few hundred ms on a
    # busy machine. Unlimited, the three concurrent replies would arrive within ~100 ms.
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(sent)]
    assert all(gap >= 600 for gap in gaps), gaps
    assert sent[-1]["at"] - sent[0]["at"] >= 1_700, gaps


def test_connection_lost_then_back(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.control("offline")
    eventually(lambda: statuses(tid) == ("ERROR", "DISCONNECTED", "RUNNING"), what="offline")
    eventually(lambda: (item(tid).reconnect_attempts or 0) >= 1, what="reconnect attempts")
    assert item(tid).last_error == "no connection to WhatsApp"
    sim.control("online")
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="back")
    assert item(tid).reconnect_attempts is None and item(tid).last_error is None


def test_reconnect_exhausted_marks_error_and_exits(stack: Stack, sim: Sim) -> None:
    stack.configure(reconnect_max=2, reconnect_base_s=0.1)
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.control("offline")
    eventually(lambda: statuses(tid) == ("ERROR", "DISCONNECTED", "ERROR"), what="exhausted")
    assert "after 2 attempts" in item(tid).last_error
    eventually(lambda: stack.session_ended(tid), what="session ended")
    assert item(tid).owner_id is None


def test_logout_is_an_auth_failure_and_forgets_the_login(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    saved = stack.session_dir / f"{tid}.tar.gz"
    eventually(saved.exists, what="saved login")
    sim.call("POST", f"/control/phones/{PHONE}/logout", {"reason": "user_initiated"})
    eventually(lambda: statuses(tid) == ("ERROR", "DISCONNECTED", "ERROR"), what="auth failure")
    # The cause in words, with wa-js's LogoutReason behind it.
    assert item(tid).last_error == "logged out: the phone logged this bot out (Linked devices)"
    eventually(lambda: stack.session_ended(tid), what="session ended")
    assert not saved.exists()


def test_conflict_is_taken_over_and_keeps_the_login(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    saved = stack.session_dir / f"{tid}.tar.gz"
    eventually(saved.exists, what="saved login")
    sim.control("conflict")
    sim.inbound("prices")
    eventually(lambda: len(sim.sent()) == 1, what="reply after taking the session back")
    assert statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING")
    assert saved.exists()


def test_conflict_with_stop_policy_stops_and_keeps_the_login(stack: Stack, sim: Sim) -> None:
    stack.configure(conflict="stop")
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    saved = stack.session_dir / f"{tid}.tar.gz"
    eventually(saved.exists, what="saved login")
    sim.control("conflict")
    eventually(lambda: statuses(tid)[2] == "STOPPED", what="stopped on conflict")
    assert saved.exists()


def _renderers(launcher_pid: int) -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process(launcher_pid).children(recursive=True)
        if "--type=renderer" in command_line(p)
    ]


def test_killed_renderer_is_recovered_and_reported(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    pid = stack.host_pid(tid)
    for renderer in eventually(lambda: _renderers(pid), what="renderer processes"):
        renderer.kill()
    eventually(lambda: "disconnected" in history(tid), what="crash reported")
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="recovered")
    assert history(tid).count("qr") == 1  # recovered from the saved login
    sim.inbound("hours")
    eventually(lambda: len(sim.sent()) == 1, what="replies after recovery")


def test_hung_page_is_detected_and_recovered(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.control("crash")
    eventually(
        lambda: (
            "page not responding" in (item(tid).last_error or "")
            or history(tid).count("ready") >= 2
        ),
        what="hang detected",
    )
    eventually(
        lambda: (
            history(tid).count("ready") >= 2 and statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING")
        ),
        what="recovered",
    )


def test_sigterm_drains_the_host_saves_the_login_and_the_tenant_comes_back_elsewhere(
    stack: Stack, sim: Sim
) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    saved = stack.session_dir / f"{tid}.tar.gz"
    saved.unlink(missing_ok=True)
    host, pid = stack.host_of(tid), stack.host_pid(tid)
    os.kill(pid, signal.SIGTERM)  # what ECS sends at a scale-in or a Spot interruption
    eventually(lambda: f"local:{pid}" in stack.runner.exit_codes, timeout=10, what="exit")
    assert stack.runner.exit_codes[f"local:{pid}"] == 0
    assert "stopped" in history(tid)  # STOPPED written by the draining session itself
    assert saved.exists()
    # With no other host to take it, it moves when the exit is reported: a new host, the
    # saved login, no new code.
    eventually(
        lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING") and stack.host_of(tid) != host,
        what="back on a new host",
    )
    assert history(tid).count("qr") == 1


def test_paused_tenant_stays_linked_but_does_not_reply(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    tenants.apply_event(tid, Event.PAUSED, Actor.TENANT, now_ms=SystemClock().now_ms())
    ignored = sim.inbound("menu")
    eventually(
        lambda: getattr(messages.get_inbound(tid, ignored), "state", None) == "IGNORED",
        what="message ignored while paused",
    )
    assert sim.sent() == []
    assert statuses(tid) == ("PAUSED", "CONNECTED", "RUNNING")
    tenants.apply_event(tid, Event.RESUMED, Actor.TENANT, now_ms=SystemClock().now_ms())
    sim.inbound("hours")
    eventually(lambda: len(sim.sent()) == 1, what="replies again after resume")


def test_a_host_started_without_its_id_fails_clearly(stack: Stack) -> None:
    env = {**stack.worker_env, "WAFLEET_HOST_ID": ""}
    done = subprocess.run(
        [sys.executable, "-m", "worker_container"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "WAFLEET_HOST_ID" in done.stderr


def test_every_rotated_qr_is_published_and_an_expired_rotation_is_reloaded(
    stack: Stack,
) -> None:
    from devstack.simulator.state import QrTiming
    from tests.processes import start_sim

    rotating, server = start_sim(QrTiming(first_ms=1500, next_ms=1000, count=3))
    try:
        stack.configure(whatsapp_url=rotating.url + "/", qr_first_s=1.5, qr_next_s=1.0, qr_count=3)
        tid = new_tenant()
        workers.start(tid)
        seen: dict[str, int] = {}

        def record() -> bool:
            current = item(tid)
            if current.qr_payload:
                seen.setdefault(current.qr_payload, int(current.qr_attempt))
            return len(seen) >= 4

        eventually(record, timeout=30, what="three rotations and a reload")
        attempts = list(seen.values())
        assert attempts[:3] == [1, 2, 3] and attempts[3] == 1, attempts
        # Only the code on screen now links; a code of the run-out rotation is refused.
        old = next(iter(seen))
        assert rotating.link(old)["status"] in (404, 410)
        # A code lives 1 s here: one that rotated away between reading and scanning is
        # refused, and the phone scans the next one, as a person would.
        eventually(
            lambda: rotating.link(item(tid).qr_payload or "").get("phone") == PHONE,
            what="a scan of the code on screen",
        )
        eventually(
            lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"),
            what="ACTIVE after linking",
        )
        assert history(tid).count("qr") == 1  # rotations change no status: no history spam
        # wa-js latched conn.main_ready on the first QR screen: the worker never took that for
        # a stalled connection, so the page was loaded once and never reloaded under the owner.
        assert rotating.state.page_loads == 1
    finally:
        server.shutdown()


def test_history_synced_at_link_time_is_never_answered(stack: Stack, sim: Sim) -> None:
    sim.call("POST", f"/control/phones/{PHONE}/history", {"from": "+15550007", "text": "old"})
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.inbound("new one", sender="+15550008")
    eventually(lambda: len(sim.sent()) == 1, what="the new message answered")
    assert [m["to"] for m in sim.sent()] == ["+15550008"]
    # A restart catches up on what it missed, and still leaves the history alone.
    workers.stop(tid)
    eventually(lambda: stack.session_ended(tid), what="session ended")
    workers.start(tid)
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="back")
    eventually(lambda: item(tid).heartbeat_at, what="heartbeats")
    assert [m["to"] for m in sim.sent()] == ["+15550008"]


def test_a_lid_chat_is_answered_by_chat_id_and_logged_with_the_phone_number(
    stack: Stack, sim: Sim
) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    message_id = sim.call(
        "POST",
        f"/control/phones/{PHONE}/inbound",
        {"from": "+15550003", "text": "hours", "lid": True},
    )["id"]
    eventually(lambda: len(sim.sent()) == 1, what="reply")
    assert sim.sent()[0]["chat"].endswith("@lid")
    logged = messages.get_inbound(tid, message_id)
    assert logged is not None
    assert (logged.from_number, logged.chat) == ("+15550003", sim.sent()[0]["chat"])


def test_a_stalled_stream_is_seen_by_the_probe_and_recovered(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.control("stall")  # no event at all: only asking the page tells
    eventually(lambda: statuses(tid)[1] == "DISCONNECTED", timeout=10, what="deaf detected")
    assert "not receiving" in (item(tid).last_error or "") or "connection" in (
        item(tid).last_error or ""
    )
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="reloaded")
    sim.inbound("still there?")
    eventually(lambda: len(sim.sent()) == 1, what="answers again")


def test_link_by_pairing_code_instead_of_qr(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    tenants.request_pairing_code(tid, PHONE, now_ms=SystemClock().now_ms())
    workers.start(tid)
    code = eventually(
        lambda: item(tid).qr_payload if item(tid).qr_kind == "pairing" else None,
        what="a pairing code published",
    )
    assert len(code) == 8 and item(tid).qr_attempt == 1
    assert sim.call("POST", "/control/link-code", {"code": code, "phone": PHONE})["phone"] == PHONE
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="linked")
    assert item(tid).qr_payload is None


def test_a_reply_counts_as_sent_only_once_whatsapp_acknowledges_it(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.control("hold-acks")  # WhatsApp's server takes the reply but does not ack it yet
    inbound = sim.inbound("hours")
    key = f"out#re-{inbound}"
    reply = eventually(
        lambda: (
            MessageModel.get(tid, key, consistent_read=True)
            if MessageModel.count(tid, MessageModel.message_key == key)
            else None
        ),
        what="reply claimed",
    )
    assert reply.state == "SENDING" and sim.sent() == []
    sim.control("release-acks")
    eventually(lambda: len(sim.sent()) == 1, what="acknowledged")
    eventually(
        lambda: MessageModel.get(tid, key, consistent_read=True).state == "SENT",
        what="SENT after the ack",
    )
    # Identified by the id we chose before sending, never by its text.
    assert MessageModel.get(tid, key, consistent_read=True).wa_message_id == sim.sent()[0]["id"]


def wa_catalog(folder: Path, **expires_in_days: float) -> Path:
    """A wa-version catalog (its versions.json and html/ pages, as the npm package lays them
    out) whose pages are the simulator's site, each version expiring in the days given."""
    from devstack.simulator.server import STATIC

    (folder / "html").mkdir(parents=True)
    now = dt.datetime.now(dt.UTC)
    listed = []
    for name, days in expires_in_days.items():
        version = f"2.3000.{name.removeprefix('v')}-alpha"
        page = (STATIC / "index.html").read_text().replace("<title>", f"<title>{version} ")
        (folder / "html" / f"{version}.html").write_text(page)
        listed.append(
            {
                "version": version,
                "beta": False,
                "released": (now - dt.timedelta(days=60 - days)).isoformat(),
                "expire": (now + dt.timedelta(days=days)).isoformat(),
            }
        )
    (folder / "versions.json").write_text(json.dumps({"versions": listed}))
    return folder


def test_a_tenant_pinned_to_a_whatsapp_web_version_is_served_its_page_and_an_expired_pin_is_not(
    stack: Stack, sim: Sim, tmp_path: Path
) -> None:
    stack.configure(wa_catalog=wa_catalog(tmp_path / "wa-version", v1=30, v2=-1))
    tid = new_tenant()
    admin.pin_wa_version(tid, "operator", "2.3000.1-alpha")
    workers.start(tid)
    link(sim, tid)
    assert sim.state.page_loads == 0  # the site's own page was never fetched
    sim.inbound("hours")
    eventually(lambda: len(sim.sent()) == 1, what="reply")
    # It never asked whether it is out of date, nor installed a service worker.
    assert (sim.state.update_checks, sim.state.service_worker_fetches) == (0, 0)
    row = presenters.fleet_row(views.tenant(item(tid)), now_ms=0, stale_ms=60_000)
    assert row["whatsappWeb"] == {
        "pinned": "2.3000.1-alpha",
        "served": "2.3000.1-alpha",
        "refused": None,
    }

    # A version WhatsApp no longer accepts keeps no bot offline: the next launch opens the
    # live site, and the fleet view says why the pin was not served.
    admin.pin_wa_version(tid, "operator", "2.3000.2-alpha")
    workers.restart(tid)
    eventually(lambda: item(tid).wa_served == "live", what="the live site served")
    assert "expired" in item(tid).wa_refused
    eventually(lambda: sim.state.page_loads >= 1, what="the site's own page")


def test_a_whatsapp_web_wa_js_cannot_load_waits_for_an_update_instead_of_looping(
    stack: Stack, sim: Sim
) -> None:
    stack.configure(page_load_s=2.0, not_loaded_tries=2, not_loaded_retry_s=3.0)
    sim.call("POST", "/control/site", {"changed": True})  # a release wa-js does not know
    tid = new_tenant()
    workers.start(tid)

    def waiting_for_an_update() -> Any:
        now = item(tid)
        changed = (now.last_error or "").startswith(WHATSAPP_CHANGED)
        return now if changed and now.next_retry_at else None  # the next try: written second

    waiting = eventually(waiting_for_an_update, timeout=40, what="the cause and the next try")
    assert sim.state.page_loads == 2  # the configured tries, then no relaunch loop
    assert int(waiting.reconnect_attempts) == 2
    words = presenters.tenant_status(
        views.tenant(item(tid)), None, now_ms=SystemClock().now_ms(), stale_ms=60_000
    )["explain"]
    assert words["who"] == "operator" and "WhatsApp changed" in words["headline"]
    sim.call("POST", "/control/site", {"changed": False})  # wa-js updated, or the site back
    published_qr(tid)  # the slow retry loads it: a code to link, from the same worker
    assert statuses(tid)[2] == "RUNNING"


def test_the_owner_takes_a_chat_over_from_the_phone_and_stop_silences_a_customer(
    stack: Stack, sim: Sim
) -> None:
    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.call("POST", f"/control/phones/{PHONE}/outbound", {"to": "+15550001", "text": "Hi, Tom!"})
    eventually(
        lambda: messages.chat_record(tid, "15550001@c.us").taken_over_until,
        what="the takeover recorded",
    )
    later = sim.inbound("see you at 5", sender="+15550001")
    sim.inbound("STOP", sender="+15550002")
    eventually(
        lambda: [m["text"] for m in sim.sent()] == [conversation.STOPPED_TEXT],
        what="the STOP confirmed",
    )
    after_stop = sim.inbound("menu?", sender="+15550002")

    def silent(message_id: str) -> str | None:
        found = messages.get_inbound(tid, message_id)
        return found.why if found is not None and found.state == "IGNORED" else None

    assert eventually(lambda: silent(later), what="no answer in the taken chat") == (
        "you took over this chat"
    )
    assert eventually(lambda: silent(after_stop), what="no answer after STOP") == (
        "opted out of automatic replies"
    )
    assert [m["text"] for m in sim.sent()] == [conversation.STOPPED_TEXT]


def test_the_owners_saved_answer_is_what_the_next_customer_gets(stack: Stack, sim: Sim) -> None:
    from chalicelib.store import replies

    tid = new_tenant()
    workers.start(tid)
    link(sim, tid)
    sim.inbound("prices?")
    eventually(lambda: len(sim.sent()) == 1, what="the starting template's answer")
    mine = {"topics": [{"keywords": ["prices"], "answer": "Pizza 9, pasta 11 at {name}."}]}
    replies.save(tid, mine, base=0, user_id="owner", now_ms=SystemClock().now_ms())
    sim.inbound("and the prices now?", sender="+15550002")  # no restart, no wait
    eventually(lambda: len(sim.sent()) == 2, what="the next answer")
    assert sim.sent()[-1]["text"] == "Pizza 9, pasta 11 at Pizza Roma."


def test_a_pdf_answer_reaches_the_customers_phone(stack: Stack, sim: Sim) -> None:
    import hashlib

    import requests

    from chalicelib.services import portal

    tid = new_tenant()
    pdf = b"%PDF-1.4\n% the menu of Pizza Roma\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    # What the portal does: ask where, upload there with the presigned POST, save.
    where = portal.upload_media(
        tid, "owner", {"name": "menu.pdf", "type": "application/pdf", "size": len(pdf)}
    )
    sent = requests.post(
        where["url"], data=where["fields"], files={"file": ("menu.pdf", pdf)}, timeout=10
    )
    assert sent.status_code in (200, 204), sent.text
    media = {"id": where["id"], "name": "menu.pdf", "type": "application/pdf", "size": len(pdf)}
    mine = {"topics": [{"keywords": ["menu"], "answer": "Our menu, {name}.", "media": media}]}
    portal.save_replies(tid, "owner", mine, base=0)
    workers.start(tid)
    link(sim, tid)
    sim.inbound("the menu please")
    eventually(lambda: len(sim.sent()) == 1, what="the answer with its file")
    got = sim.sent()[0]
    assert (got["type"], got["filename"], got["mimetype"]) == (
        "document",
        "menu.pdf",
        "application/pdf",
    )
    assert got["text"] == "Our menu, Pizza Roma."  # the caption
    assert got["size"] == len(pdf)
    assert got["sha256"] == base64.b64encode(hashlib.sha256(pdf).digest()).decode()


def test_a_canary_probes_its_peer_and_a_silent_peer_shows_as_failures_in_a_row(
    stack: Stack, sim: Sim
) -> None:
    stack.configure(canary_s=1.0, canary_timeout_s=8.0)
    peer_phone = "+4915100000077"
    canary_tid = new_tenant("Canary")
    peer_tid = tenants.create_tenant(
        "Peer", now_ms=SystemClock().now_ms(), phone=peer_phone
    ).tenant_id
    tenants.pair_canary(canary_tid, peer_tid, now_ms=SystemClock().now_ms())
    workers.start(peer_tid)
    peer_code = published_qr(peer_tid)
    assert sim.link(peer_code, phone=peer_phone)["phone"] == peer_phone
    workers.start(canary_tid)
    link(sim, canary_tid)
    eventually(lambda: item(canary_tid).canary_ok is True, timeout=30, what="a probe answered")
    now = SystemClock().now_ms()
    row = presenters.fleet_row(views.tenant(item(canary_tid)), now_ms=now, stale_ms=1500)
    assert row["canary"]["peer"] == peer_phone and row["canary"]["roundTripMs"] > 0
    eventually(
        lambda: any(
            h.event == "canary" and (h.detail or "").startswith("answered in")
            for h in HistoryModel.query(canary_tid)
        ),
        what="the probe in the canary's history",
    )
    # The peer answered with the platform's text only, never with its owner's rules.
    assert sim.sent(peer_phone)
    assert all(m["text"].startswith("wafleet canary ok ") for m in sim.sent(peer_phone))
    # Nobody answers any more: the canary says so, failure after failure.
    workers.stop(peer_tid)
    eventually(lambda: (item(canary_tid).canary_fails or 0) >= 2, timeout=40, what="2 failures")
    assert item(canary_tid).canary_ok is False
