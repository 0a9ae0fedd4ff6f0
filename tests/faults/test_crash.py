"""Crashes at chosen moments (issue case 12, and the crash points around it), by `crash_at.py`.

A run that dies after its files are published but before the state moves is re-run: delivery is
at least once, as the README documents ("Incremental runs"): the re-run repeats the crashed run's
records (duplicates across runs, deduplicated downstream on the primary key) and never skips one.
The other cases pin the order the README gives (data files, then the run record, then the state)
and what a crash leaves under final names.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.faults import harness as h
from tests.faults import ondisk as disk
from tests.faults.conftest import EARLIER_RECORDS, Workspace
from tests.faults.faultserver import Conn, FaultServer, Hit, Route


def _second(offset_s: int) -> str:
    """A start second `offset_s` from now (ISO, UTC): later than the earlier run's."""
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=offset_s)
    return moment.isoformat().replace("+00:00", "Z")


def _crash_run(harness: Workspace, config: Path, *options: str) -> h.Result:
    return harness.run_argv(
        [sys.executable, "-m", "tests.faults.crash_at", *options, "--", "run", "--config", str(config)]
    )


def _since(served: list[dict[str, Any]]) -> Route:
    """An API that filters on `since`, as the README expects of it."""

    def route(hit: Hit, conn: Conn) -> None:
        since = int(hit.query["since"])
        conn.send(200, {"data": [record for record in served if record["seq"] > since]})

    return route


def _seqs(out: Path) -> Counter[int]:
    """How many times each seq is in the published Parquet files."""
    return Counter(
        seq
        for path in disk.data_files(out)
        if path.suffix == ".parquet"
        for seq in pq.read_table(path).column("seq").to_pylist()
    )


def test_crash_before_state_rerun_repeats_records_never_skips(
    harness: Workspace, server: FaultServer, earlier: dict[str, str]
) -> None:
    """Delivery is at least once: the re-run repeats the crashed run's records (duplicates across runs)."""
    served = [*EARLIER_RECORDS, {"seq": 4, "name": "four"}, {"seq": 5, "name": "five"}]
    server.route("/items", _since(served))
    config = harness.config(server.url("/items"))
    first, second = _second(10), _second(11)

    crashed = _crash_run(harness, config, "--crash", "fetcher.run.state:save_cursor", "--clock", first)

    assert crashed.returncode == -9, crashed.stderr
    assert disk.snapshot(harness.out)[f"{h.NAME}/_state.json"] == earlier[f"{h.NAME}/_state.json"]
    assert _seqs(harness.out) == Counter({1: 1, 2: 1, 3: 1, 4: 1, 5: 1}), (
        "the crashed run's files were published"
    )
    disk.check_published_files(harness.out)
    published = disk.snapshot(harness.out)

    served.append({"seq": 6, "name": "six"})
    rerun = _crash_run(harness, config, "--clock", second)  # no crash: an ordinary run, a second later

    assert rerun.returncode == 0, rerun.stderr
    assert [hit.query["since"] for hit in server.hits_to("/items")] == ["3", "3"], (
        "the re-run resent the old cursor"
    )
    assert _seqs(harness.out) == Counter({1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 1}), (
        "4 and 5 repeat; nothing is lost"
    )
    after = disk.snapshot(harness.out)
    assert all(after[path] == digest for path, digest in published.items() if "_state" not in path)
    assert disk.state(harness.out)["cursor"] == 6
    assert disk.temp_files(harness.out) == []


def test_crash_between_publishes_published_file_complete(harness: Workspace, server: FaultServer) -> None:
    """A power cut between the renames of a run's files: the one already renamed is complete.

    (An error there removes it again: all of a run's files or none. A SIGKILL leaves no time.)
    """
    server.route("/items", _since([{"seq": n, "name": f"n{n}"} for n in range(1, 101)]))
    config = harness.config(server.url("/items"))

    crashed = _crash_run(harness, config, "--crash", "fetcher.storage.local:os.replace@2")

    assert crashed.returncode == -9, crashed.stderr
    (published,) = disk.data_files(harness.out)
    assert disk.check_published_files(harness.out) == {published.stem.rsplit("_", 1)[1]: 100}


def test_crash_before_run_record_state_not_advanced(
    harness: Workspace, server: FaultServer, earlier: dict[str, str]
) -> None:
    server.route("/items", _since([*EARLIER_RECORDS, {"seq": 4, "name": "four"}]))
    config = harness.config(server.url("/items"))

    crashed = _crash_run(harness, config, "--crash", "fetcher.run.history:save")

    assert crashed.returncode == -9, crashed.stderr
    assert _seqs(harness.out)[4] == 1, "the data files were published before the crash"
    assert disk.snapshot(harness.out)[f"{h.NAME}/_state.json"] == earlier[f"{h.NAME}/_state.json"], (
        "the state moved before the run record was written"
    )


def test_crash_after_publish_rerun_same_second_keeps_published_files(
    harness: Workspace, server: FaultServer, earlier: dict[str, str]
) -> None:
    served = [*EARLIER_RECORDS, {"seq": 4, "name": "four"}, {"seq": 5, "name": "five"}]
    server.route("/items", _since(served))
    config = harness.config(server.url("/items"))
    second = _second(10)

    crashed = _crash_run(harness, config, "--crash", "fetcher.run.history:save", "--clock", second)
    assert crashed.returncode == -9, crashed.stderr
    published = disk.snapshot(harness.out)
    served.append({"seq": 6, "name": "six"})
    rerun = _crash_run(harness, config, "--clock", second)  # the same second

    assert rerun.returncode == 0, rerun.stderr
    after = disk.snapshot(harness.out)
    changed = [
        path for path, digest in published.items() if "_state" not in path and after.get(path) != digest
    ]
    assert changed == [], f"published files overwritten by the re-run: {changed}"
    assert set(_seqs(harness.out)) == {1, 2, 3, 4, 5, 6}, "records lost"
