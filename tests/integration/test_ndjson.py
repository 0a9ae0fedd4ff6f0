"""NDJSON bodies end to end: a real server on 127.0.0.1 serving newline-delimited JSON pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fetcher.config.load import load
from fetcher.run import runner
from tests.apiserver import ApiServer, Exchange, Reply

ROWS = [{"id": n, "name": f"row {n}", "at": f"2025-03-01T10:00:{n:02d}Z"} for n in range(7)]


def ndjson_pages(content_type: str, size: int = 3) -> Callable[[Exchange], Reply]:
    """Pages of ROWS by `?page=`, one JSON object per line (as datasette's `_nl=on` serves them)."""

    def route(exchange: Exchange) -> Reply:
        page = int(exchange.query.get("page", "1"))
        rows = ROWS[(page - 1) * size : page * size]
        body = "".join(json.dumps(row) + "\n" for row in rows)
        return 200, body, {"Content-Type": content_type}

    return route


def _run(api: ApiServer, write_config: Callable[[str], Path], extra: str) -> Any:
    text = (
        f'output_dir = "{{out}}"\n[[sources]]\nname = "nl"\nurl = "{api.url("/rows")}"\n{extra}'
        '[sources.pagination]\ntype = "page"\nsize_param = "size"\nsize = 3\n'
    )
    settings = load(str(write_config(text)), {})
    return runner.run(settings, settings.sources[0])


@pytest.mark.parametrize(
    ("content_type", "extra"),
    [
        pytest.param("application/x-ndjson", "", id="x-ndjson"),
        pytest.param("application/jsonl", "", id="jsonl"),
        pytest.param("text/plain", 'format = "ndjson"\n', id="declared"),
    ],
)
def test_ndjson_pages_land_every_row_typed(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path, content_type: str, extra: str
) -> None:
    api.route("/rows", ndjson_pages(content_type))

    record = _run(api, write_config, extra)

    assert record.status == "succeeded", record.error
    assert record.pages == 3
    (path,) = (tmp_path / "out" / "nl").glob("fetch_date=*/*.parquet")
    table = pq.read_table(path)
    assert table.select(["id", "name"]).to_pylist() == [{"id": r["id"], "name": r["name"]} for r in ROWS]
    assert str(table.schema.field("at").type) == "timestamp[us, tz=UTC]"


def test_ndjson_in_text_plain_without_format_fails_with_the_hint(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    api.route("/rows", ndjson_pages("text/plain"))

    record = _run(api, write_config, "")

    assert record.status == "failed"
    assert 'set format = "ndjson"' in record.error.message
    assert not list((tmp_path / "out" / "nl").glob("fetch_date=*/*"))
