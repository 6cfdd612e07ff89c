"""Many tenants on one worker host, on the simulator: memory per tenant, replies with every
tenant receiving, one tenant's page hung, the host killed; then the task size and the cost of
10,000 tenants from the figures measured.

The task size is the cheapest Fargate size per tenant for the real page (400 MB a tenant);
``tenants_per_task`` is what that size holds at the simulator's figures.

Last line: {"task": "2 vCPU / 16 GB", "tenants_per_task": ..., "tenants_per_task_real_page":
            ..., "pss_mb_per_tenant": ..., "host_pss_mb": ..., "host_base_mb": ...,
            "cpu_per_tenant": ..., "reply_ms_p95_packed": ..., "reply_ms_p95_burst": ...,
            "others_p95_ratio": ..., "failover_s_max": ..., "lost": 0, "duplicates": 0,
            "cost_per_tenant_month_usd": ..., "cost_per_tenant_month_usd_real_page": ..., ...}
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fleet import hosts_for, until
from devstack.local_aws import fake_credentials, moto_server

TENANTS = 10  # on one host here (2 cores); the task size below is computed, not run
ROUNDS = 8
PERIOD_S = 2.0  # each tenant receives a message every 2 s in the steady run (5 a second a host)
PHONES = [f"+49151100{i:04d}" for i in range(TENANTS)]

# us-east-1 list prices, Linux/x86, per hour. Fargate Spot has no fixed price: ~70 % below
# on-demand is AWS's own figure and what the region has shown for years; it is an assumption.
FARGATE_VCPU_H = 0.04048
FARGATE_GB_H = 0.004445
SPOT_DISCOUNT = 0.70
HOURS = 730
# Per tenant and month at 10,000 tenants, everything but the workers (README cost table:
# heartbeats $1,080, reaper $2, API $500, NAT $480, webhooks $130).
OTHER_PER_TENANT = (1080 + 2 + 500 + 480 + 130) / 10_000
# A host's own DynamoDB use: its placements read every 2 s (consistent, ~2 read units:
# 2.6 M a month at $0.125 per million) and its heartbeat every 15 s (172,800 writes at
# $0.625 per million).
HOST_TABLE_MONTH = 2.6 * 0.125 + 0.1728 * 0.625
# Fargate's task sizes (vCPU, GB) worth considering for a host.
SIZES = [(1, 2), (1, 4), (1, 8), (2, 4), (2, 8), (2, 16), (4, 8), (4, 16), (4, 30)]
MAX_PER_TASK = 50  # a Spot interruption moves at most this many tenants at once
USABLE = 0.85  # memory share planned for (worker_container.host.USABLE)
CPU_TARGET = 0.5  # average CPU planned for: bursts (a history sync, a reply wave) get the rest
REAL_PAGE_MB = 400  # WhatsApp Web per browser session (WAHA's figure)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def pss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_full_info().pss
    return total / 2**20


def cpu_s(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = p.cpu_times()
            total += t.user + t.system
    return total


@dataclasses.dataclass(frozen=True)
class Plan:
    vcpu: int
    gb: int
    tenants: int
    month_usd: float  # the task, on-demand
    per_tenant_usd: float  # with Spot and everything else


def plan(base_mb: float, tenant_mb: float, tenant_cpu: float, *, spot: bool = True) -> Plan:
    """The Fargate size with the lowest cost per tenant for these figures."""
    best: Plan | None = None
    for vcpu, gb in SIZES:
        by_memory = math.floor((gb * 1024 * USABLE - base_mb) / tenant_mb)
        by_cpu = math.floor(vcpu * CPU_TARGET / max(tenant_cpu, 1e-6))
        n = min(by_memory, by_cpu, MAX_PER_TASK)
        if n < 1:
            continue
        month = (vcpu * FARGATE_VCPU_H + gb * FARGATE_GB_H) * HOURS
        paid = month * (1 - SPOT_DISCOUNT) if spot else month
        per = (paid + HOST_TABLE_MONTH) / n + OTHER_PER_TENANT
        if best is None or per < best.per_tenant_usd - 1e-9:
            best = Plan(vcpu, gb, n, round(month, 2), round(per, 2))
    assert best is not None
    return best


def main() -> None:
    os.environ.update(fake_credentials())
    from chalicelib.control import workers
    from chalicelib.domain.clock import SystemClock
    from chalicelib.settings import Settings
    from chalicelib.store import hosts, models, tenants
    from chalicelib.store.models import HistoryModel
    from devstack.simulator.server import make_server
    from devstack.simulator.state import QrTiming, Simulator

    clock = SystemClock()
    sim = Simulator(clock.now_ms, QrTiming(first_ms=30_000, next_ms=20_000, count=6))
    server = make_server(sim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim_url = f"http://127.0.0.1:{server.server_address[1]}"
    inbound_at: dict[str, int] = {}  # message id -> when the phone sent it
    sent_count = {p: 0 for p in PHONES}

    def send(phone: str, text: str) -> str:
        # A customer each: the loop guard answers one contact at most 10 times an hour.
        message = sim.inbound(phone, f"+1555{len(inbound_at):07d}", text, None)
        chat = sim.phones[phone].chats[message["chat"]]
        inbound_at[message["id"]] = next(m.at_ms for m in chat if m.id == message["id"])
        sent_count[phone] += 1
        return str(message["id"])

    def replies(phone: str) -> list[dict[str, Any]]:
        return list(sim.sent(phone))

    def latency(phone: str, index: int, message_id: str) -> float:
        reply = until(lambda: replies(phone)[index] if len(replies(phone)) > index else None)
        return float(reply["at"] - inbound_at[message_id])

    with moto_server() as moto, tempfile.TemporaryDirectory() as sessions:
        settings = Settings(
            dynamodb_endpoint=moto.endpoint,
            heartbeat_s=5,
            stale_s=15,
            host_tenants=TENANTS,
            host_start_s=30,
        )
        models.bind(settings)
        models.create_tables(wait=False)
        tasks = hosts_for(
            settings,
            {"WAFLEET_HOST_POLL_S": "0.5", "WAFLEET_HOST_MEMORY_MB": "16384"},
            whatsapp_url=sim_url + "/",
            session_dir=Path(sessions),
            rate_per_min=0.0,
            # The worker's own intervals (a login is saved when linked and every 5 min; the
            # page is probed every 10 s): what a host spends its CPU on, idle.
            save_s=300.0,
            probe_s=10.0,
            page_call_s=5.0,
        )
        ids = [
            tenants.create_tenant(f"Cafe {i}", now_ms=clock.now_ms(), phone=p).tenant_id
            for i, p in enumerate(PHONES)
        ]

        def item(tid: str) -> Any:
            return tenants.get_tenant(tid, consistent=True)

        def host_of(tid: str) -> str:
            placed = hosts.parse_ref(item(tid).task_ref)
            return placed[0] if placed else ""

        def host_pid(host_id: str) -> int:
            return int((hosts.get_host(host_id).task_ref or "local:0").split(":")[1])

        def start_and_link(tid: str, phone: str) -> None:
            workers.start(tid)
            payload = until(lambda: item(tid).qr_payload, timeout=90)
            sim.link(payload, phone)
            until(lambda: item(tid).session_state == "CONNECTED", timeout=90)

        def settle() -> None:
            threading.Event().wait(5)  # pages finish their first sync; memory levels off

        # Memory: the host with one tenant, then with all of them.
        start_and_link(ids[0], PHONES[0])
        host = host_of(ids[0])
        pid = host_pid(host)
        settle()
        one = pss_mb(pid)
        for tid, phone in zip(ids[1:], PHONES[1:], strict=True):
            start_and_link(tid, phone)
        assert {host_of(t) for t in ids} == {host}, "all tenants on one host"
        settle()
        full = pss_mb(pid)
        per_tenant = (full - one) / (TENANTS - 1)
        base = one - per_tenant
        before = cpu_s(pid)
        threading.Event().wait(20)
        cpu_per_tenant = (cpu_s(pid) - before) / 20 / TENANTS  # idle, linked, heartbeating

        # Replies with every tenant receiving at once.
        def rounds(phones: list[str], n: int) -> list[float]:
            out = []
            for r in range(n):
                batch = [(p, len(replies(p)), send(p, f"hours {r}")) for p in phones]
                out += [latency(p, k, m) for p, k, m in batch]
            return out

        # Every tenant receiving, each on its own beat (one message every PERIOD_S, phases
        # spread): the load a host carries. Then the worst case, every tenant at the same ms.
        def steady(phones: list[str], n: int) -> list[float]:
            phase = {p: i * PERIOD_S / len(phones) for i, p in enumerate(phones)}
            plan_ = sorted((r * PERIOD_S + phase[p], p) for p in phones for r in range(n))
            # Each phone's replies come in the order its messages were sent, after the ones
            # it had before this phase (earlier phases waited for all of theirs).
            index = {p: len(replies(p)) for p in phones}
            start = time.monotonic()
            pending = []
            for offset, phone in plan_:
                threading.Event().wait(max(0.0, start + offset - time.monotonic()))
                pending.append((phone, len(replies(phone)), send(phone, "hours")))
            out = []
            for phone, _, message_id in pending:
                out.append(latency(phone, index[phone], message_id))
                index[phone] += 1
            return out

        packed = steady(PHONES, ROUNDS)
        burst = rounds(PHONES, ROUNDS)
        others = PHONES[1:]
        baseline = rounds(others, ROUNDS)

        # One tenant's page hung (its browser and renderers stopped): the others' replies.
        browser = next(
            p
            for p in psutil.Process(pid).children(recursive=True)
            if f"wafleet-{ids[0]}-" in " ".join(p.cmdline()) and "--type=" not in p.cmdline()
        )
        frozen = [browser, *browser.children(recursive=True)]
        for p in frozen:
            p.suspend()
        try:
            hung = rounds(others, ROUNDS)
        finally:
            for p in frozen:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.resume()
        until(lambda: item(ids[0]).session_state == "CONNECTED", timeout=90)
        send(PHONES[0], "still there?")

        # The host killed: every tenant back elsewhere, from its saved login.
        threading.Event().wait(3)  # past the periodic save of the newest login state
        qr_before = {t: [h.event for h in HistoryModel.query(t)].count("qr") for t in ids}
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        for phone in PHONES:
            send(phone, "menu")  # arrives while nobody is there
        back: dict[str, float] = {}

        def all_back() -> bool:
            for tid in ids:
                if tid not in back:
                    current = item(tid)
                    if current.session_state == "CONNECTED" and host_of(tid) not in ("", host):
                        back[tid] = time.monotonic() - killed
            return len(back) == len(ids)

        until(all_back, timeout=120)
        for phone in PHONES:
            until(lambda p=phone: len(replies(p)) >= sent_count[p], timeout=60)
        threading.Event().wait(3)  # anything answered twice would show up by now
        new_codes = sum(
            [h.event for h in HistoryModel.query(t)].count("qr") - qr_before[t] for t in ids
        )
        got = {p: len(replies(p)) for p in PHONES}
        lost = sum(max(0, sent_count[p] - got[p]) for p in PHONES)
        duplicates = sum(max(0, got[p] - sent_count[p]) for p in PHONES)
        tasks.stop_all(timeout=20)
    server.shutdown()

    measured = plan(base, per_tenant, cpu_per_tenant)
    real = plan(base, REAL_PAGE_MB, cpu_per_tenant)
    at_size = min(
        math.floor((real.gb * 1024 * USABLE - base) / per_tenant),
        math.floor(real.vcpu * CPU_TARGET / max(cpu_per_tenant, 1e-6)),
        MAX_PER_TASK,
    )
    sim_cost = (real.month_usd * (1 - SPOT_DISCOUNT) + HOST_TABLE_MONTH) / at_size + (
        OTHER_PER_TENANT
    )
    print(
        json.dumps(
            {
                "task": f"{real.vcpu} vCPU / {real.gb} GB",
                "tenants_per_task": at_size,
                "tenants_per_task_real_page": real.tenants,
                "pss_mb_per_tenant": round(per_tenant, 1),
                "host_pss_mb": round(full, 1),
                "host_base_mb": round(base, 1),
                "cpu_per_tenant": round(cpu_per_tenant, 4),
                "reply_ms_p95_packed": round(percentile(packed, 0.95), 1),
                "reply_ms_p50_packed": round(percentile(packed, 0.5), 1),
                "reply_ms_p95_burst": round(percentile(burst, 0.95), 1),
                "others_p95_ratio": round(percentile(hung, 0.95) / percentile(baseline, 0.95), 2),
                "failover_s_max": round(max(back.values()), 1),
                "lost": lost,
                "duplicates": duplicates,
                "new_codes_after_failover": new_codes,
                "cost_per_tenant_month_usd": round(sim_cost, 2),
                "cost_per_tenant_month_usd_real_page": real.per_tenant_usd,
                "cheapest_task_on_simulator": f"{measured.vcpu} vCPU / {measured.gb} GB "
                f"x {measured.tenants}",
                "task_month_usd_on_demand": real.month_usd,
                "spot_discount_assumed": SPOT_DISCOUNT,
            }
        )
    )


if __name__ == "__main__":
    main()
