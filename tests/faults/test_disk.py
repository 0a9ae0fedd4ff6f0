"""Disk faults (issue case 10): a full disk, a read-only or permission-denied output directory.

Each run fails with exit 1, leaves no temporary file, keeps the earlier run's files byte for byte,
and does not advance the state.

The suite runs as root, and root ignores file permissions. The permission cases therefore run the
fetcher as root *without* the capabilities that bypass them (`setpriv --bounding-set
-dac_override,-dac_read_search,-fowner`), against directories owned by another user (65534) with
mode 0755: the kernel then checks the mode bits as for any other user. The fetcher cannot simply
run as uid 65534 here: its interpreter (.venv/bin/python) lives under /root, which is mode 0700.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import FaultServer, cursor_pages

NOBODY = 65534
WITHOUT_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]
needs_setpriv = pytest.mark.skipif(
    shutil.which("setpriv") is None,
    reason="setpriv (util-linux) is needed to drop the capabilities that bypass permissions",
)
CURSOR = {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor"}


def _bulky_pages() -> list[list[dict[str, object]]]:
    """About 2 MiB of text: the spool alone (and every file) outgrows a 1 MiB disk."""
    return [[{"seq": 100 + page * 200 + n, "text": "x" * 1000} for n in range(200)] for page in range(10)]


def _bool_pages() -> list[list[dict[str, object]]]:
    """Tiny in the spool and in Parquet (bools are bits there) but about 1.6 MiB as CSV."""
    return [
        [{"seq": 100 + page * 1000 + n, **{f"b{c}": n % 2 == 0 for c in range(60)}} for n in range(1000)]
        for page in range(5)
    ]


@pytest.fixture
def mounts() -> Iterator[Callable[..., None]]:
    """`mount(*args, target)`; every mount is undone at teardown, newest first."""
    targets: list[str] = []

    def mount(*args: str) -> None:
        done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount (needs root): {done.stderr.strip()}")
        targets.append(args[-1])

    yield mount
    for target in reversed(targets):
        subprocess.run(["umount", target], check=True)


def _partitions(out: Path) -> list[Path]:
    """Today's and tomorrow's (UTC) date directories, created: a run starting now writes into one of them."""
    today = datetime.now(UTC).date()
    paths = [
        disk.source_dir(out) / f"fetch_date={day:%Y-%m-%d}" for day in (today, today + timedelta(days=1))
    ]
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
    return paths


@pytest.mark.parametrize(
    "pages",
    [pytest.param(_bulky_pages(), id="bulky-text"), pytest.param(_bool_pages(), id="bulky-csv")],
)
def test_disk_full_exits_1_keeps_earlier_files(
    harness: Workspace,
    server: FaultServer,
    tiny_disk: Path,
    earlier: dict[str, str],
    pages: list[list[dict[str, object]]],
) -> None:
    server.route("/items", cursor_pages(pages))
    config = harness.config(server.url("/items"), pagination=CURSOR)

    result = harness.run(config)

    record = disk.assert_failed_cleanly(tiny_disk, earlier, result, problem="No space left on device")
    assert record is not None and record["error"]["type"] == "OutputError"


def test_disk_already_full_exits_1_keeps_earlier_files(
    harness: Workspace, server: FaultServer, tiny_disk: Path, earlier: dict[str, str]
) -> None:
    server.route("/items", cursor_pages([[{"seq": 10, "text": "x" * 100}]]))
    config = harness.config(server.url("/items"))
    _fill(tiny_disk / "filler")
    before = disk.snapshot(tiny_disk)

    result = harness.run(config)

    disk.assert_failed_cleanly(tiny_disk, before, result, problem="No space left on device", record=False)


def _fill(path: Path) -> None:
    """Write zeros to `path` until the disk is full."""
    with path.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(bytes(4096))
        except OSError:
            pass


def test_read_only_output_dir_exits_1_keeps_earlier_files(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], mounts: Callable[..., None]
) -> None:
    server.route("/items", cursor_pages([[{"seq": 10}]]))
    config = harness.config(server.url("/items"))
    mounts("--bind", "-o", "ro", str(harness.out), str(harness.out))

    result = harness.run(config)

    disk.assert_failed_cleanly(harness.out, earlier, result, problem="Read-only file system", record=False)
    assert server.hits == [], "nothing to fetch when nothing can be written"


def test_read_only_partition_exits_1_with_failed_run_record(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], mounts: Callable[..., None]
) -> None:
    server.route("/items", cursor_pages([[{"seq": 10}]]))
    config = harness.config(server.url("/items"))
    partitions = _partitions(harness.out)
    before = disk.snapshot(harness.out)
    for path in partitions:
        mounts("--bind", "-o", "ro", str(path), str(path))

    result = harness.run(config)

    record = disk.assert_failed_cleanly(harness.out, before, result, problem="Read-only file system")
    assert record is not None and record["error"]["type"] == "OutputError"
    assert before.keys() >= earlier.keys()


def _give_away(paths: list[Path]) -> None:
    for top in paths:
        for path in [top, *top.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
            path.chmod(0o755 if path.is_dir() else 0o644)


@needs_setpriv
def test_permission_denied_output_dir_exits_1_keeps_earlier_files(
    harness: Workspace, server: FaultServer, earlier: dict[str, str]
) -> None:
    server.route("/items", cursor_pages([[{"seq": 10}]]))
    config = harness.config(server.url("/items"))
    _give_away([harness.out])

    result = harness.run(config, prefix=WITHOUT_DAC)

    disk.assert_failed_cleanly(harness.out, earlier, result, problem="Permission denied", record=False)
    assert server.hits == []


@needs_setpriv
def test_permission_denied_partition_exits_1_with_failed_run_record(
    harness: Workspace, server: FaultServer, earlier: dict[str, str]
) -> None:
    server.route("/items", cursor_pages([[{"seq": 10}]]))
    config = harness.config(server.url("/items"))
    partitions = _partitions(harness.out)
    before = disk.snapshot(harness.out)
    _give_away(partitions)

    result = harness.run(config, prefix=WITHOUT_DAC)

    record = disk.assert_failed_cleanly(harness.out, before, result, problem="Permission denied")
    assert record is not None and record["error"]["type"] == "OutputError"
