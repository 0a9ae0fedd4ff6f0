"""Windowed incremental runs against a real time-filtered API (FastAPI on 127.0.0.1).

A run asks for the windows from the saved cursor (less `lookback`) to now, one paged request
sequence each, into one set of files; the cursor becomes the last window's end, after the files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

pytest.importorskip("fastapi", reason="fastapi and uvicorn are test dependencies (requirements-test.txt)")

import fetcher
from fetcher.config.load import load
from fetcher.run import history, runner
from tests.servers.asgi import serve_asgi
from tests.servers.events_api import Events, events_app

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS = [
    {"id": day * 4 + n, "updated_at": (JAN1 + timedelta(days=day, hours=6 * n)).isoformat(), "team": "data"}
    for day in range(5)
    for n in range(4)
]
# One page at a time, so that the requests each window asks come in their order.
PAGED = '[sources.pagination]\ntype = "page"\nsize_param = "limit"\nsize = 2\nconcurrency = 1\n'
WINDOWED = (
    '[sources.incremental]\ncursor_field = "updated_at"\ninitial = "2026-01-01"\nprimary_key = "id"\n'
    'window = "1d"\n'
)


@pytest.fixture
def events() -> Iterator[tuple[Events, str]]:
    served = Events(list(EVENTS))
    with serve_asgi(events_app(served)) as url:
        yield served, url


def _write(write_config: Callable[[str], Path], url: str, extra: str = "", source: str = "") -> Path:
    return write_config(
        f'output_dir = "{{out}}"\n[[sources]]\nname = "events"\nurl = "{url}/events"\nrecords = "data"\n'
        f"{source}[sources.retry]\nmax_attempts = 1\n{PAGED}{WINDOWED}"
        f'start_param = "start"\nend_param = "end"\n{extra}'
    )


def _run(path: Path) -> history.RunRecord:
    config = load(str(path), {})
    return runner.run(config, config.sources[0])


def _asked(served: Events) -> list[tuple[str, str, int]]:
    return [(str(r["start"].date()), str(r["end"].date()), r["page"]) for r in served.requests]


def _state(out: Path) -> dict[str, Any] | None:
    path = out / "events" / "_state.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_windowed_run_asks_each_window_paged_cursor_is_last_end(
    events: tuple[Events, str],
    write_config: Callable[[str], Path],
    run_clock: Callable[[str], None],
    tmp_path: Path,
) -> None:
    served, url = events
    run_clock("2026-01-03T00:00:00Z")

    record = _run(_write(write_config, url))

    assert record.status == "succeeded", record.error
    assert _asked(served) == [
        ("2026-01-01", "2026-01-02", 1),
        ("2026-01-01", "2026-01-02", 2),
        ("2026-01-01", "2026-01-02", 3),
        ("2026-01-02", "2026-01-03", 1),
        ("2026-01-02", "2026-01-03", 2),
        ("2026-01-02", "2026-01-03", 3),
    ]
    (parquet,) = [Path(tmp_path / "out" / item.path) for item in record.files if item.format == "parquet"]
    assert sorted(pq.read_table(parquet).column("id").to_pylist()) == list(range(8))
    assert (record.window_start, record.window_end) == ("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z")
    assert _state(tmp_path / "out")["cursor"] == "2026-01-03T00:00:00Z"


def test_lookback_rereads_recent_data_latest_keeps_one_row_per_key(
    events: tuple[Events, str],
    write_config: Callable[[str], Path],
    run_clock: Callable[[str], None],
    tmp_path: Path,
) -> None:
    served, url = events
    path = _write(write_config, url, 'lookback = "6h"\n')
    run_clock("2026-01-02T00:00:00Z")
    assert _run(path).status == "succeeded"
    served.requests.clear()
    run_clock("2026-01-03T00:00:00Z")

    second = _run(path)

    assert second.status == "succeeded", second.error
    assert served.requests[0]["start"] == datetime(2026, 1, 1, 18, tzinfo=UTC), "6h before the cursor"
    assert second.records == 5, "the 18:00 event of Jan 1 again, and Jan 2's four"
    everything = fetcher.read(str(tmp_path / "out"), "events")
    assert sorted(everything["id"]).count(3) == 2, "read twice across the overlap"
    newest = fetcher.read(str(tmp_path / "out"), "events", latest=True)
    assert sorted(newest["id"]) == list(range(8)), "deduplicated on primary_key"


def test_placeholders_fill_path_header_and_body(
    events: tuple[Events, str],
    write_config: Callable[[str], Path],
    run_clock: Callable[[str], None],
    tmp_path: Path,
) -> None:
    served, url = events
    path = write_config(
        f'output_dir = "{{out}}"\n[[sources]]\nname = "events"\nurl = "{url}/w/{{window_start}}/events"\n'
        'method = "POST"\nrecords = "data"\nheaders = { "X-Until" = "{window_end}" }\n'
        'body = { team = "data", until = "{window_end}" }\n' + WINDOWED
    )
    run_clock("2026-01-03T00:00:00Z")

    record = _run(path)

    assert record.status == "succeeded", record.error
    assert [(r["start"], r["end"], r["body_until"], r["team"]) for r in served.requests] == [
        (JAN1 + timedelta(days=n), JAN1 + timedelta(days=n + 1), JAN1 + timedelta(days=n + 1), "data")
        for n in (0, 1)
    ]
    assert record.records == 8


def test_window_failing_halfway_fails_run_publishes_nothing_keeps_cursor(
    events: tuple[Events, str],
    write_config: Callable[[str], Path],
    run_clock: Callable[[str], None],
    tmp_path: Path,
) -> None:
    served, url = events
    path = _write(write_config, url)
    run_clock("2026-01-02T00:00:00Z")
    assert _run(path).status == "succeeded"
    served.failing.add(datetime(2026, 1, 3, tzinfo=UTC))
    run_clock("2026-01-05T00:00:00Z")

    failed = _run(path)

    assert failed.status == "failed"
    assert failed.error is not None and "HTTP 500" in failed.error.message
    assert failed.files == []
    assert _state(tmp_path / "out")["cursor"] == "2026-01-02T00:00:00Z", "not advanced"
    assert len(list((tmp_path / "out" / "events").glob("fetch_date=*/*.parquet"))) == 1

    served.failing.clear()
    served.requests.clear()
    run_clock("2026-01-05T00:00:01Z")
    again = _run(path)

    assert again.status == "succeeded", again.error
    assert served.requests[0]["start"] == datetime(2026, 1, 2, tzinfo=UTC), "from the unmoved cursor"
    assert again.records == 13, "Jan 2, 3 and 4, and Jan 5 00:00, before the run's start second"
    assert _state(tmp_path / "out")["cursor"] == "2026-01-05T00:00:01Z"
