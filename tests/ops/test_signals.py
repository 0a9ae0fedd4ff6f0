"""Signals: sent before and after every run, each kept from failing the run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fetcher import cli
from fetcher.config.model import Config, Source
from fetcher.errors import EXIT_FAILED, EXIT_OK
from fetcher.ops import outcomes, signals
from fetcher.ops.outcomes import Outcome
from tests.apiserver import ApiServer

SOURCE = Source(name="api", url="http://h/x")


@pytest.fixture(autouse=True)
def status_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path / "status"))
    return tmp_path / "status"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Outcome, Outcome | None]]]:
    """Replace the signals with one that records what it was sent."""
    sent: list[tuple[str, Outcome, Outcome | None]] = []

    def record(config: Config, source: Source, outcome: Outcome, previous: Outcome | None) -> None:
        sent.append((source.name, outcome, previous))

    monkeypatch.setattr(signals, "SIGNALS", [("record", record)])
    yield sent


def _broken(*args: object) -> None:
    raise RuntimeError("receiver down")


def test_after_run_keeps_going_when_a_signal_fails(
    status_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(signals, "SIGNALS", [("broken", _broken), ("next", lambda *a: sent.append("next"))])
    outcome = Outcome(source="api", status="succeeded", finished_at=datetime(2026, 11, 21, tzinfo=UTC))

    with caplog.at_level(logging.WARNING):
        signals.after_run(None, SOURCE, outcome, None)  # type: ignore[arg-type]

    assert sent == ["next"]
    assert outcomes.load("api") == outcome
    assert 'event=signal_failed signal=broken source=api error="receiver down"' in caplog.text


def test_before_run_keeps_going_when_a_start_fails(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    started: list[str] = []
    monkeypatch.setattr(signals, "STARTS", [("broken", _broken), ("next", lambda *a: started.append("next"))])

    with caplog.at_level(logging.WARNING):
        signals.before_run(None, SOURCE)  # type: ignore[arg-type]

    assert started == ["next"]
    assert 'event=signal_failed signal=broken source=api error="receiver down"' in caplog.text


def test_run_command_starts_each_source_before_its_run(
    api: ApiServer, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start goes out before the run's first request, and a start that fails changes nothing."""
    api.route("/items", lambda exchange: (200, {"data": [{"id": 1}]}))
    requests_seen: list[int] = []
    monkeypatch.setattr(
        signals,
        "STARTS",
        [("broken", _broken), ("count", lambda config, source: requests_seen.append(len(api.requests)))],
    )
    config = write_config(f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\n')

    assert cli.main(["run", "--config", str(config)]) == EXIT_OK

    assert requests_seen == [0]
    assert len(api.requests) == 1


def test_run_command_keeps_each_outcome_and_signals_with_the_previous_one(
    api: ApiServer,
    write_config: Callable[[str], Path],
    tmp_path: Path,
    sent: list[tuple[str, Outcome, Outcome | None]],
) -> None:
    api.route("/items", lambda exchange: (200, {"data": [{"id": 1}]}))
    config = write_config(f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\n')
    assert cli.main(["run", "--config", str(config)]) == EXIT_OK
    # The source's directory becomes a file: the next run fails before it can take its lock.
    (tmp_path / "out" / "api").rename(tmp_path / "out" / "api.old")
    (tmp_path / "out" / "api").write_text("not a directory")
    assert cli.main(["run", "--config", str(config)]) == EXIT_FAILED

    (first, first_outcome, none), (_, second_outcome, previous) = sent
    assert (first, first_outcome.status, none) == ("api", "succeeded", None)
    assert previous == first_outcome
    assert second_outcome.status == "failed" and second_outcome.run_id is None
    assert "cannot write" in (second_outcome.error or "")
    assert second_outcome.last_success_at == first_outcome.finished_at
    assert outcomes.load("api") == second_outcome
