"""A run of one source, end to end through mocked HTTP: files, run record, state and logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import responses
from pyarrow import fs
from responses import matchers, registries

from fetcher.config import secrets
from fetcher.config.load import load
from fetcher.config.model import Config
from fetcher.errors import Locked
from fetcher.run import history, pipeline, runner, state
from fetcher.run.lock import hold
from fetcher.storage.s3 import S3Storage
from tests.apiserver import ApiServer
from tests.landed import assert_csv_run_columns, assert_run_columns, without_run_columns

URL = "https://api.example.com/items"
RUN_COLUMNS = {"_fetched_at": "timestamp[us, tz=UTC]", "_run_id": "string"}


def _config(
    write_config: Callable[[str], Path], extra: str = "", env: dict[str, str] | None = None
) -> Config:
    text = f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{URL}"\nrecords = "data"\n{extra}'
    return secrets.resolve(load(str(write_config(text)), env or {}), env or {})


def _files(out: Path, suffix: str) -> list[Path]:
    return sorted(out.glob(f"api/fetch_date=*/*.{suffix}"))


def _rows(out: Path) -> list[dict[str, Any]]:
    """The rows of the one Parquet file, without the metadata columns, once they are checked."""
    (path,) = _files(out, "parquet")
    table = pq.read_table(path)
    assert_run_columns(table, path.stem.removeprefix("api_"))
    return without_run_columns(table).to_pylist()


def _run_record(out: Path) -> dict[str, Any]:
    (path,) = sorted((out / "api" / "_runs").iterdir())
    return json.loads(path.read_text())


def _page_callback(
    records: list[dict[str, Any]], size: int
) -> Callable[[Any], tuple[int, dict[str, str], str]]:
    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        page = int(request.params.get("page", 1))
        return 200, {}, json.dumps({"data": records[(page - 1) * size : page * size]})

    return callback


class TestPaginationKinds:
    @responses.activate
    def test_run_page_pagination_writes_every_record(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        records = [{"id": n, "name": f"n{n}"} for n in range(25)]
        responses.add_callback(responses.GET, URL, callback=_page_callback(records, 10))
        settings = _config(write_config, '[sources.pagination]\ntype = "page"\nsize = 10\n')

        record = runner.run(settings, settings.sources[0])

        assert record.status == "succeeded" and record.pages == 3 and record.records == 25
        assert _rows(tmp_path / "out") == records

    @responses.activate
    def test_run_offset_pagination(self, write_config: Callable[[str], Path], tmp_path: Path) -> None:
        records = [{"id": n} for n in range(7)]

        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            offset, limit = int(request.params["offset"]), int(request.params["limit"])
            return 200, {}, json.dumps({"data": records[offset : offset + limit], "total": 7})

        responses.add_callback(responses.GET, URL, callback=callback)
        settings = _config(
            write_config, '[sources.pagination]\ntype = "offset"\nlimit = 3\ntotal_path = "total"\n'
        )

        runner.run(settings, settings.sources[0])

        assert _rows(tmp_path / "out") == records

    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_cursor_pagination(self, write_config: Callable[[str], Path], tmp_path: Path) -> None:
        responses.get(URL, json={"data": [{"id": 1}], "next": "c2"}, match=[matchers.query_param_matcher({})])
        responses.get(
            URL,
            json={"data": [{"id": 2}], "next": None},
            match=[matchers.query_param_matcher({"after": "c2"})],
        )
        settings = _config(
            write_config,
            '[sources.pagination]\ntype = "cursor"\ncursor_path = "next"\ncursor_param = "after"\n',
        )

        runner.run(settings, settings.sources[0])

        assert _rows(tmp_path / "out") == [{"id": 1}, {"id": 2}]

    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_link_header_pagination(self, write_config: Callable[[str], Path], tmp_path: Path) -> None:
        responses.get(
            URL,
            json={"data": [{"id": 1}]},
            headers={"Link": '<https://api.example.com/items?page=2>; rel="next"'},
        )
        responses.get(URL + "?page=2", json={"data": [{"id": 2}]})
        settings = _config(write_config, '[sources.pagination]\ntype = "link"\n')

        runner.run(settings, settings.sources[0])

        assert _rows(tmp_path / "out") == [{"id": 1}, {"id": 2}]

    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_next_url_pagination(self, write_config: Callable[[str], Path], tmp_path: Path) -> None:
        responses.get(URL, json={"data": [{"id": 1}], "links": {"next": "/items?cursor=x"}})
        responses.get(URL + "?cursor=x", json={"data": [{"id": 2}], "links": {"next": None}})
        settings = _config(
            write_config, '[sources.pagination]\ntype = "next_url"\nnext_path = "links.next"\n'
        )

        runner.run(settings, settings.sources[0])

        assert _rows(tmp_path / "out") == [{"id": 1}, {"id": 2}]


class TestAuthKinds:
    @pytest.mark.parametrize(
        ("auth", "env", "matcher"),
        [
            pytest.param(
                'type = "bearer"\ntoken_env = "T"',
                {"T": "tok"},
                matchers.header_matcher({"Authorization": "Bearer tok"}),
                id="bearer",
            ),
            pytest.param(
                'type = "basic"\nusername = "ann"\npassword_env = "P"',
                {"P": "pw"},
                matchers.header_matcher({"Authorization": "Basic YW5uOnB3"}),
                id="basic",
            ),
            pytest.param(
                'type = "api_key"\ntoken_env = "K"',
                {"K": "k1"},
                matchers.header_matcher({"X-Api-Key": "k1"}),
                id="api-key-header",
            ),
            pytest.param(
                'type = "api_key"\ntoken_env = "K"\nquery = "key"',
                {"K": "k1"},
                matchers.query_param_matcher({"key": "k1"}),
                id="api-key-query",
            ),
        ],
    )
    @responses.activate
    def test_run_sends_credentials(
        self, write_config: Callable[[str], Path], auth: str, env: dict[str, str], matcher: Any
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1}]}, match=[matcher])
        settings = _config(write_config, f"[sources.auth]\n{auth}\n", env)

        assert runner.run(settings, settings.sources[0]).status == "succeeded"


class TestRecordShapes:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            pytest.param({"data": [{"a": 1}, {"a": 2}]}, [{"a": 1}, {"a": 2}], id="list"),
            pytest.param({"data": {"a": 1, "b": "x"}}, [{"a": 1, "b": "x"}], id="object"),
            pytest.param(
                {"data": {"t": ["t0", "t1"], "v": [1.5, 2.5]}},
                [{"t": "t0", "v": 1.5}, {"t": "t1", "v": 2.5}],
                id="columnar",
            ),
        ],
    )
    @responses.activate
    def test_run_accepts_each_records_shape(
        self, write_config: Callable[[str], Path], tmp_path: Path, body: Any, expected: list[dict[str, Any]]
    ) -> None:
        responses.get(URL, json=body)
        settings = _config(write_config)

        runner.run(settings, settings.sources[0])

        assert _rows(tmp_path / "out") == expected


class TestOutcomes:
    @responses.activate
    def test_run_layout_names_files_by_utc_start(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1}]})
        settings = _config(write_config)

        record = runner.run(settings, settings.sources[0])

        day = record.started_at.strftime("%Y-%m-%d")
        names = sorted(
            path.relative_to(tmp_path / "out").as_posix()
            for path in (tmp_path / "out").rglob("*")
            if path.is_file()
        )
        assert names == [
            "api/.lock",
            f"api/_runs/{record.run_id}.json",
            f"api/fetch_date={day}/api_{record.run_id}.csv",
            f"api/fetch_date={day}/api_{record.run_id}.parquet",
        ]
        assert re.fullmatch(r"\d{8}T\d{6}Z", record.run_id)

    @responses.activate
    def test_run_csv_matches_parquet(self, write_config: Callable[[str], Path], tmp_path: Path) -> None:
        responses.get(URL, json={"data": [{"id": 1, "geo": {"lat": 1.5}, "tags": ["a"]}, {"id": 2}]})
        settings = _config(write_config)

        record = runner.run(settings, settings.sources[0])

        (csv,) = _files(tmp_path / "out", "csv")
        frame = pd.read_csv(csv)
        assert list(frame.columns) == ["id", "geo__lat", "tags", "_fetched_at", "_run_id"]
        assert frame["id"].tolist() == [1, 2] and frame["tags"].tolist()[0] == '["a"]'
        fetched_at = record.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert_csv_run_columns(list(frame.columns), frame.to_dict("records"), record.run_id, fetched_at)
        assert _rows(tmp_path / "out") == [
            {"id": 1, "geo__lat": 1.5, "tags": '["a"]'},
            {"id": 2, "geo__lat": None, "tags": None},
        ]

    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_schema_drift_unified_and_logged(
        self, write_config: Callable[[str], Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        responses.get(
            URL, json={"data": [{"id": 1, "v": 1}]}, match=[matchers.query_param_matcher({"page": "1"})]
        )
        responses.get(
            URL,
            json={"data": [{"id": 2, "v": 2.5, "new": "x"}]},
            match=[matchers.query_param_matcher({"page": "2"})],
        )
        responses.get(
            URL, json={"data": [{"id": "three"}]}, match=[matchers.query_param_matcher({"page": "3"})]
        )
        responses.get(URL, json={"data": []}, match=[matchers.query_param_matcher({"page": "4"})])
        settings = _config(
            write_config, '[sources.pagination]\ntype = "page"\nconcurrency = 1\n'
        )  # the mocks answer in order

        runner.run(settings, settings.sources[0])

        assert _rows(tmp_path / "out") == [
            {"id": "1", "v": 1.0, "new": None},
            {"id": "2", "v": 2.5, "new": "x"},
            {"id": "three", "v": None, "new": None},
        ]
        assert (
            'event=schema source=api columns="id:string,v:double,new:string,'
            '_fetched_at:timestamp[us, tz=UTC],_run_id:string"'
        ) in caplog.text

    @responses.activate
    def test_run_empty_writes_no_data_file_and_succeeds(
        self, write_config: Callable[[str], Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        responses.get(URL, json={"data": []})
        settings = _config(write_config)

        record = runner.run(settings, settings.sources[0])

        assert record.status == "succeeded" and record.records == 0
        assert _files(tmp_path / "out", "*") == []
        assert 'event=empty source=api message="no records; no data file written"' in caplog.text
        assert _run_record(tmp_path / "out")["files"] == []

    @responses.activate
    def test_run_failure_writes_failed_record_and_no_data(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(URL, status=404)
        settings = _config(write_config)

        record = runner.run(settings, settings.sources[0])

        document = _run_record(tmp_path / "out")
        assert record.status == "failed" and document["status"] == "failed"
        assert document["error"]["status"] == 404 and "HTTP 404" in document["error"]["message"]
        assert _files(tmp_path / "out", "*") == []

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            pytest.param("<html>Oops</html>", "body is not JSON", id="html"),
            pytest.param('{"data": [{"id": 1}', "body is truncated JSON", id="truncated"),
            pytest.param('{"items": []}', "records path 'data' not found", id="missing-path"),
        ],
    )
    @responses.activate
    def test_run_bad_200_body_fails_run_naming_problem(
        self, write_config: Callable[[str], Path], tmp_path: Path, body: str, problem: str
    ) -> None:
        responses.get(URL, body=body)
        settings = _config(write_config)

        record = runner.run(settings, settings.sources[0])

        assert (
            record.status == "failed"
            and record.error is not None
            and problem in record.error.message
            and URL in record.error.message
        )
        assert _files(tmp_path / "out", "*") == []

    @responses.activate
    def test_run_leaves_no_temp_files(self, write_config: Callable[[str], Path], tmp_path: Path) -> None:
        responses.get(URL, json={"data": [{"id": 1}]})
        settings = _config(write_config)

        runner.run(settings, settings.sources[0])

        assert [path for path in (tmp_path / "out").rglob(".*") if path.name != ".lock"] == []

    @responses.activate
    def test_run_removes_stale_temp_files_first(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1}]})
        stale = tmp_path / "out" / "api" / "fetch_date=2026-01-01" / ".api_20260101T000000Z.parquet.dead.tmp"
        stale.parent.mkdir(parents=True)
        stale.write_bytes(b"PAR1 partial")
        settings = _config(write_config)

        runner.run(settings, settings.sources[0])

        assert not stale.exists()

    @responses.activate
    def test_run_never_reuses_the_second_of_a_crashed_run(
        self, write_config: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1}]})
        settings = _config(write_config)
        first = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
        crashed = tmp_path / "out" / "api" / "fetch_date=2026-11-21" / "api_20261121T100000Z.parquet"
        crashed.parent.mkdir(parents=True)
        crashed.write_bytes(b"published by a run that died before its run record")
        clock = iter([first, first, first + timedelta(seconds=1)])
        monkeypatch.setattr("fetcher.run.runner.datetime", _Clock(clock))
        monkeypatch.setattr("fetcher.run.runner.time.sleep", lambda seconds: None)

        record = runner.run(settings, settings.sources[0])

        assert record.run_id == "20261121T100001Z"
        assert crashed.read_bytes().startswith(b"published by a run")

    @responses.activate
    def test_run_locked_source_raises_locked(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        settings = _config(write_config)
        (tmp_path / "out" / "api").mkdir(parents=True)

        with hold(str(tmp_path / "out" / "api" / ".lock"), "api"), pytest.raises(Locked):
            runner.run(settings, settings.sources[0])

        assert len(responses.calls) == 0

    @responses.activate
    def test_run_bug_still_writes_failed_record_and_propagates(
        self, write_config: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1}]})
        monkeypatch.setattr("fetcher.records.flatten.to_table", lambda *a, **k: 1 / 0)
        monkeypatch.setattr("fetcher.records.arrowcolumns.columns", lambda *a, **k: 1 / 0)  # the fast path's
        settings = _config(write_config)

        with pytest.raises(ZeroDivisionError):
            runner.run(settings, settings.sources[0])

        assert _run_record(tmp_path / "out")["error"]["bug"] is True

    @responses.activate
    def test_run_logs_one_summary_line(
        self, write_config: Callable[[str], Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        responses.get(URL, json={"data": [{"id": 1}]})
        settings = _config(write_config)

        runner.run(settings, settings.sources[0])

        (summary,) = [
            record.getMessage() for record in caplog.records if record.getMessage().startswith("event=run ")
        ]
        assert re.fullmatch(
            r"event=run source=api status=succeeded pages=1 records=1 duplicates_dropped=0 files=2 "
            r"attempts=1 retries=0 duration_s=\d+\.\d{3} run_id=\d{8}T\d{6}Z",
            summary,
        )


class TestIncremental:
    INCREMENTAL = '[sources.incremental]\ncursor_field = "updated"\nparam = "since"\ninitial = "2026-01-01"\n'

    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_sends_initial_then_saved_cursor(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(
            URL,
            json={"data": [{"id": 1, "updated": "2026-03-01"}, {"id": 2, "updated": "2026-02-01"}]},
            match=[matchers.query_param_matcher({"since": "2026-01-01"})],
        )
        responses.get(
            URL,
            json={"data": [{"id": 3, "updated": "2026-04-01"}]},
            match=[matchers.query_param_matcher({"since": "2026-03-01"})],
        )
        settings = _config(write_config, self.INCREMENTAL)

        first = runner.run(settings, settings.sources[0])
        second = runner.run(settings, settings.sources[0])

        assert (first.cursor, second.cursor) == ("2026-03-01", "2026-04-01")
        state = json.loads((tmp_path / "out" / "api" / "_state.json").read_text())
        assert state["cursor"] == "2026-04-01" and state["run_id"] == second.run_id

    @responses.activate
    def test_run_failure_does_not_advance_state(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(URL, status=500)
        settings = _config(write_config, self.INCREMENTAL + "[sources.retry]\nmax_attempts = 2\n")

        assert runner.run(settings, settings.sources[0]).status == "failed"
        assert not (tmp_path / "out" / "api" / "_state.json").exists()

    @responses.activate
    def test_run_numeric_cursor_sent_as_json_text(self, write_config: Callable[[str], Path]) -> None:
        responses.get(URL, json={"data": [{"id": 5}]}, match=[matchers.query_param_matcher({"after": "4"})])
        settings = _config(
            write_config, '[sources.incremental]\ncursor_field = "id"\nparam = "after"\ninitial = 4\n'
        )

        assert runner.run(settings, settings.sources[0]).cursor == 5

    @responses.activate
    def test_run_cursor_field_absent_fails_without_state(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1}]})
        settings = _config(write_config, self.INCREMENTAL)

        record = runner.run(settings, settings.sources[0])

        assert (
            record.status == "failed"
            and record.error is not None
            and "cursor_field 'updated' is in no record" in record.error.message
        )
        assert not (tmp_path / "out" / "api" / "_state.json").exists()

    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_primary_key_drops_duplicates_across_pages(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1, "updated": "a"}, {"id": 2, "updated": "b"}]})
        responses.get(URL, json={"data": [{"id": 2, "updated": "b"}, {"id": 3, "updated": "c"}]})
        responses.get(URL, json={"data": []})
        settings = _config(
            write_config,
            '[sources.pagination]\ntype = "page"\nconcurrency = 1\n'
            + self.INCREMENTAL
            + 'primary_key = "id"\n',
        )

        record = runner.run(settings, settings.sources[0])

        assert [row["id"] for row in _rows(tmp_path / "out")] == [1, 2, 3]
        assert record.duplicates_dropped == 1


class TestReview:
    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_duplicates_never_shape_the_columns(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1, "t": "a"}]})
        responses.get(
            URL, json={"data": [{"id": 1, "t": "a", "extra": 2.5}]}
        )  # a duplicate, with a new field
        responses.get(URL, json={"data": []})
        settings = _config(
            write_config,
            '[sources.pagination]\ntype = "page"\nconcurrency = 1\n'  # the mocks answer in order
            '[sources.incremental]\ncursor_field = "t"\nparam = "since"\nprimary_key = "id"\n',
        )

        record = runner.run(settings, settings.sources[0])

        assert record.duplicates_dropped == 1
        assert record.columns == {"id": "int64", "t": "string", **RUN_COLUMNS}
        assert _rows(tmp_path / "out") == [{"id": 1, "t": "a"}]

    @responses.activate(registry=registries.OrderedRegistry)
    def test_run_credentials_never_follow_pages_to_another_host(
        self, write_config: Callable[[str], Path]
    ) -> None:
        responses.get(URL, json={"data": [{"id": 1}], "next": "https://elsewhere.example.net/items?p=2"})
        responses.get("https://elsewhere.example.net/items", json={"data": [{"id": 2}], "next": None})
        settings = _config(
            write_config,
            '[sources.pagination]\ntype = "next_url"\nnext_path = "next"\n'
            '[sources.auth]\ntype = "api_key"\ntoken_env = "K"\nquery = "key"\n',
            {"K": "key-1"},
        )

        assert runner.run(settings, settings.sources[0]).status == "succeeded"
        assert "key=key-1" in responses.calls[0].request.url
        assert "key-1" not in responses.calls[1].request.url

    @responses.activate
    def test_probe_reports_the_types_a_run_writes(self, write_config: Callable[[str], Path]) -> None:
        responses.get(URL, json={"data": [{"v": 1}, {"v": 2.5}]})
        settings = _config(write_config)

        columns, count = runner.probe(settings, settings.sources[0])

        assert columns == {"v": "double", **RUN_COLUMNS} and count == 2


@responses.activate
def test_probe_returns_columns_of_first_page_and_writes_nothing(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    responses.get(URL, json={"data": [{"id": 1, "geo": {"lat": 1.5}}]})
    settings = _config(write_config, '[sources.pagination]\ntype = "page"\n')

    columns, count = runner.probe(settings, settings.sources[0])

    assert columns == {"id": "int64", "geo__lat": "double", **RUN_COLUMNS} and count == 1
    assert len(responses.calls) == 1 and not (tmp_path / "out").exists()


class _Clock:
    """Stands in for datetime in the runner: now() walks a script; everything else is datetime's."""

    def __init__(self, moments: object) -> None:
        self._moments = moments

    def now(self, tz: object = None) -> datetime:
        return next(self._moments)  # type: ignore[call-overload]


class TestLake:
    """Runs into S3 that overlap, as two hosts' would: conditional writes keep the winner's cursor."""

    def test_run_that_lost_the_state_race_fails_with_its_files_published_and_the_winners_cursor(
        self,
        bucket: tuple[fs.S3FileSystem, str],
        moto_endpoint: str,
        api: ApiServer,
        write_config: Callable[[str], Path],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _, name = bucket
        api.route("/items", lambda exchange: (200, {"data": [{"id": 4}, {"id": 5}]}))
        config = load(
            str(
                write_config(
                    f'output_dir = "s3://{name}/lake"\ns3_endpoint_url = "{moto_endpoint}"\n'
                    f'[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\nrecords = "data"\n'
                    '[sources.incremental]\ncursor_field = "id"\nparam = "after"\n'
                )
            ),
            {},
        )
        source = config.sources[0]
        assert source.incremental is not None
        storage = S3Storage(config.output_dir, moto_endpoint)
        state.save_cursor(storage, "api", source.incremental, 3, "r0", replaces=None)
        fetch_and_write = pipeline.fetch_and_write

        def another_run_saves_first(*args: Any) -> bool:
            advance = fetch_and_write(*args)
            state.save_cursor(
                storage, "api", source.incremental, 99, "b", replaces=state.version(storage, "api")
            )
            return advance

        monkeypatch.setattr(pipeline, "fetch_and_write", another_run_saves_first)

        record = runner.run(config, source)

        assert record.status == history.FAILED
        assert record.error is not None
        assert record.error.type == "Conflict"
        assert record.error.message.startswith(
            "the files were published, but the state was not saved: another run of api saved the state first"
        )
        assert api.requests[0].query["after"] == "3"
        saved = storage.read_json("api/_state.json")
        assert (saved["cursor"], saved["run_id"]) == (99, "b")  # not moved back to 5
        assert sorted((item.format, item.rows) for item in record.files) == [("csv", 2), ("parquet", 2)]
        assert all(storage.read_bytes(item.path) for item in record.files)  # published, at least once
        latest = history.latest(storage, "api")
        assert latest is not None
        assert (latest.run_id, latest.status) == (record.run_id, history.FAILED)
