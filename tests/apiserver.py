"""A real HTTP server on 127.0.0.1 for integration tests: routes are Python callables.

A route receives an Exchange and either returns `(status, body)` / `(status, body, headers)` or
writes to the socket itself (to stall, trickle, or cut the connection). Every request is logged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Exchange:
    """One request as a route sees it, with the handler for raw socket access."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    handler: BaseHTTPRequestHandler = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]] | None
Route = Callable[[Exchange], Reply]


class ApiServer:
    """`with ApiServer() as api: api.route("/items", fn); api.url("/items")`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Exchange] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._dispatch(self)

            def do_POST(self) -> None:
                server._dispatch(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler: Route) -> None:
        self.routes[path] = handler

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        exchange = Exchange(
            method=handler.command,
            path=parts.path,
            query={key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()},
            headers=dict(handler.headers.items()),
            body=handler.rfile.read(length) if length else b"",
            handler=handler,
        )
        with self._lock:
            self.requests.append(exchange)
        route = self.routes.get(parts.path)
        reply = route(exchange) if route else (404, {"error": "no such route"})
        if reply is not None:
            send(handler, *reply)


def send(
    handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    """Write a complete response: `body` as bytes, text, or JSON for anything else."""
    if isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    handler.send_response(status)
    headers = {"Content-Type": "application/json", **(headers or {})}
    for name, value in headers.items():
        handler.send_header(name, value)
    if "Content-Length" not in headers:
        handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def paged(records: list[dict[str, Any]], *, key: str = "data", param: str = "page", size: int = 100) -> Route:
    """A route serving `records` by page number, `size` per page, stopping with an empty page."""

    def route(exchange: Exchange) -> Reply:
        page = int(exchange.query.get(param, "1"))
        return 200, {key: records[(page - 1) * size : page * size]}

    return route
