"""How soon the linking page shows a new code, and whether it ever shows a dead one.

``wafleet dev`` with short rotations (6 s, then 3 s); the owner's linking page in Chromium
records, in the page, the moment each QR image appears and disappears. Each image is decoded
(zxing-cpp) and matched with the simulated phone's validity window for that code. Latency:
the site made the code -> it is on screen. Last line: one JSON object.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CODES = 8
RECORDER = """
window.__shown = [];
addEventListener("DOMContentLoaded", () => {
  let last = null;
  const look = () => {
    const img = document.querySelector("#qr");
    const src = img ? img.src : null;
    if (src !== last) { window.__shown.push({ at: Date.now(), src }); last = src; }
  };
  const watch = { subtree: true, childList: true, attributes: true };
  new MutationObserver(look).observe(document.body, watch);
});
"""


def decode(data_uri: str) -> str:
    import zxingcpp
    from PIL import Image

    png = base64.b64decode(data_uri.split(",", 1)[1])
    return str(zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text)


def main() -> None:
    from playwright.sync_api import sync_playwright

    from devstack.issuer import LocalIssuer
    from devstack.local_aws import fake_credentials
    from worker_container.config import BASE_CHROMIUM_ARGS

    os.environ.update(fake_credentials())
    folder = Path(tempfile.mkdtemp(prefix="wafleet-qr-bench-"))
    env = {**os.environ, **fake_credentials(), "PYTHONUNBUFFERED": "1"}
    args = ["--port", "0", "--simulator-port", "0", "--moto-port", "0", "--receiver-port", "0"]
    args += ["--qr-first-s", "6", "--qr-next-s", "3", "--qr-count", "12"]
    dev = subprocess.Popen(
        [sys.executable, "-m", "devstack.cli", "dev", "--folder", str(folder), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert dev.stdout is not None
    ready = {}
    for line in dev.stdout:
        if line.startswith("WAFLEET_READY "):
            ready = json.loads(line.split(" ", 1)[1])
            break
    threading.Thread(target=dev.stdout.read, daemon=True).start()
    try:
        from chalicelib.settings import Settings
        from chalicelib.store import models, users

        models.bind(Settings(dynamodb_endpoint=ready["dynamodb"]))
        issuer = LocalIssuer.load_or_create(folder / "issuer")

        def headers(email: str) -> dict[str, str]:
            user = users.find_by_email(email)
            assert user is not None
            return {"Authorization": "Bearer " + issuer.token(user.user_id, email=email)}

        api = ready["portal"] + "/api"
        owner, admin = headers("owner@demo.example"), headers("admin@demo.example")
        requests.post(
            f"{api}/portal/tenant/current/setup-requests",
            json={"templateType": "SHOP", "whatsappNumber": "+4915112340001"},
            headers=owner,
            timeout=10,
        ).raise_for_status()
        request = requests.get(f"{api}/admin/setup-requests", headers=admin, timeout=10).json()
        rid = request["items"][0]["id"]
        requests.post(f"{api}/admin/setup-requests/{rid}/approve", headers=admin, timeout=10)
        requests.post(f"{api}/admin/tenants/t_demo/worker/start", headers=admin, timeout=10)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=BASE_CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.add_init_script(RECORDER)
            page.goto(ready["portal"] + "/")
            page.get_by_role("button", name="Sign in").click()
            page.get_by_label("E-mail").fill("owner@demo.example")
            page.get_by_role("button", name="Continue").click()
            page.wait_for_url("**/status.html")
            page.goto(ready["portal"] + "/whatsapp.html")
            deadline = time.time() + 120
            while time.time() < deadline:
                shown = page.evaluate("window.__shown")
                if len({s["src"] for s in shown if s["src"]}) > CODES:
                    break
                time.sleep(0.5)
            shown = page.evaluate("window.__shown")
            browser.close()
        valid = requests.get(ready["simulator"] + "/control/qr/valid", timeout=10).json()
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(timeout=60)
    # Each code: when it appeared, when it went (the next change), its validity window.
    spans = []
    for n, row in enumerate(shown):
        if row["src"]:
            gone = shown[n + 1]["at"] if n + 1 < len(shown) else None
            spans.append((decode(row["src"]), row["at"], gone))
    firsts: dict[str, float] = {}
    for code, at, _ in spans:
        firsts.setdefault(code, at)
    later = list(firsts.items())[1:]  # the first code was made before the page opened
    delays = sorted(at - valid[code]["from"] for code, at in later)
    rejected = sum(
        1
        for code, at, gone in spans
        if at < valid[code]["from"] or (gone or valid[code]["to"]) > valid[code]["to"]
    )
    print(
        json.dumps(
            {
                "benchmark": "portal_qr",
                "codes": len(firsts),
                "new_code_visible_ms_p50": round(statistics.median(delays)),
                "new_code_visible_ms_p95": round(delays[max(0, int(len(delays) * 0.95) - 1)]),
                "new_code_visible_ms_max": round(delays[-1]),
                "rejected_codes_shown": rejected,
                "target_visible_ms_p95": 1000,
            }
        )
    )


if __name__ == "__main__":
    main()
