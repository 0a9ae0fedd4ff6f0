"""An ASGI app (FastAPI, strawberry) served by uvicorn in a thread on 127.0.0.1, for one test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.polling import wait_for
from tests.servers import free_port

uvicorn = pytest.importorskip("uvicorn", reason="a test dependency: pip install -r requirements-test.txt")


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), timeout_s=30, what="uvicorn to start")
    assert thread.is_alive(), "uvicorn exited at start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
