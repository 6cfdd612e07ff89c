"""``make dev``: the whole platform on loopback, in one command.

moto (DynamoDB) in a child process, the Chalice API and the static portal on one origin,
the WhatsApp Web simulator, workers as child processes, and the reaper loop. Ctrl-C stops
everything: workers get SIGTERM (they save their login and write STOPPED), then the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

from chalicelib.domain.clock import SystemClock
from chalicelib.domain.errors import DuplicateError
from chalicelib.settings import Settings
from devstack import gateway
from devstack.issuer import LocalIssuer
from devstack.local_auth import LocalAuth
from devstack.local_aws import fake_credentials, start_moto
from devstack.simulator.state import QrTiming

ROOT = Path(__file__).resolve().parents[1]
DEMO_TENANT = "t_demo"
DEMO_USER = "owner@demo.example"
DEMO_ADMIN = "admin@demo.example"
MOTO_PORT = 5005


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


STACK_FILE = "stack.json"  # where a running make dev says how to reach it (CLI commands read it)


def run(
    *,
    port: int,
    simulator_port: int,
    folder: str,
    moto_port: int = MOTO_PORT,
    qr: QrTiming | None = None,
) -> None:
    """Start everything, print where to go, and wait for Ctrl-C."""
    from app import app
    from chalicelib.control import runtime
    from chalicelib.control.reaper import reap
    from chalicelib.control.workers import worker_exited
    from chalicelib.launch.local import LocalLauncher
    from chalicelib.store import models
    from devstack.simulator.server import make_server
    from devstack.simulator.state import Simulator

    base = Path(folder) if Path(folder).is_absolute() else (ROOT / folder).resolve()
    base.mkdir(parents=True, exist_ok=True)
    os.environ.update(fake_credentials())
    clock = SystemClock()
    moto = start_moto(moto_port)
    issuer = LocalIssuer.load_or_create(base / "issuer")
    settings = Settings(
        dynamodb_endpoint=moto.endpoint,
        jwks_url=issuer.jwks_url,
        jwt_issuer=issuer.issuer,
        jwt_audience=issuer.audience,
        heartbeat_s=5,
        stale_s=15,
        reaper_s=5,
    )
    models.bind(settings)
    models.create_tables(wait=False)
    seed(clock)

    timing = qr or QrTiming()
    simulator = make_server(Simulator(clock.now_ms, timing), "127.0.0.1", simulator_port)
    threading.Thread(target=simulator.serve_forever, name="simulator", daemon=True).start()
    sim_url = f"http://127.0.0.1:{simulator.server_address[1]}"
    worker_env = {
        **settings.as_env(),
        **fake_credentials(),
        "WAFLEET_WHATSAPP_URL": sim_url + "/",
        "WAFLEET_SESSION_DIR": str(base / "sessions"),
        # The worker's idea of the rotation (expiry, "code k of N") matches the simulator's.
        "WAFLEET_QR_FIRST_S": str(timing.first_ms / 1000),
        "WAFLEET_QR_NEXT_S": str(timing.next_ms / 1000),
        "WAFLEET_QR_COUNT": str(timing.count),
    }
    launcher = LocalLauncher(worker_env, on_exit=worker_exited)
    runtime.configure(settings, clock=clock, launcher=launcher)
    from chalicelib.store import users

    auth = LocalAuth(issuer, port, users.find_by_email)
    web = gateway.start(
        app,
        port=port,
        static_dir=ROOT / "portal_static",
        api_prefix="/api",
        extra=local_routes(auth),
    )
    auth.port = web.server.server_address[1]

    stop = threading.Event()

    def reaper_loop() -> None:
        while not stop.wait(settings.reaper_s):
            try:
                reap(auto_restart=True)
            except Exception as exc:
                print(f"reaper: {type(exc).__name__}", flush=True)

    threading.Thread(target=reaper_loop, name="reaper", daemon=True).start()
    print(
        f"""
wafleet is running (loopback only). Data lives in memory: it does not survive a restart.

  Portal:     {web.url}/
    tenant:   sign in as {DEMO_USER}
    admin:    sign in as {DEMO_ADMIN}
  API:        {web.url}/api  (OpenAPI: openapi.yaml)
  Simulator:  {sim_url}/  (the "phone": {sim_url}/control/...)

For scripting in another shell (the CLI finds this stack through {base / STACK_FILE}):
  uv run wafleet token --email {DEMO_USER} --folder {folder}
  uv run wafleet user list

Ctrl-C stops everything.
""",
        flush=True,
    )
    ready = {"portal": web.url, "simulator": sim_url, "dynamodb": moto.endpoint}
    stack_file = base / STACK_FILE
    stack_file.write_text(json.dumps({**ready, "folder": str(base), "pid": os.getpid()}))
    print("WAFLEET_READY " + json.dumps(ready), flush=True)
    # Explicit handlers: a shell may start us with SIGINT ignored, and Ctrl-C must still work.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        stop.set()
        print("stopping workers...", flush=True)
        launcher.stop_all(timeout=12)
        web.stop()
        simulator.shutdown()
        moto.process.terminate()
        moto.process.wait(timeout=10)
        stack_file.unlink(missing_ok=True)
        print("stopped.", flush=True)
