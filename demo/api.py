"""A demo JSON API for `make demo`: 240 orders, paged, served on 127.0.0.1 from the image itself.

    python /app/demo/api.py [--port 8900]
    python /app/demo/api.py --check [--port 8900]    exit 0 if it answers: the container's health check

GET /orders?page=N&per_page=M answers {"orders": [...], "page": N}; a page past the end is empty.
Records are deterministic, with a nested customer, a list of items and mixed numeric types.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ORDERS = 240
STATUSES = ("paid", "shipped", "delivered", "refunded")
CITIES = ("Berlin", "Lisbon", "Oslo", "Toronto", "Nairobi", "Kyoto")


def order(number: int) -> dict[str, object]:
    created = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=number * 3)
    return {
        "id": number,
        "status": STATUSES[number % len(STATUSES)],
        "total": number * 7 if number % 3 else number * 7 + 0.5,
        "customer": {"name": f"Customer {number % 37}", "city": CITIES[number % len(CITIES)]},
        "items": [f"sku-{(number * k) % 97}" for k in range(1, number % 4 + 2)],
        "created_at": created.isoformat().replace("+00:00", "Z"),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/orders":
            self._send(404, {"error": f"no such path {url.path}; try /orders"})
            return
        query = parse_qs(url.query)
        page = int(query.get("page", ["1"])[0])
        size = min(int(query.get("per_page", ["50"])[0]), 100)
        first = (page - 1) * size + 1
        rows = [order(n) for n in range(first, min(first + size, ORDERS + 1))]
        self._send(200, {"orders": rows, "page": page})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"demo-api: {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)


def check(port: int) -> int:
    """0 if the API answers its first order, else 1: the demo API's own health check."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders?per_page=1", timeout=5) as reply:
            return 0 if json.load(reply)["orders"] else 1
    except (OSError, ValueError, KeyError) as exc:
        print(f"demo-api: unhealthy: {exc}", flush=True)
        return 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--check", action="store_true", help="exit 0 if the API answers, else 1")
    args = parser.parse_args()
    if args.check:
        sys.exit(check(args.port))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"demo-api: serving {ORDERS} orders on http://127.0.0.1:{args.port}/orders", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
