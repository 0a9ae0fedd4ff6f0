"""fetcher: pull an HTTP JSON API on a schedule and land every run as Parquet and CSV files."""

__version__ = "0.1.0"
