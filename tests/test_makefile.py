"""The Makefile: every target documented in `make help`, and the variables users override."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TARGETS = ["build", "run", "run-once", "logs", "status", "stop", "shell", "demo", "test", "lint", "clean"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def test_help_lists_every_target_with_a_description() -> None:
    makefile = (REPO / "Makefile").read_text()
    declared = re.findall(r"^([a-z][a-z0-9-]*):.*?## (.+)$", makefile, re.MULTILINE)
    phony = set(re.findall(r"^\.PHONY: (\S+)$", makefile, re.MULTILINE))

    output = subprocess.run(
        ["make", "-s", "-C", str(REPO), "help"], capture_output=True, text=True, check=True
    )
    help_text = re.sub(r"\x1b\[[0-9;]*m", "", output.stdout)  # without the colours

    assert set(TARGETS) <= {name for name, _ in declared}
    assert phony == {name for name, _ in declared}
    for name, description in declared:
        assert re.search(rf"\b{re.escape(name)}\b.*{re.escape(description)}", help_text), name


def test_images_and_containers_are_overridable() -> None:
    makefile = (REPO / "Makefile").read_text()

    assert "IMAGE ?= fetcher" in makefile and "CONTAINER ?= fetcher" in makefile
    assert ".DEFAULT_GOAL := help" in makefile


def test_run_refuses_without_a_config_file(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "-s", "-C", str(REPO), "run", f"CONFIG={tmp_path / 'missing.toml'}"],
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "no " in result.stderr and "copy fetcher.example.toml" in result.stderr


def test_help_shows_the_variables_users_override() -> None:
    output = subprocess.run(
        ["make", "-s", "-C", str(REPO), "help"], capture_output=True, text=True, check=True
    )
    help_text = re.sub(r"\x1b\[[0-9;]*m", "", output.stdout)

    for variable in ("IMAGE", "CONTAINER", "CONFIG", "OUTPUT", "RUN_FLAGS"):
        assert re.search(rf"^  {variable} +\S", help_text, re.MULTILINE), variable
    assert "--network=host" in help_text


def test_bench_takes_as_long_in_help_as_in_the_readme() -> None:
    makefile = (REPO / "Makefile").read_text()
    readme = (REPO / "README.md").read_text()

    (in_help,) = re.findall(r"^bench:.*\(about (\d+) min\)", makefile, re.MULTILINE)
    (in_readme,) = re.findall(r"`make bench` \(about (\d+) minutes\)", readme)
    assert in_help == in_readme


STUB = """#!/bin/sh
# A stand-in for docker: logs each call; `container inspect` answers $STUB_STATE, or no such container.
echo "$*" >> "$STUB_LOG"
if [ "$1 $2" = "container inspect" ]; then
  if [ -z "$STUB_STATE" ]; then echo "Error response from daemon: No such container: $5" >&2; exit 1; fi
  echo "$STUB_STATE"
fi
"""


class StubDocker:
    """`make` with a stub `docker` first on PATH, in a container whose state the test chooses."""

    def __init__(self, tmp_path: Path) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "docker").write_text(STUB)
        (bin_dir / "docker").chmod(0o755)
        self.path = f"{bin_dir}:/usr/bin:/bin"
        self.log = tmp_path / "docker-calls"
        self.config = tmp_path / "fetcher.toml"
        self.config.write_text("")

    def make(self, target: str, state: str = "", **variables: str) -> subprocess.CompletedProcess[str]:
        settings = {"CONTAINER": "fetcher-x", "CONFIG": str(self.config), **variables}
        return subprocess.run(
            ["make", "-s", "-C", str(REPO), target, *(f"{name}={value}" for name, value in settings.items())],
            capture_output=True,
            text=True,
            env={"PATH": self.path, "STUB_LOG": str(self.log), "STUB_STATE": state},
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def stub(tmp_path: Path) -> StubDocker:
    return StubDocker(tmp_path)


@pytest.mark.parametrize("target", ["status", "logs", "shell"])
def test_target_without_a_container_says_to_start_one(stub: StubDocker, target: str) -> None:
    result = stub.make(target)

    assert result.returncode != 0
    assert f"make {target}: no container named fetcher-x; start it with: make run" in result.stderr
    assert "No such container" not in result.stderr
    assert not [call for call in stub.calls() if call.startswith("exec")]


def test_target_with_a_stopped_container_says_where_to_look(stub: StubDocker) -> None:
    result = stub.make("status", state="exited")

    assert result.returncode != 0
    assert "the container fetcher-x is exited, not running; see why: docker logs fetcher-x" in result.stderr
    assert "make stop && make run" in result.stderr


def test_status_with_a_running_container_asks_it(stub: StubDocker) -> None:
    result = stub.make("status", state="running")

    assert result.returncode == 0, result.stderr
    assert "exec fetcher-x python -m fetcher status" in stub.calls()


def test_stop_without_a_container_has_nothing_to_do(stub: StubDocker) -> None:
    result = stub.make("stop")

    assert result.returncode == 0
    assert "make stop: no container named fetcher-x; nothing to stop" in result.stderr
    assert not [call for call in stub.calls() if call.startswith(("stop", "rm"))]


def test_stop_stops_and_removes_the_container(stub: StubDocker) -> None:
    assert stub.make("stop", state="running").returncode == 0

    assert stub.calls()[-2:] == ["stop fetcher-x", "rm fetcher-x"]


@pytest.mark.parametrize("state", ["running", "exited"])
def test_run_with_the_container_already_there_says_what_to_do(stub: StubDocker, state: str) -> None:
    result = stub.make("run", state=state)

    assert result.returncode != 0
    assert (
        f"make run: a container named fetcher-x already exists ({state}); make stop removes it"
        in result.stderr
    )
    assert "make run CONTAINER=" in result.stderr
    assert not [call for call in stub.calls() if call.startswith("run")]


def test_run_starts_the_container_when_there_is_none(stub: StubDocker) -> None:
    result = stub.make("run", RUN_FLAGS="--network=host")

    assert result.returncode == 0, result.stderr
    (started,) = [call for call in stub.calls() if call.startswith("run")]
    assert started.startswith("run -d --name fetcher-x --network=host -v ")


def test_build_builds_only_the_runtime_stage(stub: StubDocker) -> None:
    assert stub.make("build", IMAGE="fetcher:x").returncode == 0

    (build,) = [call for call in stub.calls() if call.startswith("build")]
    assert "--target runtime -t fetcher:x ." in build


def test_demo_api_has_its_own_health_check(stub: StubDocker) -> None:
    assert stub.make("demo", state="running", OUTPUT=str(stub.config.parent)).returncode == 0

    (api,) = [call for call in stub.calls() if call.startswith("run -d --name fetcher-x-demo-api")]
    assert "--health-cmd python /app/demo/api.py --check --port 8900" in api
    assert api.endswith("python /app/demo/api.py --port 8900")
