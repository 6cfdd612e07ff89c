"""One delivery attempt against receivers that misbehave on purpose, over real sockets: the
attempt's deadline covers the TLS handshake, the headers and the body, and an answer is read
only up to its cap. Each receiver would keep going for several seconds more than the deadline;
without it the attempt would come back with the receiver's 200 (or a broken handshake)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.notify.delivery import Answer, post

TRICKLE_S = 0.05  # between two bytes: far below a socket timeout
TRICKLE_FOR = 80  # bytes: four seconds of it, eight times the attempt's deadline
DEADLINE_S = 0.5

Behaviour = Callable[[socket.socket, threading.Event], None]


@pytest.fixture
def receiver() -> Iterator[Callable[[Behaviour], int]]:
    """A TCP receiver on loopback that treats each connection as ``behaviour`` says."""
    stop = threading.Event()
    servers: list[socket.socket] = []

    def start(behaviour: Behaviour) -> int:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                # OSError: the sender hung up, which is what a deadline does.
                with conn, contextlib.suppress(OSError):
                    behaviour(conn, stop)

        threading.Thread(target=serve, daemon=True).start()
        return int(server.getsockname()[1])

    yield start
    stop.set()
    for server in servers:
        server.close()


def trickle(conn: socket.socket, stop: threading.Event, data: bytes) -> None:
    for byte in data:
        if stop.wait(TRICKLE_S):
            return
        conn.sendall(bytes([byte]))


def read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    seen = b""
    while b"\r\n\r\n" not in seen:
        seen += conn.recv(4096)


def attempt(url: str) -> Answer:
    return post(url, {}, '{"id":"evt_1"}', timeout_s=DEADLINE_S, allow_private=True)


def test_a_receiver_that_trickles_its_headers_is_cut_at_the_deadline(receiver: Any) -> None:
    def slow_headers(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        trickle(conn, stop, b"X-Slow: " + b"a" * TRICKLE_FOR + b"\r\n")
        conn.sendall(b"Content-Length: 0\r\n\r\n")

    port = receiver(slow_headers)
    assert attempt(f"http://127.0.0.1:{port}/hook") == Answer(None, "timed out")


def test_a_tls_handshake_that_trickles_is_cut_at_the_deadline(receiver: Any) -> None:
    def slow_handshake(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(4096)  # the ClientHello
        # A handshake record of 16 KB, sent a byte at a time: every read gets something.
        conn.sendall(b"\x16\x03\x03\x40\x00")
        trickle(conn, stop, b"\x00" * TRICKLE_FOR)

    port = receiver(slow_handshake)
    assert attempt(f"https://localhost:{port}/hook") == Answer(None, "timed out")


def test_an_endless_answer_is_read_only_up_to_its_cap(receiver: Any) -> None:
    def endless(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        while not stop.is_set():
            conn.sendall(b"x" * 65536)

    port = receiver(endless)
    assert attempt(f"http://127.0.0.1:{port}/hook") == Answer(200)


def test_a_prompt_receiver_is_answered_as_it_answers(receiver: Any) -> None:
    def gone(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone")

    port = receiver(gone)
    assert attempt(f"http://127.0.0.1:{port}/hook") == Answer(410)
