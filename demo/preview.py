"""Print the files of a source's newest run and a preview of their rows: `preview.py /out/NAME`."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(directory: str) -> None:
    root = Path(directory)
    files = sorted(root.glob("fetch_date=*/*.parquet"))
    if not files:
        sys.exit(f"preview: no Parquet file under {root}")
    newest = files[-1]
    print(f"Files written ({len(files)} run(s) so far):")
    for path in sorted(root.glob("fetch_date=*/*")):
        print(f"  {path.relative_to(root.parent)}  {path.stat().st_size:>8} bytes")
    frame = pd.read_parquet(newest)
    print(f"\n{newest.name}: {len(frame)} rows, {len(frame.columns)} columns")
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(frame.head(8).to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1])
