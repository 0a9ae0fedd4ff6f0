"""A fault-injecting HTTP server on 127.0.0.1: scripted statuses, stalls, trickles, resets, bombs.

A route is `route(hit, conn)`: `hit` is the request as read (with its arrival time), `conn` writes
the reply, whole or in pieces, and knows when the client has gone away. Responses are written by
hand, byte for byte, so that a route can stall between any two bytes, including inside the headers.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Hit:
    """One request as the server read it. Header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    at: float
    port: int
    body: bytes = b""


class Conn:
    """Writes one reply on the request's connection; every write reports whether the client is still there."""

    def __init__(self, handler: BaseHTTPRequestHandler, server: FaultServer) -> None:
        self._handler = handler
        self._server = server
        self.sent = 0
        self.gone = False

    def write(self, data: bytes) -> bool:
        """Write `data` now; False (and nothing more is written) once the client has gone away."""
        if self.gone:
            return False
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except OSError:
            self.gone = True
            self._handler.close_connection = True
            return False
        self.sent += len(data)
        return True

    def head(self, status: int, headers: Mapping[str, str] | None = None, body: bytes = b"") -> bool:
        """The status line and headers (JSON content type unless given), and `body` in the same write."""
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        merged = {"Content-Type": "application/json", **(headers or {})}
        lines += [f"{name}: {value}" for name, value in merged.items()]
        if merged.get("Connection", "").lower() == "close":
            self._handler.close_connection = True
        return self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def send(self, status: int, body: Any = b"", headers: Mapping[str, str] | None = None) -> bool:
        """A complete reply: `body` as bytes, text, or JSON for anything else, with its Content-Length."""
        data = _encode(body)
        return self.head(status, {"Content-Length": str(len(data)), **(headers or {})}, data)

    def wait(self, seconds: float) -> bool:
        """Pause this reply for `seconds` of server time; True if the server is shutting down instead."""
        return self._server.stopping.wait(seconds)

    def reset(self) -> None:
        """Abort the connection with a TCP RST, replying nothing."""
        connection: socket.socket = self._handler.connection
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._handler.close_connection = True
        self.gone = True
        connection.close()


Route = Callable[[Hit, Conn], None]


class FaultServer:
    """`with FaultServer() as server: server.route("/items", fn); server.url("/items")`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # a reply in several writes must not wait for delayed ACKs

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._dispatch(self)

            def do_POST(self) -> None:
                owner._dispatch(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hangs up mid-reply is the point of most routes here

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, handler: Route) -> None:
        self.routes[path] = handler

    def hits_to(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        hit = Hit(
            method=handler.command,
            path=parts.path,
            query={key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={name.lower(): value for name, value in handler.headers.items()},
            at=time.monotonic(),
            port=self.port,
            body=body,
        )
        with self._lock:
            self.hits.append(hit)
        route = self.routes.get(parts.path, reply(404, {"error": "no such route"}))
        conn = Conn(handler, self)
        try:
            route(hit, conn)
        except OSError:
            handler.close_connection = True


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


# ---- routes ------------------------------------------------------------------------------------


def reply(status: int, body: Any = b"", headers: Mapping[str, str] | None = None) -> Route:
    """Always the same complete reply."""

    def route(hit: Hit, conn: Conn) -> None:
        conn.send(status, body, headers)

    return route


def script(*routes: Route) -> Route:
    """The n-th request gets the n-th route; the last one repeats."""
    calls = iter(range(1 << 30))

    def route(hit: Hit, conn: Conn) -> None:
        number = next(calls)
        routes[min(number, len(routes) - 1)](hit, conn)

    return route


def stall() -> Route:
    """Read the request, then say nothing until the server shuts down."""

    def route(hit: Hit, conn: Conn) -> None:
        conn.wait(3600)
        conn.reset()

    return route


def reset() -> Route:
    """Read the request, then abort the connection (TCP RST)."""

    def route(hit: Hit, conn: Conn) -> None:
        conn.reset()

    return route


def trickle(body: bytes, interval_s: float, *, in_headers: bool = False) -> Route:
    """Send a 200 one byte every `interval_s`: the body, or (`in_headers`) a header that never ends."""

    def route(hit: Hit, conn: Conn) -> None:
        if in_headers:
            conn.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while conn.write(b"a") and not conn.wait(interval_s):
                pass
            return
        if not conn.head(200, {"Content-Length": str(len(body))}):
            return
        for byte in body:
            if conn.wait(interval_s) or not conn.write(bytes([byte])):
                return

    return route


@dataclass
class Stream:
    """A route that streams `total` bytes (JSON-looking), recording how many the client took."""

    total: int
    declare_length: bool = True
    block: int = 1 << 16
    sent: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def __call__(self, hit: Hit, conn: Conn) -> None:
        try:
            self._stream(conn)
        finally:
            self.sent = conn.sent
            self.done.set()

    def _stream(self, conn: Conn) -> None:
        opening = b'{"data": [' + b" " * (self.block - 10)
        filler = b" " * self.block
        if self.declare_length:
            if not conn.head(200, {"Content-Length": str(self.total)}):
                return
            pieces: Iterable[bytes] = (opening if n == 0 else filler for n in range(self.total // self.block))
        else:
            if not conn.head(200, {"Transfer-Encoding": "chunked"}):
                return
            frame = b"%x\r\n" % self.block
            pieces = (
                frame + (opening if n == 0 else filler) + b"\r\n" for n in range(self.total // self.block)
            )
        for piece in pieces:
            if not conn.write(piece):
                return


def gzip_bomb(expanded_bytes: int, *, layers: int) -> bytes:
    """A JSON-looking body that is `expanded_bytes` long once every gzip layer is undone.

    The inner layer repeats one small gzip member (a stream of concatenated members is one valid
    gzip body), so building a 1 GB bomb costs milliseconds.
    """
    unit = 1 << 20
    member = gzip.compress(b" " * unit, compresslevel=9)
    body = gzip.compress(b'{"data": [', compresslevel=9) + member * (expanded_bytes // unit)
    for _ in range(layers - 1):
        body = gzip.compress(body, compresslevel=9)
    return body


def cursor_pages(pages: Sequence[Any], *, key: str = "data", param: str = "cursor") -> Route:
    """Serve `pages[i]` (the records, or a whole body if a dict) for `?cursor=i`; the last has no cursor."""

    def route(hit: Hit, conn: Conn) -> None:
        index = int(hit.query.get(param, "0"))
        page = pages[index]
        body = dict(page) if isinstance(page, dict) else {key: page}
        body["next"] = str(index + 1) if index + 1 < len(pages) else None
        conn.send(200, body)

    return route
