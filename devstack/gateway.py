"""One local origin: ``/api/*`` goes to the Chalice app (its local gateway), everything else is
the static portal, as CloudFront does in AWS."""

from __future__ import annotations

import io
import json
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, RouteMatcher

from devstack.httpserver import LocalServer


def security_headers(upload_origins: tuple[str, ...] = ()) -> dict[str, str]:
    """The portal's headers; the page may also send files to ``upload_origins`` (S3)."""
    connect = " ".join(("'self'", *upload_origins))
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'"
        ),
    }


ExtraRoute = Callable[[Any], bool]  # returns True when it answered the request


@dataclass
class Gateway:
    """A running local gateway."""

    server: LocalServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8000."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


MAX_BODY = 1024 * 1024
BODY_TIMEOUT_S = 10.0
HEADER_TIMEOUT_S = 10.0  # between two reads of a request line or headers; then it is closed
# What http.server itself answers (before any route) in the API's error shape, not its HTML.
SERVER_ERRORS = {
    400: "bad_request",
    408: "request_timeout",
    414: "uri_too_long",
    431: "headers_too_large",
    501: "not_implemented",
    505: "http_version_not_supported",
}


def read_body(handler: Any) -> bytes | None:
    """The request body (``Content-Length`` bytes within ``BODY_TIMEOUT_S``); None after
    answering 400 (malformed length) or 408 (the client did not send it)."""
    raw = handler.headers.get("Content-Length")
    if raw is None:
        return b""
    if not raw.strip().isdigit() or int(raw) > MAX_BODY:
        refuse(handler, 400, "bad_request", "Content-Length must be a number of bytes up to 1 MB")
        return None
    length = int(raw)
    handler.connection.settimeout(BODY_TIMEOUT_S)
    try:
        body: bytes = handler.rfile.read(length)
    except TimeoutError:
        body = b""
    finally:
        handler.connection.settimeout(handler.timeout)
    if len(body) != length:
        refuse(handler, 408, "request_timeout", "the request body did not arrive")
        return None
    return body


def refuse(handler: Any, status: int, code: str, message: str) -> None:
    """Answer with the API's error shape and close the connection."""
    data = json.dumps({"error": {"code": code, "message": message}}).encode()
    handler.close_connection = True
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(data)


def start(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    static_dir: Path | None = None,
    api_prefix: str = "",
    extra: ExtraRoute | None = None,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    upload_origins: tuple[str, ...] = (),
) -> Gateway:
    """Serve ``app`` (under ``api_prefix``) and ``static_dir`` on one origin, in a thread.
    A connection that stops sending its request line or headers is closed after
    ``header_timeout_s`` (API Gateway and CloudFront do the same)."""
    config = Config.create(chalice_stage="dev", app_name="wafleet", chalice_app=app)
    routes = RouteMatcher(list(app.routes))
    # Chalice keeps the current request on the app object: like a Lambda container, the API
    # must serve one request at a time, or concurrent requests would see each other's data.
    one_at_a_time = threading.Lock()
    page_headers = security_headers(upload_origins)

    class Handler(ChaliceRequestHandler):
        timeout = header_timeout_s  # socketserver applies it to every read of the connection

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """http.server's own refusals (a request line too long, headers too large, an
            unknown method) in the API's error shape."""
            refuse(self, code, SERVER_ERRORS.get(code, "bad_request"), message or "bad request")

        def _generic_handle(self) -> None:
            # The body is read before anything else, with a time limit, and never while
            # holding the API's lock: a client that sends headers and no body stalls only
            # its own connection.
            body = read_body(self)
            if body is None:
                return
            original, self.rfile = self.rfile, io.BytesIO(body)
            try:
                if extra is not None and extra(self):
                    return
                if api_prefix and not self.path.startswith(api_prefix + "/"):
                    self._static()
                    return
                self.path = self.path[len(api_prefix) :] or "/"
                try:
                    routes.match_route(self.path)
                except ValueError:
                    # As the stack's gateway responses do: a plain 404, never the request's
                    # Authorization header echoed back (API Gateway's default 403 does that).
                    refuse(self, 404, "not_found", "no such route")
                    return
                with one_at_a_time:
                    super()._generic_handle()
            finally:
                self.rfile = original

        def _static(self) -> None:
            if static_dir is None or self.command not in ("GET", "HEAD"):
                self._plain(404, b"not found")
                return
            relative = self.path.split("?", 1)[0].lstrip("/") or "index.html"
            target = (static_dir / relative).resolve()
            if not target.is_relative_to(static_dir.resolve()) or not target.is_file():
                self._not_found()
                return
            data = target.read_bytes()
            self.send_response(200)
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if target.suffix == ".js":
                kind = "text/javascript"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache")
            for name, value in page_headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(data)

        def _not_found(self) -> None:
            """A page a person can leave: what happened and the way back (as CloudFront
            answers with the same file in AWS)."""
            assert static_dir is not None
            page = (static_dir / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            for name, value in page_headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(page)

        def _plain(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request lines can carry cursors and tokens in query strings: stay quiet

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def handler(*args: Any) -> Handler:
        return Handler(*args, app_object=app, config=config)

    server = LocalServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, name="gateway", daemon=True)
    thread.start()
    return Gateway(server, thread)
