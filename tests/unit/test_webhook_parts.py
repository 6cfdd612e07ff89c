"""Webhook parts without AWS: signatures as a receiver checks them, the retry schedule, the
addresses a delivery may go to, and which stream changes are events."""

from __future__ import annotations

import ipaddress
import random

import pytest

from chalicelib.domain import addresses
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.validation import webhook_url
from chalicelib.notify import events, signing
from chalicelib.notify.delivery import MAX_BACKOFF_S, Refused, backoff_s, resolve


def test_a_receiver_accepts_only_the_exact_body_recently_signed_with_its_secret() -> None:
    secret = signing.new_secret()
    body = '{"id":"evt_1","type":"status.changed"}'
    headers = signing.headers(secret, "evt_1", 1_700_000_000, body)
    check = headers["Wafleet-Signature"], headers["Wafleet-Timestamp"]
    assert signing.verify(secret, *check, body, now_s=1_700_000_010)
    assert not signing.verify(secret, *check, body + " ", now_s=1_700_000_010)
    assert not signing.verify(signing.new_secret(), *check, body, now_s=1_700_000_010)
    assert not signing.verify(secret, *check, body, now_s=1_700_000_000 + 301)  # replayed later
    assert not signing.verify(secret, check[0], "not a time", body, now_s=1_700_000_010)


def test_retries_back_off_to_an_hour_with_jitter_and_cover_a_day() -> None:
    rng = random.Random(7)
    delays = [backoff_s(n, 2.0, rng) for n in range(1, 60)]
    assert delays[0] >= 1.0 and max(delays) <= MAX_BACKOFF_S
    assert all(d >= MAX_BACKOFF_S / 2 for d in delays[12:])
    assert sum(delays) > 24 * 3600  # about 45 attempts until the 24 h retry window ends
    assert len({round(backoff_s(5, 2.0, rng), 6) for _ in range(20)}) > 1  # jittered


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "10.0.0.8", "192.168.1.1", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"],  # noqa: S104
)
def test_deliveries_never_go_to_our_own_network(host: str) -> None:
    with pytest.raises(Refused):
        resolve(host, 443, allow_private=False)
    assert resolve(host, 443, allow_private=True)  # make dev's demo receiver is on loopback


LOOPBACK_SPELLINGS = ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0", "localhost."]
EMBEDDED = [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::8.8.8.8",  # a network's own NAT64
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:8::1",  # 6to4 of 10.0.0.8
    "::ffff:0:a00:8",  # SIIT of 10.0.0.8
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + EMBEDDED)
def test_every_spelling_of_our_own_network_is_refused_at_registration_and_delivery(
    host: str,
) -> None:
    bracketed = f"[{host}]" if ":" in host else host
    with pytest.raises(ValidationError):
        webhook_url(f"https://{bracketed}/hook")
    if host != "localhost.":  # a name: what it resolves to is the resolver's business
        with pytest.raises(Refused):
            resolve(host, 443, allow_private=False)


def test_public_addresses_and_names_pass_in_any_spelling() -> None:
    assert addresses.canonical_host("0x08080808") == "8.8.8.8"
    assert addresses.canonical_host("Hooks.Example.COM.") == "hooks.example.com"
    assert addresses.canonical_host("1.2.3.4.5") == "1.2.3.4.5"  # no address: a name
    for host in ("8.8.8.8", "134744072", "[2001:4860:4860::8888]", "[::ffff:8.8.8.8]"):
        assert webhook_url(f"https://{host}/in")
    assert addresses.is_public(ipaddress.ip_address("2002:808:808::1"))  # 6to4 of 8.8.8.8


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
        "https://user:pw@example.com/",
        "ftp://example.com/",
        "https:///nohost",
        "https://example.com:0/",
        "https://" + "a" * 2050 + ".com/",
    ],
)
def test_endpoint_urls_are_public_https(url: str) -> None:
    with pytest.raises(ValidationError):
        webhook_url(url)


def test_make_dev_accepts_its_own_loopback_receivers_and_no_other() -> None:
    demo = addresses.origins(("http://127.0.0.1:7100/demo-receiver",))
    assert webhook_url("http://127.0.0.1:7100/demo-receiver", local=demo)
    assert webhook_url("http://0x7f000001:7100/other-path", local=demo)  # the same origin
    for other in ("http://127.0.0.1:5005/moto-api/reset", "http://127.0.0.1:8000/api/health"):
        with pytest.raises(ValidationError):
            webhook_url(other, local=demo)
    assert webhook_url(" https://hooks.example.com/in ") == "https://hooks.example.com/in"


def image(**values: object) -> dict[str, object]:
    from boto3.dynamodb.types import TypeSerializer

    return {k: TypeSerializer().serialize(v) for k, v in values.items()}


def test_a_reply_is_an_event_once_when_the_server_takes_it() -> None:
    row = {"tid": "t1", "mk": "out#r1", "direction": "OUT", "at": 5, "text": "hi", "tn": "+1"}
    sending = image(**row, state="SENDING")
    sent = image(**row, state="SENT")
    new = {"eventName": "MODIFY", "dynamodb": {"NewImage": sent, "OldImage": sending}}
    again = {"eventName": "MODIFY", "dynamodb": {"NewImage": sent, "OldImage": sent}}
    [event] = events.from_message(new)
    assert event.type == "message.replied" and event.data["text"] == "hi"
    assert events.from_message(again) == []


def test_a_message_left_unanswered_on_purpose_is_skipped_with_why() -> None:
    row = {"tid": "t1", "mk": "in#m1", "direction": "IN", "at": 5, "text": "hi", "fn": "+1"}
    received = image(**row, state="RECEIVED")
    ignored = image(**row, state="IGNORED", why="you took over this chat")
    change = {"eventName": "MODIFY", "dynamodb": {"NewImage": ignored, "OldImage": received}}
    [event] = events.from_message(change)
    assert event.type == "message.skipped"
    assert event.data["reason"] == "you took over this chat" and event.data["from"] == "+1"


def test_event_ids_are_stable_for_the_same_change() -> None:
    entry = image(
        tid="t1",
        sk="0000000000005#00000001",
        at=5,
        event="ready",
        actor="worker",
        epoch=2,
        ft="QR_PENDING",
        fs="QR_READY",
        fw="RUNNING",
        tt="ACTIVE",
        ts="CONNECTED",
        tw="RUNNING",
    )
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": entry}}
    [one] = events.from_history(record)
    [two] = events.from_history(record)
    assert one.id == two.id and one.body() == two.body()
    assert one.data["sentence"] == "WhatsApp linked: the bot answers"
