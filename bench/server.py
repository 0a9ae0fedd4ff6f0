"""Local paginated JSON API for the benchmark, serving pre-rendered pages.

``GET /records?page=N&per_page=P`` answers ``{"data": [...], "page": N}``; pages
past the end answer ``{"data": [], "page": N}``. Every page body is rendered to
bytes once at start-up, deterministically from a fixed seed, so the server does
no JSON work while a client is being measured. Responses are HTTP/1.1 with
``Content-Length`` so clients keep their connection alive.

With ``--delay-ms D`` every request waits D ms before it is answered, slept in its own
handler thread (one per connection), so concurrent requests wait side by side as they
would on a slow real API.

Run as a script it prints ``READY <port>`` on stdout once it is listening and
serves until terminated::

    python bench/server.py --records 1000000 --page-size 1000
    python bench/server.py --records 20000 --page-size 100 --delay-ms 50
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_SEED = 20240501
RECORDS_PATH = "/records"

_CITIES = (
    "Springfield",
    "Riverton",
    "Lakeside",
    "Fairview",
    "Georgetown",
    "Ashland",
    "Oakdale",
    "Milton",
)
_TAGS = ("alpha", "beta", "gamma", "delta", "new", "vip", "trial", "churned")
_DAYS = 1736  # created_at spans 2020-01-01 .. 2024-10-02
_DATES = tuple((date(2020, 1, 1) + timedelta(days=d)).isoformat() for d in range(_DAYS))


def _tag_lists(rng: random.Random, count: int) -> tuple[str, ...]:
    """Pre-rendered JSON arrays of 0 to 3 distinct tags to pick records' tags from."""
    return tuple(json.dumps(rng.sample(_TAGS, rng.randrange(4)), separators=(",", ":")) for _ in range(count))


def render_record(record_id: int, bits: int, tag_lists: tuple[str, ...]) -> str:
    """Render one record of about 200 bytes of JSON, its fields cut from random ``bits``.

    Shape: id, name, score (float), active (bool), tags (list of str), address
    (nested city, zip and geo lat/lon), created_at (ISO 8601) and count (int, or
    null for about one record in eight). Formatting a template is several times
    faster than building a dict and calling json.dumps, which keeps start-up short.
    """
    name = bits & 0xFFFFFFFF
    score = (bits >> 32 & 0xFFFFF) % 1_000_000 / 10_000
    active = "true" if (bits >> 52 & 0xF) < 11 else "false"
    tags = tag_lists[bits >> 56 & 0xFF]
    city = _CITIES[bits >> 64 & 0x7]
    zip_code = (bits >> 67 & 0x1FFFF) % 100_000
    lat = ((bits >> 84 & 0x3FFFFF) % 1_800_001 - 900_000) / 10_000
    lon = ((bits >> 106 & 0x3FFFFF) % 3_600_001 - 1_800_000) / 10_000
    day = _DATES[(bits >> 128 & 0x7FF) % _DAYS]
    hours, rest = divmod((bits >> 139 & 0x1FFFF) % 86_400, 3600)
    count = "null" if (bits >> 156 & 0x7) == 0 else str(bits >> 159 & 0xFFFFF)
    return (
        f'{{"id":{record_id},"name":"user_{name:08x}","score":{score},"active":{active},'
        f'"tags":{tags},"address":{{"city":"{city}","zip":"{zip_code:05d}",'
        f'"geo":{{"lat":{lat},"lon":{lon}}}}},'
        f'"created_at":"{day}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z","count":{count}}}'
    )


def render_page(page: int, records: list[str]) -> bytes:
    """Assemble one page body from rendered records exactly as the API sends it."""
    return f'{{"data":[{",".join(records)}],"page":{page}}}'.encode()


def render_pages(total: int, page_size: int, seed: int = DEFAULT_SEED) -> list[bytes]:
    """Render the bodies of pages 1..ceil(total/page_size); page k is index k-1.

    Each page has its own generator seeded from (seed, page), so a page's content
    does not depend on the total record count.
    """
    tag_lists = _tag_lists(random.Random(seed), 256)
    pages = []
    for first_id in range(0, total, page_size):
        page = first_id // page_size + 1
        rng = random.Random(f"{seed}:{page}")
        ids = range(first_id + 1, min(first_id + page_size, total) + 1)
        pages.append(render_page(page, [render_record(i, rng.getrandbits(179), tag_lists) for i in ids]))
    return pages


class RecordsServer(ThreadingHTTPServer):
    """HTTP server holding the pre-rendered pages for its request handlers."""

    daemon_threads = True
    # The listen backlog: the default 5 could drop connections opened at once by a client
    # fetching 8 pages ahead, and a dropped SYN is retried a whole second later.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], pages: list[bytes], page_size: int, delay_s: float = 0.0
    ) -> None:
        super().__init__(address, RecordsHandler)
        self.pages = pages
        self.page_size = page_size
        self.delay_s = delay_s

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def body_for(self, page: int) -> bytes:
        """The body of a page, or the empty page past the end."""
        if 1 <= page <= len(self.pages):
            return self.pages[page - 1]
        return render_page(page, [])


class RecordsHandler(BaseHTTPRequestHandler):
    """Serves ``GET /records`` from the server's pre-rendered pages."""

    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm the body would wait
    # for the client's delayed ACK of the headers (up to 40 ms), a stall no real API adds.
    disable_nagle_algorithm = True
    server: RecordsServer

    def do_GET(self) -> None:
        if self.server.delay_s:
            time.sleep(self.server.delay_s)  # the API's latency, in this request's thread only
        url = urlsplit(self.path)
        if url.path != RECORDS_PATH:
            self._send(404, b'{"error":"not found"}')
            return
        query = parse_qs(url.query)
        try:
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("per_page", [str(self.server.page_size)])[0])
        except ValueError:
            self._send(400, b'{"error":"page and per_page must be integers"}')
            return
        if per_page != self.server.page_size:
            self._send(400, f'{{"error":"per_page must be {self.server.page_size}"}}'.encode())
            return
        self._send(200, self.server.body_for(page))

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: one log line per page would cost more than the page."""


def create_server(
    total: int,
    page_size: int,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = DEFAULT_SEED,
    delay_ms: int = 0,
) -> RecordsServer:
    """Render all pages and bind a server (port 0 picks a free port); call serve_forever()."""
    return RecordsServer((host, port), render_pages(total, page_size, seed), page_size, delay_ms / 1000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="total records served")
    parser.add_argument("--page-size", type=int, default=1000, help="records per page")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--delay-ms", type=int, default=0, help="latency added to every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    server = create_server(
        args.records, args.page_size, port=args.port, seed=args.seed, delay_ms=args.delay_ms
    )
    print(f"READY {server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
