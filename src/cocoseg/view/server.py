"""The viewer's HTTP server: the standard library's threading server, on 127.0.0.1 only.

Every request must carry the session token (the `?token=` of the printed URL, then an HttpOnly,
SameSite=Strict cookie) and a Host header naming this server (127.0.0.1:PORT or localhost:PORT,
so a DNS-rebound name is refused); files are served from the package's static folder and, by
image id, from inside the images folder only. No CORS headers are ever sent.
"""
from __future__ import annotations

import hmac
import json
import logging
import math
import mimetypes
import secrets
import socket
import threading
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cocoseg.errors import CocosegError
from cocoseg.view.images import safe_path
from cocoseg.view.query import Pending, parse_query
from cocoseg.view.session import ViewSession

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
COOKIE = "cocoseg_view"
LOOPBACK = "127.0.0.1"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; "
                               "style-src 'self'; connect-src 'self'; frame-ancestors 'none'",
}


class ViewServer(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 holding one ViewSession and its token."""

    daemon_threads = True

    def __init__(self, session: ViewSession, port: int = 0, host: str = LOOPBACK, token: str | None = None) -> None:
        if host != LOOPBACK:
            raise CocosegError(f"the viewer binds to {LOOPBACK} only (asked for {host!r}); use an SSH tunnel "
                               "to look from another machine")
        self.session = session
        self.token = token or secrets.token_urlsafe(24)
        super().__init__((LOOPBACK, port), Handler)
        self.port = int(self.server_address[1])
        self.allowed_hosts = {f"{LOOPBACK}:{self.port}", f"localhost:{self.port}"}

    @property
    def url(self) -> str:
        """The URL to open, token included."""
        return f"http://{LOOPBACK}:{self.port}/?token={self.token}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is no error worth a traceback; others are logged."""
        log.debug("view: request from %s failed", client_address, exc_info=True)

    def start_background(self) -> threading.Thread:
        """Serve in a daemon thread (tests, benchmarks); `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="cocoseg-view", daemon=True)
        thread.start()
        return thread


class Handler(BaseHTTPRequestHandler):
    """Checks Host and token, then dispatches GET requests to the routes."""

    server: ViewServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, delayed ACKs add ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("view: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if self.headers.get("Host", "") not in self.server.allowed_hosts:
            return self._send_text(403, "refused: unexpected Host header")
        from_query = params.pop("token", None)
        supplied = from_query or self._cookie_token()
        if not supplied or not hmac.compare_digest(supplied.encode(), self.server.token.encode()):
            return self._send_text(403, "refused: missing or wrong token (open the URL cocoseg view printed)")
        self._set_cookie = from_query is not None
        try:
            self._route(unquote(parts.path), params)
        except Pending as exc:
            self._send_json(503, {"pending": str(exc)})
        except CocosegError as exc:
            self._send_json(400, {"error": str(exc)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - a bug in one page answers 500, the viewer stays up
            log.exception("view: %s failed", parts.path)
            self._send_json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def do_POST(self) -> None:  # noqa: N802
        self.close_connection = True  # the unread body must not be parsed as the next request
        self._send_text(405, "read-only viewer")

    do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_POST  # noqa: N815

    def _cookie_token(self) -> str | None:
        jar = cookies.SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except cookies.CookieError:
            return None
        return jar[COOKIE].value if COOKIE in jar else None

    def _route(self, path: str, params: dict[str, str]) -> None:
        session = self.server.session
        if path in ("/", "/index.html"):
            return self._send_file(STATIC / "index.html")
        if path.startswith("/static/"):
            target = safe_path(STATIC, path[len("/static/"):])
            return self._send_file(target) if target else self._send_text(404, "not found")
        if path.startswith("/api/image/"):
            return self._image_routes(path[len("/api/image/"):], params)
        if path.startswith("/api/thumb/"):
            cats = tuple(_int(c, "cat") for c in params.get("cat", "").split(",") if c)
            data = session.thumbnail(_int(path[len("/api/thumb/"):], "image id"), _float(params, "iou", 0.5),
                                     _float(params, "score_min", 0.0), cats)
            return self._send_bytes(200, data, "image/jpeg", cache=True) if data else self._send_text(404, "no image file")
        routes = {"/api/status": session.status, "/api/dashboard": session.analyses.dashboard,
                  "/api/dataset": session.dataset_page, "/api/runs": session.runs_page}
        if path in routes:
            return self._send_json(200, routes[path]())
        if path == "/api/images":
            return self._send_json(200, session.page(self._query(params), int(params.get("offset", 0) or 0),
                                                     int(params.get("limit", 60) or 60)))
        if path == "/api/neighbor":
            found = session.neighbor(self._query(params), _int(params.get("id", ""), "id"), _int(params.get("step", "1"), "step"))
            return self._send_json(200, {"id": found})
        self._send_text(404, "not found")

    def _query(self, params: dict[str, str]) -> Any:
        cell = params.pop("cell", None)
        if cell:
            true, _, pred = cell.partition(",")
            found = self.server.session.analyses.confusion_images(_cell_id(true), _cell_id(pred))
            if found is None:
                raise Pending("confusion matrix")
            params["images"] = ",".join(str(i) for i in found) or "-1"
        return parse_query(params)

    def _image_routes(self, rest: str, params: dict[str, str]) -> None:
        session = self.server.session
        image_id, _, what = rest.partition("/")
        ident = _int(image_id, "image id")
        if what == "file":
            path = session.image_file(ident)
            return self._send_file(path) if path else self._send_text(404, "no such image file inside the images folder")
        record = session.image_record(ident, _float(params, "iou", 0.5))
        return self._send_json(200, record) if record else self._send_text(404, "no such image")

    # ---- responses ----------------------------------------------------------------------------------
    def _send_file(self, path: Path) -> None:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send_bytes(200, path.read_bytes(), kind, cache=path.parent != STATIC)

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(_finite(payload), allow_nan=False, default=_jsonable, separators=(",", ":"))
        self._send_bytes(status, body.encode(), "application/json")

    def _send_text(self, status: int, text: str) -> None:
        self._send_bytes(status, (text + "\n").encode(), "text/plain; charset=utf-8")

    def _send_bytes(self, status: int, body: bytes, kind: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        if getattr(self, "_set_cookie", False) and status < 400:
            self.send_header("Set-Cookie", f"{COOKIE}={self.server.token}; HttpOnly; SameSite=Strict; Path=/")
        self.end_headers()
        self.wfile.write(body)


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CocosegError(f"{what}: {text!r} is not an integer") from None


def _float(params: dict[str, str], key: str, default: float) -> float:
    try:
        return float(params.get(key) or default)
    except ValueError:
        raise CocosegError(f"parameter {key}: {params[key]!r} is not a number") from None


def _cell_id(text: str) -> int | None:
    return None if text in ("", "bg", "background") else _int(text, "confusion cell")


def _finite(value: Any) -> Any:
    """NaN and infinities as null, recursively (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
