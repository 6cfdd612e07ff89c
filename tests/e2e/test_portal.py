"""The portal in headless Chromium against the stack that ``make dev`` starts.

Tenant signs in -> setup request -> admin approves and starts the worker -> the portal shows
a QR -> a screenshot of it is decoded (zxing-cpp) and the simulated phone links with that
payload -> status ACTIVE -> an inbound message gets the template reply and shows in the log
-> the worker is killed -> ERROR -> restart from the admin page -> ACTIVE with no new QR.
Screenshots of every page land in docs/screenshots when WAFLEET_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from devstack.local_aws import fake_credentials
from tests.e2e.test_dev_data import Api, link_with_portal_code
from tests.e2e.test_dev_data import cli as dev_cli
from tests.processes import creds, dev_stack, eventually, sign_in

# One make dev stack and one browser for the module (``--dist loadgroup``: one xdist worker).
pytestmark = [pytest.mark.process, pytest.mark.xdist_group("portal")]
PDF = b"%PDF-1.4\n% a price list\n%%EOF\n"
ROOT = Path(__file__).resolve().parents[2]
PHONE = "+4915112345678"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``wafleet dev`` as a process, on free ports."""
    with dev_stack(tmp_path_factory.mktemp("dev")) as ready:
        yield ready


class Shots:
    """Screenshots for the README, written to docs/screenshots on request."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def take(self, page: Page, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shots]:
    folder = tmp_path_factory.mktemp("shots")
    yield Shots(folder)
    if os.environ.get("WAFLEET_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            shutil.copy(png, target / png.name)


def signed_in(browser: Browser, base: str, email: str, errors: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1100, "height": 760}).new_page()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{email}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(f"{email}: {exc}"))
    sign_in(page, base, email)
    return page


def decode_qr(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    # One code on screen (zxing may report the same symbol twice, from two scan passes).
    texts = {str(b.text) for b in found}
    assert len(texts) == 1, texts
    return texts.pop()


def task_pid(stack: dict[str, str], tenant_id: str) -> int:
    """The process running the tenant: its host (make dev packs every tenant on one). Read
    from make dev's tables with a client of its own (this process's models stay bound to the
    tests' tables)."""
    import boto3

    from chalicelib.store import hosts

    dynamodb = boto3.client(
        "dynamodb", endpoint_url=stack["dynamodb"], region_name="us-east-1", **creds()
    )

    def task_ref(table: str, key: dict[str, Any]) -> str:
        found = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        return str(found["tk"]["S"])  # TenantModel.task_ref, HostModel.task_ref

    placed = hosts.parse_ref(task_ref("wafleet-tenants", {"tid": {"S": tenant_id}}))
    assert placed is not None, "not on a host"
    ref = task_ref("wafleet-hosts", {"hid": {"S": placed[0]}, "sk": {"S": "host"}})
    return int(ref.split(":")[1])


def test_from_sign_in_to_a_linked_bot_that_survives_a_crash(
    stack: dict[str, str], browser: Browser, shots: Shots
) -> None:
    base, sim = stack["portal"], stack["simulator"]
    errors: list[str] = []
    owner = signed_in(browser, base, "owner@demo.example", errors)
    expect(owner).to_have_url(f"{base}/status.html")
    expect(owner.locator("#next-step")).to_contain_text("setup request")
    shots.take(owner, "signin-then-status-new")

    owner.get_by_role("link", name="Send a setup request").click()  # the next step
    owner.get_by_role("button", name="Send request").click()
    expect(owner.locator("#whatsappNumber-error")).to_contain_text("international format")
    owner.get_by_label("Type of business").select_option("RESTAURANT")
    owner.get_by_label("WhatsApp number").fill(PHONE)
    owner.get_by_label("Business name (optional)").fill("Demo Pizzeria")
    shots.take(owner, "setup")
    owner.get_by_role("button", name="Send request").click()
    expect(owner.locator("#current-request")).to_contain_text("Waiting for review")
    # Before the bot starts, the owner is asked to confirm what it answers.
    expect(owner.locator("#replies-step")).to_contain_text("states no fact about it")
    owner.get_by_role("link", name="Status").click()
    expect(owner.locator("#check-replies")).to_contain_text("states no fact")
    expect(owner.locator("#headline")).to_have_text("We are reviewing your setup request")
    expect(owner.locator("#who")).to_contain_text("operators")

    admin = signed_in(browser, base, "admin@demo.example", errors)
    expect(admin).to_have_url(f"{base}/admin.html")
    expect(admin.locator("#queue")).to_contain_text("Demo Pizzeria")
    # Who can sign in: the owner can be removed; the admin cannot remove themselves.
    expect(admin.locator("tr[data-user='owner@demo.example']")).to_contain_text("Tenant owner")
    expect(admin.get_by_role("button", name="remove owner@demo.example")).to_be_visible()
    expect(admin.locator("tr[data-user='admin@demo.example']")).to_contain_text("you")
    shots.take(admin, "admin-queue")
    admin.get_by_role("button", name="Approve").click()
    expect(admin.locator("#queue")).to_contain_text("Nothing to decide")
    admin.get_by_role("button", name="start worker of Demo Pizzeria", exact=True).click()
    expect(admin.locator("tr[data-tenant=t_demo]")).to_contain_text(re.compile("STARTING|RUNNING"))

    owner.get_by_role("link", name="WhatsApp").click()
    qr = owner.locator("#qr")
    expect(qr).to_be_visible(timeout=30_000)
    expect(owner.locator("#qr-meta")).to_contain_text("valid for")
    shots.take(owner, "whatsapp-qr")
    # The linking page on a phone, with its code: nothing scrolls sideways.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    sign_in(small, base, "owner@demo.example")
    small.goto(f"{base}/whatsapp.html")
    expect(small.locator("#qr")).to_be_visible()
    assert small.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    shots.take(small, "phone-whatsapp-qr")
    phone.close()
    payload = decode_qr(qr.screenshot())
    showing = requests.get(f"{sim}/control/qr", timeout=10).json()
    assert payload in [s["payload"] for s in showing]  # the code valid in the simulator now
    linked = requests.post(
        f"{sim}/control/link", json={"payload": payload, "phone": PHONE}, timeout=10
    )
    assert linked.status_code == 200, linked.text
    expect(owner).to_have_url(f"{base}/status.html?linked=1", timeout=15_000)
    expect(owner.locator("#next-step")).to_contain_text("You're all set!")
    shots.take(owner, "status-active")

    sent = requests.post(
        f"{sim}/control/phones/{PHONE}/inbound",
        json={"from": "+15550101", "text": "When are you open?"},
        timeout=10,
    )
    assert sent.status_code == 200
    from chalicelib.domain import templates

    reply = templates.reply("RESTAURANT", "Demo Pizzeria", "When are you open?")
    eventually(
        lambda: (
            [
                m["text"]
                for m in requests.get(f"{sim}/control/phones/{PHONE}/sent", timeout=10).json()
            ]
            == [reply]
        ),
        what="reply",
    )
    owner.get_by_role("link", name="Messages").click()
    expect(owner.locator("#logs")).to_contain_text("When are you open?")
    expect(owner.locator("#logs")).to_contain_text(reply.splitlines()[0])
    expect(owner.locator("#logs")).to_contain_text("+15••0101")
    shots.take(owner, "messages")

    # The worker host dies: the bot comes back on a new host by itself within seconds, from
    # its saved login; the owner reads what happened in the History.
    os.kill(task_pid(stack, "t_demo"), signal.SIGKILL)

    def history_says_crashed() -> bool:
        owner.goto(f"{base}/history.html")
        return "Bot crashed" in owner.locator("#history").inner_text()

    eventually(history_says_crashed, what="the crash in the history")
    owner.goto(f"{base}/status.html")
    expect(owner.locator("#next-step")).to_contain_text("You're all set!", timeout=30_000)
    # What the owner cares about, below the headline: answers lately, the last reply, the
    # last problem and that it is over.
    owner.reload()
    expect(owner.locator("#answered")).to_contain_text(
        "Answered 1 message in the last 24 hours, 1 message in the last 7 days"
    )
    expect(owner.locator("#last-reply")).to_contain_text(reply.splitlines()[0])
    expect(owner.locator("#last-problem")).to_contain_text("Answering again since")
    shots.take(owner, "status-summary")
    owner.get_by_role("link", name="History").click()
    expect(owner.locator("#history")).to_contain_text("Bot crashed")
    shots.take(owner, "history-crash")

    admin.reload()
    admin.get_by_role("button", name="restart worker of Demo Pizzeria").click()
    owner.goto(f"{base}/status.html")
    expect(owner.locator("#next-step")).to_contain_text("You're all set!", timeout=30_000)
    owner.get_by_role("link", name="History").click()
    expect(owner.locator("#history")).to_contain_text("Bot crashed")
    expect(owner.locator("#legend")).to_contain_text("Answering")
    shots.take(owner, "history")
    events = [row.inner_text() for row in owner.locator("#history tbody tr td:nth-child(2)").all()]
    # Restarted from the saved login: no new QR.
    assert events.count("A code to link WhatsApp was shown") == 1, events
    assert not any(re.search("RUNNING|QR_READY|→", e) for e in events), events
    admin.reload()
    expect(admin.locator("tr[data-tenant=t_demo]")).to_contain_text("ACTIVE")
    # The worker host running the bot, with its memory; the operator drains it.
    hosts_table = admin.locator("#hosts")
    expect(hosts_table).to_contain_text(re.compile(r"Demo Pizzeria \(\d+ MB\)"))
    expect(hosts_table).to_contain_text("1 of 20")
    row = admin.locator("tr[data-tenant=t_demo]")
    expect(row.locator("td.wa-version")).to_have_text("live site")
    # The operator pins a WhatsApp Web version from the catalog (the oldest: long expired).
    from worker_container.wa_pages import DEFAULT_CATALOG, Catalog

    oldest = min(Catalog(DEFAULT_CATALOG).known().values(), key=lambda k: k.released_ms)
    admin.once("dialog", lambda dialog: dialog.accept(oldest.version))
    admin.get_by_role("button", name="pin the WhatsApp Web version of Demo Pizzeria").click()
    expect(row.locator("td.wa-version")).to_contain_text(
        f"pinned to {oldest.version}: from the next launch"
    )
    shots.take(admin, "admin-fleet")
    first_host = admin.locator("#hosts tr[data-host]").first.get_attribute("data-host")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name=f"drain host {first_host}").click()
    expect(admin.locator("#alerts")).to_contain_text("Done.")
    # It moves to a new host from its saved login: no new code, answering again.
    admin.reload()
    expect(admin.locator("tr[data-tenant=t_demo]")).not_to_contain_text(
        f"on {first_host}", timeout=30_000
    )
    # Its new browser was asked for the pinned version: WhatsApp refuses one that old, so it
    # opened the live site, and the fleet view says why.
    admin.reload()
    expect(row.locator("td.wa-version")).to_contain_text("pin not served", timeout=30_000)
    expect(row.locator("td.wa-version")).to_contain_text("expired on")
    owner.get_by_role("link", name="Status").click()
    expect(owner.locator("#next-step")).to_contain_text("You're all set!", timeout=30_000)
    owner.get_by_role("link", name="History").click()
    expect(owner.locator("#history")).to_contain_text("moving to another server")
    events = [row.inner_text() for row in owner.locator("#history tbody tr td:nth-child(2)").all()]
    assert events.count("A code to link WhatsApp was shown") == 1, events
    assert errors == []


def test_a_second_tenant_never_sees_the_first(stack: dict[str, str], browser: Browser) -> None:
    env = {
        **os.environ,
        **fake_credentials(),
        "AWS_REGION": "us-east-1",
        "WAFLEET_DYNAMODB_ENDPOINT": stack["dynamodb"],
    }

    def cli(*args: str) -> Any:
        out = subprocess.run(
            [sys.executable, "-m", "devstack.cli", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    other = cli("tenant", "create", "--name", "Other Salon", "--phone", "+4915199999999")
    cli("user", "add", "--email", "owner@other.example", "--tenant", other["tenantId"])
    requests.post(
        f"{stack['simulator']}/control/phones/{PHONE}/inbound",
        json={"from": "+15550202", "text": "secret pizza order"},
        timeout=10,
    )
    errors: list[str] = []
    page = signed_in(browser, stack["portal"], "owner@other.example", errors)
    expect(page).to_have_url(f"{stack['portal']}/status.html")
    for name in ("status", "whatsapp", "logs", "history", "setup"):
        page.goto(f"{stack['portal']}/{name}.html")
        page.wait_for_load_state("networkidle")
        text = page.content()
        for marker in ("Demo Pizzeria", "t_demo", "secret pizza", "When are you open", PHONE):
            assert marker not in text, (name, marker)
    page.goto(f"{stack['portal']}/admin.html")
    expect(page).to_have_url(f"{stack['portal']}/status.html")  # not an admin: sent home
    assert errors == []


def test_the_cli_finds_the_running_stack_by_its_folder(stack: dict[str, str]) -> None:
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WAFLEET_"))}

    def token(folder: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "devstack.cli",
                "token",
                "--email",
                "owner@demo.example",
                "--folder",
                folder,
            ],
            env=bare,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    minted = token(stack["folder"])
    assert minted.returncode == 0, minted.stderr
    me = requests.get(
        f"{stack['portal']}/api/portal/me",
        headers={"Authorization": f"Bearer {minted.stdout.strip()}"},
        timeout=10,
    )
    assert me.status_code == 200 and me.json()["email"] == "owner@demo.example"
    elsewhere = token(str(ROOT / "no-such-stack"))
    assert elsewhere.returncode != 0 and "no running 'make dev'" in elsewhere.stderr


def test_sign_in_survives_new_tabs_and_ends_on_a_clear_page(
    stack: dict[str, str], browser: Browser
) -> None:
    base = stack["portal"]
    errors: list[str] = []
    owner = signed_in(browser, base, "owner@demo.example", errors)
    expect(owner).to_have_url(f"{base}/status.html")
    # A new tab of the same browser is still signed in.
    tab = owner.context.new_page()
    tab.goto(f"{base}/history.html")
    expect(tab.get_by_role("link", name="Sign out")).to_be_visible()
    expect(tab).to_have_url(f"{base}/history.html")
    # The first tab shares the token store with this one and polls every 10 s: closed now, so
    # the tokens planted below never reach its poll (a 401 there would be an expected error).
    owner.close()

    # The API cannot be reached: the page says it cannot tell instead of an old "all set".
    tab.goto(f"{base}/status.html")
    expect(tab.locator("#headline")).to_be_visible()
    tab.route("**/api/**", lambda route: route.abort())
    tab.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # poll now
    expect(tab.locator("#headline")).to_have_text("We cannot tell how your bot is doing right now.")
    expect(tab.locator("#alerts")).to_contain_text("Cannot reach wafleet")
    tab.unroute("**/api/**")

    # A token the API no longer accepts (401): a signed-out page, not "Loading…" forever.
    tab.evaluate(
        """() => {
        const b64 = (o) => btoa(JSON.stringify(o)).replace(/=+$/, "");
        const exp = Math.floor(Date.now() / 1000) + 3600;
        localStorage.setItem("wafleet.token", `${b64({alg: "RS256"})}.${b64({exp})}.x`);
    }"""
    )
    tab.goto(f"{base}/status.html")
    expect(tab.get_by_role("heading", name="You are signed out")).to_be_visible()
    expect(tab.get_by_role("link", name="Sign in again")).to_be_visible()

    # An account that was removed (403): a no-access page.
    def cli(*args: str) -> str:
        return dev_cli(stack["folder"], *args)

    added = json.loads(cli("user", "add", "--email", "gone@demo.example", "--tenant", "t_demo"))
    gone = signed_in(browser, base, "gone@demo.example", [])  # a 403 is logged as a console error
    expect(gone).to_have_url(f"{base}/status.html")
    admin = cli("token", "--email", "admin@demo.example", "--folder", stack["folder"]).strip()
    removed = requests.delete(
        f"{base}/api/admin/users/{added['userId']}",
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert removed.status_code in (200, 204), removed.text
    gone.reload()
    expect(gone.get_by_role("heading", name="No access")).to_be_visible()
    expect(gone.locator("#signed-out")).to_contain_text("Ask your wafleet operator")
    assert errors == []


def test_the_owner_writes_their_own_answers_and_hours_and_tries_them(
    stack: dict[str, str], browser: Browser, shots: Shots
) -> None:
    base = stack["portal"]
    errors: list[str] = []
    owner = signed_in(browser, base, "owner@demo.example", errors)
    owner.get_by_role("link", name="Replies", exact=True).click()
    expect(owner.locator("#replies-state")).to_contain_text("Not saved yet")
    # The starting point is the business type's topics: the owner writes their own facts.
    owner.locator("#topics\\.0\\.keywords").fill("prices, price, cost")
    owner.locator("#topics\\.0\\.answer").fill("Cut 30, colour 55 at {name}.")
    owner.get_by_label("Time zone", exact=True).fill("Mars/Olympus")
    owner.get_by_role("button", name="Save").click()
    expect(owner.locator("#timeZone-error")).to_contain_text("time zone like Europe/Berlin")
    owner.get_by_label("Time zone", exact=True).fill("Europe/Berlin")
    owner.get_by_label("I want the bot to know my opening hours").check()
    owner.locator("#closed-sun").check()
    owner.get_by_label("Away message").fill("We are closed; we open {next_open}.")
    owner.get_by_label("Days unlike their weekday").fill("2026-03-09 closed")  # a Monday
    owner.get_by_label("Greeting, before the first answer").fill("Welcome to {name}!")
    # A price list as a PDF with the first answer: a file that only says it is one is refused.
    price_list = owner.locator("#topics\\.0\\.file")
    price_list.set_input_files(
        files=[{"name": "prices.pdf", "mimeType": "application/pdf", "buffer": b"MZ not a PDF"}]
    )
    expect(owner.locator("fieldset.topic").first).to_contain_text(
        "Sends prices.pdf with this answer."
    )
    owner.get_by_role("button", name="Save").click()
    expect(owner.locator("#topics\\.0\\.media-error")).to_contain_text("judged by its content")
    owner.get_by_role("button", name="Remove file").click()
    expect(owner.locator("fieldset.topic").first).not_to_contain_text("Sends prices.pdf")
    price_list.set_input_files(
        files=[{"name": "prices.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    expect(owner.locator("fieldset.topic").first).to_contain_text(
        "Sends prices.pdf with this answer."
    )
    owner.get_by_role("button", name="Save").click()
    expect(owner.locator("#saved")).to_have_text("Saved as version 1.")
    expect(owner.locator("#versions")).to_contain_text("Version 1")
    owner.get_by_label("A customer writes").fill("What do you charge? Prices please")
    owner.get_by_label("When (this device").fill("2026-03-03T12:00")  # a Tuesday, open
    owner.get_by_role("button", name="Show the answer").click()
    expect(owner.locator("#preview-reply")).to_have_text(
        "Welcome to Demo Pizzeria!\n\nCut 30, colour 55 at Demo Pizzeria."
    )
    expect(owner.locator("#preview-why")).to_have_text("Why: greeting, matched topic prices")
    expect(owner.locator("#preview-file")).to_have_text("With the file prices.pdf")
    owner.get_by_label("When (this device").fill("2026-03-08T12:00")  # a Sunday, closed
    owner.get_by_role("button", name="Show the answer").click()
    expect(owner.locator("#preview-why")).to_have_text("Why: away: closed now")
    expect(owner.locator("#preview-answer")).not_to_contain_text("null")
    expect(owner.locator("#preview-reply")).to_have_text(  # Monday is the holiday
        "We are closed; we open Tuesday at 09:00."
    )
    shots.take(owner, "replies")
    owner.get_by_role("link", name="Setup", exact=True).click()  # confirmed: the setup step says so
    expect(owner.locator("#replies-step")).to_have_text("Your replies are saved (version 1).")
    # The refused time zone and the refused file, nothing else.
    assert len(errors) == 2 and all("400" in e for e in errors), errors


def test_the_owner_tries_the_bot_in_the_simulators_test_chat_and_a_save_reaches_it(
    tmp_path: Path, browser: Browser, shots: Shots
) -> None:
    """make dev end to end, from a fresh start: the owner's topic, hours and PDF answer the
    next customer; the next save answers the message after it, with no restart."""
    with dev_stack(tmp_path / "dev") as stack:
        chat_with_the_bot(stack, browser, shots)


def chat_with_the_bot(stack: dict[str, str], browser: Browser, shots: Shots) -> None:
    sim = stack["simulator"]
    owner, admin = Api(stack, "owner@demo.example"), Api(stack, "admin@demo.example")
    owner.post(
        "/portal/tenant/current/setup-requests",
        {"templateType": "SALON", "whatsappNumber": PHONE, "businessName": "Demo Salon"},
    )
    request = admin.get("/admin/setup-requests")["items"][0]
    admin.post(f"/admin/setup-requests/{request['id']}/approve")
    where = owner.post(
        "/portal/tenant/current/replies/media",
        {"name": "prices.pdf", "type": "application/pdf", "size": len(PDF)},
    )
    uploaded = requests.post(
        where["url"], data=where["fields"], files={"file": ("prices.pdf", PDF)}, timeout=10
    )
    assert uploaded.status_code in (200, 204), uploaded.text
    pdf = {"id": where["id"], "name": "prices.pdf", "type": "application/pdf", "size": len(PDF)}
    week = {day: ["08:00", "20:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

    def save(answer: str, base: int) -> None:
        topic = {"keywords": ["prices"], "answer": answer, "media": pdf}
        rules = {"timeZone": "Europe/Berlin", "hours": week, "topics": [topic]}
        saved = requests.put(
            f"{owner.base}/portal/tenant/current/replies",
            json={"rules": rules, "baseVersion": base},
            headers=owner.headers,
            timeout=10,
        )
        assert saved.status_code == 200, saved.text

    save("Cut 30. Today: {hours_today}.", 0)
    admin.post("/admin/tenants/t_demo/worker/start")
    payload = eventually(
        lambda: next(
            (s["payload"] for s in requests.get(f"{sim}/control/qr", timeout=10).json()), None
        ),
        timeout=60,
        what="a code on the simulated site",
    )
    linked = requests.post(
        f"{sim}/control/link", json={"payload": payload, "phone": PHONE}, timeout=10
    )
    assert linked.status_code == 200, linked.text

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    phone.goto(f"{sim}/static/phone.html")
    expect(phone.get_by_label("The business")).to_have_value(PHONE)
    phone.get_by_label("Message").fill("what are your prices?")
    phone.get_by_role("button", name="Send").click()
    answer = phone.locator(".from-business").first
    expect(answer).to_contain_text("File: prices.pdf", timeout=30_000)
    expect(answer).to_contain_text("Cut 30. Today: 08:00-20:00.")
    shots.take(phone, "test-chat")
    save("Cut 35 from today. Open {hours_today}.", 1)
    phone.get_by_label("Message").fill("prices again?")
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator(".from-business").nth(1)).to_contain_text(
        "Cut 35 from today. Open 08:00-20:00.", timeout=30_000
    )


PHONE_PAGES = {
    "owner@demo.example": (
        "status",
        "whatsapp",
        "logs",
        "history",
        "replies",
        "setup",
        "notifications",
    ),
    "admin@demo.example": ("admin",),
}


def test_every_page_fits_a_phone(stack: dict[str, str], browser: Browser, shots: Shots) -> None:
    """At 390 px (a common phone) no page scrolls sideways: the header wraps, tables reflow."""
    # Something in every table: a message in and its reply, a webhook endpoint.
    requests.post(
        f"{stack['simulator']}/control/phones/{PHONE}/inbound",
        json={"from": "+15550999", "text": "a rather long message " * 8},
        timeout=10,
    )
    for email, pages in PHONE_PAGES.items():
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        sign_in(page, stack["portal"], email)
        for name in pages:
            page.goto(f"{stack['portal']}/{name}.html")
            page.wait_for_load_state("networkidle")
            page.wait_for_selector("header.top")
            # Against the phone's own width: a mobile browser widens its layout viewport (and
            # innerWidth) to fit what overflows, then zooms out.
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, (email, name, width)
            if name != "whatsapp":  # linked by now: it shows the status (the QR's shot is above)
                shots.take(page, f"phone-{name}")
        context.close()


def test_a_canary_enabled_from_the_cli_shows_its_first_result_on_the_admin_page(
    stack: dict[str, str], browser: Browser
) -> None:
    """The README's canary in make dev: two linked tenants (the simulator delivers between
    its phones), ``wafleet canary enable``, and the admin page shows the first probe's result
    within a heartbeat or two, not an interval later."""
    folder, sim = stack["folder"], stack["simulator"]
    admin = Api(stack, "admin@demo.example")
    numbers = {"Canary Cafe": "+4915100000071", "Peer Cafe": "+4915100000072"}
    ids = {}
    for name, number in numbers.items():
        tid = json.loads(dev_cli(folder, "tenant", "create", "--name", name, "--phone", number))[
            "tenantId"
        ]
        owner_email = f"{tid}@canary.example"
        dev_cli(folder, "user", "add", "--email", owner_email, "--tenant", tid)
        admin.post(f"/admin/tenants/{tid}/worker/start")
        link_with_portal_code(Api(stack, owner_email), sim, number)
        ids[name] = tid
    dev_cli(folder, "canary", "enable", ids["Canary Cafe"], "--peer", numbers["Peer Cafe"])
    errors: list[str] = []
    page = signed_in(browser, stack["portal"], "admin@demo.example", errors)
    row = page.locator(f"tr[data-tenant={ids['Canary Cafe']}]")
    expect(row).to_contain_text(
        re.compile(r"Canary → \+4915100000072: answered in \d+ ms"), timeout=60_000
    )
    expect(page.locator(f"tr[data-tenant={ids['Peer Cafe']}]")).to_contain_text(
        "answers the canary of +4915100000071"
    )
    assert errors == []
