"""One tenant's session on a worker host against the simulator, with the real wa-js on the
simulator's WhatsApp Web modules: code publish latency, reply latency (and the deliberate
"typing…" before each reply), memory, throughput, relinking without a new QR, messages that
reach a hung host's page, the login archive.

Last line: {"real_wajs": true, "qr_publish_ms_p50": ..., "qr_publish_ms_max": ...,
            "pairing_publish_ms_max": ..., "reply_ms_p50": ..., "reply_ms_p95": ...,
            "typing_ms_mean": ..., "host_rss_mb": ..., "browser_pss_mb": ..., "msgs_per_s": ...,
            "relink_without_qr": k (of 10), "relink_s_p50": ..., "hung_chat_answered": k (of 10),
            "hang_shown_s_max": ... (a hung browser shown as our problem, target <= 5),
            "duplicates": 0, "profile_archive_mb": ...}
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fleet import host_pid, hosts_for, until
from devstack.local_aws import fake_credentials, moto_server

PHONE = "+4915100000009"
REPLIES = 30
BURST = 50
RESTARTS = 10
HANGS = 10
OWNERS_RULES = {
    "timeZone": "Europe/Berlin",
    "hours": {day: ["00:00", "23:59"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "exceptions": {"2030-12-25": None},
    "topics": [
        {"keywords": [f"word{n}", f"other{n}"], "answer": f"Answer {n}: {{hours_today}}."}
        for n in range(28)
    ]
    + [{"keywords": ["hours", "menu"], "answer": "Open {hours_today}, {name}."}],
    "greeting": "Welcome to {name}!",
    "away": "Closed now; we open {next_open}.",
    "neverAnswer": [f"+4930{n:08d}" for n in range(400)],
}
HUNG_PAGES = 5
ROOT = Path(__file__).resolve().parents[1]


def real_wajs() -> bool:
    """The worker injects the pinned npm package, and the simulator's page defines no WPP of
    its own: what answers the worker is the real wa-js on WhatsApp Web's fake modules."""
    from worker_container.config import DEFAULT_BUNDLE

    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@wppconnect/wa-js"]["version"]
    header = DEFAULT_BUNDLE.read_text(encoding="utf-8")[:300]
    static = ROOT / "devstack/simulator/static"
    fake = any("window.WPP" in p.read_text() for p in static.rglob("*.js"))
    return f"wa-js v{pinned}" in header and not fake


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    os.environ.update(fake_credentials())
    from chalicelib.control import reaper, workers
    from chalicelib.domain.clock import SystemClock
    from chalicelib.domain.words import OUR_SIDE
    from chalicelib.settings import Settings
    from chalicelib.store import models, replies, tenants
    from chalicelib.store.models import HistoryModel
    from devstack.simulator.server import make_server
    from devstack.simulator.state import QrTiming, Simulator

    clock = SystemClock()
    sim = Simulator(clock.now_ms, QrTiming(first_ms=1000, next_ms=700, count=6, pairing_ms=700))
    server = make_server(sim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim_url = f"http://127.0.0.1:{server.server_address[1]}"
    with moto_server() as moto, tempfile.TemporaryDirectory() as sessions:
        settings = Settings(dynamodb_endpoint=moto.endpoint, heartbeat_s=0.5, stale_s=3)
        models.bind(settings)
        models.create_tables(wait=False)
        runner = hosts_for(
            settings,
            {"WAFLEET_HOST_POLL_S": "0.2"},
            whatsapp_url=sim_url + "/",
            session_dir=Path(sessions),
            rate_per_min=0.0,
            qr_first_s=1.0,
            qr_next_s=0.7,
            pairing_code_s=0.7,
            save_s=1.0,
        )  # the page probe at its default: the hang measure is of what production does
        tid = tenants.create_tenant("Bench Bistro", now_ms=clock.now_ms(), phone=PHONE).tenant_id
        # The owner's rules loaded, as a real tenant has them: every reply reads them (with
        # the tenant item) and the chat's record, and writes the record back.
        replies.save(tid, OWNERS_RULES, base=0, user_id="bench", now_ms=clock.now_ms())

        def item() -> Any:
            return tenants.get_tenant(tid, consistent=True)

        def connected() -> bool:
            return bool(item().session_state == "CONNECTED")

        def qr_events() -> int:
            return [h.event for h in HistoryModel.query(tid)].count("qr")

        workers.start(tid)

        # Codes: from the moment the page got a code to the moment DynamoDB holds it.
        first_seen: dict[str, int] = {}

        def codes(kind: str, count: int) -> bool:
            current = item()
            if current.qr_payload and (current.qr_kind or "qr") == kind:
                first_seen.setdefault(current.qr_payload, clock.now_ms())
            return sum(1 for p in first_seen if (len(p) == 8) == (kind == "pairing")) >= count

        until(lambda: codes("qr", 6))
        qr_ms = [first_seen[p] - sim.served_ms[p] for p in first_seen if p in sim.served_ms]
        tenants.request_pairing_code(tid, PHONE, now_ms=clock.now_ms())  # a code, not a QR
        until(lambda: codes("pairing", 2))
        pairing = [p for p in first_seen if len(p) == 8]
        pairing_ms = [first_seen[p] - sim.served_ms[p] for p in pairing]
        requests.post(
            sim_url + "/control/link-code", json={"code": pairing[-1], "phone": PHONE}, timeout=10
        ).raise_for_status()
        until(connected)

        def sent() -> list[dict[str, Any]]:
            return list(sim.sent(PHONE))

        # Reply latency: one message at a time, inbound stamp to outbound stamp. It includes
        # "typing…" shown before each reply on purpose (WorkerConfig.typing_ms), measured from
        # the simulated contact's side.
        reply_ms, typing_ms = [], []
        for i in range(REPLIES):  # one customer each: the loop guard limits one to 10 an hour
            inbound = sim.inbound(PHONE, f"+1555{i:07d}", f"hours {i}", None)
            chat = sim.phones[PHONE].chats[inbound["chat"]]
            at = next(m.at_ms for m in chat if m.id == inbound["id"])
            out = until(lambda n=i: sent()[n] if len(sent()) > n else None)
            reply_ms.append(out["at"] - at)
            shown = [a for a in sim.activity(PHONE) if a["chat"] == inbound["chat"]][-2:]
            assert [a["kind"] for a in shown] == ["composing", "paused"], shown
            typing_ms.append(shown[1]["at"] - shown[0]["at"])
        # What the platform takes, besides the pause it makes on purpose.
        working_ms = [r - t for r, t in zip(reply_ms, typing_ms, strict=True)]

        host = psutil.Process(host_pid(tid))
        rss = host.memory_info().rss / 2**20
        browser = (
            sum(
                p.memory_full_info().pss
                for p in host.children(recursive=True)
                if "chrom" in p.name().lower()
            )
            / 2**20
        )

        # Throughput: a burst from many senders, rate limit off.
        start = time.monotonic()
        for i in range(BURST):
            sim.inbound(PHONE, f"+1777{i:06d}", "menu", None)
        until(lambda: len(sent()) >= REPLIES + BURST, timeout=300)
        per_s = BURST / (time.monotonic() - start)
        expected = REPLIES + BURST
        archive_mb = (Path(sessions) / f"{tid}.tar.gz").stat().st_size / 2**20

        # Relinking: graceful restarts, and kill -9 of the host after the periodic save (the
        # tenant moves to a new host by itself), no new QR.
        relinked, relink_s = 0, []
        for attempt in range(RESTARTS):
            qrs = qr_events()
            epoch = int(item().lease_epoch)
            if attempt % 2:
                threading.Event().wait(1.5)  # past the periodic save (save_s=1)
                begun = time.monotonic()
                os.kill(host_pid(tid), signal.SIGKILL)
            else:
                workers.stop(tid)
                until(lambda: item().worker_status == "STOPPED", timeout=20)
                begun = time.monotonic()
                workers.start(tid)
            until(lambda e=epoch: connected() and int(item().lease_epoch) > e, timeout=60)
            relink_s.append(time.monotonic() - begun)
            relinked += qr_events() == qrs
            sim.inbound(PHONE, f"+1556{attempt:07d}", f"after restart {attempt}", None)
            expected += 1
            until(lambda n=expected: len(sent()) >= n, timeout=60)

        # A hung browser (the host is fine): how soon the status says the problem is ours.
        hang_shown_s = []
        for _ in range(HUNG_PAGES):
            page_browser = next(
                p
                for p in psutil.Process(host_pid(tid)).children(recursive=True)
                if f"wafleet-{tid}-" in " ".join(p.cmdline()) and "--type=" not in p.cmdline()
            )
            frozen = [page_browser, *page_browser.children(recursive=True)]
            for process in frozen:
                process.suspend()
            hung_at = time.monotonic()
            try:
                until(
                    lambda: not connected() and (item().last_error or "").startswith(OUR_SIDE),
                    timeout=30,
                )
                hang_shown_s.append(time.monotonic() - hung_at)
            finally:
                for process in frozen:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        process.resume()
            until(connected, timeout=60)

        # A message that reaches a hung host's page, in the chat it last answered.
        answered = 0
        for attempt in range(HANGS):
            old = psutil.Process(host_pid(tid))
            epoch = int(item().lease_epoch)
            old.suspend()
            try:
                sim.inbound(PHONE, f"+1557{attempt:07d}", f"while hung {attempt}", None)
                expected += 1
                until(lambda: reaper.reap().hosts.lost, timeout=30)  # moved to a new host
                until(lambda e=epoch: connected() and int(item().lease_epoch) > e, timeout=60)
                try:
                    until(lambda n=expected: len(sent()) >= n, timeout=30)
                    answered += 1
                except TimeoutError:
                    expected = len(sent())
            finally:
                with contextlib.suppress(psutil.NoSuchProcess):
                    old.resume()  # unless the launcher's SIGKILL after the stop timeout came first
            until(lambda p=old: not psutil.pid_exists(p.pid) or p.status() == "zombie", timeout=30)
        threading.Event().wait(2)  # anything sent twice would show up by now
        duplicates = max(0, len(sent()) - expected)
        runner.stop_all()
    server.shutdown()
    print(
        json.dumps(
            {
                "real_wajs": real_wajs(),
                "qr_publish_ms_p50": round(statistics.median(qr_ms), 1),
                "qr_publish_ms_max": round(max(qr_ms), 1),
                "qr_samples": len(qr_ms),
                "pairing_publish_ms_max": round(max(pairing_ms), 1),
                "reply_ms_p50": round(percentile(reply_ms, 0.5), 1),
                "reply_ms_p95": round(percentile(reply_ms, 0.95), 1),
                "typing_ms_mean": round(statistics.mean(typing_ms), 1),
                "reply_ms_p95_besides_typing": round(percentile(working_ms, 0.95), 1),
                "host_rss_mb": round(rss, 1),
                "browser_pss_mb": round(browser, 1),
                "msgs_per_s": round(per_s, 2),
                "relink_without_qr": relinked,
                "relink_s_p50": round(statistics.median(relink_s), 2),
                "hung_chat_answered": answered,
                "hang_shown_s_max": round(max(hang_shown_s), 2),
                "duplicates": duplicates,
                "profile_archive_mb": round(archive_mb, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
