"""The fault suite's harness: configs with secrets, the fetcher as a real subprocess, and disk checks.

Every subprocess's stderr is kept, so that the secret scan (conftest.py) can read every log line
and error message the suite provoked.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

REPO = Path(__file__).resolve().parents[2]
NAME = "api"
TOKEN_ENV = "FAULTS_TOKEN"
USERNAME = "faults-user"


@dataclass(frozen=True)
class Secrets:
    """Distinctive credentials: none of them may ever reach a log line, an error or a file."""

    token: str = "tok-FAULTSUITE-7f3a9c2e41"
    password: str = "pw-FAULTSUITE-b2e41d0c77"
    api_key: str = "key-FAULTSUITE-c93d0e5a18"

    def forms(self) -> dict[str, bytes]:
        """Every form in which a leak would show: raw, and the Basic-auth base64 of the password."""
        basic = base64.b64encode(f"{USERNAME}:{self.password}".encode())
        return {
            "token": self.token.encode(),
            "password": self.password.encode(),
            "api_key": self.api_key.encode(),
            "basic-credentials": basic,
        }


SECRETS = Secrets()


@dataclass(frozen=True)
class Result:
    """A finished fetcher process."""

    returncode: int
    stderr: str
    duration_s: float
    peak_rss_kb: int = 0


def toml(document: Mapping[str, Any]) -> str:
    """A TOML rendering of the small documents the suite writes (scalars, lists, inline tables)."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in document.items():
        if key == "sources":
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    for source in document.get("sources", []):
        lines.append("\n[[sources]]")
        for key, value in source.items():
            if isinstance(value, Mapping) and key in ("retry", "pagination", "auth", "incremental"):
                tables.append((f"sources.{key}", value))
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        for name, table in tables:
            lines.append(f"[{name}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
        tables.clear()
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot render {value!r} as TOML")


@dataclass
class Harness:
    """One test's workspace: its output dir, its configs and every fetcher run's stderr."""

    root: Path
    logs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.secret_dir.mkdir(parents=True, exist_ok=True)
        (self.secret_dir / "password").write_text(SECRETS.password + "\n")
        (self.secret_dir / "api_key").write_text(SECRETS.api_key + "\n")

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def secret_dir(self) -> Path:
        """Where the secret files live: the only place under `root` the secrets may appear."""
        return self.root / "secrets"

    def auth(self, kind: str, url: str = "") -> dict[str, Any]:
        """The `[sources.auth]` table for `kind`: bearer, basic, api_key (header), api_key_query, or
        oauth2 and oauth2_post (client USERNAME with the password as its secret, by HTTP Basic or in
        the form; its token URL is `/token` at the origin of `url`, where the test serves a token)."""
        if kind == "bearer":
            return {"type": "bearer", "token_env": TOKEN_ENV}
        if kind == "basic":
            return {"type": "basic", "username": USERNAME, "password_file": str(self.secret_dir / "password")}
        if kind == "api_key":
            return {"type": "api_key", "token_file": str(self.secret_dir / "api_key")}
        if kind == "api_key_query":
            return {"type": "api_key", "token_file": str(self.secret_dir / "api_key"), "query": "api_key"}
        if kind in ("oauth2", "oauth2_post"):
            return {
                "type": "oauth2_client_credentials",
                "token_url": urljoin(url, "/token"),
                "client_id": USERNAME,
                "client_secret_file": str(self.secret_dir / "password"),
                "client_auth": "client_secret_post" if kind == "oauth2_post" else "client_secret_basic",
            }
        raise ValueError(kind)

    def config(
        self,
        url: str,
        *,
        auth: str = "bearer",
        output_dir: Path | None = None,
        timeout_s: float = 2,
        run_timeout_s: float = 10,
        max_attempts: int = 2,
        max_wait_s: float = 0,
        incremental: bool | Mapping[str, Any] = True,
        filename: str = "fetcher.toml",
        **source: Any,
    ) -> Path:
        """Write a one-source config (incremental on `seq` by default) and return its path."""
        table: dict[str, Any] = {
            "name": NAME,
            "url": url,
            "records": "data",
            "timeout_s": timeout_s,
            "run_timeout_s": run_timeout_s,
            **{key: value for key, value in source.items() if key not in ("pagination",)},
            "retry": {"max_attempts": max_attempts, "max_wait_s": max_wait_s},
            "auth": self.auth(auth, url),
        }
        if "pagination" in source:
            table["pagination"] = source["pagination"]
        if incremental:
            overrides = incremental if isinstance(incremental, Mapping) else {}
            table["incremental"] = {"cursor_field": "seq", "param": "since", "initial": "0", **overrides}
        document = {"output_dir": str(output_dir or self.out), "sources": [table]}
        path = self.root / filename
        path.write_text(toml(document))
        return path

    def env(self, log_level: str = "DEBUG") -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(REPO),
            "PYTHONDONTWRITEBYTECODE": "1",
            "TZ": "UTC",
            TOKEN_ENV: SECRETS.token,
            "FETCHER_LOG_LEVEL": log_level,
        }

    def command(self, config: Path, *args: str) -> list[str]:
        return [sys.executable, "-m", "fetcher", "run", "--config", str(config), *args]

    def start(self, argv: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
        """Start `argv` with the fetcher's environment, stderr piped."""
        return subprocess.Popen(
            list(argv),
            cwd=self.root,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **popen,
        )

    def run(self, config: Path, *args: str, prefix: Sequence[str] = (), safety_net_s: float = 60) -> Result:
        """Run `fetcher run --config CONFIG` to the end (killed after `safety_net_s`, failing the test)."""
        return self.run_argv([*prefix, *self.command(config, *args)], safety_net_s=safety_net_s)

    def run_argv(self, argv: Sequence[str], *, safety_net_s: float = 60) -> Result:
        """Run `argv` to the end and reap it with wait4, which also tells its peak resident memory."""
        started = time.monotonic()
        process = self.start(argv)
        assert process.stderr is not None
        stream = process.stderr
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.append(stream.read()), daemon=True)
        reader.start()
        reader.join(safety_net_s)
        timed_out = reader.is_alive()
        if timed_out:
            process.kill()
            reader.join()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stream.close()
        text = b"".join(chunks).decode(errors="replace")
        self.logs.append(text)
        if timed_out:
            raise AssertionError(
                f"the fetcher still ran after {safety_net_s} s (safety net); stderr:\n{text}"
            )
        return Result(process.returncode, text, time.monotonic() - started, usage.ru_maxrss)
