"""The delivering function: one queued delivery -> one signed POST, then retry, give up, or
disable the endpoint. Never raises for a receiver's fault (the queue would redeliver it)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
import urllib3.connection

from chalicelib.control import runtime
from chalicelib.domain import addresses as hosts_rule
from chalicelib.domain.errors import NotFoundError
from chalicelib.notify import queue, signing
from chalicelib.store import hooks

logger = logging.getLogger(__name__)
MAX_BACKOFF_S = 3600.0
DONE = ("DELIVERED", "DEAD", "GONE")
MAX_ANSWER_BYTES = 64 * 1024  # of a receiver's answer body; nobody needs more than its status


@dataclass(frozen=True)
class Answer:
    """What the receiver did: its status code, or why there was none."""

    code: int | None
    error: str | None = None


class Refused(Exception):
    """The endpoint resolves to an address we never send to."""


def backoff_s(attempt: int, base_s: float, rng: random.Random | None = None) -> float:
    """Delay before retry ``attempt`` (1-based): doubling from ``base_s``, capped at 1 h,
    with jitter over its upper half so that many failed deliveries do not retry in step."""
    ceiling = min(MAX_BACKOFF_S, base_s * 2.0 ** (attempt - 1))
    jitter = float((rng or random).uniform(0, ceiling / 2))
    return float(ceiling / 2 + jitter)


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """An address for ``host``; refuses private, loopback, link-local and other non-public
    addresses, also carried in IPv6 (all of them must be public, or a DNS answer could slip
    one in)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            if not hosts_rule.is_public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise Refused(f"{host} resolves to a non-public address")
    return addresses[0]


class Deadline:
    """One attempt's whole time: at ``seconds`` every socket it watches is shut down, in
    whatever phase it is (TLS handshake, headers, body). A per-read timeout alone lets a
    receiver that trickles its answer hold the attempt forever."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self.passed = False

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: TLS wraps (and detaches) the original socket object,
        # while shutdown on any descriptor of a socket ends it for all.
        twin = socket.socket(fileno=os.dup(sock.fileno()))
        with self._lock:
            self._watched.append(twin)
            if self.passed:
                self._shut(twin)

    def _cut(self) -> None:
        with self._lock:
            self.passed = True
            for twin in self._watched:
                self._shut(twin)

    @staticmethod
    def _shut(twin: socket.socket) -> None:
        with contextlib.suppress(OSError):
            twin.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for twin in self._watched:
                twin.close()


class _Watched:
    """A urllib3 connection whose new socket its deadline watches."""

    deadline: Deadline

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self.deadline.watch(sock)
        return sock


class _HTTP(_Watched, urllib3.connection.HTTPConnection):
    pass


class _HTTPS(_Watched, urllib3.connection.HTTPSConnection):
    pass


def _connection(https: bool, address: str, port: int, host: str, deadline: Deadline) -> Any:
    conn: Any
    if https:
        conn = _HTTPS(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            timeout=deadline.seconds,
        )
    else:
        conn = _HTTP(address, port, timeout=deadline.seconds)
    conn.deadline = deadline
    return conn


def post(
    url: str,
    headers: dict[str, str],
    body: str,
    *,
    timeout_s: float,
    allow_private: bool,
    max_answer_bytes: int = MAX_ANSWER_BYTES,
) -> Answer:
    """POST ``body`` to ``url`` at the address checked by ``resolve`` (no redirects), all of
    it within ``timeout_s``; reads at most ``max_answer_bytes`` of the answer's body."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        address = resolve(host, port, allow_private=allow_private)
    except (Refused, OSError) as exc:
        return Answer(None, f"refused: {exc}" if isinstance(exc, Refused) else "DNS lookup failed")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    netloc = host if parts.port is None else f"{host}:{port}"
    with Deadline(timeout_s) as deadline:
        conn = _connection(https, address, port, host, deadline)
        try:
            conn.request(
                "POST",
                path,
                body=body.encode(),
                headers={**headers, "Host": netloc},
                preload_content=False,
            )
            response = conn.getresponse()
            response.read(max_answer_bytes, decode_content=False)  # the rest is not read
            if deadline.passed:  # cut mid-answer: a shut socket reads as the answer's end
                return Answer(None, "timed out")
            return Answer(response.status)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline.passed or isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError):
                return Answer(None, "timed out")
            return Answer(None, f"connection failed: {type(exc).__name__}")
        finally:
            conn.close()


def handle(message: dict[str, Any], *, sender: Any = post) -> str:
    """Deliver one queued delivery; returns what happened (for logs and tests)."""
    rt = runtime.get()
    settings = rt.settings
    tenant, key = str(message["tenant"]), str(message["key"])
    delivery = hooks.get_delivery(tenant, key)
    if delivery is None or delivery.state in DONE:
        return "skipped"
    now = rt.clock.now_ms()
    wait_ms = int(delivery.next_at or 0) - now
    if wait_ms >= 1000:  # not due yet: back on the queue until it is (SQS delays ≤ 15 min)
        queue.enqueue(message, delay_s=math.ceil(wait_ms / 1000))
        return "later"
    if wait_ms > 0:
        time.sleep(wait_ms / 1000)  # under a second: cheaper than another trip
        now = rt.clock.now_ms()
    endpoint_id, _, event_id = hooks.delivery_parts(key)
    attempts = int(delivery.attempts or 0)

    def settle(state: str, code: int | None, error: str | None, next_at: int | None = None) -> bool:
        """Write this attempt's outcome (False if another copy of the message wrote it)."""
        return hooks.record_attempt(
            tenant,
            key,
            attempts_before=attempts,
            state=state,
            next_at=next_at,
            code=code,
            error=error,
            now_ms=now,
        )

    try:
        endpoint = hooks.get_endpoint(tenant, endpoint_id)
    except NotFoundError:
        endpoint = None
    if endpoint is None or not endpoint.enabled:
        settle("GONE", None, "endpoint removed or disabled")
        return "gone"
    body = delivery.body or "{}"
    headers = signing.headers(endpoint.secret or "", event_id, now // 1000, body)
    answer = sender(
        endpoint.url or "",
        headers,
        body,
        timeout_s=settings.webhook_timeout_s,
        allow_private=hosts_rule.origin(endpoint.url or "")
        in hosts_rule.origins(settings.webhook_local_receivers),
    )
    if answer.code is not None and 200 <= answer.code < 300:
        settle("DELIVERED", answer.code, None)
        return "delivered"
    if answer.code == 410:  # the receiver says: this endpoint is gone for good
        settle("GONE", 410, "receiver answered 410 Gone")
        hooks.update_endpoint(
            tenant, endpoint_id, enabled=False, disabled_reason="the receiver answered 410 Gone"
        )
        logger.info("webhook endpoint disabled", extra={"tenant_id": tenant, "code": 410})
        return "disabled"
    error = answer.error or f"answered {answer.code}"
    started = int(delivery.created_at or now)
    if now - started >= settings.webhook_give_up_s * 1000:
        if settle("DEAD", answer.code, error):
            queue.enqueue({**message, "reason": error}, dead=True)
        logger.warning(
            "webhook dead-lettered", extra={"tenant_id": tenant, "attempts": attempts + 1}
        )
        return "dead"
    delay = backoff_s(attempts + 1, settings.webhook_retry_s)
    next_at = now + int(delay * 1000)
    if settle("FAILED", answer.code, error, next_at):
        queue.enqueue(message, delay_s=delay if delay >= 1 else 0)
    return "retry"
