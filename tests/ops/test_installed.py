"""Installed schedules: what cron was given at start, compared with the configuration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.config.load import load
from fetcher.config.model import Config
from fetcher.ops import installed
from fetcher.ops.installed import Installed

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(write_config: Callable[[str], Path]) -> Config:
    return load(
        str(
            write_config(
                '[[sources]]\nname = "a"\nurl = "http://h/a"\nschedule = "*/5 * * * *"\n'
                '[[sources]]\nname = "b"\nurl = "http://h/b"\n'
            )
        ),
        {},
    )


def test_of_crontab_reads_the_default_crontabs_hourly_schedule_for_every_source() -> None:
    default = Installed.of_crontab((REPO / "crontab").read_text())

    assert default == Installed({}, "0 * * * *")
    assert default.schedule_of("anything") == "0 * * * *"


def test_save_and_load_round_trip_world_readable(tmp_path: Path, settings: Config) -> None:
    installed.save(Installed.of_config(settings), str(tmp_path))

    assert installed.load(str(tmp_path)) == Installed({"a": "*/5 * * * *", "b": "0 * * * *"})
    assert (tmp_path / installed.FILE).stat().st_mode & 0o777 == 0o644


def test_running_at_the_sources_installed_at_that_schedule(settings: Config) -> None:
    a, b = settings.sources
    moved = Installed({"a": "0 * * * *", "b": "0 * * * *"})  # a's schedule changed since the start

    assert installed.running_at(moved, settings.sources, "0  * * * *") == (a, b)
    assert installed.running_at(moved, settings.sources, "*/5 * * * *") == ()
    assert installed.running_at(Installed({"b": "0 * * * *"}), settings.sources, "*/5 * * * *") == ()


def test_running_at_outside_the_container_the_configured_schedule(settings: Config) -> None:
    a, b = settings.sources

    assert installed.running_at(None, settings.sources, "*/5 * * * *") == (a,)
    assert installed.running_at(Installed(every_source="0 * * * *"), settings.sources, "0 * * * *") == (a, b)


def test_load_nothing_recorded_is_none(tmp_path: Path) -> None:
    assert installed.load(str(tmp_path)) is None


def test_pending_nothing_when_cron_runs_the_configured_schedule(settings: Config) -> None:
    schedules = Installed.of_config(settings)

    assert [installed.pending(schedules, source) for source in settings.sources] == [None, None]
    assert installed.pending(None, settings.sources[0]) is None  # outside the container: unknown


def test_pending_changed_schedule_says_restart_to_apply(settings: Config) -> None:
    fallback = Installed(every_source="0 * * * *")

    assert installed.pending(fallback, settings.sources[0]) == (
        "cron runs it at '0 * * * *', the configuration says '*/5 * * * *': restart to apply"
    )
    assert installed.pending(fallback, settings.sources[1]) is None


def test_pending_source_added_after_start_is_not_in_cron(settings: Config) -> None:
    assert installed.pending(Installed({"a": "*/5 * * * *"}), settings.sources[1]) == (
        "cron does not run it yet: restart to apply"
    )
