"""Real processes: a moto server, the simulator on loopback, worker hosts with real Chromium,
started by the placer exactly as ``make dev`` and ECS start them.

A plugin of the root conftest, so the e2e and chaos suites share one moto server per test
process (a conftest of each would start two, and a table name stays bound to one endpoint)."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from chalicelib.domain.clock import SystemClock
from chalicelib.settings import Settings, env_for
from devstack import notify_local
from devstack.local_aws import MotoProcess, fake_credentials, start_moto
from devstack.simulator.server import make_server
from devstack.simulator.state import QrTiming, Simulator
from tests import aws_requests

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
PHONE = "+4915100000001"
WORKER_KEY = "wafleet-worker-host"
# The last lines each ``wafleet dev`` of the current test printed (its API, hosts, reaper),
# with whether it has ended: shown under a failing test, where a slow start is explained.
DEV_OUTPUT: list[tuple[collections.deque[str], threading.Event]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed:
        for tail, _ended in DEV_OUTPUT:
            report.sections.append((f"make dev printed (last {len(tail)} lines)", "".join(tail)))


def pytest_runtest_logfinish() -> None:
    DEV_OUTPUT[:] = [(tail, ended) for tail, ended in DEV_OUTPUT if not ended.is_set()]


def eventually(check: Callable[[], T | None], *, timeout: float = 20.0, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy; real processes need time to act."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (AssertionError, KeyError, requests.RequestException) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        threading.Event().wait(0.05)  # pacing of the poll, not a wait for an outcome
    raise AssertionError(f"timed out waiting for {what or check}: last saw {last!r}")


@contextlib.contextmanager
def dev_stack(folder: Path, *args: str) -> Iterator[dict[str, str]]:
    """``wafleet dev`` as a process on free ports, stopped with Ctrl-C at the end; checks that
    it left no process behind."""
    env = {**os.environ, **fake_credentials(), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "devstack.cli", "dev", "--folder", str(folder)]
    command += ["--port", "0", "--simulator-port", "0", "--moto-port", "0", "--receiver-port", "0"]
    command += args
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    ready: dict[str, str] = {}
    tail: collections.deque[str] = collections.deque(maxlen=300)
    for line in process.stdout:
        tail.append(line)
        if line.startswith("WAFLEET_READY "):
            ready = json.loads(line.split(" ", 1)[1])
            break
    # Keep reading what it prints, so a full pipe never blocks it; its last lines are kept.
    threading.Thread(target=tail.extend, args=(process.stdout,), daemon=True).start()
    ended = threading.Event()
    DEV_OUTPUT.append((tail, ended))
    started: list[Any] = []
    try:
        assert ready, "wafleet dev did not start"
        yield {**ready, "folder": str(folder), "pid": str(process.pid)}
    finally:
        ended.set()
        started = descendants(process.pid)
        # What a terminal's Ctrl-C does: SIGINT to the whole process group (moto is in it).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=40)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    # Nothing left behind: no worker host, driver, browser or moto of this stack.
    assert still_running(started) == []


def descendants(pid: int) -> list[Any]:
    """Every process ``pid`` started, and theirs (hosts run in sessions of their own)."""
    import psutil

    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def command_line(process: Any) -> str:
    """A process's command line; "" once it has ended (Chromium's helpers come and go, and
    one can end between being listed and being read)."""
    import psutil

    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def still_running(processes: list[Any]) -> list[str]:
    """Those of ``processes`` (psutil, so a reused pid is not mistaken) not yet ended."""
    import psutil

    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(" ".join(p.cmdline())[:120])
        except psutil.NoSuchProcess:
            continue
    return alive


def creds() -> dict[str, str]:
    """make dev's moto credentials, as boto3 client arguments."""
    c = fake_credentials()
    return {
        "aws_access_key_id": c["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": c["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": c["AWS_SESSION_TOKEN"],
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from worker_container.config import BASE_CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=BASE_CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def sign_in(page: Any, base: str, email: str) -> None:
    """The portal's sign-in as a user does it: the (local) hosted page, back with a code."""
    page.goto(base + "/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Continue").click()
    # Not index.html: the browser comes back there with the code before the token is stored.
    page.wait_for_url(lambda url: "/status.html" in url or "/admin.html" in url)


@dataclass
class Sim:
    """The simulator as the tests drive it: the phone and the fault injector."""

    url: str
    state: Simulator

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, self.url + path, json=body, timeout=10)
        value = response.json()
        if response.status_code >= 400:
            return {"status": response.status_code, **value}
        return value

    def link(self, payload: str, phone: str = PHONE) -> Any:
        return self.call("POST", "/control/link", {"payload": payload, "phone": phone})

    def inbound(self, text: str, sender: str = "+15550001", phone: str = PHONE) -> str:
        return str(
            self.call("POST", f"/control/phones/{phone}/inbound", {"from": sender, "text": text})[
                "id"
            ]
        )

    def control(self, verb: str, phone: str = PHONE) -> Any:
        return self.call("POST", f"/control/phones/{phone}/{verb}", {})

    def sent(self, phone: str = PHONE) -> list[dict[str, Any]]:
        result = self.call("GET", f"/control/phones/{phone}/sent")
        return result if isinstance(result, list) else []

    def showing(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/control/qr"))


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoProcess]:
    os.environ.update(fake_credentials())
    # Recorded only while a test asks (recording()): what the worker hosts asked of AWS.
    os.environ["MOTO_RECORDER_FILEPATH"] = str(tmp_path_factory.mktemp("moto") / "recording")
    server = start_moto()
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


# The moto server's tables carry names of their own: in one test process, a table name stays
# bound to one endpoint (chalicelib.store.models.bind), and in-process moto has the defaults.
E2E_TABLES = {
    f"{name}_table": f"e2e-{name}"
    for name in ("tenants", "history", "messages", "setup", "events", "users", "hooks")
}


@pytest.fixture
def stack_settings(moto: MotoProcess) -> Settings:
    from chalicelib.store import models

    settings = Settings(
        dynamodb_endpoint=moto.endpoint,
        heartbeat_s=0.2,
        stale_s=1.5,
        reaper_s=0.5,
        host_start_s=30,
        # A hosts table per test: no host of an earlier test (gone with its processes, but
        # fresh for a heartbeat or two) is ever offered a tenant.
        hosts_table=f"e2e-hosts-{uuid.uuid4().hex[:8]}",
        aws_endpoint=moto.endpoint,
        media_bucket=notify_local.create_media_bucket(moto.endpoint, "us-east-1"),
        **E2E_TABLES,
    )
    models.bind(settings)
    models.create_tables(wait=False)
    return settings


def start_sim(timing: QrTiming | None = None) -> tuple[Sim, Any]:
    state = Simulator(SystemClock().now_ms, timing or QrTiming(60_000, 20_000, 6))
    server = make_server(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Sim(f"http://127.0.0.1:{server.server_address[1]}", state), server


@pytest.fixture
def sim() -> Iterator[Sim]:
    simulator, server = start_sim()
    yield simulator
    server.shutdown()


@dataclass
class Stack:
    """Control plane pieces the tests use, wired to moto and the simulator: the placer starts
    worker hosts as child processes (``LocalHosts``), as ``make dev`` does."""

    settings: Settings
    worker_env: dict[str, str]
    session_dir: Path
    runner: Any = None
    placer: Any = None

    def configure(
        self, env: dict[str, str] | None = None, *, stop_timeout_s: float = 5.0, **overrides: Any
    ) -> None:
        """Hosts started from now on run with these worker settings (``WorkerConfig``) and
        extra environment (fault injection)."""
        from chalicelib.control import runtime
        from chalicelib.control.workers import host_exited
        from chalicelib.launch.local import LocalHosts
        from chalicelib.launch.placer import HostPlacer
        from worker_container.config import WorkerConfig

        if self.runner is not None:
            self.runner.stop_all(timeout=10)
        started = {
            **self.worker_env,
            **self.settings.as_env(),
            **(env or {}),
            **env_for(WorkerConfig, **overrides),
        }
        self.runner = LocalHosts(started, on_host_exit=host_exited, stop_timeout_s=stop_timeout_s)
        self.placer = HostPlacer(self.settings, SystemClock(), runner=self.runner)
        runtime.configure(self.settings, launcher=self.placer)

    def host_calls(self) -> list[aws_requests.Call]:
        """What the worker hosts have asked of AWS so far (the moto server's recording)."""
        endpoint = self.settings.dynamodb_endpoint
        text = requests.get(f"{endpoint}/moto-api/recorder/download-recording", timeout=30).text
        return [c for c in aws_requests.calls(text) if c.caller == WORKER_KEY]

    def tables(self) -> dict[str, str]:
        """Table name -> the settings field that names it."""
        return {
            getattr(self.settings, f.name): f.name
            for f in dataclasses.fields(self.settings)
            if f.name.endswith(("_table", "_bucket"))
        }

    def host_of(self, tenant_id: str) -> str:
        """The host the tenant is placed on."""
        from chalicelib.store import hosts, tenants

        placed = hosts.parse_ref(tenants.get_tenant(tenant_id, consistent=True).task_ref)
        assert placed is not None, "not placed on a host"
        return placed[0]

    def host_pid(self, tenant_id: str) -> int:
        """The process of the host that runs the tenant (its task, locally)."""
        from chalicelib.store import hosts

        ref = eventually(lambda: hosts.get_host(self.host_of(tenant_id)).task_ref, what="task")
        return int(str(ref).split(":")[1])

    def session_ended(self, tenant_id: str) -> bool:
        """No host runs a session of the tenant any more (each host's heartbeat lists the
        sessions it runs, after the ended ones have finished: login saved, end recorded)."""
        from chalicelib.store import hosts

        return all(tenant_id not in (h.tenant_mb or {}) for h in hosts.all_hosts())


@pytest.fixture
def stack(stack_settings: Settings, sim: Sim, tmp_path: Path) -> Iterator[Stack]:
    from worker_container.config import HostConfig, WorkerConfig

    env = {
        **stack_settings.as_env(),
        **fake_credentials(),
        "AWS_ACCESS_KEY_ID": WORKER_KEY,  # the hosts' requests, told apart in the recording
        **env_for(
            WorkerConfig,
            whatsapp_url=sim.url + "/",
            session_dir=tmp_path / "sessions",
            probe_s=1.0,
            hang_s=4.0,
            reconnect_base_s=0.2,
            reconnect_cap_s=0.5,
            reconnect_max=50,
            rate_per_min=0.0,
            save_s=1.0,
        ),
        **env_for(HostConfig, poll_s=0.2),
    }
    result = Stack(stack_settings, env, tmp_path / "sessions")
    with recording(stack_settings.dynamodb_endpoint):
        result.configure()
        yield result
        result.runner.stop_all(timeout=10)
        # Least privilege on the real path: everything the hosts asked of AWS, the worker
        # role allows (the template test holds the role to the same declaration).
        refused = aws_requests.refused_by_the_worker_role(result.host_calls(), result.tables())
        assert not refused, f"the worker role would refuse: {sorted(set(refused), key=str)[:5]}"


@contextlib.contextmanager
def recording(endpoint: str) -> Iterator[None]:
    """The moto server records every request it receives during the block."""
    requests.post(f"{endpoint}/moto-api/recorder/reset-recording", timeout=5)
    requests.post(f"{endpoint}/moto-api/recorder/start-recording", timeout=5)
    try:
        yield
    finally:
        requests.post(f"{endpoint}/moto-api/recorder/stop-recording", timeout=5)


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)


async def at_first_code(config: Any, profile: Path, then: Callable[[], T]) -> T:
    """Start a tenant's engine the way a host does (``aws_wiring``), wait for its first code
    (the page works), and return ``then()`` while the browser still runs."""
    import asyncio

    from playwright.async_api import async_playwright

    from worker_container.engine import CodeShown, PageEvent
    from worker_container.host import aws_wiring

    shown = asyncio.Event()

    def on_event(event: PageEvent) -> None:
        if isinstance(event, CodeShown):
            shown.set()

    async with async_playwright() as driver:
        engine = aws_wiring(config, Settings()).engine_for(driver)
        try:
            await engine.start(profile, on_event)
            await asyncio.wait_for(shown.wait(), timeout=60)
            return then()
        finally:
            await engine.close()
