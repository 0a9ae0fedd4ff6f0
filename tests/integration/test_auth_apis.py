"""Auth end to end: the fetcher in a subprocess against a real DRF API and a real OAuth2 server.

Django REST Framework's TokenAuthentication wants `Authorization: Token <key>`; Authlib's
authorization server issues client-credentials tokens that the test expires mid-run. Every run's
output, logs and files are scanned for the secrets and tokens: none may show.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from tests.apiserver import ApiServer, Exchange, Reply
from tests.servers import drf_auth
from tests.servers.oauth2_authlib import CLIENT_ID, CLIENT_SECRET, SCOPE, OAuth2Server

REPO = Path(__file__).resolve().parents[2]
DRF_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's own example key, 40 hex digits


def _run(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    """`fetcher run` with a config of one `source` (TOML lines) landing under tmp_path/out."""
    config = tmp_path / "fetcher.toml"
    config.write_text(f'output_dir = "{tmp_path / "out"}"\n\n[[sources]]\n{source}')
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "TZ": "UTC"}
    return subprocess.run(
        [sys.executable, "-m", "fetcher", "run", "--config", str(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _secret_file(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "secrets" / "secret"
    path.parent.mkdir(exist_ok=True)
    path.write_text(value + "\n")
    return path


def _leaks(tmp_path: Path, result: subprocess.CompletedProcess[str], secrets: dict[str, str]) -> list[str]:
    """Where any of `secrets` (name: value) shows: the run's output, or a file it left under tmp_path."""
    found = [
        f"{where}: {name}"
        for where, text in (("stdout", result.stdout), ("stderr", result.stderr))
        for name, value in secrets.items()
        if value in text
    ]
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.parent.name != "secrets":
            content = path.read_bytes()
            found += [f"{path}: {name}" for name, value in secrets.items() if value.encode() in content]
    return found


def _records(tmp_path: Path, name: str) -> list[int]:
    dataset = ds.dataset(tmp_path / "out" / name, format="parquet", partitioning="hive")
    return sorted(dataset.to_table(columns=["id"]).column("id").to_pylist())


def _last_record(tmp_path: Path, name: str) -> dict[str, Any]:
    return json.loads(sorted((tmp_path / "out" / name / "_runs").glob("*.json"))[-1].read_text())


def _drf_source(url: str, secret: Path) -> str:
    return f"""name = "drf"
url = "{url}"
records = "results"
formats = ["parquet"]
[sources.pagination]
type = "next_url"
next_path = "next"
[sources.auth]
type = "api_key"
header = "Authorization"
prefix = "Token"
token_file = "{secret}"
"""


def test_drf_token_authentication_every_page_with_prefix(tmp_path: Path, tmp_path_factory: Any) -> None:
    with drf_auth.running(tmp_path_factory.mktemp("drf"), DRF_KEY, [{"id": n} for n in range(7)]) as api:
        result = _run(tmp_path, _drf_source(api.url("/items/"), _secret_file(tmp_path, DRF_KEY)))

    assert result.returncode == 0, result.stderr
    assert _records(tmp_path, "drf") == list(range(7))
    assert _last_record(tmp_path, "drf")["pages"] == 4  # DRF's pages of 2: 2, 2, 2, 1
    assert _leaks(tmp_path, result, {"key": DRF_KEY}) == []


def test_drf_wrong_token_fails_with_the_401_hint_and_no_leak(tmp_path: Path, tmp_path_factory: Any) -> None:
    wrong = "0" * 40
    with drf_auth.running(tmp_path_factory.mktemp("drf"), DRF_KEY, [{"id": 1}]) as api:
        result = _run(tmp_path, _drf_source(api.url("/items/"), _secret_file(tmp_path, wrong)))

    assert result.returncode == 1
    message = _last_record(tmp_path, "drf")["error"]["message"]
    assert "HTTP 401 Unauthorized: the API rejected the credentials" in message
    assert "Invalid token." in message
    assert _leaks(tmp_path, result, {"key": wrong}) == []


def _oauth2_source(server: OAuth2Server, secret: Path) -> str:
    return f"""name = "oauth"
url = "{server.url("/items")}"
records = "items"
formats = ["parquet"]
[sources.pagination]
type = "page"
# One page at a time: the tests count the API's refusals, which pages in flight together multiply.
concurrency = 1
[sources.auth]
type = "oauth2_client_credentials"
token_url = "{server.token_url}"
client_id = "{CLIENT_ID}"
client_secret_file = "{secret}"
scopes = ["{SCOPE}"]
"""


def _oauth2_secrets(server: OAuth2Server, client_secret: str) -> dict[str, str]:
    basic = base64.b64encode(f"{CLIENT_ID}:{client_secret}".encode()).decode()
    tokens = {f"token {n}": token for n, token in enumerate(server.issued())}
    return {"client secret": client_secret, "basic credentials": basic, **tokens}


def test_oauth2_token_expiring_mid_run_gets_every_page_once_with_one_more_token(tmp_path: Path) -> None:
    pages = [[{"id": 1}, {"id": 2}], [{"id": 3}], [{"id": 4}, {"id": 5}]]
    with OAuth2Server.running(pages, expire_after_pages=2) as server:
        result = _run(tmp_path, _oauth2_source(server, _secret_file(tmp_path, CLIENT_SECRET)))

    assert result.returncode == 0, result.stderr
    assert server.served == [1, 2, 3, 4]  # the three pages and the empty one, each once
    assert (len(server.token_requests), server.refused) == (2, 1)
    assert _records(tmp_path, "oauth") == [1, 2, 3, 4, 5]
    assert result.stderr.count("event=token_refused source=oauth status=401") == 1
    assert len(server.issued()) == 2
    assert _leaks(tmp_path, result, _oauth2_secrets(server, CLIENT_SECRET)) == []


def test_oauth2_pages_fetched_ahead_share_one_token(tmp_path: Path) -> None:
    pages = [[{"id": n}] for n in range(1, 9)]
    with OAuth2Server.running(pages) as server:
        text = _oauth2_source(server, _secret_file(tmp_path, CLIENT_SECRET)).replace(
            "concurrency = 1", "concurrency = 4"
        )
        result = _run(tmp_path, text)

    assert result.returncode == 0, result.stderr
    assert len(server.token_requests) == 1  # the run's threads share its one client, and its token
    assert _records(tmp_path, "oauth") == list(range(1, 9))


def test_oauth2_token_endpoint_401_fails_the_run_with_the_hint(tmp_path: Path) -> None:
    wrong = "wr0ng-cl1ent-s3cret"
    with OAuth2Server.running([[{"id": 1}]]) as server:
        result = _run(tmp_path, _oauth2_source(server, _secret_file(tmp_path, wrong)))

    assert result.returncode == 1
    [error_line] = [line for line in result.stderr.splitlines() if "level=ERROR" in line]
    assert f"{server.token_url}: token request: HTTP 401 UNAUTHORIZED" in error_line
    assert "check client_id, the client secret it names, scopes and audience" in error_line
    assert "token request: HTTP 401" in _last_record(tmp_path, "oauth")["error"]["message"]
    assert (len(server.token_requests), server.served, server.issued()) == (1, [], [])
    assert _leaks(tmp_path, result, _oauth2_secrets(server, wrong)) == []


def test_oauth2_api_echoing_the_token_shows_it_redacted(tmp_path: Path, api: ApiServer) -> None:
    def echo_bare_token(exchange: Exchange) -> Reply:  # bare: no `Bearer` before it to redact by
        return 401, f"rejected token {exchange.headers['Authorization'].removeprefix('Bearer ')}"

    api.route("/items", echo_bare_token)
    with OAuth2Server.running([]) as server:
        source = _oauth2_source(server, _secret_file(tmp_path, CLIENT_SECRET))
        result = _run(tmp_path, source.replace(server.url("/items"), api.url("/items")))

    assert result.returncode == 1
    assert len(server.issued()) == 2 and len(api.requests) == 2  # refetched once, never looped
    message = _last_record(tmp_path, "oauth")["error"]["message"]
    assert "rejected token ***" in message, "the echo should reach the message, redacted"
    assert _leaks(tmp_path, result, _oauth2_secrets(server, CLIENT_SECRET)) == []
