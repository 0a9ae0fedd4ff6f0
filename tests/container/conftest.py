"""Container tests on a real Docker engine: the image, uniquely named containers, and polling.

Every test here is marked `docker`. Without an engine they are skipped with the reason, unless
FETCHER_REQUIRE_DOCKER=1, when a missing engine fails them. Containers use `--network host` (they
reach test servers on 127.0.0.1) and are named `fetcher-test-<random>`; only those are removed.
The images the session builds (the runtime image, the test stage's `-py313` one, and the untagged
images the legacy builder keeps of the other stages) are removed when it ends, unless
FETCHER_KEEP_TEST_IMAGES=1 keeps them for a quicker next session.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import polling

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("FETCHER_TEST_IMAGE", "fetcher:test")
_BUILT: list[str] = []  # the images this session built, removed when it ends
JOB = "run-job"  # the fetch job, as cron and `make run-once` run it (docker/run-job)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.docker)


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


# Containers change state slowly: poll them less often than in-process servers.
wait_for = functools.partial(polling.wait_for, interval_s=0.2)


def build_image(tag: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Build the repository's Dockerfile as `tag` (`args`: --target ...), to be removed at the end."""
    result = docker(
        "build", "--network", "host", "-q", *args, "-t", tag, str(REPO), check=False, timeout=1200
    )
    if result.returncode == 0:
        _BUILT.append(tag)
    return result


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """Build the runtime image once per session; remove every image the session built at its end."""
    try:
        answered = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=20).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        answered = False
    if not answered:
        reason = "no Docker engine answers (run ../shared/docker/ensure-docker as root)"
        if os.environ.get("FETCHER_REQUIRE_DOCKER") == "1":
            pytest.fail(f"FETCHER_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)
    before = set(_dangling())
    build = build_image(IMAGE, "--target", "runtime")
    assert build.returncode == 0, build.stderr
    yield IMAGE
    if os.environ.get("FETCHER_KEEP_TEST_IMAGES") != "1":
        for tag in reversed(_BUILT):
            docker("image", "rm", tag, check=False)
        # The legacy builder keeps each other stage's image, untagged: the ones this session left.
        left = [found for found in _dangling() if found not in before]
        if left:
            docker("image", "rm", *left, check=False)


def _dangling() -> list[str]:
    return docker("images", "--filter", "dangling=true", "--quiet", "--no-trunc", check=False).stdout.split()


class Containers:
    """Starts uniquely named containers and removes exactly those."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.names: list[str] = []

    def run(self, *args: str, command: tuple[str, ...] = (), name: str | None = None) -> str:
        name = name or f"fetcher-test-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        docker("run", "-d", "--name", name, "--network", "host", *args, self.image, *command)
        return name

    def exec(self, name: str, *command: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return docker("exec", name, *command, check=check)

    def logs(self, name: str) -> str:
        result = docker("logs", name, check=False)
        return result.stdout + result.stderr

    def inspect(self, name: str) -> dict[str, Any]:
        return json.loads(docker("inspect", name).stdout)[0]

    def health(self, name: str) -> tuple[str, str]:
        state = self.inspect(name)["State"]
        log = state.get("Health", {}).get("Log") or [{}]
        return state.get("Health", {}).get("Status", "none"), log[-1].get("Output", "").strip()

    def remove_all(self) -> None:
        for name in self.names:
            docker("rm", "-f", "-v", name, check=False)


@pytest.fixture
def containers(image: str) -> Iterator[Containers]:
    fleet = Containers(image)
    yield fleet
    fleet.remove_all()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A host directory for /out, owned by an ordinary user (uid 1234), as a user's would be."""
    path = tmp_path / "out"
    path.mkdir()
    os.chown(path, 1234, 1234)
    return path


def run_records(out: Path, source: str) -> list[dict[str, Any]]:
    runs = out / source / "_runs"
    return [json.loads(path.read_text()) for path in sorted(runs.glob("*.json"))] if runs.exists() else []


def data_files(out: Path, source: str) -> list[Path]:
    return sorted(path for path in out.glob(f"{source}/fetch_date=*/*") if not path.name.startswith("."))


def temp_files(out: Path) -> list[Path]:
    return sorted(out.rglob(".*.tmp"))
