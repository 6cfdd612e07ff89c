"""The worker's contract with WhatsApp Web is the public API of the pinned @wppconnect/wa-js.

Names: each name the worker uses exists in the installed package's type declarations and in
its real bundle at run time. Meaning: the real bundle runs on the simulator's fake of
WhatsApp Web's module layer (``devstack/simulator/static/whatsapp``), so wa-js's own code
decides events, keys, ``isNewMsg`` and argument checks; every event the worker binds fires
with wa-js's payload, and every function it calls is exercised through wa-js. A pinned upgrade
that renames or changes anything fails here first.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from devstack.simulator.server import make_server
from devstack.simulator.state import LOGOUT_REASONS, QrTiming, Simulator
from worker_container.config import CHROMIUM_ARGS, DEFAULT_BUNDLE, default_browser
from worker_container.reactions import ANSWERED_TYPES
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
    assert {"NORMAL", "OPENING", "PAIRING", "SYNCING", "RESUMING"} <= enum_values("StreamInfo")
    msg_types = set(re.findall(r'= "(\w+)"', declarations("whatsapp", "enums", "MSG_TYPE.d.ts")))
    assert msg_types >= ANSWERED_TYPES


# --- run time: the real bundle on a blank page, then on the simulator's WhatsApp modules ----


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=default_browser(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


TYPES = """(names) => Object.fromEntries(names.map((name) => {
  let value = window.WPP;
  for (const part of name.split(".")) value = value == null ? undefined : value[part];
  return [name, typeof value];
}))"""


def test_the_real_bundle_defines_every_function_at_run_time(browser: Browser) -> None:
    page = browser.new_context(user_agent=user_agent(default_browser())).new_page()
    page.set_content("<html><body>blank</body></html>")
    page.add_script_tag(path=str(DEFAULT_BUNDLE))
    types = page.evaluate(TYPES, [*FUNCTIONS, "on", "off", "whatsapp"])
    assert {name: kind for name, kind in types.items() if kind != "function"} == {
        "whatsapp": "object"  # WhatsApp's own objects resolve only where its modules are
    }
    # On a page that is not WhatsApp Web, the library never becomes ready.
    assert page.evaluate("WPP.isReady") is False
    page.context.close()


@dataclass
class Site:
    """The simulator on loopback, and a tab with the real wa-js injected as the worker does."""

    url: str
    state: Simulator
    page: Page

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(self.url + path, json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def seen(self, name: str, count: int = 1) -> list[Any]:
        """Every payload of event ``name`` so far, once there are ``count`` (waits in the page)."""
        self.page.wait_for_function(
            "([name, count]) => window.__seen.filter(([e]) => e === name).length >= count",
            arg=[name, count],
            timeout=10_000,
        )
        return [args for event, args in self.page.evaluate("window.__seen") if event == name]

    def call(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def sent(self, count: int = 1) -> list[dict[str, Any]]:
        """What reached the simulated WhatsApp server from this page, once ``count`` did (a
        send returns when the page queued it; the socket delivers it a moment later)."""
        deadline = time.monotonic() + 10
        while len(sent := self.state.sent(PHONE)) < count and time.monotonic() < deadline:
            threading.Event().wait(0.02)  # pacing of the poll of a real server thread
        assert len(sent) >= count, sent
        return sent

    def auth_code(self, timeout_ms: float = 30_000) -> Any:
        """The QR code wa-js composes, once the page got a ref from the server (a busy
        machine: later). ``wait_for_function`` does not await a promise (a pending one is
        truthy), so the predicate keeps what ``getAuthCode()`` last resolved to and returns it."""
        return self.page.wait_for_function(
            "() => { WPP.conn.getAuthCode().then((c) => { window.__authCode = c; });"
            " return window.__authCode; }",
            timeout=timeout_ms,
        ).json_value()

    def linked(self) -> None:
        code = self.auth_code()
        self.control("/control/link", {"payload": code["fullCode"], "phone": PHONE})
        self.page.wait_for_function(
            "() => WPP.conn.isAuthenticated() && WPP.conn.getStreamData().mode === 'MAIN'",
            timeout=10_000,
        )


CAPTURE = """(events) => {
  window.__seen = [];
  const plain = (a) => JSON.parse(JSON.stringify(a, (k, v) => (v === undefined ? null : v)));
  for (const name of events) WPP.on(name, (...args) => window.__seen.push([name, args.map(plain)]));
}"""


def open_site(browser: Browser, timing: QrTiming) -> Iterator[Site]:
    state = Simulator(lambda: time.time_ns() // 1_000_000, timing)
    server = make_server(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    context = browser.new_context(user_agent=user_agent(default_browser()))
    context.add_init_script(path=str(DEFAULT_BUNDLE))  # before any script of the site
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_function("() => window.WPP && window.WPP.isReady", timeout=15_000)
    page.evaluate(CAPTURE, [*EVENTS, "conn.main_ready"])
    yield Site(url, state, page)
    context.close()
    server.shutdown()


@pytest.fixture
def site(browser: Browser) -> Iterator[Site]:
    yield from open_site(browser, QrTiming(60_000, 20_000, 6))


@pytest.fixture
def fast_site(browser: Browser) -> Iterator[Site]:
    yield from open_site(browser, QrTiming(1_200, 600, 3, pairing_ms=600))


def test_the_real_bundle_becomes_ready_on_the_fake_module_layer(site: Site) -> None:
    assert site.call("() => [WPP.isReady, WPP.loader.loaderType]") == [True, "meta"]
    types = site.call(TYPES, [*NAMES, "on", "off"])
    assert {name: kind for name, kind in types.items() if kind != "function"} == {}
    # What wa-js finds is the site's own state, not something the simulator made up for it.
    assert site.call("() => WPP.conn.getStreamData()") == {"mode": "QR", "info": "NORMAL"}


# What wa-js reaches of WhatsApp Web on the worker's paths (WPP.whatsapp.<name>), with the
# wa-js source that reaches it. Each is a lazy getter that runs wa-js's own predicate over the
# page's modules; on the real site the same predicates find WhatsApp's modules.
WORKER_PATH_MODULES = {
    "Conn": "conn/functions/getAuthCode.ts, events/registerAuthCodeChangeEvent.ts",
    "Cmd": "conn/events/registerAuthenticatedEvent.ts, registerLogoutEvent.ts, refreshQR.ts",
    "Socket": "conn/functions/isIdle.ts (qrcode_idle), Socket.takeover",
    "Stream": "conn/functions/getStreamData.ts, events/registerStreamEvent.ts, needsUpdate.ts",
    "NetworkStatus": "conn/functions/isOnline.ts, events/registerOnlineEvent.ts",
    "UserPrefs": "loader (WAWebUserPrefsMeUser), conn/functions/getMyUserWid.ts, getMyUserLid.ts",
    "Base64": "conn/functions/getAuthCode.ts",
    "MsgKey": "chat/functions/prepareRawMessage.ts, getMessageById.ts",
    "Wid": "chat/functions/generateMessageID.ts, list.ts",
    "WidFactory": "util/createWid.ts (every chat id)",
    "LinkDeviceEvents": "conn/functions/linkDeviceCodeLifecycle.ts",
    "ChatPresence": "chat/functions/markIsComposing.ts, markIsPaused.ts (the delay option)",
    "lidPnCache": "contact/functions/getPnLidEntry.ts",
    "MsgStore": "chat/events/registerNewMessageEvent.ts, registerAckMessageEvent.ts",
    "ChatStore": "chat/functions/list.ts, get.ts, find.ts",
    "ContactStore": "contact/functions/getPnLidEntry.ts",
    "GroupMetadataStore": "chat/functions/list.ts (what the catch-up avoids)",
    "MsgModel": "chat/functions/getMessages.ts, getMessageById.ts",
    "ChatModel": "chat/functions/generateMessageID.ts",
    "enums.ACK": "chat/functions/prepareRawMessage.ts",
    "contants.SANITIZED_VERSION_STR": "chat/functions/markIsRead.ts",
    "multidevice.adv": "conn/functions/getAuthCode.ts",
    "multidevice.waNoiseInfo": "conn/functions/getAuthCode.ts",
    "multidevice.waSignalStore": "conn/functions/getAuthCode.ts",
    "functions.isAuthenticated": "conn/functions/isAuthenticated.ts",
    "functions.isRegistered": "conn/functions/isRegistered.ts",
    "functions.getErrorCodeFromLogoutReason": "conn/events/registerLogoutReasonEvent.ts",
    "functions.initializeAltDeviceLinking": "conn/functions/genLinkDeviceCodeForPhoneNumber.ts",
    "functions.genLinkDeviceCodeForPhoneNumber": "conn/functions/linkDeviceCodeLifecycle.ts",
    "functions.findOrCreateLatestChat": "chat/functions/find.ts",
    "functions.addAndSendMsgToChat": "chat/functions/sendRawMessage.ts",
    "functions.unixTime": "chat/functions/prepareRawMessage.ts",
    "functions.getEphemeralFields": "chat/functions/prepareRawMessage.ts",
    "functions.sendSeen": "chat/functions/markIsRead.ts",
    "functions.msgFindByDirection": "chat/functions/getMessages.ts",
    "functions.getSearchContext": "chat/functions/getMessageById.ts",
    "functions.handleChatSimpleReceipt": "chat/events/registerAckMessageEvent.ts",
}
# Not reachable from WPP.whatsapp, exercised instead: enums/SOCKET_STATE (conn.qrcode_idle).


def test_every_module_on_the_workers_paths_is_found_by_wa_js_own_predicate(site: Site) -> None:
    kinds = site.call(
        """(names) => Object.fromEntries(names.map((name) => {
          let value = WPP.whatsapp;
          for (const part of name.split(".")) value = value == null ? undefined : value[part];
          return [name, value == null ? "missing" : typeof value];
        }))""",
        list(WORKER_PATH_MODULES),
    )
    assert {name: kind for name, kind in kinds.items() if kind == "missing"} == {}


def test_main_ready_is_latched_on_the_qr_screen_so_it_never_means_linked(site: Site) -> None:
    """wa-js src/conn/events/registerMainReadyEvent.ts: the first QR *or* MAIN mode."""
    assert site.call("() => [WPP.conn.isMainReady(), WPP.conn.isAuthenticated()]") == [True, False]


def test_linking_by_qr_fires_wa_js_events_with_their_declared_payloads(site: Site) -> None:
    code = site.auth_code()
    auth_fields = declared_fields(declarations("conn", "types.d.ts"), "AuthCodeMultiDevice")
    assert set(code) == auth_fields and code["type"] == "multidevice"
    assert code["fullCode"].split(",")[0] == code["ref"]  # ref, then this browser's keys
    # The phone scans exactly what wa-js composed: the simulator shows the same code.
    assert [row["payload"] for row in site.state.showing()] == [code["fullCode"]]
    site.control("/control/link", {"payload": code["fullCode"], "phone": PHONE})
    site.seen("conn.authenticated")
    modes = [args[0] for args in site.seen("conn.stream_mode_changed", 2)]
    infos = [args[0] for args in site.seen("conn.stream_info_changed")]
    assert modes[-1] == "MAIN" and "SYNCING" in modes
    assert set(modes) <= enum_values("StreamMode") and set(infos) <= enum_values("StreamInfo")
    assert site.call("() => WPP.conn.getStreamData()") == {"mode": "MAIN", "info": "NORMAL"}
    assert site.seen("conn.auth_code_change")[-1] == [None]  # no code once linked


def test_a_message_arrives_as_ciphertext_then_decrypted_with_the_declared_fields(
    site: Site,
) -> None:
    site.linked()
    site.control(f"/control/phones/{PHONE}/inbound", {"from": "+15550001", "text": "hi"})
    first, second = (args[0] for args in site.seen("chat.new_message", 2))
    assert (first["type"], first.get("body")) == ("ciphertext", None)
    assert (second["type"], second["body"], second["isNewMsg"]) == ("chat", "hi", True)
    msg_fields = declared_fields(declarations("whatsapp", "models", "MsgModel.d.ts"), "Props")
    worker_reads = {"id", "body", "type", "t", "from", "to", "isNewMsg", "caption"}
    assert worker_reads <= msg_fields
    key_text = declarations("whatsapp", "misc", "MsgKey.d.ts")
    for field in ("fromMe", "remote", "id", "_serialized"):
        assert re.search(r"^\s+" + field + r":", key_text, re.M) and field in second["id"]
    assert second["id"]["_serialized"] == f"false_15550001@c.us_{second['id']['id']}"


def test_a_picture_carries_its_text_as_caption_and_notifications_come_as_messages(
    site: Site,
) -> None:
    site.linked()
    site.control(
        f"/control/phones/{PHONE}/inbound", {"from": "+15550001", "text": "price?", "type": "image"}
    )
    site.control(
        f"/control/phones/{PHONE}/inbound",
        {"from": "+15550001", "text": "", "type": "e2e_notification"},
    )
    messages = [args[0] for args in site.seen("chat.new_message", 3)]
    decrypted = [m for m in messages if m["type"] != "ciphertext"]
    image = next(m for m in decrypted if m["type"] == "image")
    assert image["caption"] == "price?" and image["body"] != "price?"  # body: a thumbnail
    assert any(m["type"] == "e2e_notification" and m["isNewMsg"] for m in decrypted)


SEND = """async ([chat, text, key]) => {
  try {
    const r = await WPP.chat.sendTextMessage(chat, text,
      { messageId: key, waitForAck: false, linkPreview: false });
    return { ok: r };
  } catch (e) { return { error: e.code || e.message }; }
}"""


def test_a_send_with_our_key_is_found_by_that_key_with_its_ack(site: Site) -> None:
    site.linked()
    chat = "15550001@c.us"
    key = f"true_{chat}_3EB0C0DE"
    sent = site.call(SEND, [chat, "hello", key])["ok"]
    assert (sent["id"], sent["to"]) == (key, chat)
    assert [(m["id"], m["text"]) for m in site.sent()] == [("3EB0C0DE", "hello")]
    ack1 = site.seen("chat.msg_ack_change")[-1][0]  # the server's ack, from MsgStore
    assert (ack1["ack"], ack1["ids"][0]["_serialized"]) == (1, key)
    site.control(f"/control/phones/{PHONE}/ack", {"id": "3EB0C0DE", "ack": 3})
    ack3 = site.seen("chat.msg_ack_change", 2)[-1][0]  # the phone's receipt, wrapped by wa-js
    assert (ack3["ack"], ack3["ids"][0]["_serialized"]) == (3, key)
    assert site.call("(k) => WPP.chat.getMessageById(k).then((m) => m.ack)", key) == 3
    # After a reload the page no longer holds it: wa-js asks WhatsApp by the whole key.
    site.page.reload()
    site.page.wait_for_function("() => WPP.isReady && WPP.conn.getStreamData().mode === 'MAIN'")
    assert site.call("(k) => WPP.chat.getMessageById(k).then((m) => m.ack)", key) == 3
    other = "false_15550001@c.us_3EB0C0DE"  # same id, not ours: another message
    assert "not found" in site.call(
        "(k) => WPP.chat.getMessageById(k).then(() => 'found', (e) => e.message)", other
    )


@pytest.mark.parametrize(
    ("key", "refusal"),
    [
        ("3EB0C0DE", "createWid"),  # a bare id: MsgKey.fromString cannot parse it
        ("false_15550001@c.us_3EB0C0DE", "message_key_is_not_from_me"),
        ("true_15550002@c.us_3EB0C0DE", "message_key_remote_id_is_not_same_of_chat"),
    ],
)
def test_wa_js_refuses_a_message_id_that_is_not_our_key_in_that_chat(
    site: Site, key: str, refusal: str
) -> None:
    """src/chat/functions/prepareRawMessage.ts: `messageId` is a serialized MsgKey."""
    site.linked()
    result = site.call(SEND, ["15550001@c.us", "hello", key])
    assert refusal in result["error"]
    assert site.state.sent(PHONE) == []  # nothing reached WhatsApp


def test_read_typing_and_send_as_the_worker_does(site: Site) -> None:
    from worker_container.wajs import _SEND

    site.linked()
    site.control(f"/control/phones/{PHONE}/inbound", {"from": "+15550001", "text": "hi"})
    site.seen("chat.new_message", 2)
    sent = site.call(_SEND, ["15550001@c.us", "hello", "3EB0AB", 300])
    assert sent["id"] == "3EB0AB"
    message = site.sent()[0]
    kinds = [a["kind"] for a in site.state.activity(PHONE)]
    assert kinds == ["seen", "composing", "paused"]  # read, "typing…", then the message
    typing = [a["at"] for a in site.state.activity(PHONE)][1:]
    assert typing[1] - typing[0] >= 300
    assert message["at"] >= typing[1]


def test_a_lid_chat_is_answered_in_its_own_chat_and_tells_its_number(site: Site) -> None:
    from worker_container.wajs import _PHONE_OF, _RECENT, _SEND

    site.linked()
    chat = site.control(
        f"/control/phones/{PHONE}/inbound", {"from": "+15550009", "text": "hi", "lid": True}
    )["chat"]
    site.seen("chat.new_message", 2)
    assert site.call(_PHONE_OF, chat) == "15550009"
    site.call(_SEND, [chat, "hello", "3EB0AC", 0])
    assert site.sent()[-1]["chat"] == chat
    recent = site.call(_RECENT, [0, 10])
    assert [(m["chat"], m["fromMe"], m["body"]) for m in recent] == [
        (chat, False, "hi"),
        (chat, True, "hello"),
    ]


def test_the_catch_up_lists_only_users_without_group_metadata(site: Site) -> None:
    from worker_container.wajs import _RECENT

    site.linked()
    site.control(
        f"/control/phones/{PHONE}/inbound",
        {"from": "120363000000000001@g.us", "text": "hello all", "author": "+15550002"},
    )
    site.control(f"/control/phones/{PHONE}/inbound", {"from": "+15550001", "text": "hi"})
    site.seen("chat.new_message", 4)
    chats = {m["chat"] for m in site.call(_RECENT, [0, 10])}
    assert chats == {"15550001@c.us"}
    assert site.state.group_queries == 0  # no metadata query per group
    site.call("() => WPP.chat.list()")  # what the catch-up used to do
    assert site.state.group_queries == 1


def test_pairing_codes_come_from_wa_js_and_expire_after_six_with_the_event(
    fast_site: Site,
) -> None:
    site = fast_site
    first = site.call("(p) => WPP.conn.startLinkDeviceCodeForPhoneNumber(p)", "4915100000001")
    assert re.fullmatch(r"[A-Z0-9]{8}", first)
    codes = [args[0] for args in site.seen("conn.link_code_change", 3)]
    assert codes[0] == first and len(set(codes)) == 3
    site.seen("conn.link_code_expired")  # wa-js's own count of automatic refreshes


def test_the_page_tells_the_number_the_phone_linked(site: Site) -> None:
    from worker_container.wajs import WaJsEngine

    site.linked()
    assert "+" + site.call(WaJsEngine.MY_NUMBER) == PHONE


def test_going_back_to_qr_ends_the_pairing_flow_and_shows_a_fresh_qr(site: Site) -> None:
    from worker_container.wajs import WaJsEngine

    # As the worker does: a pairing code only once the first QR is up (wa-js cancels a flow
    # started before on conn.main_ready, linkDeviceCodeLifecycle.ts).
    first = site.auth_code()
    site.call("(p) => WPP.conn.startLinkDeviceCodeForPhoneNumber(p)", "4915100000001")
    site.seen("conn.link_code_change")
    site.call(WaJsEngine.BACK_TO_QR)
    site.page.wait_for_function(
        "(old) => window.__seen.some(([e, a]) => e === 'conn.auth_code_change'"
        " && a[0] && a[0].fullCode !== old)",
        arg=first["fullCode"],
        timeout=10_000,
    )
    fresh = [a[0] for a in site.seen("conn.auth_code_change") if a[0]][-1]
    assert fresh["fullCode"] == site.state.showing()[0]["payload"]
    assert [s["kind"] for s in site.state.showing()] == ["qr"]


def test_a_run_out_qr_rotation_is_idle_and_refresh_qr_starts_a_new_one(fast_site: Site) -> None:
    site = fast_site
    site.seen("conn.qrcode_idle")
    assert site.call("() => WPP.conn.getAuthCode()") is None
    fresh = site.call("() => WPP.conn.refreshQR()")
    assert fresh["fullCode"] == site.state.showing()[0]["payload"]


def test_offline_conflict_takeover_and_needs_update_reach_the_worker(site: Site) -> None:
    site.linked()
    site.control(f"/control/phones/{PHONE}/offline")
    assert site.seen("conn.online")[-1] == [False]
    assert "OFFLINE" in [a[0] for a in site.seen("conn.stream_mode_changed")]
    site.control(f"/control/phones/{PHONE}/online")
    assert site.seen("conn.online", 2)[-1] == [True]
    site.control(f"/control/phones/{PHONE}/conflict")
    site.page.wait_for_function("() => WPP.conn.getStreamData().mode === 'CONFLICT'")
    site.call("() => WPP.whatsapp.Socket.takeover()")
    site.page.wait_for_function("() => WPP.conn.getStreamData().mode === 'MAIN'")
    site.control(f"/control/phones/{PHONE}/needs-update")
    site.seen("conn.needs_update")
    assert site.call("() => WPP.conn.needsUpdate()") is True


def test_a_stall_says_nothing_but_a_question_to_the_page_tells(site: Site) -> None:
    from worker_container.wajs import _PROBE

    site.linked()
    before = len(site.page.evaluate("window.__seen"))
    site.control(f"/control/phones/{PHONE}/stall")
    site.page.wait_for_function("() => WPP.conn.isOnline() === false")
    assert len(site.page.evaluate("window.__seen")) == before  # no event at all
    probe = site.call(_PROBE)
    assert (probe["online"], probe["stream"]["info"]) == (False, "RESUMING")


def test_a_logout_names_its_reason_and_the_site_starts_over_with_a_code(site: Site) -> None:
    site.linked()
    site.control(f"/control/phones/{PHONE}/logout", {"reason": "account_locked"})
    assert site.seen("conn.logout_reason")[-1] == ["account_locked"]
    site.seen("conn.logout")
    # Like the real site, the page wipes the login and reloads itself: a new wa-js, a new code.
    site.page.wait_for_function(
        "() => window.WPP && WPP.isReady && !WPP.conn.isAuthenticated()"
        " && WPP.conn.getStreamData().mode === 'QR'",
        timeout=15_000,
    )
    assert site.auth_code()["fullCode"]


def test_the_simulator_refuses_a_browser_that_says_it_is_headless_or_automated(
    browser: Browser,
) -> None:
    state = Simulator(lambda: time.time_ns() // 1_000_000)
    server = make_server(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        headless = browser.new_page()  # Playwright's own user agent says HeadlessChrome
        headless.goto(url)
        assert "Chrome 85+" in headless.inner_text("body")
        automated = browser.new_page(user_agent=user_agent(default_browser()))
        automated.add_init_script(
            "Object.defineProperty(navigator, 'webdriver', {get: () => true})"
        )
        automated.goto(url)
        automated.wait_for_function("() => document.body.textContent.includes('Chrome 85+')")
        assert automated.evaluate("typeof window.Debug") == "undefined"  # WhatsApp never started
        # The old headless shell says HeadlessChrome in its client hints whatever the user
        # agent: the refusal reads those too (Sec-CH-UA, navigator.userAgentData.brands).
        hints = browser.new_page(user_agent=user_agent(default_browser()))
        hints.add_init_script(
            "Object.defineProperty(navigator, 'userAgentData', {get: () => ({brands: "
            "[{brand: 'HeadlessChrome', version: '156'}]})})"
        )
        hints.goto(url)
        hints.wait_for_function("() => document.body.textContent.includes('Chrome 85+')")
        refused = requests.get(
            url,
            headers={
                "User-Agent": user_agent(default_browser()),
                "Sec-CH-UA": '"Chromium";v="156", "HeadlessChrome";v="156"',
            },
            timeout=10,
        )
        assert "Chrome 85+" in refused.text
        # The worker's own browser and user agent pass: brands without a headless token.
        worker = browser.new_page(user_agent=user_agent(default_browser()))
        worker.goto(url)
        brands = worker.evaluate("() => navigator.userAgentData.brands.map((b) => b.brand)")
        assert not any("Headless" in brand for brand in brands)
        worker.wait_for_function("() => !!window.Debug")
    finally:
        server.shutdown()
