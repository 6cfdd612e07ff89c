"""The worker's contract with WhatsApp Web is the public API of the pinned @wppconnect/wa-js.

Each name the worker uses must exist (1) in the installed package's type declarations, (2) in
its real bundle at run time, and (3) in the simulator's fake ``WPP``, whose payloads must have
the declared shapes. A pinned upgrade that renames anything fails here first.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from devstack.simulator.server import make_server
from devstack.simulator.state import LOGOUT_REASONS, QrTiming, Simulator
from worker_container.config import CHROMIUM_ARGS, DEFAULT_BUNDLE, default_browser
from worker_container.wajs import EVENTS, FUNCTIONS, MEMBERS, NAMES, user_agent

PACKAGE = DEFAULT_BUNDLE.parents[1]
DIST = PACKAGE / "dist"
PHONE = "+4915100000001"


def declarations(*parts: str) -> str:
    return (DIST.joinpath(*parts)).read_text(encoding="utf-8")


def declared_fields(text: str, interface: str) -> set[str]:
    """Field names of ``interface`` in a .d.ts text (comments skipped)."""
    body = re.search(r"interface " + interface + r"\b[^{]*\{(.*?)\n\}", text, re.S)
    assert body, f"interface {interface} not declared"
    no_comments = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return set(re.findall(r"^\s*'?([\w.]+)'?\??:", no_comments, re.M))


def enum_values(name: str) -> set[str]:
    text = declarations("whatsapp", "enums", f"{name}.d.ts")
    body = re.search(r"enum " + name + r" \{(.*?)\}", text, re.S)
    assert body
    return set(re.findall(r'= "([^"]+)"', body.group(1)))


def test_the_package_is_the_pinned_version() -> None:
    lock = json.loads((Path(__file__).parents[2] / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@wppconnect/wa-js"]["version"]
    installed = json.loads((PACKAGE / "package.json").read_text())["version"]
    assert installed == pinned
    assert f"v{pinned}" in DEFAULT_BUNDLE.read_text(encoding="utf-8")[:300]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_is_declared_by_the_package(name: str) -> None:
    namespace, function = name.split(".")
    exported = declarations(namespace, "functions", "index.d.ts")
    assert re.search(r"\b" + function + r"\b", exported), f"WPP.{name} not exported"
    declared = "".join(
        path.read_text(encoding="utf-8") for path in (DIST / namespace).rglob("*.d.ts")
    )
    assert re.search(r"export declare function " + function + r"\(", declared), name


@pytest.mark.parametrize("name", MEMBERS)
def test_every_whatsapp_member_is_declared_by_the_package(name: str) -> None:
    _, obj, method = name.split(".")
    misc = declarations("whatsapp", "misc", f"{obj}.d.ts")
    model = re.search(r"export declare const " + obj + r": (\w+);", misc)
    assert model, f"WPP.whatsapp.{obj} not declared"
    model_text = declarations("whatsapp", "models", f"{model.group(1)}.d.ts")
    assert re.search(r"^\s+" + method + r"\(", model_text, re.M), name


@pytest.mark.parametrize("name", EVENTS)
def test_every_event_is_declared_by_the_package(name: str) -> None:
    namespace = name.split(".")[0]
    assert f"'{name}':" in declarations(namespace, "events", "eventTypes.d.ts"), name


def test_the_values_the_worker_maps_are_declared() -> None:
    from worker_container.reactions import BLOCKING_STREAMS, LOGOUT_WORDS

    streams = enum_values("StreamMode")
    assert {"QR", "MAIN", "SYNCING", "OFFLINE", "CONFLICT", "DEPRECATED_VERSION"} <= streams
    assert set(BLOCKING_STREAMS) <= streams
    reasons = enum_values("LogoutReason")
    assert set(LOGOUT_WORDS) <= reasons
    assert set(LOGOUT_REASONS) <= reasons  # the simulator logs out only with real reasons
    assert {"MAIN", "SYNCING", "OFFLINE"} <= enum_values("StreamInfo") | streams


# --- run time: the real bundle in a blank page, and the simulator's fake -------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=default_browser(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser_page(browser: Browser) -> Page:
    return browser.new_context(user_agent=user_agent(default_browser())).new_page()


TYPES = """(names) => Object.fromEntries(names.map((name) => {
  let value = window.WPP;
  for (const part of name.split(".")) value = value == null ? undefined : value[part];
  return [name, typeof value];
}))"""


def test_the_real_bundle_defines_every_function_at_run_time(browser_page: Page) -> None:
    browser_page.set_content("<html><body>blank</body></html>")
    browser_page.add_script_tag(path=str(DEFAULT_BUNDLE))
    types = browser_page.evaluate(TYPES, [*FUNCTIONS, "on", "off", "whatsapp"])
    assert {name: kind for name, kind in types.items() if kind != "function"} == {
        # WhatsApp's own objects resolve only on web.whatsapp.com; the namespace is there.
        "whatsapp": "object"
    }
    # On a page that is not WhatsApp Web, the library never becomes ready.
    assert browser_page.evaluate("WPP.isReady") is False


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[str, Simulator]]:
    state = Simulator(lambda: time.time_ns() // 1_000_000, QrTiming(60_000, 20_000, 6))
    server = make_server(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


def test_the_simulator_offers_exactly_the_same_names(
    browser_page: Page, simulator: tuple[str, Simulator]
) -> None:
    url, _ = simulator
    browser_page.goto(url + "/")
    browser_page.wait_for_function("() => window.WPP && window.WPP.isReady")
    types = browser_page.evaluate(TYPES, [*NAMES, "on", "off"])
    assert {name: kind for name, kind in types.items() if kind != "function"} == {}


CAPTURE = """(events) => {
  window.__seen = [];
  for (const name of events) WPP.on(name, (...args) => window.__seen.push(
    [name, args.map((a) => (a && typeof a === "object" ? JSON.parse(JSON.stringify(a)) : a))]));
}"""


def seen(page: Page, name: str) -> list[Any]:
    """Every payload of ``name`` so far, once there is one (waits on the page's own list)."""
    page.wait_for_function(
        "(name) => window.__seen.some(([event]) => event === name)", arg=name, timeout=10_000
    )
    return [args for event, args in page.evaluate("window.__seen") if event == name]


def test_the_simulators_payloads_have_the_declared_shapes(
    browser_page: Page, simulator: tuple[str, Simulator]
) -> None:
    url, state = simulator
    browser_page.goto(url + "/")
    browser_page.wait_for_function("() => window.WPP && window.WPP.isReady")
    browser_page.evaluate(CAPTURE, list(EVENTS))
    code = browser_page.evaluate(
        """() => new Promise((resolve) => WPP.conn.getAuthCode().then((code) => code
          ? resolve(code) : WPP.on("conn.auth_code_change", (c) => c && resolve(c))))"""
    )
    auth_fields = declared_fields(declarations("conn", "types.d.ts"), "AuthCodeMultiDevice")
    assert set(code) == auth_fields and code["type"] == "multidevice"
    assert browser_page.evaluate("WPP.conn.getStreamData().mode") in enum_values("StreamMode")

    requests.post(
        url + "/control/link", json={"payload": code["fullCode"], "phone": PHONE}, timeout=10
    ).raise_for_status()
    seen(browser_page, "conn.main_ready")
    assert [args[0] for args in seen(browser_page, "conn.stream_mode_changed")][-1] == "MAIN"
    requests.post(
        f"{url}/control/phones/{PHONE}/inbound",
        json={"from": "+15550001", "text": "hi"},
        timeout=10,
    ).raise_for_status()
    message = seen(browser_page, "chat.new_message")[-1][0]
    msg_fields = declared_fields(declarations("whatsapp", "models", "MsgModel.d.ts"), "Props")
    worker_reads = {"id", "body", "type", "t", "from", "to", "ack", "isNewMsg"}
    assert worker_reads <= msg_fields and worker_reads <= set(message)
    key_text = declarations("whatsapp", "misc", "MsgKey.d.ts")
    for field in ("fromMe", "remote", "id", "_serialized"):
        assert re.search(r"^\s+" + field + r":", key_text, re.M) and field in message["id"]

    chat = message["from"]  # a Wid serializes to its id (Wid.toJSON)
    browser_page.evaluate(
        "([c]) => WPP.chat.sendTextMessage(c, 'hello', {messageId: '3EB0C0DE'})", [chat]
    )
    sent = state.sent(PHONE)[-1]
    requests.post(
        f"{url}/control/phones/{PHONE}/ack", json={"id": sent["id"], "ack": 3}, timeout=10
    ).raise_for_status()
    ack = seen(browser_page, "chat.msg_ack_change")[-1][0]
    ack_fields = declared_fields(
        declarations("chat", "events", "eventTypes.d.ts"), "ChatEventTypes"
    )
    assert "chat.msg_ack_change" in ack_fields
    assert set(ack) >= {"ack", "chat", "ids"} and ack["ids"][0]["id"] == "3EB0C0DE"

    requests.post(
        f"{url}/control/phones/{PHONE}/logout", json={"reason": "account_locked"}, timeout=10
    ).raise_for_status()
    assert seen(browser_page, "conn.logout_reason")[-1][0] in enum_values("LogoutReason")


def test_the_simulator_refuses_a_browser_that_says_it_is_automated(
    browser: Browser, simulator: tuple[str, Simulator]
) -> None:
    url, _ = simulator
    headless = browser.new_page()  # Playwright's own user agent says HeadlessChrome
    headless.goto(url + "/")
    assert "Chrome 85+" in headless.inner_text("body")
    assert headless.evaluate("typeof window.WPP") == "undefined"
    automated = browser.new_page(user_agent=user_agent(default_browser()))
    automated.add_init_script("Object.defineProperty(navigator, 'webdriver', {get: () => true})")
    automated.goto(url + "/")
    automated.wait_for_function("() => document.body.textContent.includes('Chrome 85+')")
    assert automated.evaluate("typeof window.WPP") == "undefined"
