"""S3 output against a real S3-compatible server (moto_server) on 127.0.0.1: layout, atomicity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest
from pyarrow import fs

from fetcher.config.load import load
from fetcher.config.model import Config
from fetcher.errors import OutputError
from fetcher.run import runner
from fetcher.storage.s3 import S3Storage
from tests.apiserver import ApiServer, paged
from tests.landed import assert_run_columns, without_run_columns

RECORDS = [{"id": n, "name": f"n{n}", "tags": ["a"] * (n % 3)} for n in range(250)]


@pytest.fixture
def served() -> Iterator[ApiServer]:
    with ApiServer() as api:
        api.route("/items", paged(RECORDS, size=100))
        yield api


def _config(
    write_config: Callable[[str], Path], output_dir: str, api: ApiServer, endpoint: str = ""
) -> Config:
    endpoint_line = f's3_endpoint_url = "{endpoint}"\n' if endpoint else ""
    text = (
        f'output_dir = "{output_dir}"\n{endpoint_line}'
        f'[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\n'
        'records = "data"\n[sources.pagination]\ntype = "page"\nsize = 100\n'
        '[sources.incremental]\ncursor_field = "id"\nparam = "after"\n'
    )
    return load(str(write_config(text)), {})


def _objects(s3: fs.S3FileSystem, prefix: str) -> list[str]:
    infos = s3.get_file_info(fs.FileSelector(prefix, recursive=True, allow_not_found=True))
    return sorted(info.path.removeprefix(prefix + "/") for info in infos if info.type == fs.FileType.File)


def _local_files(root: Path) -> list[str]:
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.name != ".lock"
    )


def _same_shape(document: dict[str, Any]) -> dict[str, Any]:
    """A run record without what differs between two runs: times, ids, hashes of timestamped names."""
    return {
        "status": document["status"],
        "pages": document["pages"],
        "records": document["records"],
        "columns": document["columns"],
        "cursor": document["cursor"],
        "files": [(item["format"], item["rows"]) for item in document["files"]],
    }


def test_run_into_s3_lands_same_files_records_and_state_as_a_directory(
    bucket: tuple[fs.S3FileSystem, str],
    served: ApiServer,
    moto_endpoint: str,
    write_config: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    s3, name = bucket
    remote = _config(write_config, f"s3://{name}/raw", served, moto_endpoint)
    local = _config(write_config, str(tmp_path / "out"), served)

    s3_run = runner.run(remote, remote.sources[0])
    local_run = runner.run(local, local.sources[0])

    assert s3_run.status == local_run.status == "succeeded"
    remote_files = _objects(s3, f"{name}/raw")
    assert [path.replace(s3_run.run_id, "RUN") for path in remote_files] == [
        path.replace(local_run.run_id, "RUN") for path in _local_files(tmp_path / "out")
    ]
    with s3.open_input_stream(f"{name}/raw/api/_runs/{s3_run.run_id}.json") as stream:
        remote_record = json.loads(stream.read())
    local_record = json.loads((tmp_path / "out" / "api" / "_runs" / f"{local_run.run_id}.json").read_text())
    assert _same_shape(remote_record) == _same_shape(local_record)
    assert (
        remote_record["files"][0]["path"]
        == f"api/fetch_date={s3_run.started_at:%Y-%m-%d}/api_{s3_run.run_id}.parquet"
    )
    with s3.open_input_stream(f"{name}/raw/api/_state.json") as stream:
        assert json.loads(stream.read())["cursor"] == 249


def test_s3_files_read_back_with_one_glob_in_pyarrow_and_duckdb(
    bucket: tuple[fs.S3FileSystem, str],
    served: ApiServer,
    moto_endpoint: str,
    write_config: Callable[[str], Path],
) -> None:
    s3, name = bucket
    settings = _config(write_config, f"s3://{name}/raw", served, moto_endpoint)
    record = runner.run(settings, settings.sources[0])

    base = f"{name}/raw/api"
    parquet = [
        path
        for path in s3.get_file_info(fs.FileSelector(base, recursive=True))
        if path.path.endswith(".parquet")
    ]
    dataset = ds.dataset(
        [info.path for info in parquet],
        filesystem=s3,
        format="parquet",
        partitioning="hive",
        partition_base_dir=base,
    )
    table = dataset.to_table()

    expected = [
        {"id": r["id"], "name": r["name"], "tags": json.dumps(r["tags"], separators=(",", ":"))}
        for r in RECORDS
    ]
    assert {str(day) for day in table.column("fetch_date").to_pylist()} == {f"{record.started_at:%Y-%m-%d}"}
    files = table.drop_columns(["fetch_date"])
    assert_run_columns(files, record.run_id, record.started_at)
    assert without_run_columns(files).sort_by("id").to_pylist() == expected
    assert duckdb.sql("select count(*), sum(id) from dataset").fetchall() == [(250, sum(range(250)))]


def test_second_run_reads_state_from_s3(
    bucket: tuple[fs.S3FileSystem, str],
    served: ApiServer,
    moto_endpoint: str,
    write_config: Callable[[str], Path],
) -> None:
    _, name = bucket
    settings = _config(write_config, f"s3://{name}/raw", served, moto_endpoint)
    runner.run(settings, settings.sources[0])

    runner.run(settings, settings.sources[0])

    assert [exchange.query.get("after") for exchange in served.requests][-1] == "249"


def test_publish_failure_mid_upload_leaves_nothing_under_final_key(
    bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, name = bucket
    storage = S3Storage(f"s3://{name}/raw", moto_endpoint)
    staged = storage.stage("api/fetch_date=2026-11-21/api_1.parquet")
    Path(staged.temp_path).write_bytes(b"x" * 100_000)

    def cut_off(source: str, destination: str, **kwargs: Any) -> None:
        with storage.fs.open_output_stream(destination) as stream:  # pyarrow completes it on close
            stream.write(b"x" * 10)
        raise OSError("connection reset by peer")

    monkeypatch.setattr("fetcher.storage.s3.fs.copy_files", cut_off)

    with pytest.raises(OutputError, match=r"cannot write s3://.*api_1\.parquet: connection reset"):
        storage.publish(staged)

    assert _objects(s3, f"{name}/raw") == []


def test_remove_temps_deletes_staging_leftovers_only(
    bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str
) -> None:
    s3, name = bucket
    for key in (
        "api/_staging/dead.partial",
        "api/fetch_date=2026-11-21/api_1.parquet",
        "other/_staging/x.partial",
    ):
        with s3.open_output_stream(f"{name}/raw/{key}") as stream:
            stream.write(b"data")
    storage = S3Storage(f"s3://{name}/raw", moto_endpoint)

    removed = storage.remove_temps("api")

    assert removed == [f"s3://{name}/raw/api/_staging/dead.partial"]
    assert _objects(s3, f"{name}/raw") == [
        "api/fetch_date=2026-11-21/api_1.parquet",
        "other/_staging/x.partial",
    ]


def test_json_round_trip_list_and_missing(bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str) -> None:
    _, name = bucket
    storage = S3Storage(f"s3://{name}", moto_endpoint)

    storage.write_json("api/_runs/1.json", {"status": "succeeded"}, replaces=None)
    storage.write_json("api/_runs/2.json", {"status": "failed"}, replaces=None)

    assert storage.read_json("api/_runs/2.json") == {"status": "failed"}
    assert storage.list("api/_runs") == ["1.json", "2.json"]
    assert storage.read_json("api/_state.json") is None
    assert storage.list("nothing/here") == []


def test_read_bytes_whole_object_and_missing_is_error(
    bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str
) -> None:
    s3, name = bucket
    with s3.open_output_stream(f"{name}/api/a.parquet") as stream:
        stream.write(b"PAR1")
    storage = S3Storage(f"s3://{name}", moto_endpoint)

    assert storage.read_bytes("api/a.parquet") == b"PAR1"
    with pytest.raises(OutputError, match=f"cannot read s3://{name}/api/none.parquet"):
        storage.read_bytes("api/none.parquet")


def test_staged_files_are_local_and_removed_by_close(moto_endpoint: str) -> None:
    storage = S3Storage("s3://bucket/prefix", moto_endpoint)

    staged = storage.stage("api/fetch_date=2026-11-21/api_1.parquet")
    Path(staged.temp_path).write_bytes(b"x")
    storage.close()

    assert os.path.basename(staged.temp_path).startswith(".api_1.parquet.")
    assert not os.path.exists(os.path.dirname(staged.temp_path))


@pytest.mark.parametrize("relpath", ["../escape", "/abs", "api//x"])
def test_key_refuses_paths_outside_the_prefix(moto_endpoint: str, relpath: str) -> None:
    with pytest.raises(OutputError, match="is not a path inside s3://bucket/prefix"):
        S3Storage("s3://bucket/prefix", moto_endpoint).read_json(relpath)


def test_cli_run_into_s3_with_standard_aws_variables(
    bucket: tuple[fs.S3FileSystem, str], served: ApiServer, moto_endpoint: str, tmp_path: Path
) -> None:
    s3, name = bucket
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "FETCH_URL": served.url("/items"),
        "FETCH_RECORDS": "data",
        "FETCH_OUTPUT_DIR": f"s3://{name}/env",
        "TMPDIR": str(tmp_path),
        "FETCHER_STATUS_DIR": os.environ["FETCHER_STATUS_DIR"],  # kept outcomes are not scratch
    }

    result = subprocess.run(
        [sys.executable, "-m", "fetcher", "run"], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert [
        path.split("/")[-1].split("_")[0] for path in _objects(s3, f"{name}/env") if path.endswith("quet")
    ] == ["api"]
    # The scratch and staging directories were removed; the locks and the outcomes kept on this host stay.
    assert sorted(os.listdir(tmp_path)) == ["fetcher-locks"]


def test_publish_second_copy_failing_removes_the_first(
    bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, name = bucket
    storage = S3Storage(f"s3://{name}/raw", moto_endpoint)
    staged = [storage.stage(f"api/fetch_date=2026-11-21/api_1.{suffix}") for suffix in ("parquet", "csv")]
    for item in staged:
        Path(item.temp_path).write_bytes(b"complete")

    class SecondCopyFails:
        """The real filesystem, but the second server-side copy fails."""

        def __init__(self, real: fs.S3FileSystem) -> None:
            self.real, self.copies = real, 0

        def copy_file(self, source: str, destination: str) -> None:
            self.copies += 1
            if self.copies == 2:
                raise OSError("connection reset by peer")
            self.real.copy_file(source, destination)

        def __getattr__(self, attribute: str) -> Any:
            return getattr(self.real, attribute)

    wrapper = SecondCopyFails(storage.fs)
    storage.fs = wrapper  # type: ignore[assignment]
    upload = fs.copy_files  # pyarrow's uploads need the real filesystem, not the wrapper
    monkeypatch.setattr(
        "fetcher.storage.s3.fs.copy_files",
        lambda source, destination, **options: upload(
            source,
            destination,
            source_filesystem=options["source_filesystem"],
            destination_filesystem=wrapper.real,
        ),
    )

    with pytest.raises(OutputError, match=r"api_1\.csv: connection reset"):
        storage.publish(*staged)

    assert _objects(s3, f"{name}/raw") == []
