"""End to end against a real HTTP server on 127.0.0.1, with the fetcher in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.apiserver import ApiServer, Exchange, Reply, paged
from tests.landed import RUN_COLUMNS, assert_csv_run_columns, assert_run_columns, without_run_columns
from tests.polling import wait_for

REPO = Path(__file__).resolve().parents[2]


def fetcher(config: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """Start `python -m fetcher run --config CONFIG` from the repository, as cron would."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "TZ": "UTC"}
    return subprocess.Popen(
        [sys.executable, "-m", "fetcher", "run", "--config", str(config), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def run_fetcher(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    process = fetcher(config, *args)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def make_records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "name": f"user-{n}" if n % 7 else f"ünïcode-{n} 日本",
            "score": n / 3,
            "active": n % 2 == 0,
            "geo": {"lat": 52.5 + n / 1e4, "lon": None if n % 5 == 0 else 13.4},
            "tags": ["a", "b"][: n % 3],
        }
        for n in range(count)
    ]


def flattened(record: dict[str, Any]) -> dict[str, Any]:
    """The row the documented rules give for one record of make_records."""
    return {
        "id": record["id"],
        "name": record["name"],
        "score": record["score"],
        "active": record["active"],
        "geo__lat": record["geo"]["lat"],
        "geo__lon": record["geo"]["lon"],
        "tags": json.dumps(record["tags"], separators=(",", ":")),
    }


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(url: str, extra: str = "") -> Path:
        path = tmp_path / "fetcher.toml"
        path.write_text(
            f'output_dir = "{tmp_path / "out"}"\n[[sources]]\nname = "api"\nurl = "{url}"\n'
            f'records = "data"\n{extra}'
        )
        return path

    return write


def data_files(out: Path, suffix: str = "*") -> list[Path]:
    return sorted(out.glob(f"api/fetch_date=*/api_*.{suffix}"))


def test_paginated_5000_records_read_back_equal(
    api: ApiServer, config_for: Callable[..., Path], tmp_path: Path
) -> None:
    served = make_records(5000)
    api.route("/items", paged(served, size=250))
    config = config_for(
        api.url("/items"), '[sources.pagination]\ntype = "page"\nsize_param = "per_page"\nsize = 250\n'
    )

    result = run_fetcher(config)

    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    expected = [flattened(record) for record in served]
    (parquet_path,) = data_files(out, "parquet")
    run_id = parquet_path.stem.removeprefix("api_")
    table = pq.read_table(parquet_path)
    assert_run_columns(table, run_id)
    assert without_run_columns(table).to_pylist() == expected
    dataset = ds.dataset(
        [str(path) for path in out.glob("api/fetch_date=*/*.parquet")],
        partitioning="hive",
        partition_base_dir=str(out / "api"),
    )
    assert without_run_columns(dataset.to_table().drop_columns(["fetch_date"])).to_pylist() == expected
    glob = str(out / "api" / "*" / "*.parquet")
    excluded = ", ".join(("fetch_date", *RUN_COLUMNS))
    assert duckdb.sql(
        f"select * exclude ({excluded}) from read_parquet('{glob}', hive_partitioning = true) order by id"
    ).fetchall() == [tuple(row.values()) for row in expected]
    (csv_path,) = data_files(out, "csv")
    frame = pd.read_csv(csv_path, keep_default_na=False, na_values=[""])
    assert list(frame.columns) == [*expected[0], *RUN_COLUMNS]
    assert_csv_run_columns(list(frame.columns), frame.to_dict("records"), run_id)
    assert frame["id"].tolist() == [row["id"] for row in expected]
    assert frame["score"].tolist() == [row["score"] for row in expected]
    assert frame["name"].tolist() == [row["name"] for row in expected]
    assert frame["tags"].tolist() == [row["tags"] for row in expected]
    assert [None if pd.isna(v) else v for v in frame["geo__lon"]] == [row["geo__lon"] for row in expected]
    # 20 pages of 250, then the empty page that ends the run, each asked once; fetched 4 at a time
    # (the default concurrency), at most 3 more past it.
    pages = sorted(int(request.query["page"]) for request in api.requests)
    assert pages == list(range(1, len(pages) + 1)) and 21 <= len(pages) <= 21 + 4


def test_kill_9_mid_write_leaves_no_partial_file(
    api: ApiServer, config_for: Callable[..., Path], tmp_path: Path
) -> None:
    served = [{"id": n, "blob": "x" * 4000} for n in range(20_000)]
    api.route("/items", paged(served, size=2000))
    config = config_for(api.url("/items"), '[sources.pagination]\ntype = "page"\n')
    out = tmp_path / "out"

    process = fetcher(config)
    wait_for(lambda: list(out.glob("api/fetch_date=*/.api_*.tmp")), what="a staged data file")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert data_files(out) == []
    assert list(out.glob("api/fetch_date=*/.*.tmp"))  # the crash left its temporary files behind...
    result = run_fetcher(config)
    assert result.returncode == 0, result.stderr
    assert list(out.glob("api/**/.*.tmp")) == []  # ...which the next run removed
    (parquet_path,) = data_files(out, "parquet")
    assert pq.read_table(parquet_path).num_rows == 20_000


def test_concurrent_runs_second_is_skipped_with_75(api: ApiServer, config_for: Callable[..., Path]) -> None:
    release = threading.Event()

    def slow(exchange: Exchange) -> Reply:
        release.wait(timeout=60)
        return 200, {"data": [{"id": 1}]}

    api.route("/items", slow)
    config = config_for(api.url("/items"))

    first = fetcher(config)
    wait_for(lambda: api.requests, what="the first run's request")
    second = run_fetcher(config)
    release.set()
    _, first_err = first.communicate(timeout=60)

    assert second.returncode == 75
    assert f"skipped: run in progress (pid {first.pid})" in second.stderr
    assert first.returncode == 0, first_err
    assert len(api.requests) == 1


def test_incremental_second_run_fetches_only_new_records(
    api: ApiServer, config_for: Callable[..., Path], tmp_path: Path
) -> None:
    served = [{"id": 1, "updated": "2026-11-01"}, {"id": 2, "updated": "2026-11-02"}]

    def since(exchange: Exchange) -> Reply:
        return 200, {"data": [row for row in served if row["updated"] > exchange.query["since"]]}

    api.route("/items", since)
    config = config_for(
        api.url("/items"),
        '[sources.incremental]\ncursor_field = "updated"\nparam = "since"\ninitial = "2026-01-01"\n',
    )

    assert run_fetcher(config).returncode == 0
    served.append({"id": 3, "updated": "2026-11-03"})
    assert run_fetcher(config).returncode == 0

    files = data_files(tmp_path / "out", "parquet")
    assert [pq.read_table(path).column("id").to_pylist() for path in files] == [[1, 2], [3]]
    assert [exchange.query["since"] for exchange in api.requests] == ["2026-01-01", "2026-11-02"]


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        pytest.param((500, {"error": "database down"}), "HTTP 500", id="error-body"),
        pytest.param(
            (200, "<html><body>Maintenance</body></html>", {"Content-Type": "text/html"}),
            "body is not JSON (text/html)",
            id="html-200",
        ),
    ],
)
def test_bad_response_exits_1_without_data_and_with_failed_record(
    api: ApiServer, config_for: Callable[..., Path], tmp_path: Path, reply: Reply, problem: str
) -> None:
    api.route("/items", lambda exchange: reply)
    config = config_for(api.url("/items"), "[sources.retry]\nmax_attempts = 2\nmax_wait_s = 0\n")

    result = run_fetcher(config)

    assert result.returncode == 1
    assert data_files(tmp_path / "out") == []
    (record_path,) = (tmp_path / "out" / "api" / "_runs").iterdir()
    record = json.loads(record_path.read_text())
    assert record["status"] == "failed" and problem in record["error"]["message"]
    assert problem in result.stderr
