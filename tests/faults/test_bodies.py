"""Bodies (issue cases 6 and 7): unusable 200s publish nothing; unusual valid JSON is kept as documented."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import Conn, FaultServer, Hit, Route, reply
from tests.landed import without_run_columns

CURSOR = {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor"}
GOOD_FIRST_PAGE = {"data": [{"seq": 10, "name": "fine"}], "next": "2"}


def _cut_after(body: bytes, declared: int) -> Route:
    """Declare `declared` bytes, send `body` (fewer), then close the connection."""

    def route(hit: Hit, conn: Conn) -> None:
        conn.head(200, {"Content-Length": str(declared), "Connection": "close"})
        conn.write(body)

    return route


def _second_page(route: Route) -> Route:
    """A good first page, then `route` for the second."""

    def pages(hit: Hit, conn: Conn) -> None:
        if "cursor" in hit.query:
            route(hit, conn)
        else:
            conn.send(200, GOOD_FIRST_PAGE)

    return pages


@pytest.mark.parametrize(
    ("route", "problem"),
    [
        pytest.param(
            reply(200, "<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"}),
            "body is not JSON (text/html)",
            id="html-error-page",
        ),
        pytest.param(
            reply(200, b'{"data": [{"seq": 11, "name": '), "body is truncated JSON", id="truncated-json"
        ),
        pytest.param(
            reply(200, b'{"data": [{"seq": 11, "name": "cut'),
            "body is truncated JSON",
            id="truncated-json-inside-string",
        ),
        pytest.param(
            _cut_after(b'{"data": [{"seq": 11, "na', 4096),
            "connection broken mid-body (truncated)",
            id="truncated-connection",
        ),
        pytest.param(
            reply(200, b'{"data": [{"seq": 11, "name": "\xff\xfe bad"}]}'),
            "body is not valid UTF-8",
            id="invalid-utf8",
        ),
        pytest.param(
            reply(200, b'{"data": [{"seq": 11, "name": "\xed\xa0\x80"}]}'),
            "body is not valid UTF-8",
            id="utf8-surrogate",
        ),
        pytest.param(reply(200, b""), "body is empty", id="empty-body"),
    ],
)
def test_bad_200_second_page_exits_1_publishes_nothing(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], route: Route, problem: str
) -> None:
    server.route("/items", _second_page(route))
    config = harness.config(server.url("/items"), pagination=CURSOR)

    result = harness.run(config)

    record = disk.assert_failed_cleanly(harness.out, earlier, result, problem=problem)
    assert record is not None and server.url("/items") in record["error"]["message"]
    assert record["pages"] == 1, "the good first page was fetched, then the run failed on the second"


def _data(out: Path) -> tuple[pa.Table, list[dict[str, str | None]]]:
    """The Parquet table and the CSV rows, without the metadata columns (check_published_files
    has checked those)."""
    parquet, csv = sorted(disk.data_files(out), key=lambda path: path.suffix, reverse=True)
    return without_run_columns(pq.read_table(parquet)), disk.without_run_cells(disk.read_csv(csv))


def _run_ok(
    harness: Workspace, server: FaultServer, body: bytes
) -> tuple[pa.Table, list[dict[str, str | None]]]:
    server.route("/items", reply(200, body))
    result = harness.run(harness.config(server.url("/items"), incremental=False))
    assert result.returncode == 0, result.stderr
    assert disk.temp_files(harness.out) == []
    rows = disk.check_published_files(harness.out)
    (record,) = disk.run_records(harness.out)
    assert record["status"] == "succeeded" and list(rows.values()) == [record["records"]], record
    assert disk.state(harness.out) is None
    return _data(harness.out)


def test_unusual_json_nan_infinity_kept_as_ieee_values(harness: Workspace, server: FaultServer) -> None:
    body = (
        b'{"data": [{"f": NaN, "g": 1}, {"f": Infinity, "g": 2.5}, {"f": -Infinity, "g": NaN}, {"f": 0.5}]}'
    )

    table, rows = _run_ok(harness, server, body)

    assert table.schema.field("f").type == pa.float64() and table.schema.field("g").type == pa.float64()
    f = table.column("f").to_pylist()
    assert math.isnan(f[0]) and f[1:] == [math.inf, -math.inf, 0.5]
    g = table.column("g").to_pylist()
    assert g[:2] == [1.0, 2.5] and math.isnan(g[2]) and g[3] is None
    assert [row["f"] for row in rows] == ["nan", "inf", "-inf", "0.5"]
    assert [row["g"] for row in rows] == ["1", "2.5", "nan", None]


# One body read by the fast parser (msgspec), and the same records with a NaN, which sends the
# whole body to the exact parser (json): both must keep big integers and let the last duplicate win.
BIG_AND_DUPLICATES = (
    b'{"data": [{"big": 123456789012345678901234567890, "i64": 9223372036854775807, "wide": 9007199254740993,'
    b' "dup": 1, "dup": 2, "nested": {"k": 1, "k": {"deep": true}}},'
    b' {"big": -99999999999999999999, "i64": -9223372036854775808, "wide": 1.5, "dup": "x", "dup": "y"},'
    b' {"big": 5, "i64": 0, "wide": null}%s]}'
)


@pytest.mark.parametrize(
    ("body", "extra_rows"),
    [
        pytest.param(b"\xef\xbb\xbf" + BIG_AND_DUPLICATES % b"", 0, id="bom-fast-parser"),
        pytest.param(b"\xef\xbb\xbf" + BIG_AND_DUPLICATES % b', {"nan": NaN}', 1, id="bom-exact-parser"),
    ],
)
def test_unusual_json_big_ints_bom_duplicates_kept(
    harness: Workspace, server: FaultServer, body: bytes, extra_rows: int
) -> None:
    table, rows = _run_ok(harness, server, body)

    types = {item.name: item.type for item in table.schema}
    assert types["big"] == pa.string() and types["i64"] == pa.int64() and types["wide"] == pa.string()
    assert types["dup"] == pa.string() and types["nested__k__deep"] == pa.bool_()
    assert "nested.k" not in types, "the first duplicate of nested.k should have been dropped"
    data = table.to_pylist()[:3]
    assert [row["big"] for row in data] == ["123456789012345678901234567890", "-99999999999999999999", "5"]
    assert [row["i64"] for row in data] == [2**63 - 1, -(2**63), 0]
    assert [row["wide"] for row in data] == ["9007199254740993", "1.5", None]
    assert [row["dup"] for row in data] == ["2", "y", None]
    assert [row["nested__k__deep"] for row in data] == [True, None, None]
    assert len(rows) == 3 + extra_rows
    assert [row["big"] for row in rows[:3]] == [
        "123456789012345678901234567890",
        "-99999999999999999999",
        "5",
    ]
    assert [row["i64"] for row in rows[:3]] == [str(2**63 - 1), str(-(2**63)), "0"]
    assert [row["wide"] for row in rows[:3]] == ["9007199254740993", "1.5", None]


def test_unusual_json_unicode_null_columns_empty_objects_kept(
    harness: Workspace, server: FaultServer
) -> None:
    records: list[dict[str, Any]] = [
        {
            "名前": "値 🎉",
            "ключ": {"вложенный": "é"},
            "none": None,
            "meta": {},
            "text": "",
            "q": 'say "hi",\nok',
        },
        {"名前": "Ω\u200b", "ключ": {"вложенный": None}, "none": None, "meta": {}, "text": None, "q": "\t"},
        {},
    ]

    table, rows = _run_ok(harness, server, json.dumps({"data": records}).encode())

    assert table.schema.field("none").type == pa.null()
    assert table.schema.field("meta").type == pa.string()
    assert table.to_pylist() == [
        {
            "名前": "値 🎉",
            "ключ__вложенный": "é",
            "none": None,
            "meta": "{}",
            "text": "",
            "q": 'say "hi",\nok',
        },
        {"名前": "Ω\u200b", "ключ__вложенный": None, "none": None, "meta": "{}", "text": None, "q": "\t"},
        {"名前": None, "ключ__вложенный": None, "none": None, "meta": None, "text": None, "q": None},
    ]
    assert rows == table.to_pylist(), (
        'the CSV holds the same text, with an empty field for null and "" for ""'
    )


@pytest.mark.parametrize(
    "records", [pytest.param({}, id="object"), pytest.param([], id="array"), pytest.param(None, id="null")]
)
def test_unusual_json_empty_records_succeed_without_data_file(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], records: Any
) -> None:
    server.route("/items", reply(200, {"data": records}))

    result = harness.run(harness.config(server.url("/items")))

    assert result.returncode == 0, result.stderr
    assert "event=empty" in result.stderr
    after = disk.snapshot(harness.out)
    assert {path: after[path] for path in earlier} == earlier, "earlier files (and the state) changed"
    (new,) = set(after) - set(earlier)
    assert "/_runs/" in new and disk.run_records(harness.out)[-1]["records"] == 0
    assert disk.temp_files(harness.out) == []


def test_unusual_json_records_without_fields_counted_as_written(
    harness: Workspace, server: FaultServer
) -> None:
    server.route("/items", reply(200, {"data": [{}, {}]}))

    result = harness.run(harness.config(server.url("/items"), incremental=False))

    assert result.returncode == 0, result.stderr
    record = disk.run_records(harness.out)[-1]
    assert record["records"] == 2 and record["files"] == [], record  # as the README says: no data file
