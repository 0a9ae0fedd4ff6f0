"""Checks that several settings share: a choice among names, a positive number, an http(s) URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from fetcher import redact
from fetcher.config.convert import show
from fetcher.errors import ConfigError


def check_url(url: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"{show(redact.redact(url))} is not an http:// or https:// URL")
    if parts.password is not None:
        raise ConfigError(key, "credentials in the URL are not allowed (value redacted); use [sources.auth]")


def check_choice(value: str, allowed: tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise ConfigError(key, f"{show(value)} is not one of: {', '.join(allowed)}")


def check_positive(value: float, key: str) -> None:
    if value <= 0:
        raise ConfigError(key, f"{value} must be greater than 0")
