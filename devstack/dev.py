"""``make dev``: the whole platform on loopback, in one command.

moto (DynamoDB) in a child process, the Chalice API and the static portal on one origin,
the WhatsApp Web simulator, worker hosts as child processes (started by the placer exactly as
ECS tasks are), and the reaper loop. Ctrl-C stops everything: hosts get SIGTERM (each session
saves its login and writes STOPPED), then the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

from chalicelib.domain.clock import SystemClock
from chalicelib.domain.errors import DuplicateError, WafleetError
from chalicelib.domain.transitions import Actor
from chalicelib.settings import Settings, env_for, read_env
from devstack import gateway, notify_local, snapshot
from devstack.console import say
from devstack.issuer import LocalIssuer
from devstack.leftovers import StackFile
from devstack.local_auth import LocalAuth
from devstack.local_aws import fake_credentials, start_moto
from devstack.simulator.state import QrTiming

ROOT = Path(__file__).resolve().parents[1]
DEMO_TENANT = "t_demo"
DEMO_USER = "owner@demo.example"
DEMO_ADMIN = "admin@demo.example"
MOTO_PORT = 5005
RECEIVER_PORT = 7100


def seed(clock: SystemClock) -> None:
    """A demo tenant, its owner, and an admin (idempotent)."""
    from chalicelib.store import tenants, users

    with contextlib.suppress(DuplicateError):
        tenants.create_tenant(
            "Demo Pizzeria", now_ms=clock.now_ms(), phone=None, tenant_id=DEMO_TENANT
        )
    for email, role, tenant in ((DEMO_USER, "tenant", DEMO_TENANT), (DEMO_ADMIN, "admin", None)):
        if users.find_by_email(email) is None:
            users.add_user(email, role=role, tenant_id=tenant, now_ms=clock.now_ms())


def local_routes(auth: LocalAuth) -> gateway.ExtraRoute:
    """The portal's ``/config.json`` and the local hosted UI (``devstack/local_auth.py``)."""

    def handle(handler: Any) -> bool:
        if handler.path == "/config.json" and handler.command == "GET":
            _json(
                handler,
                200,
                {
                    "auth": "local",
                    "authorizeUrl": "/local-auth/authorize",
                    "tokenUrl": "/local-auth/token",
                    "clientId": auth.issuer.audience,
                    "apiBase": "/api",
                },
            )
            return True
        return auth.handle(handler)

    return handle


def _json(handler: Any, status: int, value: Any) -> None:
    data = json.dumps(value).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


DATA_DIR = "data"  # the tables and the simulator, saved (devstack/snapshot.py)


def resume() -> list[str]:
    """After a restart: start again every bot that should run (its saved login links it)."""
    from chalicelib.control.workers import start, worker_exited
    from chalicelib.domain.statuses import LIVE_WORKER
    from chalicelib.store import hosts
    from chalicelib.store.models import TenantModel

    # The hosts of the last run are gone with it; their tenants are started below.
    for host in hosts.all_hosts():
        if host.status != hosts.HostStatus.GONE.value:
            hosts.gone(host.host_id, "make dev was stopped", now_ms=SystemClock().now_ms())
            for placed in hosts.placements(host.host_id)[1]:
                hosts.release(host.host_id, placed.lease.tenant_id)
    started = []
    for item in TenantModel.scan():
        if item.desired != "RUN":
            continue
        if item.worker_status in {s.value for s in LIVE_WORKER}:  # the last run was killed
            worker_exited(item.tenant_id, int(item.lease_epoch), "make dev was stopped")
        try:
            start(item.tenant_id, detail="make dev restarted", actor=Actor.LAUNCHER)
        except WafleetError as exc:
            say(f"could not restart {item.tenant_id}: {exc}")
            continue
        started.append(item.tenant_id)
    return started


STACK_FILE = "stack.json"  # where a running make dev says how to reach it (CLI commands read it)


def run(
    *,
    port: int,
    simulator_port: int,
    folder: str,
    moto_port: int = MOTO_PORT,
    qr: QrTiming | None = None,
    reset: bool = False,
    receiver_port: int = RECEIVER_PORT,
) -> None:
    """Start everything, print where to go, and wait for Ctrl-C."""
    from app import app
    from chalicelib.control import runtime
    from chalicelib.control.reaper import reap
    from chalicelib.control.workers import host_exited
    from chalicelib.launch.local import LocalHosts
    from chalicelib.launch.placer import HostPlacer
    from chalicelib.store import models
    from devstack.simulator.server import make_server
    from devstack.simulator.state import Simulator
    from worker_container.config import HostConfig, WorkerConfig

    # Everything make dev and its workers create (tables, logins, keys, browser profiles) is
    # its user's alone: files 0600, folders 0700 from the moment they exist.
    os.umask(0o077)
    base = Path(folder) if Path(folder).is_absolute() else (ROOT / folder).resolve()
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    base.chmod(0o700)
    stack_file = StackFile(base / STACK_FILE)
    ended = stack_file.end_leftovers()  # what a kill -9 of the last run left, by its ids
    if ended:
        say(f"ended {len(ended)} processes the last run left behind")
    stack_file.start()
    stop = threading.Event()

    # A Ctrl-C while the stack is starting (or the instant it printed its address) is not
    # lost: it stops everything cleanly once started (a terminal's Ctrl-C can come twice:
    # to the group, and forwarded by uv). Explicit handlers: a shell may ignore SIGINT.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if reset:
        for name in (DATA_DIR, "sessions"):
            shutil.rmtree(base / name, ignore_errors=True)
    os.environ.update(fake_credentials())
    clock = SystemClock()
    # Retry timing can be shortened for demos and tests (WAFLEET_WEBHOOK_*_S).
    given = read_env(Settings, {**os.environ, "AWS_REGION": "us-east-1"})
    moto = start_moto(moto_port)
    stack_file.started(moto.process.pid)
    issuer = LocalIssuer.load_or_create(base / "issuer")
    queue_url, dlq_url = notify_local.create_queues(moto.endpoint, "us-east-1")
    notify_local.verify_sender(moto.endpoint, "us-east-1")
    media_bucket = notify_local.create_media_bucket(moto.endpoint, "us-east-1")
    receiver = notify_local.DemoReceiver()
    receiver_url = receiver.start(receiver_port)
    settings = Settings(
        dynamodb_endpoint=moto.endpoint,
        jwks_url=issuer.jwks_url,
        jwt_issuer=issuer.issuer,
        jwt_audience=issuer.audience,
        heartbeat_s=5,
        stale_s=15,
        reaper_s=5,
        auto_restart=True,  # the reaper loop below restarts crashed workers; the API says so
        host_tenants=20,  # one host process runs every started tenant (a Chromium each)
        host_start_s=30,
        aws_endpoint=moto.endpoint,
        media_bucket=media_bucket,
        webhook_queue_url=queue_url,
        webhook_dlq_url=dlq_url,
        # The one plain-http loopback endpoint accepted is the demo receiver (and any other
        # a developer names in WAFLEET_WEBHOOK_LOCAL_RECEIVERS): never this stack's API or moto.
        webhook_local_receivers=(receiver_url, *given.webhook_local_receivers),
        alert_from=notify_local.ALERT_FROM,
        alert_error_after_s=60,
        webhook_give_up_s=given.webhook_give_up_s,
        webhook_retry_s=given.webhook_retry_s,
        webhook_timeout_s=given.webhook_timeout_s,
        portal_url=f"http://127.0.0.1:{port}",
    )
    models.bind(settings)
    models.create_tables(wait=False, streams=True)
    data = base / DATA_DIR
    restored = snapshot.restore_tables(moto.endpoint, settings.region, data / snapshot.TABLES_FILE)
    seed(clock)

    timing = qr or QrTiming()
    sim = Simulator(clock.now_ms, timing)
    snapshot.load_simulator(sim, data)
    tables = [model.Meta.table_name for model in models.ALL_MODELS]
    keeper = snapshot.Keeper(
        data,
        lambda path: snapshot.save_tables(moto.endpoint, settings.region, tables, path),
        sim,
    )
    simulator = make_server(sim, "127.0.0.1", simulator_port)
    threading.Thread(target=simulator.serve_forever, name="simulator", daemon=True).start()
    sim_url = f"http://127.0.0.1:{simulator.server_address[1]}"
    worker_env = {
        **settings.as_env(),
        **fake_credentials(),
        **env_for(
            WorkerConfig,
            whatsapp_url=sim_url + "/",
            session_dir=base / "sessions",
            # The worker's idea of the rotation (expiry, "code k of N") is the simulator's.
            qr_first_s=timing.first_ms / 1000,
            qr_next_s=timing.next_ms / 1000,
            qr_count=timing.count,
            pairing_code_s=timing.pairing_ms / 1000,
        ),
        **env_for(HostConfig, poll_s=1.0),
    }
    tasks = LocalHosts(worker_env, on_host_exit=host_exited, on_host_start=stack_file.started)
    launcher = HostPlacer(settings, clock, runner=tasks)
    runtime.configure(settings, clock=clock, launcher=launcher)
    from chalicelib.store import users

    auth = LocalAuth(issuer, port, users.find_by_email)
    web = gateway.start(
        app,
        port=port,
        static_dir=ROOT / "portal_static",
        api_prefix="/api",
        extra=local_routes(auth),
        upload_origins=(moto.endpoint,),  # the files of answers go to moto's S3 directly
    )
    auth.port = web.server.server_address[1]
    # The mails link to the portal where it really listens (--port 0 picks a port).
    settings = dataclasses.replace(settings, portal_url=web.url)
    runtime.configure(settings, clock=clock, launcher=launcher)

    def reaper_loop() -> None:
        while not stop.wait(settings.reaper_s):
            try:
                reap(auto_restart=settings.auto_restart)
            except Exception as exc:
                say(f"reaper: {type(exc).__name__}")

    from chalicelib.notify import delivery, fanout

    receiver.secret = notify_local.demo_endpoint(DEMO_TENANT, receiver_url, clock.now_ms())
    streamed = [model.Meta.table_name for model in models.STREAMED]
    poller = notify_local.StreamPoller(
        moto.endpoint, settings.region, streamed, fanout.handle_records
    )
    threading.Thread(target=poller.run, name="webhook-streams", daemon=True).start()
    consumer = notify_local.QueueConsumer(
        moto.endpoint,
        settings.region,
        queue_url,
        delivery.handle,
        defer_s=math.ceil(settings.webhook_timeout_s),
    )
    consumer.start()
    resumed = resume() if restored else []  # before the reaper: it would restart them too
    threading.Thread(target=reaper_loop, name="reaper", daemon=True).start()
    keeper.start()
    say(
        f"""
wafleet is running (loopback only). Its data is kept in {data}
({restored} items restored, {len(resumed)} bots restarted); --reset starts clean.

  Portal:     {web.url}/
    tenant:   sign in as {DEMO_USER}
    admin:    sign in as {DEMO_ADMIN}
  API:        {web.url}/api  (OpenAPI: openapi.yaml)
  Simulator:  {sim_url}/  (the "phone": {sim_url}/control/...)
  Test chat:  {sim_url}/static/phone.html  (write to your bot as a customer)
  Webhooks:   the demo tenant's endpoint is {receiver_url}: verified events are printed
              here ("demo receiver: verified ...") and listed at that URL (GET)
  E-mails:    alerts to owners go to moto's SES: uv run wafleet mail

For scripting in another shell (the CLI finds this stack through {base / STACK_FILE}):
  uv run wafleet token --email {DEMO_USER} --folder {folder}
  uv run wafleet user list

Ctrl-C stops everything.
"""
    )
    ready = {
        "portal": web.url,
        "simulator": sim_url,
        "dynamodb": moto.endpoint,
        "receiver": receiver_url,
    }
    stack_file.ready(**ready, folder=str(base))
    say("WAFLEET_READY " + json.dumps(ready))
    try:
        while not stop.wait(1.0):
            pass
    finally:
        stop.set()
        say("stopping workers...")
        tasks.stop_all(timeout=12)  # hosts drain: each login is saved, STOPPED written
        poller.stop.set()
        consumer.stop.set()
        receiver.stop()
        keeper.stop()  # after the workers wrote STOPPED: the next start knows to restart them
        web.stop()
        simulator.shutdown()
        moto.process.terminate()
        moto.process.wait(timeout=10)
        stack_file.remove()
        say("stopped.")
