"""Shared fixtures: a clean redaction registry, no real retry or rate waits, config files, a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyarrow import fs
from urllib3.connectionpool import HTTPConnectionPool

from fetcher import redact
from tests import responses_urllib3
from tests.apiserver import ApiServer


@pytest.fixture(autouse=True)
def _clean_process_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Each test starts with no registered secrets and none of the fetcher's variables set, but
    its own status directory: outcomes kept by one test are never read by another."""
    redact.reset()
    for name in list(os.environ):
        if name.startswith(("FETCH_", "FETCHER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path_factory.mktemp("status")))
    monkeypatch.setattr("fetcher.config.load.DEFAULT_CONFIG_PATH", "/nonexistent/fetcher.toml")
    yield
    redact.reset()


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits are recorded, never slept: the sleep seams of both retry policies are patched here."""
    slept: list[float] = []
    monkeypatch.setattr("fetcher.http.retry._sleep", slept.append)
    monkeypatch.setattr("fetcher.http.retry._wait", lambda ended, seconds: slept.append(seconds))
    monkeypatch.setattr("fetcher.ops.notify._sleep", slept.append)
    return slept


@pytest.fixture(autouse=True)
def no_rate_wait(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Rate-budget waits are recorded, never slept: the budget's clock leaps over each one instead.

    A test that must wait for real (the one that counts requests per second at a server) puts
    back `time.monotonic` and a real pause.
    """
    waited: list[float] = []
    leapt = [0.0]

    def pause(closed: threading.Event, seconds: float) -> None:
        waited.append(seconds)
        leapt[0] += seconds

    monkeypatch.setattr("fetcher.http.budget._pause", pause)
    monkeypatch.setattr("fetcher.http.budget._clock", lambda: time.monotonic() + leapt[0])
    return waited


@pytest.fixture(autouse=True)
def responses_answer_urllib3(monkeypatch: pytest.MonkeyPatch) -> None:
    """`responses` mocks answer the fetcher's urllib3 requests too (tests/responses_urllib3.py)."""
    monkeypatch.setattr(HTTPConnectionPool, "urlopen", responses_urllib3.urlopen)


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto_server in its own process (in-process, it would share the GIL with pyarrow's uploads)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, f"moto_server exited with {server.returncode}"
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                break
        except OSError:
            assert time.monotonic() < deadline, "moto_server did not answer within 30 s"
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[fs.S3FileSystem, str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s3 = fs.S3FileSystem(
        endpoint_override=moto_endpoint.removeprefix("http://"), scheme="http", allow_bucket_creation=True
    )
    name = f"lake-{uuid.uuid4().hex[:10]}"
    s3.create_dir(name)
    return s3, name


@pytest.fixture
def run_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Set the second runs start in (ISO, UTC); each run then starts one second after the last.

    Runs are named by their start second: a backfill's windows, a second apart, never wait for
    the real clock to reach the next one.
    """
    from datetime import UTC, datetime, timedelta

    ticks: list[datetime] = []

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            ticks[0] += timedelta(seconds=1)
            return ticks[0] if tz is not None else ticks[0].replace(tzinfo=None)

    def start_at(iso: str) -> None:
        ticks[:] = [datetime.fromisoformat(iso).astimezone(UTC) - timedelta(seconds=1)]
        monkeypatch.setattr("fetcher.run.runner.datetime", _Clock)

    return start_at
