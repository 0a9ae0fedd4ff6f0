"""Health: the scheduler runs, and every source's latest success is fresh."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fetcher import cli
from fetcher.config.load import load
from fetcher.config.model import Config
from fetcher.errors import FetchError
from fetcher.ops import health, outcomes
from fetcher.ops.installed import Installed
from fetcher.run import history
from fetcher.storage.local import LocalStorage

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TWO_HOURLY = (
    'output_dir = "{out}"\n'
    '[[sources]]\nname = "a"\nurl = "http://h/a"\n'
    '[[sources]]\nname = "b"\nurl = "http://h/b"\n'
)


@pytest.fixture
def settings(write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("TZ", "UTC")
    return load(str(write_config(TWO_HOURLY)), {})


def _record(settings: Config, source: str, finished: datetime, error: Exception | None = None) -> None:
    record = history.RunRecord(source=source, started_at=finished - timedelta(seconds=5))
    record.finish(error)
    record.finished_at = finished
    history.save(LocalStorage(settings.output_dir), record)


def _check(
    settings: Config, started_ago: timedelta = timedelta(hours=10), cron: bool = True
) -> health.Report:
    return health.check(settings, now=NOW, started_at=NOW - started_ago, scheduler_running=cron)


def test_check_fresh_sources_and_cron_is_healthy(settings: Config) -> None:
    _record(settings, "a", NOW - timedelta(minutes=70))
    _record(settings, "b", NOW - timedelta(minutes=5))

    assert _check(settings) == health.Report(True, "healthy: cron running, 2 source(s) fresh")


def test_check_cron_not_running_is_unhealthy(settings: Config) -> None:
    report = _check(settings, started_ago=timedelta(minutes=1), cron=False)

    assert not report.healthy and report.summary == "unhealthy: cron is not running"


def test_check_latest_run_failed_is_unhealthy_with_error(settings: Config) -> None:
    _record(settings, "a", NOW - timedelta(minutes=30))
    _record(settings, "a", NOW - timedelta(minutes=1), FetchError("http://h/a", "HTTP 503"))
    _record(settings, "b", NOW - timedelta(minutes=1))

    report = _check(settings)

    assert not report.healthy
    assert report.summary.startswith("unhealthy: a: last run ") and report.summary.endswith(
        "failed: http://h/a: HTTP 503"
    )


def test_check_stale_success_is_unhealthy(settings: Config) -> None:
    _record(settings, "a", NOW - timedelta(hours=2, minutes=1))
    _record(settings, "b", NOW - timedelta(minutes=1))

    report = _check(settings)

    assert report.summary == "unhealthy: a: last success 2h01m ago, older than 2h00m (2x its interval)"


def test_check_never_run_is_healthy_while_container_is_young(settings: Config) -> None:
    assert _check(settings, started_ago=timedelta(minutes=90)).healthy


def test_check_never_run_is_unhealthy_once_container_is_old(settings: Config) -> None:
    report = _check(settings, started_ago=timedelta(hours=3))

    assert "a: no run yet, 3h00m after start (allowed 2h00m)" in report.summary


def test_due_lists_never_run_and_older_than_one_interval(settings: Config) -> None:
    _record(settings, "a", NOW - timedelta(minutes=30))
    assert [source.name for source in health.due(settings, NOW)] == ["b"]

    _record(settings, "b", NOW - timedelta(minutes=61))
    assert [source.name for source in health.due(settings, NOW)] == ["b"]


def test_scheduler_running_finds_this_process() -> None:
    name = Path("/proc/self/comm").read_text().strip()

    assert health.scheduler_running([name])
    assert not health.scheduler_running(["no-such-process-name"])


def test_container_started_at_is_after_boot_and_before_now() -> None:
    uptime_s = float(Path("/proc/uptime").read_text().split()[0])
    now = datetime.now(UTC)

    assert now - timedelta(seconds=uptime_s + 2) <= health.container_started_at() <= now


def test_health_command_config_error_is_unhealthy_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["health", "--config", "/nonexistent.toml"]) == 1

    assert (
        capsys.readouterr().out
        == "unhealthy: configuration error: --config: /nonexistent.toml: no such file\n"
    )


def test_run_missed_runs_only_due_sources(
    settings: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(
        "fetcher.run.runner.run", lambda cfg, source: ran.append(source.name) or _ok(source.name)
    )
    _record(settings, "a", datetime.now(UTC) - timedelta(minutes=1))

    assert cli.main(["run", "--missed", "--config", str(tmp_path / "fetcher.toml")]) == 0
    assert ran == ["b"]


def _ok(source: str) -> history.RunRecord:
    record = history.RunRecord(source=source, started_at=NOW)
    record.finish()
    return record


def test_check_run_failed_before_its_run_record_is_unhealthy_at_once_naming_the_cause(
    settings: Config,
) -> None:
    _record(settings, "b", NOW - timedelta(minutes=1))
    message = "cannot write /out/a: Read-only file system; the output is mounted read-only: remove :ro"
    outcomes.save(outcomes.Outcome("a", "failed", NOW - timedelta(seconds=5), error=message))

    report = _check(settings, started_ago=timedelta(minutes=1))

    assert report == health.Report(False, f"unhealthy: a: last run at 2026-11-21T11:59:55Z failed: {message}")


def test_check_success_after_the_failure_is_healthy_again(settings: Config) -> None:
    outcomes.save(outcomes.Outcome("a", "failed", NOW - timedelta(minutes=5), error="cannot write /out/a"))
    _record(settings, "a", NOW - timedelta(minutes=1))
    _record(settings, "b", NOW - timedelta(minutes=1))

    assert _check(settings).healthy


def test_check_schedule_cron_does_not_run_is_unhealthy_restart_to_apply(settings: Config) -> None:
    _record(settings, "a", NOW - timedelta(minutes=1))
    _record(settings, "b", NOW - timedelta(minutes=1))
    schedules = Installed({"a": "*/5 * * * *", "b": "0 * * * *"})

    report = health.check(settings, now=NOW, started_at=NOW, scheduler_running=True, schedules=schedules)

    assert report.summary == (
        "unhealthy: a: cron runs it at '*/5 * * * *', the configuration says '0 * * * *': restart to apply"
    )
    assert health.check(
        settings, now=NOW, started_at=NOW, scheduler_running=True, schedules=Installed.of_config(settings)
    ).healthy
