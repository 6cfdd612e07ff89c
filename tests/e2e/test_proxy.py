"""A host's browsers can leave through a proxy (``WAFLEET_PROXY_URL``): launched through the
host's own engine factory, the page reaches the site only through it, with its credentials."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from pathlib import Path

import pytest

from tests.processes import Sim, at_first_code
from worker_container.config import WorkerConfig

pytestmark = pytest.mark.process


class Proxy:
    """An HTTP proxy that asks for Basic credentials, then pipes each connection upstream."""

    def __init__(self, user: str, password: str) -> None:
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.requests: list[str] = []  # each connection's first request line, let through
        self.refused = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.server.accept()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(65536)
            if not chunk:
                conn.close()
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        if headers.get("proxy-authorization") != self.expected:
            self.refused += 1
            conn.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="egress"\r\nContent-Length: 0\r\n'
                b"Connection: close\r\n\r\n"
            )
            conn.close()
            return
        self.requests.append(lines[0])
        if not lines[0].split()[1].startswith("http://"):  # CONNECT: not needed here
            conn.close()
            return
        target = lines[0].split()[1].split("/")[2]  # absolute-form: http://host:port/path
        host, _, port = target.partition(":")
        upstream = socket.create_connection((host, int(port or 80)))
        upstream.sendall(head)
        threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()
        self._pipe(conn, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()


def test_the_browser_reaches_whatsapp_only_through_the_hosts_proxy(
    sim: Sim, tmp_path: Path
) -> None:
    proxy = Proxy("bot", "s3cret:with@signs")
    config = WorkerConfig(
        whatsapp_url=sim.url + "/",
        session_dir=tmp_path / "sessions",
        proxy_url=f"http://bot:s3cret%3Awith%40signs@127.0.0.1:{proxy.port}",
    )
    asyncio.run(at_first_code(config, tmp_path / "profile", lambda: None))
    # The page came through the proxy (and the code shown proves its calls did too), with
    # the credentials once the proxy asked for them.
    site = sim.url.removeprefix("http://")
    assert f"GET http://{site}/ HTTP/1.1" in proxy.requests
    assert proxy.refused >= 1  # it asked, and the browser answered with the credentials
