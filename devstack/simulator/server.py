"""HTTP front of the simulator: the WhatsApp Web page, its API, and the control API.

The page (``static/whatsapp/*.js``) is WhatsApp Web's client: a fake of its module layer, on
which the real @wppconnect/wa-js runs when the worker injects it. ``/sim/api/...`` is that
client's socket to "WhatsApp's servers" (``state.py``).

Run: ``python -m devstack.simulator.server --port 0`` (prints "simulator listening on URL").
The control API (``/control/...``) is the demo's phone and the test suite's fault injector.
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from devstack.httpserver import LocalServer
from devstack.simulator.state import LinkError, QrTiming, Simulator

STATIC = Path(__file__).parent / "static"
REFUSED_PAGE = (
    b"<!doctype html><title>WhatsApp</title><h1>WhatsApp works with Google Chrome 85+</h1>"
    b"<p>To use WhatsApp, update Chrome or use Mozilla Firefox, Safari or Microsoft Edge.</p>"
)
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}


def make_server(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> LocalServer:
    """A threaded HTTP server around ``sim``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        # --- plumbing -------------------------------------------------------------------
        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def _read_body(self) -> bytes:
            raw = (self.headers.get("Content-Length") or "0").strip()
            if not raw.isdigit() or int(raw) > 1024 * 1024:
                self.close_connection = True  # the rest of the stream cannot be trusted
                raise ValueError("Content-Length must be a number of bytes up to 1 MB")
            self.connection.settimeout(10)
            return self.rfile.read(int(raw)) if int(raw) else b""

        def _body(self) -> dict[str, Any]:
            if not self._raw:
                return {}
            value = json.loads(self._raw)
            return value if isinstance(value, dict) else {}

        def _route(self, method: str) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._raw = b""
            try:
                # Read every body, used or not: on a kept-alive connection, an unread body
                # would be taken for the start of the next request.
                self._raw = self._read_body() if method == "POST" else b""
                self._dispatch(method, url.path, query)
            except LinkError as exc:
                self._json(exc.status, {"error": str(exc)})
            except (ValueError, KeyError) as exc:
                self._json(400, {"error": f"bad request: {exc}"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        # --- routes ---------------------------------------------------------------------
        def _dispatch(self, method: str, path: str, q: dict[str, str]) -> None:
            if method == "GET" and (path == "/" or path.startswith("/static/")):
                self._static(path)
                return
            if method == "GET" and path == "/check-update":
                # The site asks whether it is out of date (a pinned page must never be told).
                sim.update_checks += 1
                self._json(200, {"isBelowSoft": False, "isBelowHard": False})
                return
            if method == "GET" and path == "/serviceworker.js":
                sim.service_worker_fetches += 1
                self._send(200, b"self.addEventListener('fetch', () => {});", "text/javascript")
                return
            if path == "/sim/api/stream":
                self._stream(sim.device_of(q["token"]).id)
                return
            token = q.get("token", "")
            page = {
                ("GET", "/sim/api/hello"): sim.hello,
                ("POST", "/sim/api/session"): lambda: _session(sim, self._body()),
                ("GET", "/sim/api/boot"): lambda: sim.boot(token),
                ("GET", "/sim/api/pending"): lambda: sim.pending_for(token),
                ("GET", "/sim/api/qr"): lambda: _with_image(sim.current_qr(token)),
                ("POST", "/sim/api/qr/refresh"): lambda: _with_image(sim.refresh_qr(token)),
                ("GET", "/sim/api/pairing"): lambda: sim.current_pairing_code(token),
                ("POST", "/sim/api/pairing"): lambda: sim.request_pairing_code(
                    token, _text(self._body(), "phone")
                ),
                ("GET", "/sim/api/chats"): lambda: sim.list_chats(token),
                ("GET", "/sim/api/messages"): lambda: sim.get_messages(
                    token,
                    q["chat"],
                    q["id"],
                    q.get("fromMe") == "true",
                    int(q.get("count", "20")),
                    q.get("direction", "before"),
                ),
                ("GET", "/sim/api/message"): lambda: {
                    "message": sim.get_message(token, q["chat"], q["id"], q["fromMe"] == "true")
                },
                ("POST", "/sim/api/send"): lambda: sim.send(token, self._body()),
                ("GET", "/sim/api/group"): lambda: sim.group_metadata(token, q["id"]),
                ("POST", "/sim/api/seen"): lambda: sim.page_activity(
                    token, "seen", _text(self._body(), "chat")
                ),
                ("POST", "/sim/api/presence"): lambda: _presence(sim, token, self._body()),
                ("POST", "/sim/api/takeover"): lambda: sim.take_over(token),
                ("POST", "/sim/api/logout"): lambda: sim.page_logout(token),
                ("GET", "/control/qr"): sim.showing,
                ("GET", "/control/phones"): sim.linked_numbers,
                ("GET", "/control/qr/served"): lambda: dict(sim.served_ms),
                ("GET", "/control/qr/valid"): lambda: {
                    code: {"from": start, "to": end} for code, (start, end) in sim.valid.items()
                },
                ("POST", "/control/link"): lambda: _link(sim, self._body()),
                ("POST", "/control/link-code"): lambda: _link_code(sim, self._body()),
                ("POST", "/control/site"): lambda: _site(sim, self._body()),
            }
            action = page.get((method, path))
            if action is not None:
                result = action()
                self._json(200, result if result is not None else {"ok": True})
                return
            match = re.fullmatch(r"/control/phones/([^/]+)/([\w-]+)", path)
            if match:
                self._control(method, unquote(match.group(1)), match.group(2))
                return
            self._json(404, {"error": "not found"})

        def _static(self, path: str) -> None:
            told = (self.headers.get("User-Agent") or "") + (self.headers.get("Sec-CH-UA") or "")
            if path == "/" and "HeadlessChrome" in told:
                # Like the real site: a headless browser gets a "use Chrome" page, no QR.
                self._send(200, REFUSED_PAGE, "text/html; charset=utf-8")
                return
            if path == "/":
                sim.page_loads += 1
                if sim.site_changed:
                    page = (
                        (STATIC / "index.html")
                        .read_bytes()
                        .replace(
                            b"<head>", b"<head><script>window.__simSiteChanged = true;</script>", 1
                        )
                    )
                    self._send(200, page, "text/html; charset=utf-8")
                    return
            name = "index.html" if path == "/" else path.removeprefix("/static/")
            target = (STATIC / name).resolve()
            if not target.is_relative_to(STATIC.resolve()) or not target.is_file():
                self._json(404, {"error": "not found"})
                return
            self._send(200, target.read_bytes(), TYPES.get(target.suffix, "text/plain"))

        def _control(self, method: str, number: str, verb: str) -> None:
            if method == "GET" and verb == "chat":
                q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                self._json(200, sim.conversation(number, q.get("with") or ""))
                return
            if method == "GET" and verb in ("sent", "activity"):
                self._json(200, sim.sent(number) if verb == "sent" else sim.activity(number))
                return
            if method != "POST":
                self._json(405, {"error": "use POST"})
                return
            body = self._body()
            if verb == "inbound":
                sender = _text(body, "from")
                message_id = body.get("id")
                if not isinstance(body.get("text"), str) or (
                    message_id is not None and not isinstance(message_id, str)
                ):
                    raise ValueError("need 'from' and 'text' (and a string 'id' if given)")
                author = body.get("author")
                result = sim.inbound(
                    number,
                    sender,
                    body["text"],
                    message_id,
                    lid=bool(body.get("lid")),
                    kind=str(body.get("type") or "chat"),
                    author=author if isinstance(author, str) else None,
                )
                self._json(200, result)
                return
            actions = {
                "history": lambda: sim.history(number, _text(body, "from"), _text(body, "text")),
                "outbound": lambda: sim.outbound(number, _text(body, "to"), _text(body, "text")),
                "ack": lambda: sim.ack(number, _text(body, "id"), int(body.get("ack", 2))),
                "offline": lambda: sim.set_online(number, False),
                "online": lambda: sim.set_online(number, True),
                "logout": lambda: sim.logout(number, body.get("reason") or "user_initiated"),
                "conflict": lambda: sim.conflict(number),
                "stall": lambda: sim.stall(number),
                "hold-acks": lambda: sim.hold_acks(number, True),
                "release-acks": lambda: sim.hold_acks(number, False),
                "needs-update": lambda: sim.needs_update(number),
                "crash": lambda: sim.crash(number),
            }
            if verb not in actions:
                self._json(404, {"error": f"unknown control {verb}"})
                return
            result = actions[verb]()
            self._json(200, result if result is not None else {"ok": True})

        def _stream(self, device_id: str) -> None:
            events: queue.Queue[dict[str, Any]] = queue.Queue()
            sim.subscribe(device_id, events.put)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(b": hello\n\n")
                self.wfile.flush()
                while True:
                    try:
                        # A keep-alive every 2 s: a closed page is noticed (and no longer
                        # listed by /control/qr) within 2 s.
                        event = events.get(timeout=2)
                        data = b"data: " + json.dumps(event).encode() + b"\n\n"
                    except queue.Empty:
                        data = b": keep-alive\n\n"
                    self.wfile.write(data)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass
            finally:
                sim.unsubscribe(device_id, events.put)

    return LocalServer((host, port), Handler)


def _with_image(qr: dict[str, Any]) -> dict[str, Any]:
    if "code" in qr:
        from chalicelib.api.qr_image import data_uri

        qr = {**qr, "image": data_uri(qr["code"])}
    return qr


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"need a string '{name}'")
    return value


def _session(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    link_keys = ",".join(_text(body, name) for name in ("noise", "identity", "adv"))
    return sim.open_session(
        _text(body, "publicKey"), _text(body, "nonce"), _text(body, "signature"), link_keys
    )


def _presence(sim: Simulator, token: str, body: dict[str, Any]) -> None:
    sim.page_activity(token, _text(body, "state"), _text(body, "chat"))


def _link(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    return sim.link(_text(body, "payload"), _text(body, "phone"))


def _site(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    changed = body.get("changed")
    if not isinstance(changed, bool):
        raise LinkError(400, '"changed" must be true or false')
    sim.site_changed = changed
    return {"changed": changed}


def _link_code(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    return sim.link_with_code(_text(body, "code"), _text(body, "phone"))


def main() -> None:
    """Serve the simulator on loopback."""
    parser = argparse.ArgumentParser(description="WhatsApp Web simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7000)
    parser.add_argument("--qr-first-s", type=float, default=60.0)
    parser.add_argument("--qr-next-s", type=float, default=20.0)
    parser.add_argument("--qr-count", type=int, default=6)
    args = parser.parse_args()
    timing = QrTiming(int(args.qr_first_s * 1000), int(args.qr_next_s * 1000), args.qr_count)
    sim = Simulator(lambda: time.time_ns() // 1_000_000, timing)
    server = make_server(sim, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"simulator listening on http://{host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
