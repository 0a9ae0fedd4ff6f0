"""`fetcher backfill`: a past range window by window, each published as it completes, resumable,
never touching the cursor; against a real time-filtered API (FastAPI on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

pytest.importorskip("fastapi", reason="fastapi and uvicorn are test dependencies (requirements-test.txt)")

from fetcher import cli
from fetcher.config.load import load
from fetcher.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, EXIT_OK, Locked
from fetcher.run import runner
from fetcher.run.lock import hold
from fetcher.storage import open_workspace
from tests.servers.asgi import serve_asgi
from tests.servers.events_api import Events, events_app

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS = [
    {"id": day * 4 + n, "updated_at": (JAN1 + timedelta(days=day, hours=6 * n)).isoformat()}
    for day in range(5)
    for n in range(4)
]


@pytest.fixture
def events() -> Iterator[tuple[Events, str]]:
    served = Events(list(EVENTS))
    with serve_asgi(events_app(served)) as url:
        yield served, url


@pytest.fixture
def config(events: tuple[Events, str], write_config: Callable[[str], Path]) -> Path:
    _, url = events
    return write_config(
        f'output_dir = "{{out}}"\n[[sources]]\nname = "events"\nurl = "{url}/events"\nrecords = "data"\n'
        '[sources.retry]\nmax_attempts = 1\n[sources.pagination]\ntype = "page"\nsize_param = "limit"\n'
        'size = 2\n[sources.incremental]\ncursor_field = "updated_at"\ninitial = "2026-01-01"\n'
        'primary_key = "id"\nstart_param = "start"\nend_param = "end"\nwindow = "1d"\n'
    )


def _backfill(config: Path, start: str = "2026-01-01", end: str = "2026-01-04", *more: str) -> int:
    return cli.main(["backfill", "events", "--from", start, "--to", end, "--config", str(config), *more])


def _out(config: Path) -> Path:
    return config.parent / "out" / "events"


def _records(config: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((_out(config) / "_runs").glob("*.json"))]


def _ids_by_run(config: Path) -> dict[str, list[int]]:
    return {
        path.stem.rsplit("_", 1)[1]: sorted(pq.read_table(path).column("id").to_pylist())
        for path in sorted(_out(config).glob("fetch_date=*/*.parquet"))
    }


def _progress(config: Path) -> dict[str, Any]:
    return json.loads((_out(config) / "_backfill.json").read_text())


def test_backfill_publishes_each_window_as_a_run_and_saves_progress(
    config: Path, events: tuple[Events, str], run_clock: Callable[[str], None]
) -> None:
    run_clock("2026-02-01T00:00:00Z")

    assert _backfill(config) == EXIT_OK

    records = _records(config)
    assert [(r["kind"], r["status"], r["window_start"], r["window_end"]) for r in records] == [
        ("backfill", "succeeded", f"2026-01-0{n}T00:00:00Z", f"2026-01-0{n + 1}T00:00:00Z") for n in (1, 2, 3)
    ]
    assert list(_ids_by_run(config).values()) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert [r["run_id"] for r in records] == list(_ids_by_run(config)), "each window's files, its own run"
    progress = _progress(config)
    assert (progress["from"], progress["to"], progress["done_until"]) == (
        "2026-01-01T00:00:00Z",
        "2026-01-04T00:00:00Z",
        "2026-01-04T00:00:00Z",
    )
    assert not (_out(config) / "_state.json").exists(), "the cursor is left alone"


def test_backfill_never_moves_the_cursor(config: Path, run_clock: Callable[[str], None]) -> None:
    run_clock("2026-01-05T00:00:00Z")
    settings = load(str(config), {})
    assert runner.run(settings, settings.sources[0]).status == "succeeded"
    state = (_out(config) / "_state.json").read_bytes()

    assert _backfill(config, "2026-01-01", "2026-01-03") == EXIT_OK

    assert (_out(config) / "_state.json").read_bytes() == state
    assert json.loads(state)["cursor"] == "2026-01-05T00:00:00Z"


def test_window_failing_halfway_stops_keeps_earlier_windows_resume_from_it(
    config: Path, events: tuple[Events, str], run_clock: Callable[[str], None]
) -> None:
    served, _ = events
    served.failing.add(datetime(2026, 1, 2, tzinfo=UTC))
    run_clock("2026-02-01T00:00:00Z")

    assert _backfill(config) == EXIT_FAILED

    first, failed = _records(config)
    assert (first["status"], failed["status"]) == ("succeeded", "failed")
    assert "HTTP 500" in failed["error"]["message"] and failed["files"] == []
    assert failed["window_start"] == "2026-01-02T00:00:00Z"
    assert list(_ids_by_run(config).values()) == [[0, 1, 2, 3]], "the failed window published nothing"
    assert _progress(config)["done_until"] == "2026-01-02T00:00:00Z"

    served.failing.clear()
    served.requests.clear()
    assert _backfill(config) == EXIT_OK

    assert served.requests[0]["start"] == datetime(2026, 1, 2, tzinfo=UTC), "resumed at done_until"
    assert list(_ids_by_run(config).values()) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert _progress(config)["done_until"] == "2026-01-04T00:00:00Z"


def test_unfinished_backfill_of_another_range_refused_until_restart(
    config: Path,
    events: tuple[Events, str],
    run_clock: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, _ = events
    served.failing.add(datetime(2026, 1, 2, tzinfo=UTC))
    run_clock("2026-02-01T00:00:00Z")
    assert _backfill(config) == EXIT_FAILED
    served.failing.clear()

    assert _backfill(config, "2026-01-03", "2026-01-05") == EXIT_CONFIG
    assert (
        "the backfill of 2026-01-01T00:00:00Z..2026-01-04T00:00:00Z is unfinished" in capsys.readouterr().err
    )

    assert _backfill(config, "2026-01-03", "2026-01-05", "--restart") == EXIT_OK
    assert _progress(config)["from"] == "2026-01-03T00:00:00Z"


def test_finished_backfill_run_again_fetches_nothing(
    config: Path, events: tuple[Events, str], run_clock: Callable[[str], None]
) -> None:
    served, _ = events
    run_clock("2026-02-01T00:00:00Z")
    assert _backfill(config) == EXIT_OK
    served.requests.clear()

    assert _backfill(config) == EXIT_OK

    assert served.requests == []


def test_backfill_holds_the_lock_a_run_meanwhile_is_locked(
    config: Path, events: tuple[Events, str], run_clock: Callable[[str], None]
) -> None:
    served, _ = events
    settings = load(str(config), {})
    meanwhile: list[str] = []
    original = served.page

    def page_while_backfilling(*args: Any) -> dict[str, Any]:
        try:
            runner.run(settings, settings.sources[0])
        except Locked as exc:
            meanwhile.append(str(exc))
        return original(*args)

    served.page = page_while_backfilling  # type: ignore[method-assign]
    run_clock("2026-02-01T00:00:00Z")

    assert _backfill(config, "2026-01-01", "2026-01-02") == EXIT_OK

    assert meanwhile and all(message.startswith("skipped: run in progress") for message in meanwhile)


def test_backfill_of_a_locked_source_skips_with_75(config: Path, events: tuple[Events, str]) -> None:
    served, _ = events
    workspace = open_workspace(str(config.parent / "out"))
    with hold(workspace.lock_path("events"), "events"):
        assert _backfill(config) == EXIT_LOCKED
    assert served.requests == []


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        pytest.param(
            "2026-01-04", "2026-01-01", "--to: 2026-01-01T00:00:00Z must be later than --from", id="reversed"
        ),
        pytest.param("2026-01-01", "2999-01-01", "is in the future", id="future"),
        pytest.param("last week", "2026-01-01", "--from: 'last week' is not a date", id="bad-from"),
    ],
)
def test_backfill_bad_range_exit_2_names_option(
    config: Path,
    events: tuple[Events, str],
    capsys: pytest.CaptureFixture[str],
    start: str,
    end: str,
    words: str,
) -> None:
    served, _ = events

    assert _backfill(config, start, end) == EXIT_CONFIG

    assert words in capsys.readouterr().err
    assert served.requests == []


def test_backfill_of_a_source_without_windows_exit_2(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        'output_dir = "{out}"\n[[sources]]\nname = "events"\nurl = "http://127.0.0.1:9/x"\n'
        '[sources.incremental]\ncursor_field = "t"\nparam = "since"\n'
    )

    assert _backfill(config) == EXIT_CONFIG
    assert "events asks for no time windows" in capsys.readouterr().err
