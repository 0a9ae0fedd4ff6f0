"""The benchmark's floor: fetch every page with requests and json.loads it, keeping nothing.

Walks ``?page=1,2,...`` on one ``requests.Session`` until a page has no records,
then prints ``{"records": N, "pages": P}`` on stdout::

    python bench/raw_client.py --url http://127.0.0.1:PORT/records --page-size 1000
"""

from __future__ import annotations

import argparse
import json

import requests


def fetch_all(url: str, page_size: int) -> tuple[int, int]:
    """Return (records, non-empty pages) after walking the pages until an empty one."""
    records = pages = 0
    with requests.Session() as session:
        page = 1
        while True:
            response = session.get(url, params={"page": page, "per_page": page_size}, timeout=60)
            response.raise_for_status()
            count = len(json.loads(response.content)["data"])
            if count == 0:
                return records, pages
            records += count
            pages += 1
            page += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    records, pages = fetch_all(args.url, args.page_size)
    print(json.dumps({"records": records, "pages": pages}))


if __name__ == "__main__":
    main()
