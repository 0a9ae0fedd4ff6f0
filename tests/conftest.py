"""Shared fixtures: a clean redaction registry, no real retry sleeps, config files, a real server."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fetcher import redact
from tests.apiserver import ApiServer


@pytest.fixture(autouse=True)
def _clean_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no registered secrets and none of the fetcher's variables set."""
    redact.reset()
    for name in list(os.environ):
        if name.startswith(("FETCH_", "FETCHER_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr("fetcher.config.DEFAULT_CONFIG_PATH", "/nonexistent/fetcher.toml")
    yield
    redact.reset()


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits are recorded, never slept: the policy's sleep seam is patched here."""
    slept: list[float] = []
    monkeypatch.setattr("fetcher.retry._sleep", slept.append)
    return slept


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with ApiServer() as server:
        yield server


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a TOML config (dedented) and return its path; `{out}` is replaced by tmp_path/out."""

    def write(text: str) -> Path:
        path = tmp_path / "fetcher.toml"
        path.write_text(textwrap.dedent(text).replace("{out}", str(tmp_path / "out")))
        return path

    return write
