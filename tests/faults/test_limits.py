"""Limits on what is read (issue case 5): oversized bodies, gzip bombs and deep nesting fail cleanly.

"Refused without reading it all" is measured where it happens: the server counts the bytes the
fetcher took before hanging up, and a gzip bomb is judged by the fetcher's peak memory (its 1 GB
would be in it, had it been inflated).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pyarrow.parquet as pq
import pytest

from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import FaultServer, Stream, gzip_bomb, reply
from tests.landed import without_run_columns

MIB = 1 << 20
GIB = 1 << 30
# Far below the 1 GiB a bomb inflates to, far above what a run holding a few MiB needs (about 100 MiB).
PEAK_RSS_LIMIT_KB = 400 * 1024


@pytest.mark.parametrize(
    ("stream", "max_response_mb", "problem"),
    [
        pytest.param(
            Stream(128 * MIB), 1, "body is larger than max_response_mb=1 (Content-Length", id="content-length"
        ),
        pytest.param(
            Stream(128 * MIB, declare_length=False),
            1,
            "body is larger than max_response_mb=1 after",
            id="chunked",
        ),
        pytest.param(
            Stream(300 * MIB),
            None,
            "body is larger than max_response_mb=256 (Content-Length",
            id="default-256",
        ),
    ],
)
def test_max_response_mb_larger_body_refused_unread(
    harness: Workspace,
    server: FaultServer,
    earlier: dict[str, str],
    stream: Stream,
    max_response_mb: int | None,
    problem: str,
) -> None:
    server.route("/items", stream)
    limit = {} if max_response_mb is None else {"max_response_mb": max_response_mb}
    config = harness.config(server.url("/items"), max_attempts=1, **limit)

    result = harness.run(config)

    disk.assert_failed_cleanly(harness.out, earlier, result, problem=problem)
    assert stream.done.wait(10), "the server was still sending: the fetcher never hung up"
    assert stream.sent < stream.total // 4, f"the fetcher took {stream.sent} of {stream.total} bytes"


@cache
def _bomb(layers: int) -> bytes:
    return gzip_bomb(GIB, layers=layers)


@pytest.mark.parametrize(
    ("layers", "encoding"),
    [pytest.param(1, "gzip", id="gzip-1MB"), pytest.param(2, "gzip, gzip", id="gzip-gzip-few-KB")],
)
def test_max_response_mb_gzip_bomb_refused_without_inflating(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], layers: int, encoding: str
) -> None:
    body = _bomb(layers)
    assert len(body) < 2 * MIB and (layers == 1 or len(body) < 16 * 1024)
    server.route("/items", reply(200, body, {"Content-Encoding": encoding}))
    config = harness.config(server.url("/items"), max_attempts=1, max_response_mb=4)

    result = harness.run(config)

    disk.assert_failed_cleanly(
        harness.out, earlier, result, problem="body is larger than max_response_mb=4 after decompression"
    )
    assert result.peak_rss_kb < PEAK_RSS_LIMIT_KB, (
        f"peak memory {result.peak_rss_kb} KiB: the bomb was inflated"
    )


def _nested_objects(depth: int) -> bytes:
    return b'{"data": [' + b'{"a": ' * depth + b"1" + b"}" * depth + b"]}"


def _nested_arrays(depth: int) -> bytes:
    return b'{"data": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("make", "depth"),
    [
        pytest.param(_nested_objects, 10_000, id="objects-10000"),
        pytest.param(_nested_arrays, 10_000, id="arrays-10000"),
    ],
)
def test_deep_nesting_fails_cleanly(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], make: Callable[[int], bytes], depth: int
) -> None:
    server.route("/items", reply(200, make(depth)))
    config = harness.config(server.url("/items"), max_attempts=1)

    result = harness.run(config)

    record = disk.assert_failed_cleanly(harness.out, earlier, result, problem="nested too deeply")
    assert record is not None and "bug" not in record["error"], record["error"]


def test_deep_nesting_parsable_written_whole(harness: Workspace, server: FaultServer) -> None:
    """950 levels parse (the parser's limit is near 1000), and the whole record is written, no traceback.

    Flattening stops at some depth and keeps what lies below as JSON text (records.py: 32 levels;
    the README does not say), so the column path plus that text must hold all 950 levels.
    """
    depth = 950
    server.route("/items", reply(200, _nested_objects(depth)))

    result = harness.run(harness.config(server.url("/items"), incremental=False, max_attempts=1))

    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    rows = disk.check_published_files(harness.out)
    assert list(rows.values()) == [1] and disk.temp_files(harness.out) == []
    parquet, csv_path = disk.new_data(harness.out, {})
    table = without_run_columns(pq.read_table(parquet))  # check_published_files checked them
    (column,) = table.column_names
    levels = column.split("__")
    assert set(levels) == {"a"}
    below = depth - len(levels)
    expected = '{"a":' * below + "1" + "}" * below
    (value,) = table.column(column).to_pylist()
    assert value.replace(" ", "") == expected
    assert disk.without_run_cells(disk.read_csv(csv_path)) == [{column: value}]
