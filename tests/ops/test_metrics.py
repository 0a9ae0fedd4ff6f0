"""Metrics: each source's textfile, written after every run and read back with prometheus_client."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fetcher import cli
from fetcher.config.model import Config, Source
from fetcher.config.signals import Metrics
from fetcher.errors import EXIT_FAILED, EXIT_OK
from fetcher.ops import metrics
from fetcher.ops.outcomes import Outcome
from tests.apiserver import ApiServer

FINISHED = datetime(2026, 11, 21, 10, 0, 30, tzinfo=UTC)
SOURCE = Source(name="api", url="http://h/x")


@pytest.fixture(autouse=True)
def status_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path / "status"))
    return tmp_path / "status"


def _read(path: Path) -> dict[str, tuple[dict[str, str], float]]:
    """Every sample in the file, by name: its labels and value, as Prometheus would scrape them."""
    samples = {}
    for family in text_string_to_metric_families(path.read_text()):
        assert family.type == "gauge" and family.documentation
        for sample in family.samples:
            samples[sample.name] = (sample.labels, sample.value)
    return samples


def _config(directory: Path) -> Config:
    return Config(
        output_dir="/out", sources=(SOURCE,), origin="test", metrics=Metrics(textfile_dir=str(directory))
    )


def _outcome(**values: object) -> Outcome:
    fields: dict[str, object] = {
        "source": "api",
        "status": "succeeded",
        "finished_at": FINISHED,
        "run_id": "20261121T100000Z",
        "duration_s": 30.5,
        "records": 7,
        "pages": 2,
        "retries": 1,
        "files": 2,
        "last_success_at": FINISHED,
        **values,
    }
    return Outcome(**fields)  # type: ignore[arg-type]


def test_write_puts_every_metric_of_the_run_in_the_sources_file(tmp_path: Path) -> None:
    metrics.write(_config(tmp_path), SOURCE, _outcome(cursor="2026-11-21T09:59:00Z"), None)

    samples = _read(tmp_path / "fetcher_api.prom")
    assert {name: value for name, (labels, value) in samples.items()} == {
        "fetcher_last_run_timestamp_seconds": FINISHED.timestamp(),
        "fetcher_last_run_success": 1.0,
        "fetcher_last_run_duration_seconds": 30.5,
        "fetcher_last_run_records": 7.0,
        "fetcher_last_run_pages": 2.0,
        "fetcher_last_run_retries": 1.0,
        "fetcher_last_run_files": 2.0,
        "fetcher_last_success_timestamp_seconds": FINISHED.timestamp(),
        "fetcher_cursor_timestamp_seconds": datetime(2026, 11, 21, 9, 59, tzinfo=UTC).timestamp(),
    }
    assert {labels["source"] for labels, value in samples.values()} == {"api"}


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(None, id="none"),
        pytest.param(1700000000, id="number"),
        pytest.param("abc-123", id="not-a-time"),
    ],
)
def test_cursor_is_a_metric_only_when_it_is_a_time(tmp_path: Path, cursor: object) -> None:
    metrics.write(_config(tmp_path), SOURCE, _outcome(cursor=cursor), None)

    assert "fetcher_cursor_timestamp_seconds" not in _read(tmp_path / "fetcher_api.prom")


def test_failed_run_without_a_success_has_no_last_success(tmp_path: Path) -> None:
    metrics.write(_config(tmp_path), SOURCE, _outcome(status="failed", last_success_at=None), None)

    samples = _read(tmp_path / "fetcher_api.prom")
    assert samples["fetcher_last_run_success"][1] == 0.0
    assert "fetcher_last_success_timestamp_seconds" not in samples


def test_write_without_a_textfile_dir_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    metrics.write(Config(output_dir="/out", sources=(SOURCE,), origin="test"), SOURCE, _outcome(), None)

    assert list(tmp_path.iterdir()) == []


def test_write_replaces_the_file_whole_through_a_temporary_name_no_collector_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics.write(_config(tmp_path), SOURCE, _outcome(records=7), None)
    seen: list[tuple[str, list[str], str]] = []
    replace = os.replace

    def watch(source: str, target: str) -> None:
        """At the rename: the new text is complete under its temporary name, the old file intact."""
        seen.append((os.path.basename(source), sorted(os.listdir(tmp_path)), Path(source).read_text()))
        assert _read(Path(target))["fetcher_last_run_records"][1] == 7.0
        replace(source, target)

    monkeypatch.setattr(os, "replace", watch)
    metrics.write(_config(tmp_path), SOURCE, _outcome(records=9), None)

    ((temp, listing, text),) = seen
    assert temp.startswith(".") and not temp.endswith(".prom")
    assert listing == sorted([temp, "fetcher_api.prom"])
    assert "fetcher_last_run_records" in text and text.endswith("\n")
    assert os.listdir(tmp_path) == ["fetcher_api.prom"]
    assert _read(tmp_path / "fetcher_api.prom")["fetcher_last_run_records"][1] == 9.0


def test_write_that_fails_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)

    with pytest.raises(OSError, match="No space left"):
        metrics.write(_config(tmp_path), SOURCE, _outcome(), None)

    assert os.listdir(tmp_path) == []


def test_run_command_writes_the_file_after_each_run(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    answers = iter([(404, {"error": "gone"}), (200, {"data": [{"id": 1}, {"id": 2}, {"id": 3}]})])
    api.route("/items", lambda exchange: next(answers))
    config = write_config(
        f'output_dir = "{{out}}"\n[metrics]\ntextfile_dir = "{tmp_path / "textfile"}"\n'
        f'[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\n'
    )

    assert cli.main(["run", "--config", str(config)]) == EXIT_FAILED
    failed = _read(tmp_path / "textfile" / "fetcher_api.prom")
    assert cli.main(["run", "--config", str(config)]) == EXIT_OK
    succeeded = _read(tmp_path / "textfile" / "fetcher_api.prom")

    assert (failed["fetcher_last_run_success"][1], failed["fetcher_last_run_records"][1]) == (0.0, 0.0)
    assert "fetcher_last_success_timestamp_seconds" not in failed
    assert (succeeded["fetcher_last_run_success"][1], succeeded["fetcher_last_run_records"][1]) == (1.0, 3.0)
    assert succeeded["fetcher_last_run_pages"][1] == 1.0
    assert (
        succeeded["fetcher_last_success_timestamp_seconds"][1]
        == succeeded["fetcher_last_run_timestamp_seconds"][1]
        > failed["fetcher_last_run_timestamp_seconds"][1]
    )
    assert sorted(os.listdir(tmp_path / "textfile")) == ["fetcher_api.prom"]
