"""`fetcher status`: last run and next run per source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fetcher.config.load import load
from fetcher.errors import FetchError, GuardError
from fetcher.ops import status
from fetcher.run import history
from fetcher.storage.local import LocalStorage


def test_render_shows_last_run_and_next_schedule(
    write_config: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    settings = load(
        str(
            write_config(
                'output_dir = "{out}"\n[[sources]]\nname = "api"\nurl = "http://h/x"\n'
                'schedule = "30 * * * *"\n'
            )
        ),
        {},
    )
    record = history.RunRecord(source="api", started_at=datetime(2026, 11, 21, 9, 30, tzinfo=UTC), records=42)
    record.finish()
    history.save(LocalStorage(str(tmp_path / "out")), record)

    table = status.render(settings, now=datetime(2026, 11, 21, 10, 0, tzinfo=UTC))

    _, row = table.splitlines()
    assert row.split()[0] == "api"
    assert "succeeded" in row and " 42 " in row and "2026-11-21 10:30 UTC" in row


def test_render_failed_run_and_never_run(
    write_config: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    settings = load(
        str(
            write_config(
                'output_dir = "{out}"\n[[sources]]\nname = "api"\nurl = "http://h/x"\n'
                '[[sources]]\nname = "new"\nurl = "http://h/y"\n'
            )
        ),
        {},
    )
    record = history.RunRecord(source="api", started_at=datetime(2026, 11, 21, 9, 0, 7, tzinfo=UTC))
    record.finish(FetchError("http://h/x", "HTTP 503", status=503))
    record.finished_at = datetime(2026, 11, 21, 9, 0, 9, 500000, tzinfo=UTC)
    history.save(LocalStorage(str(tmp_path / "out")), record)

    table = status.render(settings, now=datetime(2026, 11, 21, 10, 0, tzinfo=UTC))

    _, failed, never = table.splitlines()
    assert failed.split()[:6] == ["api", "2026-11-21", "09:00:09", "failed", "0", "0"]
    assert never.split()[:4] == ["new", "never", "-", "-"]


def test_render_lists_the_guards_that_tripped_in_the_last_run(
    write_config: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    settings = load(
        str(write_config('output_dir = "{out}"\n[[sources]]\nname = "api"\nurl = "http://h/x"\n')), {}
    )
    record = history.RunRecord(source="api", started_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    record.guards = [
        history.GuardCheck("min_records", "fail", True, "0 records, at least 100 required"),
        history.GuardCheck("max_drop_pct", "warn", False, "0 records; no successful run to compare"),
    ]
    record.finish(GuardError(["min_records"], "guard min_records: 0 records, at least 100 required"))
    history.save(LocalStorage(str(tmp_path / "out")), record)

    table = status.render(settings, now=datetime(2026, 11, 21, 10, 0, tzinfo=UTC))

    _, row, blank, note = table.splitlines()
    assert "failed" in row and blank == ""
    assert note == "api: guard min_records (fail): 0 records, at least 100 required"
