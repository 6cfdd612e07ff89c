"""``make dev`` with short QR rotations, as a new user meets it:

- the linking page, sampled every 500 ms across several rotations, never shows a code the
  simulated phone would reject, and never claims more validity than the code has left;
- the demo links with the code decoded from the portal's own QR API;
- a restart of ``make dev`` brings the bot back linked (no new code), with its users,
  messages and history; ``--reset`` starts clean.
"""

from __future__ import annotations

import base64
import io
import os
import re
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect

from chalicelib.domain import templates
from tests.processes import (
    ROOT,
    command_line,
    descendants,
    dev_stack,
    eventually,
    sign_in,
    still_running,
)

pytestmark = pytest.mark.process
PHONE = "+4915112340000"
SHORT = ("--qr-first-s", "6", "--qr-next-s", "3", "--qr-count", "6")

# Runs in the page before its own scripts: every 500 ms, what the linking page shows.
SAMPLER = """
window.__samples = [];
addEventListener("DOMContentLoaded", () => setInterval(() => {
  const img = document.querySelector("#qr");
  const meta = document.querySelector("#qr-meta");
  window.__samples.push({
    at: Date.now(), src: img ? img.src : null, meta: meta ? meta.textContent : null });
}, 500));
"""


def decode(data_uri: str) -> str:
    import zxingcpp
    from PIL import Image

    png = base64.b64decode(data_uri.split(",", 1)[1])
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    # One code in the image (zxing may report the same symbol twice, from two scan passes).
    texts = {str(b.text) for b in found}
    assert len(texts) == 1, texts
    return texts.pop()


def sent(sim: str) -> list[dict[str, Any]]:
    return list(requests.get(f"{sim}/control/phones/{PHONE}/sent", timeout=10).json())


def cli(folder: str, *args: str) -> str:
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WAFLEET_"))}
    return subprocess.run(
        [sys.executable, "-m", "devstack.cli", *args],
        env={**bare, "WAFLEET_DEV_FOLDER": folder},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def link_with_portal_code(owner: Api, sim: str, phone: str, timeout: float = 60) -> None:
    """The owner's phone (``phone``) scans the code the portal's QR API shows the owner."""

    def linked() -> bool:
        doc = owner.get("/portal/tenant/current/qr")
        if not doc.get("qr"):
            return False
        answer = requests.post(
            f"{sim}/control/link", json={"payload": decode(doc["qr"]), "phone": phone}, timeout=10
        )
        return answer.status_code == 200

    eventually(linked, timeout=timeout, what=f"{phone} linked with the portal's code")


class Api:
    def __init__(self, stack: dict[str, str], email: str) -> None:
        self.base = stack["portal"] + "/api"
        token = cli(stack["folder"], "token", "--email", email, "--folder", stack["folder"])
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        response = requests.get(self.base + path, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(self.base + path, json=body, headers=self.headers, timeout=10)
        assert response.status_code in (200, 201, 202), response.text
        return response.json() if response.text else None


def test_codes_on_screen_are_always_valid_and_make_dev_keeps_its_data(
    tmp_path: Path, browser: Browser
) -> None:
    folder = tmp_path / "dev"
    # The simulated site keeps its port, as make dev's default does: a browser keeps its
    # login (IndexedDB) per origin, and so does the real web.whatsapp.com.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        site = ("--simulator-port", str(probe.getsockname()[1]))
    with dev_stack(folder, *SHORT, *site) as stack:
        owner, admin = Api(stack, "owner@demo.example"), Api(stack, "admin@demo.example")
        owner.post(
            "/portal/tenant/current/setup-requests",
            {"templateType": "SALON", "whatsappNumber": PHONE, "businessName": "Demo Pizzeria"},
        )
        request = admin.get("/admin/setup-requests")["items"][0]
        admin.post(f"/admin/setup-requests/{request['id']}/approve")
        admin.post("/admin/tenants/t_demo/worker/start")

        page = browser.new_context().new_page()
        page.add_init_script(SAMPLER)
        sign_in(page, stack["portal"], "owner@demo.example")
        page.goto(stack["portal"] + "/whatsapp.html")
        expect(page.locator("#qr")).to_be_visible(timeout=30_000)
        # Three rotations after the first code: 6 s + 3 x 3 s, sampled by the page itself.
        sim = stack["simulator"]

        def rotations_seen() -> bool:
            srcs = {s["src"] for s in page.evaluate("window.__samples") if s["src"]}
            return len(srcs) >= 4

        eventually(rotations_seen, timeout=40, what="four codes on the linking page")
        samples = page.evaluate("window.__samples")
        valid = requests.get(f"{sim}/control/qr/valid", timeout=10).json()
        shown = [s for s in samples if s["src"]]
        decoded = {src: decode(src) for src in {s["src"] for s in shown}}
        for sample in shown:
            window = valid[decoded[sample["src"]]]
            # Valid for the whole sample, with the time the page says it has left.
            assert window["from"] <= sample["at"] < window["to"], (sample["at"], window)
            left = int(re.search(r"valid for (\d+) more s", sample["meta"]).group(1))
            assert sample["at"] + left * 1000 <= window["to"] + 1000, (sample, window)
        assert len(decoded) >= 4 and len(samples) >= 2 * len(decoded)

        # The README's demo: the code from the portal's own QR API, typed into the phone.
        link_with_portal_code(owner, sim, PHONE)
        expect(page).to_have_url(re.compile(r"/status\.html\?linked=1"), timeout=15_000)
        requests.post(
            f"{sim}/control/phones/{PHONE}/inbound",
            json={"from": "+15550303", "text": "Do you have time today?"},
            timeout=10,
        )
        reply = templates.reply("SALON", "Demo Pizzeria", "Do you have time today?")
        eventually(
            lambda: [m["text"] for m in sent(sim)] == [reply],
            what="the reply",
        )
        page.context.close()

    # Restart: same folder, new ports. The bot comes back linked, with everything it had.
    with dev_stack(folder, *SHORT, *site) as stack:
        owner = Api(stack, "owner@demo.example")
        eventually(
            lambda: owner.get("/portal/tenant/current/status")["tenant"]["status"] == "ACTIVE",
            timeout=60,
            what="the bot back without a new code",
        )
        history = owner.get("/portal/tenant/current/history?limit=200")["items"]
        codes = [h for h in history if h["event"] == "qr"]
        restarted = [h for h in history if h["detail"] == "make dev restarted"]
        assert restarted and all(c["at"] < restarted[0]["at"] for c in codes), history
        texts = [m["text"] for m in owner.get("/portal/tenant/current/logs")["items"]]
        assert "Do you have time today?" in texts and reply in texts
        sim = stack["simulator"]
        requests.post(
            f"{sim}/control/phones/{PHONE}/inbound",
            json={"from": "+15550303", "text": "And tomorrow?"},
            timeout=10,
        )
        again = templates.reply("SALON", "Demo Pizzeria", "And tomorrow?")
        eventually(
            lambda: [m["text"] for m in sent(sim)] == [reply, again],
            what="a reply after the restart, and the old one not sent again",
        )

    # What it keeps (message text, webhook secrets, logins, keys) is its user's alone.
    kept = [folder, *folder.rglob("*")]
    assert kept and all(
        stat.S_IMODE(p.lstat().st_mode) & 0o077 == 0 for p in kept if not p.is_symlink()
    ), sorted(oct(p.stat().st_mode) + " " + str(p) for p in kept if p.stat().st_mode & 0o077)

    # --reset: a clean start.
    with dev_stack(folder, *SHORT, "--reset") as stack:
        owner = Api(stack, "owner@demo.example")
        status = owner.get("/portal/tenant/current/status")
        assert status["tenant"]["status"] == "NEW" and status["setupRequest"] is None
        assert owner.get("/portal/tenant/current/logs")["items"] == []


def test_make_dev_killed_with_minus_9_leaves_nothing_running(tmp_path: Path) -> None:
    with dev_stack(tmp_path / "dev") as stack:
        Api(stack, "admin@demo.example").post("/admin/tenants/t_demo/worker/start")

        def running() -> list[Any]:
            found = descendants(int(stack["pid"]))
            names = " ".join(command_line(p) for p in found)
            return found if "worker_container" in names and "chrom" in names else []

        started = eventually(running, timeout=60, what="a worker host with its browser")
        os.kill(int(stack["pid"]), signal.SIGKILL)  # no Ctrl-C: it cannot stop anything
        # Its host (and with it the Playwright driver and Chromium) and moto notice and end.
        eventually(lambda: not still_running(started), timeout=60, what="nothing left")


def test_the_next_make_dev_ends_what_a_killed_one_could_not(tmp_path: Path) -> None:
    folder = tmp_path / "dev"
    with dev_stack(folder) as stack:
        Api(stack, "admin@demo.example").post("/admin/tenants/t_demo/worker/start")

        def host() -> Any:
            found = [
                p for p in descendants(int(stack["pid"])) if "worker_container" in command_line(p)
            ]
            return found[0] if found else None

        frozen = eventually(host, timeout=60, what="a worker host")
        frozen.suspend()  # a host that cannot notice its parent's end by itself
        os.kill(int(stack["pid"]), signal.SIGKILL)
        assert still_running([frozen])
        # The next start in the same folder ends it by the ids the last run recorded.
        with dev_stack(folder):
            assert not still_running([frozen])
