"""Pages by the fast path: which sources may take it, and a run's files unchanged when they do."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
from responses import registries

from fetcher.config.model import Source
from fetcher.run import fastpages, pipeline
from fetcher.run.history import RunRecord
from fetcher.storage.local import LocalStorage
from tests.records.test_arrowpage import render_pages
from tests.run.test_pipeline import STARTED, URL

PAGED = '[sources.pagination]\ntype = "page"\nconcurrency = 1\n'  # the mocks answer in order


@pytest.mark.parametrize(
    ("extra", "allowed"),
    [
        ("", True),
        (PAGED + 'has_more_path = "meta.more"\n', True),
        ('format = "ndjson"\n', False),
        ('[sources.columns]\nprice = "decimal(9,2)"\n', False),
        ('[sources.incremental]\ncursor_field = "t"\nparam = "since"\nprimary_key = "id"\n', False),
        ('[sources.incremental]\ncursor_field = "t"\nparam = "since"\n', True),
        ('[sources.pagination]\ntype = "cursor"\ncursor_path = "data.0.id"\ncursor_param = "c"\n', False),
        ('[sources.pagination]\ntype = "cursor"\ncursor_path = "next"\ncursor_param = "c"\n', True),
    ],
)
def test_which_sources_may_take_the_fast_path(
    source_from: Callable[[str], Source], extra: str, allowed: bool
) -> None:
    assert fastpages.allowed(source_from(extra)) is allowed


def _serve(bodies: list[bytes]) -> None:
    for body in bodies:
        responses.get(URL, body=body, content_type="application/json")


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()
    }


@responses.activate(registry=registries.OrderedRegistry)
def test_a_run_writes_the_same_files_by_either_path(
    source_from: Callable[[str], Source],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mixed = b'{"data":[{"id":9,"score":1},{"id":10,"score":2.5}]}'  # the exact path's: int next to float
    bodies = [*render_pages(150, 50), mixed, b'{"data":[]}']
    source = source_from(PAGED)
    caplog.set_level(logging.DEBUG, logger="fetcher")
    written = {}
    for path in ("fast", "exact"):
        if path == "exact":
            monkeypatch.setattr(fastpages, "allowed", lambda source: False)
        _serve(bodies)
        scratch = tmp_path / path / "scratch"
        scratch.mkdir(parents=True)
        record = RunRecord(source=source.name, started_at=STARTED)
        pipeline.fetch_and_write(LocalStorage(str(tmp_path / path / "out")), str(scratch), source, record)
        written[path] = _files(tmp_path / path / "out")
        assert record.records == 152
    tables = re.findall(r"event=page source=api page=\d+ records=\d+ table=(\w+)", caplog.text)
    assert tables == ["fast"] * 3 + ["exact"] * 2 + ["exact"] * 5
    assert "reason=" in caplog.text and "an integer next to doubles" in caplog.text
    assert written["fast"] == written["exact"]
    assert any(name.endswith(".csv") for name in written["fast"])
