"""The version of fetcher."""

__version__ = "0.1.0"
