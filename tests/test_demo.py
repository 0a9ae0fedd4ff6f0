"""The demo API: it answers its own health check, since the image's `fetcher health` is not its own."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_api", REPO / "demo" / "api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def serving(demo_api: ModuleType) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), demo_api.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_check_passes_while_the_api_answers(demo_api: ModuleType, serving: int) -> None:
    assert demo_api.check(serving) == 0


def test_check_fails_when_nothing_answers(demo_api: ModuleType) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), demo_api.Handler)
    port = closed.server_address[1]
    closed.server_close()  # nobody listens there now

    assert demo_api.check(port) == 1
