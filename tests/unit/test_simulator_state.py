"""The simulator's rules, on a manual clock: logins by device key, code rotation, linking,
history sync, messages, acks and the faults the worker must survive."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from chalicelib.domain.clock import ManualClock
from devstack.simulator.state import ACK_CLOCK, ACK_SENT, LinkError, QrTiming, Simulator

PHONE = "+4915100000001"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock.now_ms, QrTiming(first_ms=60_000, next_ms=20_000, count=6))


def page(sim: Simulator, key: ec.EllipticCurvePrivateKey | None = None) -> str:
    """A page session: signs the server's nonce with its device key, as the simulated client
    (static/whatsapp/client.js) does, and tells the keys its QR codes carry."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    nonce = sim.hello()["nonce"]
    r, s = decode_dss_signature(key.sign(nonce.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    session = sim.open_session(
        base64.b64encode(spki).decode(), nonce, base64.b64encode(raw).decode(), "noise,id,adv"
    )
    return str(session["token"])


def linked(sim: Simulator) -> str:
    token = page(sim)
    sim.link(sim.current_qr(token)["code"], PHONE)
    return token


def test_first_code_for_60s_then_every_20s_six_in_all(sim: Simulator, clock: ManualClock) -> None:
    token = page(sim)
    shown = []
    for at in (0, 59_999, 60_000, 79_999, 80_000, 100_000, 120_000, 140_000):
        clock.advance(at - (clock.now_ms() - 1_700_000_000_000))
        shown.append(sim.current_qr(token).get("attempt"))
    assert shown == [1, 1, 2, 2, 3, 4, 5, 6]
    clock.advance(20_000)
    assert sim.current_qr(token) == {"idle": True}
    assert sim.refresh_qr(token)["attempt"] == 1


def test_a_code_says_when_the_site_made_it_and_when_it_expires(
    sim: Simulator, clock: ManualClock
) -> None:
    token = page(sim)
    start = clock.now_ms()
    first = sim.current_qr(token)
    clock.advance(65_000)  # the page's timer fired 5 s late
    second = sim.current_qr(token)
    assert (first["madeAt"], first["expiresAt"]) == (start, start + 60_000)
    # The next code, shown from when the page asked for it, for its 20 s.
    assert (second["madeAt"], second["expiresAt"]) == (start + 65_000, start + 85_000)


def test_a_late_page_shows_every_code_of_the_rotation_in_turn(
    sim: Simulator, clock: ManualClock
) -> None:
    token = page(sim)
    shown = [sim.current_qr(token)["attempt"]]
    for _ in range(6):
        clock.advance(200_000)  # far past every code's time
        view = sim.current_qr(token)
        shown.append(view.get("attempt", "idle"))
    assert shown == [1, 2, 3, 4, 5, 6, "idle"]


def test_only_the_code_on_screen_links(sim: Simulator, clock: ManualClock) -> None:
    token = page(sim)
    first = sim.current_qr(token)["code"]
    clock.advance(60_000)
    second = sim.current_qr(token)["code"]
    with pytest.raises(LinkError) as expired:
        sim.link(first, PHONE)
    assert expired.value.status == 410
    with pytest.raises(LinkError) as unknown:
        sim.link("2@made-up", PHONE)
    assert unknown.value.status == 404
    sim.link(second, PHONE)
    assert sim.boot(token)["stream"] == "MAIN"


def test_pairing_codes_are_for_one_number_and_expire(sim: Simulator, clock: ManualClock) -> None:
    token = page(sim)
    code = sim.request_pairing_code(token, PHONE)["code"]
    assert len(code) == 8
    with pytest.raises(LinkError) as other:
        sim.link_with_code(code, "+4915100000002")
    assert other.value.status == 403
    clock.advance(194_999)  # each lasts wa-js's LINK_CODE_TTL_MS, 3.25 min
    assert sim.current_pairing_code(token)["code"] == code
    clock.advance(1)
    with pytest.raises(LinkError) as expired:
        sim.link_with_code(code, PHONE)
    assert expired.value.status == 410
    fresh = sim.current_pairing_code(token)["code"]
    sim.link_with_code(fresh[:4] + "-" + fresh[4:], PHONE)  # typed with the dash
    assert sim.boot(token)["stream"] == "MAIN"


def test_a_closed_page_and_a_left_pairing_flow_show_no_code(sim: Simulator) -> None:
    token = page(sim)
    sim.current_qr(token)
    sim.request_pairing_code(token, PHONE)
    assert sorted(row["kind"] for row in sim.showing()) == ["pairing", "qr"]
    sim.refresh_qr(token)  # the page went back to its QR
    assert [row["kind"] for row in sim.showing()] == ["qr"]
    device = sim.device_of(token).id
    sim.subscribe(device, print)
    sim.unsubscribe(device, print)  # its browser closed: the event stream ended
    assert sim.showing() == []


def test_a_login_is_the_device_key_not_the_session(sim: Simulator) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    first = page(sim, key)
    sim.link(sim.current_qr(first)["code"], PHONE)
    assert sim.boot(page(sim, key))["stream"] == "MAIN"  # same key: still linked
    assert sim.boot(page(sim))["linked"] is False  # another browser: a new device
    with pytest.raises(LinkError):
        sim.device_of("a-made-up-token")


def test_a_forged_signature_is_refused(sim: Simulator) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    nonce = sim.hello()["nonce"]
    with pytest.raises(LinkError) as refused:
        sim.open_session(
            base64.b64encode(spki).decode(), nonce, base64.b64encode(b"x" * 64).decode()
        )
    assert refused.value.status == 401


def test_linking_a_new_device_logs_the_old_one_out(sim: Simulator) -> None:
    old = linked(sim)
    new = page(sim)
    sim.link(sim.current_qr(new)["code"], PHONE)
    assert sim.boot(old) == {
        "linked": False,
        "logoutReason": "unknown_companion",
        "needsUpdate": False,
    }
    assert sim.boot(new)["stream"] == "MAIN"


def test_history_is_old_to_a_new_page_and_new_messages_are_new(sim: Simulator) -> None:
    sim.history(PHONE, "+15550009", "from before the link")
    token = linked(sim)
    assert sim.pending_for(token) == []  # history is never delivered as new
    synced = sim.list_chats(token)  # it comes with the history sync
    assert [(c["id"], c["last"]["body"]) for c in synced] == [
        ("15550009@c.us", "from before the link")
    ]
    sim.inbound(PHONE, "+15550001", "hi", None)
    assert [m["body"] for m in sim.pending_for(token)] == ["hi"]
    assert sim.pending_for(token) == []  # given once


def test_a_redelivery_reaches_the_page_again_with_the_same_id(sim: Simulator) -> None:
    token = linked(sim)
    first = sim.inbound(PHONE, "+15550001", "hi", "3A01")
    assert [m["id"] for m in sim.pending_for(token)] == ["3A01"]
    again = sim.inbound(PHONE, "+15550001", "hi", "3A01")
    assert first == again
    assert [m["id"] for m in sim.pending_for(token)] == ["3A01"]


def test_a_lid_chat_hides_the_number_in_its_id_but_tells_it_with_the_message(
    sim: Simulator,
) -> None:
    token = linked(sim)
    chat = sim.inbound(PHONE, "+15550001", "hi", None, lid=True)["chat"]
    assert chat.endswith("@lid") and "15550001" not in chat
    (delivered,) = sim.pending_for(token)
    assert (delivered["chat"], delivered["pn"]) == (chat, "15550001")  # lidPnCache learns it


def send(sim: Simulator, token: str, chat: str, text: str, mid: str, **more: object) -> Any:
    return sim.send(
        token, {"chat": chat, "id": mid, "fromMe": True, "type": "chat", "body": text, **more}
    )


def test_sends_are_acked_by_the_server_and_queue_while_offline(sim: Simulator) -> None:
    token = linked(sim)
    sent = send(sim, token, "15550001@c.us", "hello", "3EB0AA")
    assert (sent["id"], sent["ack"]) == ("3EB0AA", ACK_SENT)
    assert send(sim, token, "15550001@c.us", "hello", "3EB0AA")["id"] == "3EB0AA"  # same key
    sim.set_online(PHONE, False)
    queued = send(sim, token, "15550001@c.us", "while offline", "3EB0BB")
    assert queued["ack"] == ACK_CLOCK
    assert [m["text"] for m in sim.sent(PHONE)] == ["hello"]  # only what the server has
    sim.set_online(PHONE, True)
    assert [m["text"] for m in sim.sent(PHONE)] == ["hello", "while offline"]


def test_a_stalled_page_gets_no_traffic_until_it_reloads(sim: Simulator) -> None:
    token = linked(sim)
    sim.stall(PHONE)
    sim.inbound(PHONE, "+15550001", "anyone?", None)
    assert sim.pending_for(token) == []
    sim.boot(token)  # a reload opens a fresh socket
    assert [m["body"] for m in sim.pending_for(token)] == ["anyone?"]


def test_the_newest_page_of_a_device_wins(sim: Simulator) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    old = page(sim, key)
    sim.link(sim.current_qr(old)["code"], PHONE)
    new = page(sim, key)  # the same login restored in another browser
    sim.inbound(PHONE, "+15550001", "hi", None)
    assert sim.pending_for(old) == []
    assert len(sim.pending_for(new)) == 1
    with pytest.raises(LinkError):
        send(sim, old, "15550001@c.us", "from the zombie", "3EB0DD")


def test_logout_names_its_reason(sim: Simulator) -> None:
    token = linked(sim)
    with pytest.raises(LinkError):
        sim.logout(PHONE, "because")
    sim.logout(PHONE, "account_locked")
    assert sim.boot(token)["logoutReason"] == "account_locked"


def test_held_acks_keep_sends_off_the_server_until_released(sim: Simulator) -> None:
    token = linked(sim)
    sim.hold_acks(PHONE, True)
    assert send(sim, token, "15550001@c.us", "hello", "3EB0CC")["ack"] == ACK_CLOCK
    assert sim.sent(PHONE) == []
    sim.hold_acks(PHONE, False)
    assert [m["ack"] for m in sim.sent(PHONE)] == [ACK_SENT]


def test_a_message_key_is_its_chat_direction_and_id_together(sim: Simulator) -> None:
    token = linked(sim)
    theirs = sim.inbound(PHONE, "+15550001", "hi", "3A01")
    send(sim, token, "15550001@c.us", "hello", "3EB0AA")
    assert sim.get_message(token, "15550001@c.us", "3EB0AA", True)["body"] == "hello"
    assert sim.get_message(token, "15550001@c.us", "3EB0AA", False) is None  # not fromMe
    assert sim.get_message(token, "15550002@c.us", "3EB0AA", True) is None  # another chat
    assert sim.get_message(token, theirs["chat"], "3A01", False)["body"] == "hi"
    before = sim.get_messages(token, "15550001@c.us", "3EB0AA", True, 10)
    assert [m["id"] for m in before] == ["3A01"]


def test_a_send_must_be_fromme_with_its_own_id(sim: Simulator) -> None:
    token = linked(sim)
    for bad in ({"fromMe": False}, {"id": ""}, {"body": " "}, {"type": "gp2"}):
        with pytest.raises(LinkError) as refused:
            send(sim, token, "15550001@c.us", "hello", "3EB0AA", **bad)
        assert refused.value.status == 400
    assert sim.sent(PHONE) == []


def test_a_qr_code_is_the_servers_ref_and_the_pages_own_keys(sim: Simulator) -> None:
    token = page(sim)
    view = sim.current_qr(token)
    assert view["code"] == f"{view['ref']},noise,id,adv"
    with pytest.raises(LinkError) as wrong_keys:
        sim.link(f"{view['ref']},other,keys,here", PHONE)
    assert wrong_keys.value.status == 400
    assert sim.link(view["code"], PHONE)["phone"] == PHONE


def test_system_media_and_group_messages_arrive_like_any_other(sim: Simulator) -> None:
    token = linked(sim)
    sim.inbound(PHONE, "+15550001", "", None, kind="e2e_notification")
    sim.inbound(PHONE, "+15550001", "the menu?", None, kind="image")
    sim.inbound(PHONE, "120363000000000001@g.us", "hello all", None, author="+15550002")
    got = [(m["type"], m["body"], m["caption"], m["author"]) for m in sim.pending_for(token)]
    assert got == [
        ("e2e_notification", "", None, None),
        ("image", None, "the menu?", None),  # a picture's text is its caption
        ("chat", "hello all", None, "15550002@c.us"),
    ]
    with pytest.raises(LinkError):
        sim.inbound(PHONE, "+15550001", "x", None, kind="no_such_type")


def test_the_owner_writing_on_the_phone_reaches_the_page_as_its_own_message(
    sim: Simulator,
) -> None:
    token = linked(sim)
    sim.outbound(PHONE, "+15550001", "I'll handle this one")
    (delivered,) = sim.pending_for(token)
    assert (delivered["fromMe"], delivered["body"]) == (True, "I'll handle this one")
    assert sim.sent(PHONE) == []  # not something the page sent


def test_read_receipts_and_typing_are_recorded(sim: Simulator) -> None:
    token = linked(sim)
    sim.page_activity(token, "seen", "15550001@c.us")
    sim.page_activity(token, "composing", "15550001@c.us")
    assert [a["kind"] for a in sim.activity(PHONE)] == ["seen", "composing"]
    with pytest.raises(LinkError):
        sim.page_activity(token, "dancing", "15550001@c.us")
