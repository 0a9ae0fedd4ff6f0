"""json-server 1.0 (from npm, pinned in tests/servers/package.json) on 127.0.0.1, serving a
generated db.json. `GET /users?_page=N&_per_page=M` answers `{first, prev, next, last, pages,
items, data}`; past the last page it answers the last page again."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.polling import wait_for
from tests.servers import free_port, users

HERE = Path(__file__).resolve().parent
BIN = HERE / "node_modules" / ".bin" / "json-server"


def install() -> None:
    """`npm ci` the pinned json-server into tests/servers/node_modules, unless it is there."""
    if BIN.exists():
        return
    if shutil.which("npm") is None:
        pytest.skip("json-server needs node and npm")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=300
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def serve_json_server(count: int, tmp_path: Path) -> Iterator[str]:
    """Serve `count` users at `/users` from a db.json in `tmp_path`; yields the base URL."""
    install()
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "db.json").write_text(
        json.dumps({"users": [{**row, "id": str(row["id"])} for row in users(count)]})
    )
    port = free_port()
    server = subprocess.Popen(
        [str(BIN), "db.json", "--port", str(port), "--host", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: server.poll() is not None or _answers(f"{url}/users"), 30, "json-server to answer")
        assert server.poll() is None, (
            f"json-server exited: {server.stderr.read().decode() if server.stderr else ''}"
        )
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
