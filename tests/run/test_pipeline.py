"""The pipeline of a run: pages through the stages, files streamed or rewritten."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import responses
from responses import registries

from fetcher.config.model import Source
from fetcher.errors import FetchError
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.pagination.pages import PageRequest
from fetcher.run import pipeline, state, walks
from fetcher.run.history import RunRecord
from fetcher.storage.local import LocalStorage
from tests.landed import assert_run_columns, without_run_columns

URL = "https://api.example.com/items"
STARTED = datetime(2026, 11, 21, 10, 0, 5, tzinfo=UTC)
# One page at a time: the mocked API answers requests in the order a sequential walk sends them.
PAGED = '[sources.pagination]\ntype = "page"\nconcurrency = 1\n'
INCREMENTAL = '[sources.incremental]\ncursor_field = "t"\nparam = "since"\ninitial = "a"\n'
RUN_COLUMNS = {"_fetched_at": "timestamp[us, tz=UTC]", "_run_id": "string"}


def _pages(*pages: list[dict[str, Any]]) -> None:
    """Serve `pages` in order, then an empty page that ends `page` pagination."""
    for page in (*pages, []):
        responses.get(URL, json={"data": page})


def _run(tmp_path: Path, source: Source) -> tuple[bool, RunRecord]:
    record = RunRecord(source=source.name, started_at=STARTED)
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    advance = pipeline.fetch_and_write(LocalStorage(str(tmp_path / "out")), str(scratch), source, record)
    return advance, record


def _parquet(tmp_path: Path) -> pa.Table:
    return pq.read_table(tmp_path / "out" / "api" / "fetch_date=2026-11-21" / "api_20261121T100005Z.parquet")


class TestFetchAndWrite:
    @responses.activate(registry=registries.OrderedRegistry)
    def test_steady_schema_publishes_streamed_files_and_counts(
        self, source_from: Callable[[str], Source], tmp_path: Path
    ) -> None:
        _pages([{"id": 1}, {"id": 2}], [{"id": 3}])

        advance, record = _run(tmp_path, source_from(PAGED))

        assert advance is False
        table = _parquet(tmp_path)
        assert_run_columns(table, "20261121T100005Z", STARTED)
        assert without_run_columns(table).to_pylist() == [{"id": 1}, {"id": 2}, {"id": 3}]
        assert (record.pages, record.records, record.attempts, record.retries) == (3, 3, 3, 0)
        assert record.columns == {"id": "int64", **RUN_COLUMNS}
        assert [(item.path, item.format, item.rows) for item in record.files] == [
            ("api/fetch_date=2026-11-21/api_20261121T100005Z.parquet", "parquet", 3),
            ("api/fetch_date=2026-11-21/api_20261121T100005Z.csv", "csv", 3),
        ]
        assert list((tmp_path / "scratch").iterdir()) == [], "the spool is removed"

    @responses.activate
    def test_one_full_page_without_pagination_warns_that_the_api_may_have_more(
        self, source_from: Callable[[str], Source], tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        responses.get(URL, json={"data": [{"id": n} for n in range(100)]})

        _, record = _run(tmp_path, source_from())

        assert (record.pages, record.records) == (1, 100)
        (line,) = [r.getMessage() for r in caplog.records if "maybe_more_pages" in r.getMessage()]
        assert line.startswith(
            'event=maybe_more_pages source=api records=100 reason="100 records is a typical'
        )
        assert "set [sources.pagination] type = " in line

    @pytest.mark.parametrize(
        ("extra", "served"),
        [
            pytest.param("", [[{"id": 1}, {"id": 2}, {"id": 3}]], id="an-ordinary-response"),
            pytest.param(PAGED, [[{"id": n} for n in range(100)]], id="paged"),
        ],
    )
    @responses.activate(registry=registries.OrderedRegistry)
    def test_no_warning_for_an_ordinary_response_or_a_paged_source(
        self,
        source_from: Callable[[str], Source],
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        extra: str,
        served: list[list[dict[str, Any]]],
    ) -> None:
        _pages(*served)

        _, record = _run(tmp_path, source_from(extra))

        assert record.records == len(served[0])
        assert "maybe_more_pages" not in caplog.text

    @responses.activate(registry=registries.OrderedRegistry)
    def test_widened_schema_rewrites_files_and_cursor_from_the_spool(
        self, source_from: Callable[[str], Source], tmp_path: Path
    ) -> None:
        _pages([{"id": 1, "t": "b"}], [{"id": "two", "t": "c", "extra": True}])

        advance, record = _run(tmp_path, source_from(PAGED + INCREMENTAL))

        assert advance is True and record.cursor == "c"
        assert record.columns == {"id": "string", "t": "string", "extra": "bool", **RUN_COLUMNS}
        table = _parquet(tmp_path)
        assert_run_columns(table, "20261121T100005Z", STARTED)
        assert without_run_columns(table).to_pylist() == [
            {"id": "1", "t": "b", "extra": None},
            {"id": "two", "t": "c", "extra": True},
        ]

    @responses.activate(registry=registries.OrderedRegistry)
    def test_cursor_is_the_text_the_api_served_while_the_file_holds_timestamps(
        self, source_from: Callable[[str], Source], tmp_path: Path
    ) -> None:
        _pages([{"id": 1, "t": "2026-11-20T09:00:00+01:00"}], [{"id": 2, "t": "2026-11-20T10:30:00+01:00"}])

        advance, record = _run(tmp_path, source_from(PAGED + INCREMENTAL.replace('initial = "a"', "")))

        assert advance is True and record.cursor == "2026-11-20T10:30:00+01:00"
        table = _parquet(tmp_path)
        assert table.schema.field("t").type == pa.timestamp("us", tz="UTC")
        assert table.column("t").to_pylist() == [
            datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        ]

    @responses.activate(registry=registries.OrderedRegistry)
    def test_cursor_never_goes_below_the_saved_one(
        self, source_from: Callable[[str], Source], tmp_path: Path
    ) -> None:
        source = source_from(PAGED + INCREMENTAL)
        assert source.incremental is not None
        state.save_cursor(
            LocalStorage(str(tmp_path / "out")), "api", source.incremental, "z", "r", replaces=None
        )
        _pages([{"id": 1, "t": "b"}])

        advance, record = _run(tmp_path, source)

        assert advance is True and record.cursor == "z"
        assert responses.calls[0].request.params == {"since": "z", "page": "1"}

    @responses.activate
    @pytest.mark.parametrize("extra", [INCREMENTAL, ""], ids=["incremental", "full"])
    def test_no_records_writes_nothing_and_does_not_advance(
        self,
        source_from: Callable[[str], Source],
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        extra: str,
    ) -> None:
        caplog.set_level(logging.INFO)
        responses.get(URL, json={"data": [{}, {}]})

        advance, record = _run(tmp_path, source_from(extra))

        assert advance is False and record.files == [] and record.columns == {}
        assert record.records == 2
        assert "no data file written" in caplog.text and "2 record(s), none with a field" in caplog.text
        assert [path for path in (tmp_path / "out").rglob("*") if path.is_file()] == []

    @responses.activate(registry=registries.OrderedRegistry)
    def test_record_counts_survive_a_failure(
        self, source_from: Callable[[str], Source], tmp_path: Path
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1, "t": "a"}, {"id": 1, "t": "a"}]})
        responses.get(URL, status=404)
        source = source_from(PAGED + INCREMENTAL + 'primary_key = "id"\n')
        record = RunRecord(source=source.name, started_at=STARTED)

        with pytest.raises(FetchError):
            pipeline.fetch_and_write(LocalStorage(str(tmp_path)), str(tmp_path), source, record)

        assert (record.pages, record.records, record.duplicates_dropped, record.attempts) == (1, 1, 1, 2)
        assert [path for path in tmp_path.rglob("*") if path.is_file()] == [tmp_path / "fetcher.toml"]


class TestProbeParts:
    @responses.activate
    def test_columns_of_one_page(self, source_from: Callable[[str], Source]) -> None:
        responses.get(URL, body=json.dumps({"data": [{"v": 1, "g": {"x": "a"}}, {"v": 2.5}]}))
        source = source_from()

        with Client(source, Deadline.after(30)) as client:
            page = walks.page_fetcher(client, source)(PageRequest(URL, {}))

        assert pipeline.columns(page, source) == {"v": "double", "g__x": "string", **RUN_COLUMNS}
