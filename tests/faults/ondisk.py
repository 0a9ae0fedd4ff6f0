"""What a run left on disk, and the checks every fault case makes of it.

Each fault case asserts three things: the exit code; the files (every final file complete and
readable, no temporary file left, earlier files untouched); the run record and the state (a
failed run never advances the state). `assert_failed_cleanly` and `assert_succeeded_once` are
those assertions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.faults.harness import NAME, Result
from tests.landed import RUN_COLUMNS, assert_csv_run_columns, assert_run_columns


def source_dir(out: Path) -> Path:
    return out / NAME


def data_files(out: Path) -> list[Path]:
    """Published data files (temporary names start with a dot and are not matched)."""
    return sorted(path for path in source_dir(out).glob("fetch_date=*/*") if not path.name.startswith("."))


def new_data(out: Path, before: Mapping[str, str]) -> tuple[Path, Path]:
    """The Parquet and the CSV file published since `before` (a snapshot)."""
    fresh = [path for path in data_files(out) if path.relative_to(out).as_posix() not in before]
    (parquet,) = [path for path in fresh if path.suffix == ".parquet"]
    (csv_path,) = [path for path in fresh if path.suffix == ".csv"]
    return parquet, csv_path


def temp_files(out: Path) -> list[Path]:
    """Every dot-named temporary file anywhere under `out`."""
    return sorted(path for path in out.rglob(".*") if path.is_file() and path.name.endswith(".tmp"))


def run_records(out: Path) -> list[dict[str, Any]]:
    """Every run record, oldest first."""
    runs = source_dir(out) / "_runs"
    return [json.loads(path.read_text()) for path in sorted(runs.glob("*.json"))] if runs.is_dir() else []


def state(out: Path) -> dict[str, Any] | None:
    path = source_dir(out) / "_state.json"
    return json.loads(path.read_text()) if path.exists() else None


def snapshot(out: Path) -> dict[str, str]:
    """sha256 of every final file under `out` (the lock and temporary files aside).

    The run report (`_report/`) is left out: it is a view of the run records, rebuilt after every
    run, failed or not. Its temporary files are still found by `temp_files`.
    """
    return {
        path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file() and not path.name.startswith(".") and path.relative_to(out).parts[0] != "_report"
    }


def read_csv(path: Path) -> list[dict[str, str | None]]:
    """A CSV file as rows of text; an empty unquoted field is None, a quoted `""` is the empty string."""
    with open(path, encoding="utf-8", newline="") as file:
        text = file.read()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader)
    quoted = _quoted_empty_cells(text)
    rows = []
    for number, row in enumerate(reader):
        if row == [] and len(header) == 1:
            row = [""]  # one empty field: a null in a one-column file is an empty line
        if len(row) != len(header):
            raise AssertionError(f"{path}: row {number} has {len(row)} fields, header has {len(header)}")
        rows.append(
            {
                name: (cell if cell or (number, index) in quoted else None)
                for index, (name, cell) in enumerate(zip(header, row, strict=True))
            }
        )
    return rows


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as file:
        return next(csv.reader(file, strict=True))


def _quoted_empty_cells(text: str) -> set[tuple[int, int]]:
    """(row, column) of every `""` cell, rows counted after the header: the csv module reads both as ''."""
    cells: set[tuple[int, int]] = set()
    row, column, index, in_quotes, start = -1, 0, 0, False, True
    while index < len(text):
        char = text[index]
        if in_quotes:
            if char == '"':
                if text[index + 1 : index + 2] == '"':
                    index += 1
                else:
                    in_quotes = False
        elif char == '"':
            if (
                start
                and text[index + 1 : index + 2] == '"'
                and text[index + 2 : index + 3] in (",", "\n", "\r", "")
            ):
                cells.add((row, column))
                index += 1
            else:
                in_quotes = True
            start = False
        elif char == ",":
            column, start = column + 1, True
        elif char == "\n":
            row, column, start = row + 1, 0, True
        else:
            start = False
        index += 1
    return cells


def without_run_cells(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """CSV rows (read_csv) without `_fetched_at` and `_run_id`, to compare with what the API served."""
    return [{name: cell for name, cell in row.items() if name not in RUN_COLUMNS} for row in rows]


def check_published_files(out: Path) -> dict[str, int]:
    """Every final data file is complete and readable, carries the metadata columns of its run, and
    agrees with its run record when there is one.

    Returns the rows of each run's files, by run id. Parquet and CSV of one run hold the same rows.
    """
    listed = {item["path"]: item for record in run_records(out) for item in record["files"]}
    rows_by_run: dict[str, int] = {}
    for path in data_files(out):
        relpath = path.relative_to(out).as_posix()
        run_id = path.stem.rsplit("_", 1)[1]
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            assert_run_columns(table, run_id)
            rows = table.num_rows
        elif path.suffix == ".csv":
            cells = read_csv(path)
            assert_csv_run_columns(_csv_header(path), cells, run_id)
            rows = len(cells)
        else:
            raise AssertionError(f"unexpected file {relpath}")
        if rows_by_run.setdefault(run_id, rows) != rows:
            raise AssertionError(f"{relpath}: {rows} rows, its sibling has {rows_by_run[run_id]}")
        if relpath in listed:
            entry = listed[relpath]
            assert entry["rows"] == rows, (relpath, entry, rows)
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), relpath
    return rows_by_run


def assert_failed_cleanly(
    out: Path,
    before: Mapping[str, str],
    result: Result,
    *,
    problem: str,
    status: int | None = None,
    record: bool = True,
) -> dict[str, Any] | None:
    """The three things every failing fault case asserts; returns the failed run record, if one was written.

    Exit 1; earlier files untouched, no new data file, no temporary file; a failed run record
    naming `problem` (and `status`), the same one line on stderr, no traceback; state not advanced.
    """
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    after = snapshot(out)
    for relpath, digest in before.items():
        assert after.get(relpath) == digest, f"earlier file {relpath} changed or vanished"
    new = sorted(set(after) - set(before))
    assert not [path for path in new if "/fetch_date=" in path], f"new data files after a failed run: {new}"
    assert temp_files(out) == [], "temporary files left behind"
    check_published_files(out)
    assert problem in result.stderr, f"{problem!r} not in stderr:\n{result.stderr}"
    if not record:
        assert not [path for path in new if "/_runs/" in path]
        return None
    failed = [path for path in new if "/_runs/" in path]
    assert len(failed) == 1, f"expected one new run record, found {failed}"
    document = json.loads((out / failed[0]).read_text())
    assert document["status"] == "failed", document
    assert document["files"] == [], document
    assert problem in document["error"]["message"], document["error"]
    if status is not None:
        assert document["error"].get("status") == status, document["error"]
    return document


def assert_succeeded_once(out: Path, before: Mapping[str, str], result: Result) -> dict[str, Any]:
    """Exit 0 with exactly one new set of files (Parquet, CSV, run record); earlier files untouched."""
    assert result.returncode == 0, result.stderr
    after = snapshot(out)
    for relpath, digest in before.items():
        if not relpath.endswith("_state.json"):
            assert after.get(relpath) == digest, f"earlier file {relpath} changed or vanished"
    new = sorted(set(after) - set(before) - {f"{NAME}/_state.json"})
    kinds = sorted(Path(path).suffix for path in new)
    assert kinds == [".csv", ".json", ".parquet"], new
    assert temp_files(out) == []
    check_published_files(out)
    (record_path,) = [path for path in new if "/_runs/" in path]
    document = json.loads((out / record_path).read_text())
    assert document["status"] == "succeeded", document
    return document
