"""The benchmarked clients: how each one runs against the API and how its output is verified."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import processes

VENV_PYTHON = processes.BENCH_DIR / ".venv-dlt" / "bin" / "python"  # dlt, requests, pyarrow
FETCHER_MAX_PAGES = 100_000


@dataclass(frozen=True)
class Measurement:
    """One child process: wall seconds, peak RSS and the records it was verified to load."""

    wall_s: float
    peak_rss_mib: float
    records: int
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What a client run is pointed at: the API, the records it serves, a scratch dir."""

    url: str
    page_size: int
    records: int
    work_dir: Path


@dataclass(frozen=True)
class Client:
    """A benchmarked client: how to run it and how to check what it loaded."""

    name: str
    label: str
    run: Callable[[Target], processes.Finished]
    verify: Callable[[Target, processes.Finished], dict[str, Any]]

    def measure(self, target: Target) -> Measurement:
        """Run once and check the record count; the scratch dir is the caller's to remove."""
        finished = self.run(target)
        info = self.verify(target, finished)
        return Measurement(finished.wall_s, finished.peak_rss_mib, target.records, info)


def _last_json_line(stdout: str) -> dict[str, Any]:
    """The JSON object a client prints as its last line of stdout."""
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def count_rows(root: Path) -> dict[str, int]:
    """Parquet and CSV data rows under root, counted with the bench venv's pyarrow."""
    cmd = [str(VENV_PYTHON), str(processes.BENCH_DIR / "count_rows.py"), str(root)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise processes.BenchError(f"{shlex.join(cmd)} exited {result.returncode}:\n{result.stderr}")
    counts: dict[str, int] = json.loads(result.stdout)
    return counts


def expect(client: str, what: str, got: int, want: int) -> None:
    if got != want:
        raise processes.BenchError(f"{client}: {what} has {got} records, the server served {want}")


def _run_raw(target: Target) -> processes.Finished:
    cmd = [
        str(VENV_PYTHON),
        str(processes.BENCH_DIR / "raw_client.py"),
        "--url",
        target.url,
        "--page-size",
        str(target.page_size),
    ]
    return processes.run_child(cmd, target.work_dir)


def _verify_raw(target: Target, finished: processes.Finished) -> dict[str, Any]:
    expect("raw", "the pages read", _last_json_line(finished.stdout)["records"], target.records)
    return {}


def _run_dlt(target: Target) -> processes.Finished:
    cmd = [
        str(VENV_PYTHON),
        str(processes.BENCH_DIR / "dlt_client.py"),
        "--url",
        target.url,
        "--page-size",
        str(target.page_size),
        "--work-dir",
        str(target.work_dir),
    ]
    return processes.run_child(cmd, target.work_dir)


def _verify_dlt(target: Target, finished: processes.Finished) -> dict[str, Any]:
    rows = count_rows(target.work_dir / "bucket" / "bench" / "records")
    expect("dlt", "the Parquet written", rows["parquet"], target.records)
    return _last_json_line(finished.stdout)


@dataclass(frozen=True)
class FetcherExtra:
    """Lines added to the source's table and to its pagination table (e.g. a concurrency key)."""

    source_lines: tuple[str, ...] = ()
    pagination_lines: tuple[str, ...] = ()


def source_table(
    name: str, url: str, page_size: int, formats: Sequence[str], extra: FetcherExtra | None = None
) -> str:
    """One `[[sources]]` table: page paging over url, records under `data`, in formats."""
    extra = extra or FetcherExtra()
    return "\n".join(
        [
            "[[sources]]",
            f"name = {json.dumps(name)}",
            f"url = {json.dumps(url)}",
            'records = "data"',
            f"formats = {json.dumps(list(formats))}",
            f"params = {{ per_page = {page_size} }}",
            *extra.source_lines,
            "[sources.pagination]",
            'type = "page"',
            'param = "page"',
            "start = 1",
            'size_param = "per_page"',
            f"size = {page_size}",
            f"max_pages = {FETCHER_MAX_PAGES}",
            *extra.pagination_lines,
            "",
        ]
    )


def write_fetcher_config(target: Target, formats: Sequence[str], extra: FetcherExtra | None) -> Path:
    """Write the fetcher's TOML config for target into its work dir and return its path."""
    path = target.work_dir / "fetcher.toml"
    path.write_text(
        f"output_dir = {json.dumps(str(target.work_dir / 'out'))}\n"
        + source_table("bench", target.url, target.page_size, formats, extra)
    )
    return path


def fetcher_command(config: Path, *subcommand: str) -> list[str]:
    """`python -m fetcher run --config config` (or another subcommand) with this interpreter."""
    return [sys.executable, "-m", "fetcher", *(subcommand or ("run",)), "--config", str(config)]


def _fetcher_runner(
    formats: Sequence[str], extra: FetcherExtra | None
) -> Callable[[Target], processes.Finished]:
    def run(target: Target) -> processes.Finished:
        config = write_fetcher_config(target, formats, extra)
        return processes.run_child(fetcher_command(config), target.work_dir, cwd=processes.REPO_ROOT)

    return run


def _fetcher_verifier(
    name: str, formats: Sequence[str]
) -> Callable[[Target, processes.Finished], dict[str, Any]]:
    def verify(target: Target, finished: processes.Finished) -> dict[str, Any]:
        rows = count_rows(target.work_dir / "out" / "bench")
        for fmt in formats:
            expect(name, f"the {fmt} written", rows[fmt], target.records)
        return {}

    return verify


def fetcher_client(
    name: str, label: str, formats: Sequence[str], extra: FetcherExtra | None = None
) -> Client:
    """A fetcher client writing formats, its config extended by extra."""
    return Client(name, label, _fetcher_runner(formats, extra), _fetcher_verifier(name, formats))


CLIENTS: dict[str, Client] = {
    client.name: client
    for client in (
        Client("raw", "raw (requests + json.loads)", _run_raw, _verify_raw),
        fetcher_client("fetcher", "fetcher (Parquet + CSV)", ["parquet", "csv"]),
        fetcher_client("fetcher-parquet", "fetcher (Parquet)", ["parquet"]),
        Client("dlt", "dlt rest_api -> filesystem (Parquet)", _run_dlt, _verify_dlt),
    )
}
# Pairs of client names whose medians the throughput section divides, top / bottom.
RATIOS = (
    ("fetcher", "raw"),
    ("fetcher-parquet", "raw"),
    ("dlt", "raw"),
    ("dlt", "fetcher-parquet"),
    ("dlt", "fetcher"),
)
