"""`fetcher status`: last run and next run per source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fetcher.config.load import load
from fetcher.errors import FetchError, GuardError
from fetcher.ops import outcomes, status
from fetcher.ops.installed import Installed
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


def test_render_run_failed_before_its_record_shows_error_last_success_and_restart_to_apply(
    write_config: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    settings = load(
        str(
            write_config(
                'output_dir = "{out}"\n[[sources]]\nname = "users"\nurl = "http://h/x"\n'
                'schedule = "*/15 * * * *"\n[[sources]]\nname = "new"\nurl = "http://h/y"\n'
            )
        ),
        {},
    )
    record = history.RunRecord(
        source="users", started_at=datetime(2026, 11, 21, 6, 59, 57, tzinfo=UTC), records=42
    )
    record.finish()
    record.finished_at = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
    history.save(LocalStorage(str(tmp_path / "out")), record)
    error = "cannot write /out/users: Read-only file system; the output is mounted read-only: remove :ro"
    outcomes.save(
        outcomes.Outcome("users", "failed", datetime(2026, 11, 21, 9, 30, 1, tzinfo=UTC), error=error)
    )
    cron = Installed({"users": "0 * * * *"})  # started with another schedule; "new" added since

    table = status.render(settings, now=datetime(2026, 11, 21, 10, 0, tzinfo=UTC), schedules=cron)

    header, users, new = table.splitlines()
    assert users.split()[:7] == ["users", "2026-11-21", "09:30:01", "failed", "0", "0", "3h00m"]
    assert "  2026-11-21 11:00 UTC (restart to apply)  " in users
    assert users.endswith("  " + status.cut(error)) and len(status.cut(error)) == status.ERROR_WIDTH
    assert status.cut(error).startswith("cannot write /out/users") and status.cut(error).endswith(
        "remove :ro"
    )
    assert new.split()[:5] == ["new", "never", "-", "-", "-"] and new.endswith(
        "not in cron: restart to apply"
    )
    assert header.index("NEXT RUN") == users.index("2026-11-21 11:00") == new.index("not in cron")


def test_cut_keeps_short_text_and_joins_lines() -> None:
    assert status.cut("short\nerror") == "short error"
    assert status.cut("x" * 50 + "y" * 50, width=11) == "xxxx...yyyy"


def test_render_lists_the_guards_that_warned_under_the_table(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    settings = load(
        str(write_config('output_dir = "{out}"\n[[sources]]\nname = "api"\nurl = "http://h/x"\n')), {}
    )
    record = history.RunRecord(source="api", started_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    record.guards = [
        history.GuardCheck("max_drop_pct", "warn", True, "60 records is 88% below the median 500"),
        history.GuardCheck("min_records", "fail", False, "60 records, at least 10 required"),
    ]
    record.finish()
    history.save(LocalStorage(str(tmp_path / "out")), record)

    table = status.render(settings, now=datetime(2026, 11, 21, 10, 0, tzinfo=UTC))

    _, row, blank, note = table.splitlines()
    assert "succeeded" in row and blank == ""
    assert note == "api: guard max_drop_pct: 60 records is 88% below the median 500"


def test_render_a_failed_guard_is_the_runs_error(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    settings = load(
        str(write_config('output_dir = "{out}"\n[[sources]]\nname = "api"\nurl = "http://h/x"\n')), {}
    )
    record = history.RunRecord(source="api", started_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    record.guards = [history.GuardCheck("min_records", "fail", True, "0 records, at least 100 required")]
    record.finish(GuardError(["min_records"], "guard min_records: 0 records, at least 100 required"))
    history.save(LocalStorage(str(tmp_path / "out")), record)

    table = status.render(settings, now=datetime(2026, 11, 21, 10, 0, tzinfo=UTC))

    _, row = table.splitlines()
    assert "failed" in row and row.endswith("guard min_records: 0 records, at least 100 required")
