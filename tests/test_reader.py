"""fetcher.read and `fetcher show`: a source's landed history read back, locally and from S3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyarrow import fs

import fetcher
from fetcher import cli, reader
from fetcher.config.load import load
from fetcher.errors import EXIT_OK, FetcherError
from fetcher.run import runner
from tests.apiserver import ApiServer

START = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


class _Clock(datetime):
    """The runner's clock: each run starts an hour after the one before."""

    moment = START

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Clock]]:
    _Clock.moment = START
    monkeypatch.setattr("fetcher.run.runner.datetime", _Clock)
    yield _Clock


@pytest.fixture
def served(api: ApiServer) -> list[dict[str, Any]]:
    """What the API serves right now: the test changes it between runs."""
    rows: list[dict[str, Any]] = []
    api.route("/items", lambda exchange: (200, {"data": rows}))
    return rows


@pytest.fixture
def run_source(
    api: ApiServer, write_config: Callable[[str], Path], clock: type[_Clock]
) -> Callable[..., None]:
    """Run the source `api` once, an hour after the previous run, against the real server."""

    def run(extra: str = "", output_dir: str = "{out}", environ: dict[str, str] | None = None) -> None:
        text = (
            f'output_dir = "{output_dir}"\n[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\n'
            f'records = "data"\n{extra}'
        )
        settings = load(str(write_config(text)), environ or {})
        record = runner.run(settings, settings.sources[0])
        assert record.status == "succeeded", record.error
        clock.moment += timedelta(hours=1)

    return run


def _users(count: int, version: int = 1) -> list[dict[str, Any]]:
    return [{"id": n, "name": f"user-{n}-v{version}"} for n in range(count)]


INCREMENTAL = '[sources.incremental]\ncursor_field = "id"\nparam = "since"\nprimary_key = "id"\n'


class TestRead:
    def test_read_whole_history_and_latest_one_row_per_key(
        self, served: list[dict[str, Any]], run_source: Callable[..., None], tmp_path: Path
    ) -> None:
        for version in (1, 2, 3):
            served[:] = _users(500, version)
            run_source(INCREMENTAL)

        history = fetcher.read(str(tmp_path / "out"), "api")
        latest = fetcher.read(str(tmp_path / "out"), "api", latest=True)

        assert len(history) == 1500
        assert len(latest) == 500
        assert sorted(latest["id"]) == list(range(500))
        assert set(latest["name"].str.endswith("-v3")) == {True}
        assert str(latest["_fetched_at"].dtype) == "datetime64[us, UTC]"
        assert set(latest["_fetched_at"]) == {START + timedelta(hours=2)}

    def test_read_latest_without_primary_key_is_the_newest_runs_rows(
        self, served: list[dict[str, Any]], run_source: Callable[..., None], tmp_path: Path
    ) -> None:
        served[:] = _users(3, 1)
        run_source()
        served[:] = _users(2, 2)
        run_source()

        latest = reader.read_table(str(tmp_path / "out"), "api", latest=True)

        assert latest.column("name").to_pylist() == ["user-0-v2", "user-1-v2"]
        assert set(latest.column("_run_id").to_pylist()) == {"20261121T110000Z"}

    def test_read_latest_keeps_rows_without_a_key(
        self, served: list[dict[str, Any]], run_source: Callable[..., None], tmp_path: Path
    ) -> None:
        served[:] = [{"id": 1, "name": "a"}, {"id": None, "name": "keyless"}]
        run_source(INCREMENTAL)
        served[:] = [{"id": 1, "name": "b"}, {"id": None, "name": "keyless again"}]
        run_source(INCREMENTAL)

        latest = reader.read_table(str(tmp_path / "out"), "api", latest=True)

        assert sorted(latest.column("name").to_pylist()) == ["b", "keyless", "keyless again"]

    def test_read_history_after_a_column_was_added_and_one_retyped(
        self, served: list[dict[str, Any]], run_source: Callable[..., None], tmp_path: Path
    ) -> None:
        served[:] = [{"id": 1, "v": 10}]
        run_source()
        served[:] = [{"id": 2, "v": "ten", "extra": 1.5}]
        run_source()

        table = reader.read_table(str(tmp_path / "out"), "api")

        assert table.schema.field("v").type == pa.string()
        assert table.schema.field("fetch_date").type == pa.date32()
        rows = sorted(table.select(["id", "v", "extra"]).to_pylist(), key=lambda row: row["id"])
        assert rows == [{"id": 1, "v": "10", "extra": None}, {"id": 2, "v": "ten", "extra": 1.5}]

    def test_read_columns_picks_and_unknown_column_is_named(
        self, served: list[dict[str, Any]], run_source: Callable[..., None], tmp_path: Path
    ) -> None:
        served[:] = _users(2)
        run_source()

        frame = fetcher.read(str(tmp_path / "out"), "api", columns=["id", "fetch_date"])

        assert list(frame.columns) == ["id", "fetch_date"]
        with pytest.raises(FetcherError, match="no such column: nope; have: id, name"):
            fetcher.read(str(tmp_path / "out"), "api", columns=["nope"])

    def test_read_nothing_landed_says_so(self, tmp_path: Path) -> None:
        with pytest.raises(FetcherError, match="no Parquet file has landed yet"):
            fetcher.read(str(tmp_path / "out"), "api")

    def test_read_ignores_csv_runs_and_temporary_files(
        self, served: list[dict[str, Any]], run_source: Callable[..., None], tmp_path: Path
    ) -> None:
        served[:] = _users(2)
        run_source()
        partition = next((tmp_path / "out" / "api").glob("fetch_date=*"))
        (partition / ".api_20261121T120000Z.parquet.dead.tmp").write_bytes(b"PAR1 partial")

        assert len(fetcher.read(str(tmp_path / "out"), "api")) == 2

    def test_read_from_s3(
        self,
        served: list[dict[str, Any]],
        run_source: Callable[..., None],
        bucket: tuple[fs.S3FileSystem, str],
        moto_endpoint: str,
    ) -> None:
        _, name = bucket
        served[:] = _users(3)
        run_source(output_dir=f"s3://{name}/raw", environ={"AWS_ENDPOINT_URL": moto_endpoint})

        frame = fetcher.read(f"s3://{name}/raw", "api", s3_endpoint_url=moto_endpoint)

        assert sorted(frame["id"]) == [0, 1, 2]


class TestShow:
    def test_show_prints_types_and_a_preview(
        self,
        served: list[dict[str, Any]],
        run_source: Callable[..., None],
        write_config: Callable[[str], Path],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        served[:] = [{"id": n, "at": f"2025-03-0{n + 1}T10:00:00Z"} for n in range(5)]
        run_source()
        config = write_config(
            'output_dir = "{out}"\n[[sources]]\nname = "api"\nurl = "http://127.0.0.1:9/items"\n'
        )

        assert cli.main(["show", "api", "--limit", "2", "--config", str(config)]) == EXIT_OK

        out = capsys.readouterr().out
        assert out.startswith("api: 5 row(s), 5 column(s)\n")
        assert "  at           timestamp[us, tz=UTC]\n" in out
        assert "2025-03-02 10:00:00+00:00" in out
        assert "2025-03-03" not in out

    def test_show_unknown_source_is_a_config_error(
        self, write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = write_config('[[sources]]\nname = "api"\nurl = "http://127.0.0.1:9/items"\n')

        assert cli.main(["show", "nope", "--config", str(config)]) == 2
        assert 'SOURCE: \\"nope\\" is not a configured source; have: api' in capsys.readouterr().err
