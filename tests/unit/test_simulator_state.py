"""The simulator's rules, on a manual clock: logins by device key, code rotation, linking,
history sync, messages, acks and the faults the worker must survive."""

from __future__ import annotations

import base64

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
    """A page session: signs the server's nonce with its device key, as wpp.js does."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    nonce = sim.hello()["nonce"]
    r, s = decode_dss_signature(key.sign(nonce.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    session = sim.open_session(
        base64.b64encode(spki).decode(), nonce, base64.b64encode(raw).decode()
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
    clock.advance(65_000)
    second = sim.current_qr(token)
    assert (first["madeAt"], first["expiresAt"]) == (start, start + 60_000)
    assert (second["madeAt"], second["expiresAt"]) == (start + 60_000, start + 80_000)


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
    clock.advance(60_000)
    with pytest.raises(LinkError) as expired:
        sim.link_with_code(code, PHONE)
    assert expired.value.status == 410
    fresh = sim.current_pairing_code(token)["code"]
    sim.link_with_code(fresh[:4] + "-" + fresh[4:], PHONE)  # typed with the dash
    assert sim.boot(token)["stream"] == "MAIN"


def test_a_login_is_the_device_key_not_the_session(sim: Simulator) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    first = page(sim, key)
    sim.link(sim.current_qr(first)["code"], PHONE)
    assert sim.boot(page(sim, key))["stream"] == "MAIN"  # same key: still linked
    assert sim.boot(page(sim))["stream"] == "QR"  # another browser: a new device
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
        "stream": "QR",
        "logoutReason": "unknown_companion",
        "needsUpdate": False,
    }
    assert sim.boot(new)["stream"] == "MAIN"


def test_history_is_old_to_a_new_page_and_new_messages_are_new(sim: Simulator) -> None:
    sim.history(PHONE, "+15550009", "from before the link")
    token = linked(sim)
    assert sim.pending_for(token) == []  # history is never delivered as new
    assert [m["isNewMsg"] for m in sim.get_messages(token, "15550009@c.us", 20)] == [False]
    sim.inbound(PHONE, "+15550001", "hi", None)
    assert [(m["body"], m["isNewMsg"]) for m in sim.pending_for(token)] == [("hi", True)]
    assert sim.pending_for(token) == []  # given once


def test_a_redelivery_reaches_the_page_again_with_the_same_id(sim: Simulator) -> None:
    token = linked(sim)
    first = sim.inbound(PHONE, "+15550001", "hi", "3A01")
    assert [m["id"] for m in sim.pending_for(token)] == ["3A01"]
    again = sim.inbound(PHONE, "+15550001", "hi", "3A01")
    assert first == again
    assert [m["id"] for m in sim.pending_for(token)] == ["3A01"]


def test_a_lid_chat_hides_the_number_until_asked(sim: Simulator) -> None:
    token = linked(sim)
    chat = sim.inbound(PHONE, "+15550001", "hi", None, lid=True)["chat"]
    assert chat.endswith("@lid") and "15550001" not in chat
    assert sim.pn_for(token, chat) == "15550001"


def test_sends_are_acked_by_the_server_and_queue_while_offline(sim: Simulator) -> None:
    token = linked(sim)
    sent = sim.send(token, "15550001@c.us", "hello", "3EB0AA")
    assert (sent["id"], sent["ack"]) == ("3EB0AA", ACK_SENT)
    assert sim.send(token, "15550001@c.us", "hello", "3EB0AA")["id"] == "3EB0AA"  # same id
    sim.set_online(PHONE, False)
    queued = sim.send(token, "15550001@c.us", "while offline", "3EB0BB")
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
        sim.send(old, "15550001@c.us", "from the zombie", None)


def test_logout_names_its_reason(sim: Simulator) -> None:
    token = linked(sim)
    with pytest.raises(LinkError):
        sim.logout(PHONE, "because")
    sim.logout(PHONE, "account_locked")
    assert sim.boot(token)["logoutReason"] == "account_locked"


def test_held_acks_keep_sends_off_the_server_until_released(sim: Simulator) -> None:
    token = linked(sim)
    sim.hold_acks(PHONE, True)
    assert sim.send(token, "15550001@c.us", "hello", "3EB0CC")["ack"] == ACK_CLOCK
    assert sim.sent(PHONE) == []
    sim.hold_acks(PHONE, False)
    assert [m["ack"] for m in sim.sent(PHONE)] == [ACK_SENT]
