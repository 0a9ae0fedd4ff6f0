"""fetcher: pull an HTTP JSON API on a schedule and land every run as Parquet and CSV files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fetcher.version import __version__

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["__version__", "read"]


def read(
    output_dir: str,
    source: str,
    *,
    latest: bool = False,
    columns: list[str] | None = None,
    s3_endpoint_url: str | None = None,
) -> pd.DataFrame:
    """A source's landed history (or, with `latest`, its newest snapshot) as a pandas DataFrame.

    See fetcher.reader.read_table; `output_dir` is a directory or `s3://bucket/prefix`.
    """
    from fetcher.reader import read_table

    table = read_table(output_dir, source, latest=latest, columns=columns, s3_endpoint_url=s3_endpoint_url)
    return table.to_pandas()
