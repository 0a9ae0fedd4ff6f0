"""Count the data rows of every Parquet and CSV file under a directory.

Parquet rows come from the file footers (no data is read); CSV rows are parsed
records minus one header line per file. Needs pyarrow, so the orchestrator runs
it with bench/.venv-dlt's interpreter. Prints ``{"parquet": N, "csv": M}``::

    bench/.venv-dlt/bin/python bench/count_rows.py DIR
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pyarrow.parquet as pq


def parquet_rows(root: Path) -> int:
    return sum(pq.ParquetFile(path).metadata.num_rows for path in root.rglob("*.parquet"))


def csv_rows(root: Path) -> int:
    total = 0
    for path in root.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            total += max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    root = parser.parse_args().root
    print(json.dumps({"parquet": parquet_rows(root), "csv": csv_rows(root)}))


if __name__ == "__main__":
    main()
