"""The output layout: every path under `output_dir`, named in this one place.

    {name}/fetch_date={YYYY-MM-DD}/{name}_{run_id}.{format}   a run's data file, one per format
    {name}/_runs/{run_id}.json                          a run's record
    {name}/_state.json                                  the incremental state
    {name}/_backfill.json                               a backfill's progress
    {name}/.lock                                        the lock (on local disk only)
    {name}/.lease                                       the lease of lock = "s3" (on S3 only)
    {name}/_staging/{token}.partial                     an S3 upload not yet copied to its key
    .{final name}.{tag}.tmp                             a temporary file, beside its final name
    _report/index.html                                  the run report of every source

Paths are `/`-separated and relative to `output_dir`. Dataset readers skip names that start with
`_` or `.`, so they see only data files. `run_id` is the run's start in UTC, to the second
(`20261121T100000Z`): it names the data files and the run record.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

PARTITION_KEY = "fetch_date"
TEMP_NAME = re.compile(r"\..+\.tmp")
_RUN_RECORD_NAME = re.compile(r"(\d{8}T\d{6}Z)\.json")
_RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"


def run_id(started: datetime) -> str:
    """`20261121T100000Z`: the run's start, in UTC, to the second."""
    return started.astimezone(UTC).strftime(_RUN_ID_FORMAT)


def partition(source: str, started: datetime) -> str:
    """The directory of the data files of runs of `source` started on that (UTC) day."""
    return f"{source}/{PARTITION_KEY}={started.astimezone(UTC):%Y-%m-%d}"


def run_stem(source: str, started: datetime) -> str:
    """`{name}_{run_id}`: what every file of a run is named after."""
    return f"{source}_{run_id(started)}"


def data_file(source: str, started: datetime, fmt: str) -> str:
    """The data file in format `fmt` of the run of `source` that started at `started`."""
    return f"{partition(source, started)}/{run_stem(source, started)}.{fmt}"


def is_data_file(path: str, fmt: str) -> bool:
    """Whether `path` (a listed file under a source) is a published data file in format `fmt`."""
    parent, _, name = path.rpartition("/")
    return name.endswith(f".{fmt}") and not name.startswith(".") and f"/{PARTITION_KEY}=" in f"/{parent}"


def runs_dir(source: str) -> str:
    """The directory of the run records of `source`."""
    return f"{source}/_runs"


def run_record(source: str, run: str) -> str:
    """The run record of the run `run` (a run_id) of `source`."""
    return f"{runs_dir(source)}/{run}.json"


def run_of_record(name: str) -> str | None:
    """The run_id that a name in the run records' directory is the record of, or None."""
    match = _RUN_RECORD_NAME.fullmatch(name)
    return match.group(1) if match else None


def state_file(source: str) -> str:
    """The incremental state of `source`."""
    return f"{source}/_state.json"


def backfill_file(source: str) -> str:
    """The progress of the latest backfill of `source`."""
    return f"{source}/_backfill.json"


def lock_file(source: str) -> str:
    """The lock file of `source`, relative to the directory that holds the locks."""
    return f"{source}/.lock"


def lease_file(source: str) -> str:
    """The lease that serialises the runs of `source` across hosts (lock = "s3")."""
    return f"{source}/.lease"


def staging_dir(source: str) -> str:
    """Where S3 uploads of `source` wait before their server-side copy to their final key."""
    return f"{source}/_staging"


def staging_key(relpath: str) -> str:
    """A fresh staging key for the upload of `relpath`, in its source's staging directory."""
    return f"{staging_dir(source_of(relpath))}/{secrets.token_hex(16)}.partial"


def temp_name(name: str, tag: str | None = None) -> str:
    """A temporary name for the file `name` (a fresh one unless `tag` is given): `TEMP_NAME`."""
    return f".{name}.{tag or secrets.token_hex(4)}.tmp"


def report_file() -> str:
    """The run report: one self-contained HTML page, in a `_` directory no source name can take."""
    return "_report/index.html"


def source_of(relpath: str) -> str:
    """The source a path belongs to: its first component."""
    return relpath.split("/", 1)[0]
