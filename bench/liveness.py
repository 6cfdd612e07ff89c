"""How fast the status tells the truth: crash and hang detection through the HTTP API,
takeover by a new worker, zombie writes, and a reaper run over 10,000 tenants on moto.

Heartbeat 0.2 s, stale threshold 1 s, 10 rounds each. Last line: one JSON object.
"""

from __future__ import annotations

import contextlib
import dataclasses
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

ROUNDS = 10
FLEET = 10_000
FLEET_STALE_EVERY = 100


def main() -> None:
    os.environ.update(fake_credentials())
    from app import app
    from chalicelib.api.auth import memberships
    from chalicelib.control import reaper, workers
    from chalicelib.domain.clock import SystemClock
    from chalicelib.settings import Settings
    from chalicelib.store import models, tenants, users
    from chalicelib.store.models import HistoryModel
    from devstack import gateway
    from devstack.issuer import LocalIssuer
    from devstack.simulator.server import make_server
    from devstack.simulator.state import Simulator

    clock = SystemClock()
    sim = make_server(Simulator(clock.now_ms))
    threading.Thread(target=sim.serve_forever, daemon=True).start()
    with moto_server() as moto, tempfile.TemporaryDirectory() as tmp:
        issuer = LocalIssuer.load_or_create(Path(tmp) / "issuer")
        settings = Settings(
            dynamodb_endpoint=moto.endpoint,
            heartbeat_s=0.2,
            stale_s=1.0,
            jwks_url=issuer.jwks_url,
            jwt_issuer=issuer.issuer,
            jwt_audience=issuer.audience,
        )
        models.bind(settings)
        models.create_tables(wait=False)
        runner = hosts_for(
            settings,
            {"WAFLEET_HOST_POLL_S": "0.2"},
            whatsapp_url=f"http://127.0.0.1:{sim.server_address[1]}/",
            session_dir=Path(tmp) / "sessions",
        )
        memberships.clear()
        web = gateway.start(app)

        def tenant_with_user(name: str) -> tuple[str, dict[str, str]]:
            tid = tenants.create_tenant(name, now_ms=clock.now_ms()).tenant_id
            user = users.add_user(
                f"{tid}@bench.example", role="tenant", tenant_id=tid, now_ms=clock.now_ms()
            )
            return tid, {"Authorization": f"Bearer {issuer.token(user.user_id)}"}

        def api_worker(headers: dict[str, str]) -> dict[str, Any]:
            doc = requests.get(
                f"{web.url}/portal/tenant/current/status", headers=headers, timeout=5
            ).json()
            return dict(doc["worker"])

        def running(tid: str, epoch: int = 0) -> int:
            until(
                lambda: (
                    (t := tenants.get_tenant(tid, consistent=True)).worker_status == "RUNNING"
                    and int(t.lease_epoch) > epoch
                )
            )
            return host_pid(tid)

        crash_ms, hang_ms, takeover_ms, zombie_writes = [], [], [], 0
        for i in range(ROUNDS):
            tid, headers = tenant_with_user(f"Crash {i}")
            workers.start(tid)
            pid = running(tid)
            epoch = int(tenants.get_tenant(tid).lease_epoch)
            start = time.perf_counter()
            os.kill(pid, signal.SIGKILL)  # its host: the session ends with it
            # Recorded when the API no longer shows that session running (it is ERROR, or
            # already started again on another host with a new lease).
            until(
                lambda h=headers, e=epoch, t=tid: (
                    api_worker(h)["status"] != "RUNNING"
                    or int(tenants.get_tenant(t, consistent=True).lease_epoch) > e
                ),
                step=0.02,
            )
            crash_ms.append((time.perf_counter() - start) * 1000)

        for i in range(ROUNDS):
            tid, headers = tenant_with_user(f"Hang {i}")
            workers.start(tid)
            pid = running(tid)
            old_epoch = int(tenants.get_tenant(tid).lease_epoch)
            process = psutil.Process(pid)
            process.suspend()
            start = time.perf_counter()
            until(lambda h=headers: api_worker(h)["stale"], step=0.02)
            hang_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            until(lambda: reaper.reap().hosts.lost)  # the silent host: its tenant moves
            running(tid, old_epoch)
            takeover_ms.append((time.perf_counter() - start) * 1000)
            with contextlib.suppress(psutil.NoSuchProcess):  # ended by the placer already
                process.resume()
            ref = f"local:{pid}"
            until(lambda r=ref: r in runner.exit_codes, timeout=30)
            entries = sorted(HistoryModel.query(tid), key=lambda h: h.sk)
            lost_at = next(
                h.sk for h in entries if h.epoch == old_epoch and h.event in ("stale", "crashed")
            )
            zombie_writes += sum(1 for h in entries if h.sk > lost_at and h.epoch == old_epoch)
            tenant = tenants.get_tenant(tid, consistent=True)
            zombie_writes += int(tenant.lease_epoch) != old_epoch + 1
            workers.stop(tid)
        runner.stop_all()
        web.stop()

    sim.shutdown()
    print(
        json.dumps(
            {
                "crash_detect_ms_p50": round(statistics.median(crash_ms), 1),
                "crash_detect_ms_max": round(max(crash_ms), 1),
                "hang_detect_ms_p50": round(statistics.median(hang_ms), 1),
                "hang_detect_ms_max": round(max(hang_ms), 1),
                "takeover_ms_p50": round(statistics.median(takeover_ms), 1),
                "zombie_writes_accepted": zombie_writes,
                "rounds": ROUNDS,
                **reaper_fleet(),
            }
        )
    )


def reaper_fleet() -> dict[str, Any]:
    """A reaper run over 10,000 state items, counted on the wire."""
    os.environ.update(fake_credentials())
    from chalicelib.control import reaper, runtime
    from chalicelib.domain.clock import ManualClock
    from chalicelib.settings import Settings
    from chalicelib.store import models
    from chalicelib.store.models import TenantModel
    from devstack.item_size import item_size

    # Frozen time: the fleet's heartbeats are written once, and must not all go stale while
    # moto works through the run (live workers would have refreshed them).
    clock = ManualClock()

    # The paginated Scan DynamoDB bills on every item. AWS-default intervals, 1 in 100 workers
    # hung. (moto copies the whole table for each transaction, so the seconds measure moto.)
    with moto_server() as fleet_moto:
        # A second moto: its tables get names of their own (a table name stays bound to one
        # endpoint for the life of a process).
        names = {
            f.name: "fleet-" + getattr(Settings(), f.name)
            for f in dataclasses.fields(Settings)
            if f.name.endswith("_table")
        }
        fleet = Settings(dynamodb_endpoint=fleet_moto.endpoint, heartbeat_s=15, stale_s=45, **names)
        runtime.configure(fleet, clock=clock)
        models.create_tables(wait=False)
        now = clock.now_ms()
        with TenantModel.batch_write() as batch:
            for n in range(FLEET):
                stale = n % FLEET_STALE_EVERY == 0
                batch.save(
                    TenantModel(
                        f"t_fleet{n:05d}",
                        name=f"Fleet tenant {n}",
                        phone="+4915100000000",
                        created_at=now,
                        tenant_status="ACTIVE",
                        session_state="CONNECTED",
                        worker_status="RUNNING",
                        owner_id="0" * 32,
                        lease_epoch=1,
                        heartbeat_at=now - (60_000 if stale else 0),
                        last_seen_at=now,
                        started_at=now,
                        setup_id="sr_0000000000000000",
                        setup_status="ACTIVE",
                        template_type="RESTAURANT",
                        desired="RUN",
                        task_ref="local:1",
                        host_share_mb=65,
                        browser_mb=390,
                        updated_at=now,
                    )
                )
        items_bytes = sum(item_size(i.serialize()) for i in TenantModel.scan())
        sent: list[str] = []
        # Transactions go through the shared connection, the Scan through the model's own.
        for client in (
            models.shared_connection().client,
            TenantModel._get_connection().connection.client,
        ):
            client.meta.events.register(
                "before-send.dynamodb", lambda event_name, **_: sent.append(event_name)
            )
        start = time.perf_counter()
        report = reaper.reap()
        reaper_s = time.perf_counter() - start
        requests_sent = len(sent)
        scans = sum(1 for e in sent if e.endswith(".Scan"))
        start = time.perf_counter()
        again = reaper.reap()  # a run with nothing left to mark: the Scan alone
        rescan_s = time.perf_counter() - start
        assert not again.reaped
    return {
        "reaper_10k_requests": requests_sent,
        "reaper_10k_scan_pages": scans,
        "reaper_10k_items_read": FLEET,
        "reaper_10k_bytes_read": items_bytes,
        "reaper_10k_read_units": round(items_bytes / 4096 / 2, 1),
        "reaper_10k_reaped": len(report.reaped),
        "reaper_10k_s": round(reaper_s, 2),
        "reaper_10k_scan_only_s": round(rescan_s, 2),
    }


if __name__ == "__main__":
    main()
