"""What page states and messages mean, without a browser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker_container.engine import Inbound, PageState
from worker_container.reactions import Health, answerable, display_phone, reply_id, verdict
from worker_container.wajs import parse_event

READY = PageState(
    loaded=True,
    authenticated=True,
    stream="MAIN",
    stream_info="NORMAL",
    online=True,
)


@pytest.mark.parametrize(
    ("state", "health", "words"),
    [
        (READY, Health.CONNECTED, ""),
        (PageState(loaded=True, stream="QR"), Health.WAITING, ""),
        # A QR or pairing screen is never "disconnected", whatever else the page says.
        (PageState(loaded=True, stream="QR", stream_info="PAIRING"), Health.WAITING, ""),
        (PageState(loaded=True, stream="QR", online=False), Health.WAITING, ""),
        (PageState(loaded=True, authenticated=True, stream="SYNCING"), Health.WAITING, ""),
        (READY.__class__(**{**READY.__dict__, "stream_info": "RESUMING"}), Health.WAITING, ""),
        (READY.__class__(**{**READY.__dict__, "stream_info": "OPENING"}), Health.WAITING, ""),
        (
            PageState(loaded=True, authenticated=True, stream="OFFLINE"),
            Health.DISCONNECTED,
            "no connection",
        ),
        (
            READY.__class__(**{**READY.__dict__, "online": False}),
            Health.DISCONNECTED,
            "no connection",
        ),
        (
            READY.__class__(**{**READY.__dict__, "stream": "OFFLINE"}),
            Health.DISCONNECTED,
            "no connection",
        ),
        (
            READY.__class__(**{**READY.__dict__, "stream": "CONFLICT"}),
            Health.CONFLICT,
            "another computer",
        ),
        (
            READY.__class__(**{**READY.__dict__, "needs_update": True}),
            Health.DISCONNECTED,
            "update",
        ),
        (READY.__class__(**{**READY.__dict__, "stream": "TOS_BLOCK"}), Health.BLOCKED, "blocked"),
        (
            READY.__class__(**{**READY.__dict__, "logout_reason": "user_initiated"}),
            Health.LOGGED_OUT,
            "Linked devices",
        ),
        (PageState(loaded=True, logout_reason="something_new"), Health.LOGGED_OUT, "something_new"),
    ],
)
def test_page_states_map_to_health_with_words(state: PageState, health: Health, words: str) -> None:
    seen = verdict(state)
    assert seen.health is health
    assert words in seen.cause
    assert bool(seen.cause) == (health not in (Health.CONNECTED, Health.WAITING))


def test_an_authenticated_page_stuck_short_of_main_is_disconnected() -> None:
    stuck = READY.__class__(**{**READY.__dict__, "stream_info": "RESUMING"})
    assert verdict(stuck, stuck=True).health is Health.DISCONNECTED
    assert "not receiving" in verdict(stuck, stuck=True).cause
    qr = PageState(loaded=True, stream="QR")
    assert verdict(qr, stuck=True).health is Health.WAITING  # never for a code screen


def test_the_qr_screen_is_waiting_although_wa_js_latched_main_ready() -> None:
    """conn.main_ready fires on the first QR stream mode and isMainReady() stays true
    (wa-js src/conn/events/registerMainReadyEvent.ts, src/conn/functions/isMainReady.ts)."""
    report = parse_event(
        {
            "kind": "state",
            "data": {
                "authenticated": False,
                "mainReady": True,
                "stream": {"mode": "QR", "info": "NORMAL"},
                "online": True,
            },
        }
    )
    assert report is not None
    assert verdict(report.state).health is Health.WAITING  # type: ignore[union-attr]


def message(**changes: object) -> Inbound:
    base: dict[str, object] = {"id": "3A01", "chat": "15550001@c.us", "text": "hi", "at_ms": 1}
    return Inbound(**{**base, **changes})  # type: ignore[arg-type]


def test_only_new_decrypted_messages_from_others_in_one_to_one_chats_are_answered() -> None:
    assert answerable(message())
    assert answerable(message(chat="48874933359381995@lid"))
    assert not answerable(message(from_me=True))
    assert not answerable(message(is_new=False))  # history sync
    assert not answerable(message(kind="ciphertext"))  # not decrypted yet: it comes again
    assert not answerable(message(chat="1203630@g.us"))
    assert not answerable(message(chat="status@broadcast"))
    assert not answerable(message(chat="120363000000000000@newsletter"))


@pytest.mark.parametrize(
    "kind",
    [
        "e2e_notification",
        "notification_template",
        "gp2",
        "protocol",
        "revoked",
        "call_log",
        "sticker",
        "ptt",
        "location",
        "vcard",
        "unknown_new_type",
    ],
)
def test_notification_system_and_other_types_are_never_answered(kind: str) -> None:
    """The real site delivers these as new messages: an allow-list, not a deny-list."""
    assert not answerable(message(kind=kind))


@pytest.mark.parametrize("kind", ["chat", "image", "video", "document"])
def test_text_and_media_with_a_caption_are_answered(kind: str) -> None:
    assert answerable(message(kind=kind, text="price?"))


def test_reply_ids_are_stable_and_shaped_like_whatsapp_web_ids() -> None:
    assert reply_id("3A01") == reply_id("3A01") != reply_id("3A02")
    assert reply_id("3A01").startswith("3EB0") and len(reply_id("3A01")) == 20


def test_numbers_are_shown_with_a_plus() -> None:
    assert display_phone("15550001") == "+15550001"
    assert display_phone(None) is None and display_phone("") is None


def test_bridge_reports_become_engine_events() -> None:
    code = parse_event({"kind": "code", "at": 5, "data": {"kind": "qr", "code": "2@x"}})
    assert code is not None and (code.kind, code.code, code.made_at_ms) == ("qr", "2@x", 5)
    ciphertext = parse_event(
        {
            "kind": "message",
            "data": {
                "id": "3A01",
                "chat": "1@lid",
                "fromMe": False,
                "type": "ciphertext",
                "body": "",
                "t": 7,
                "isNewMsg": True,
            },
        }
    )
    assert ciphertext is not None and not answerable(ciphertext.message)  # type: ignore[union-attr]
    logout = parse_event({"kind": "logout", "data": "account_locked"})
    assert logout is not None and verdict(logout.state).health is Health.LOGGED_OUT  # type: ignore[union-attr]
    assert parse_event({"kind": "something-else"}) is None


@given(
    st.sampled_from(["@c.us", "@lid", "@g.us", "@broadcast", "@newsletter", "@call"]),
    st.text(alphabet="0123456789", min_size=1, max_size=18),
    st.sampled_from(["chat", "image", "document", "gp2", "protocol", "e2e_notification", "x"]),
    st.booleans(),
    st.booleans(),
)
def test_no_group_broadcast_system_or_own_message_is_ever_answered(
    server: str, user: str, kind: str, from_me: bool, new: bool
) -> None:
    chat = "status@broadcast" if server == "@broadcast" else user + server
    answered = answerable(message(chat=chat, kind=kind, from_me=from_me, is_new=new))
    person_wrote = kind in ("chat", "image", "document") and new and not from_me
    assert answered == (person_wrote and server in ("@c.us", "@lid"))
