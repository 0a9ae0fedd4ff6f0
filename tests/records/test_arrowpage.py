"""The fast page path: on any JSON page and rules it declines or gives to_table's very table."""

from __future__ import annotations

import importlib.util
import json
import logging
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetcher.errors import RecordsError
from fetcher.http.decode import NotJson, decode
from fetcher.records import arrowpage
from fetcher.records.arrowcolumns import Declined
from fetcher.records.flatten import extract, to_table
from fetcher.records.rules import DEFAULT_RULES, ColumnRules
from tests.records.test_properties import KEY_PARTS, STRINGS


def _bench_server() -> Any:
    """bench/server.py, which renders the benchmark's pages (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_server", BENCH_SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH_SERVER = Path(__file__).resolve().parents[2] / "bench" / "server.py"
render_pages = _bench_server().render_pages

KEYS = st.one_of(st.sampled_from(["a", "b", "c", "fetch_date", "a__b", "Ab"]), KEY_PARTS, st.text(max_size=3))
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, 2**63, -(2**63), 0, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-5, 5).map(float),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=6), *STRINGS.values())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)
# Raw text json.dumps never writes: the exact path must decide these.
ODD_RECORDS = st.sampled_from(
    [
        '{"a":1,"a":2}',
        '{"a":NaN}',
        '{"a":1e400}',
        '{"a":{}}',
        '{"a":"\\ud800"}',
        '{"a":[null,"x"]}',
        '{"a" : 1}',
    ]
)


LEAVES = [
    st.integers(-(10**6), 10**6),
    NUMBERS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=6),
    *STRINGS.values(),
    st.lists(st.text(max_size=4), max_size=3),
    st.lists(st.integers(-5, 2**63), max_size=3),
    st.lists(st.booleans(), max_size=2),
]


@st.composite
def _shape(draw: st.DrawFn, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of one loose shape: each key's values mostly of one kind, sometimes null or anything."""
    fields = {}
    for key in draw(st.lists(KEYS, min_size=1, max_size=4, unique=True)):
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            kind = draw(_shape(depth + 1))
        else:
            kind = draw(st.sampled_from(LEAVES))
        fields[key] = st.one_of(kind, kind, kind, st.none(), VALUES)
    first, *rest = fields
    return st.fixed_dictionaries({first: fields[first]}, optional={key: fields[key] for key in rest})


def _body(draw: st.DrawFn, shape: st.SearchStrategy[dict[str, Any]], top: bool) -> bytes:
    """A page body of records of `shape`, some with odd raw text; at the top level or at `data`."""
    rows = [
        json.dumps(draw(shape), ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
        for _ in range(draw(st.integers(1, 6)))
    ]
    if draw(st.integers(0, 4)) == 0:
        rows.insert(draw(st.integers(0, len(rows))), draw(ODD_RECORDS))
    listed = "[" + ",".join(rows) + "]"
    return (listed if top else f'{{"meta":{{"next":null}},"data":{listed},"page":1}}').encode()


@st.composite
def _bodies(draw: st.DrawFn) -> tuple[list[bytes], str]:
    """One to four page bodies of one shape, so written that many pages are fast, and their records path."""
    shape = draw(_shape())
    top = draw(st.booleans())
    return [_body(draw, shape, top) for _ in range(draw(st.integers(1, 4)))], "" if top else "data"


RULES = st.builds(
    ColumnRules,
    flatten_separator=st.sampled_from(["__", "_", "."]),
    column_names=st.sampled_from(["as_is", "snake_case"]),
    infer_types=st.booleans(),
    columns=st.dictionaries(
        st.sampled_from(["a", "b", "a__b", "c"]), st.sampled_from(["json", "string", "int64"])
    ),
    exclude=st.lists(st.sampled_from(["a", "b", "a.b", "c.a"]), max_size=2).map(tuple),
)


def _exact(body: bytes, path: str, rules: ColumnRules) -> pa.Table | None:
    """To-day's exact path, or None where it refuses the page."""
    try:
        document = decode(body)
        return to_table(extract(document.value, path, "u"), exact=document.exact, rules=rules)
    except (NotJson, RecordsError):
        return None


def _fast(
    body: bytes, path: str, rules: ColumnRules, hint: arrowpage.SchemaHint | None = None
) -> pa.Table | None:
    try:
        return arrowpage.read_table(arrowpage.split(body, path).raws, rules, hint)
    except Declined:
        return None


@settings(max_examples=400, deadline=None)
@given(pages=_bodies(), rules=RULES)
def test_properties_the_fast_path_declines_or_equals_the_exact_path(
    pages: tuple[list[bytes], str], rules: ColumnRules
) -> None:
    """Page after page of one source, each read with the schema hint the pages before left."""
    bodies, path = pages
    hint = arrowpage.SchemaHint()
    for body in bodies:
        fast = _fast(body, path, rules, hint)
        if fast is None:
            continue
        exact = _exact(body, path, rules)
        assert exact is not None, "the fast path built a page the exact path refuses"
        assert fast.equals(exact, check_metadata=True), (fast.schema, exact.schema, fast.to_pylist())


def _bench_pages(count: int) -> list[bytes]:
    return render_pages(count * 50, 50)


def test_the_bench_pages_take_the_fast_path_and_equal_the_exact_path() -> None:
    for body in _bench_pages(6):
        fast = _fast(body, "data", DEFAULT_RULES)
        assert fast is not None
        assert fast.equals(_exact(body, "data", DEFAULT_RULES), check_metadata=True)


TYPICAL = [
    [{"id": 1, "login": "octocat", "site_admin": False, "created_at": "2011-01-25T18:44:36Z", "plan": None}],
    [{"id": "a1", "amount": 12.5, "currency": "EUR", "tags": [], "customer": {"id": 7, "email": "x@y.z"}}],
    [{"sku": "X-1", "price": 9.99, "stock": 3, "sizes": ["S", "M"], "ids": [1, 2], "flags": [True]}] * 3,
    [{"name": 'Zoë "quoted" \\ back', "day": "2024-02-29", "at": "2024-02-29 10:00"}, {"name": None}],
]


@pytest.mark.parametrize("records", TYPICAL)
@pytest.mark.parametrize(
    "rules",
    [DEFAULT_RULES, ColumnRules(column_names="snake_case", infer_types=False, exclude=("customer.email",))],
)
def test_typical_api_pages_take_the_fast_path(records: list[dict[str, Any]], rules: ColumnRules) -> None:
    for body in (json.dumps({"data": records}), json.dumps({"data": records}, indent=2, ensure_ascii=False)):
        fast = _fast(body.encode(), "data", rules)
        assert fast is not None
        assert fast.equals(_exact(body.encode(), "data", rules), check_metadata=True)


@pytest.mark.parametrize(
    ("body", "rules", "reason"),
    [
        (b'\xef\xbb\xbf{"data":[{"a":1}]}', DEFAULT_RULES, "byte order mark"),
        (b'{"data":[]}', DEFAULT_RULES, "no records"),
        (b'{"data":[{"a":1},2]}', DEFAULT_RULES, "not an object"),
        (b'{"items":[{"a":1}]}', DEFAULT_RULES, "did not split"),
        (b'{"data":{"a":1}}', DEFAULT_RULES, "did not split"),
        (b'{"data":[{"a":NaN}]}', DEFAULT_RULES, "did not split"),
        (b'{"data":[{"a":1e400}]}', DEFAULT_RULES, "pyarrow"),
        (b'{"data":[{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", DEFAULT_RULES, "did not split"),
        (b'{"data":[{"a":{}}]}', DEFAULT_RULES, "empty object"),
        (b'{"data":[{"a":1,"a":2}]}', DEFAULT_RULES, "pyarrow"),
        (b'{"data":[{"a":1},{"a":"x"}]}', DEFAULT_RULES, "pyarrow"),
        (b'{"data":[{"a":"\\ud800"}]}', DEFAULT_RULES, "did not split"),
        (b'{"data":[{"a":1},{"a":2.5}]}', DEFAULT_RULES, "integer next to doubles"),
        (b'{"data":[{"a":99999999999999999999}]}', DEFAULT_RULES, "integer next to doubles"),
        (b'{"data":[{"\\u0061":1.0}]}', DEFAULT_RULES, "escapes"),
        (b'{"data":[{"a":[1.5]}]}', DEFAULT_RULES, "a list of double"),
        (b'{"data":[{"a":[[1]]}]}', DEFAULT_RULES, "a list of list"),
        (b'{"data":[{"a":[{"b":1}]}]}', DEFAULT_RULES, "a list of struct"),
        (b'{"data":[{"a":["x",null]}]}', DEFAULT_RULES, "a list holds null"),
        (b'{"data":[{"a":[null]}]}', DEFAULT_RULES, "a list holds null"),
        (b'{"data":[{"a":["x\\n"]}]}', DEFAULT_RULES, "control character"),
        (b'{"data":[{"a":{"b":1}}]}', ColumnRules(columns={"a": "json"}), "declared json"),
        (b'{"data":[{"a":1.5}]}', ColumnRules(columns={"a": "decimal(9,2)"}), "declared decimal"),
        (b'{"data":[{"a__b":1,"a":{"b":2}}]}', DEFAULT_RULES, "two paths"),
        (b'{"data":[' + b'{"a":' * 33 + b"1" + b"}" * 33 + b"]}", DEFAULT_RULES, "MAX_DEPTH"),
    ],
)
def test_each_fallback_says_why(body: bytes, rules: ColumnRules, reason: str) -> None:
    with pytest.raises(Declined, match=reason):
        arrowpage.read_table(arrowpage.split(body, "data").raws, rules)


def test_a_page_nested_too_deeply_to_walk_takes_the_exact_path(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fetcher")
    body = b'{"data":[' + b'{"a":' * 950 + b"1" + b"}" * 950 + b"]}"
    split = arrowpage.split(body, "data")
    assert arrowpage.fast_table(split, DEFAULT_RULES, "api", arrowpage.SchemaHint()) is None
    assert "event=exact_page source=api reason=" in caplog.text


def test_split_keeps_the_other_fields_and_counts_the_records() -> None:
    split = arrowpage.split(b'{"meta":{"next":"n","total":3},"data":[{"a":1},{"a":2}],"more":true}', "data")
    assert split.body["meta"] == {"next": "n", "total": 3}
    assert split.body["more"] is True
    assert list(split.body) == ["meta", "data", "more"]
    assert len(split.raws) == 2


def test_lazy_records_decode_only_when_asked() -> None:
    calls: list[int] = []

    def load() -> list[dict[str, Any]]:
        calls.append(1)
        return [{"a": 1}, {"a": 2}]

    found = arrowpage.LazyRecords(2, load)
    assert len(found) == 2 and not calls
    assert list(found) == [{"a": 1}, {"a": 2}] and found[1] == {"a": 2}
    assert calls == [1]


def test_properties_many_bench_shaped_pages_all_fast() -> None:
    """Every page of the bench's shape takes the fast path (a seed-shuffled sample of 20)."""
    pages = _bench_pages(100)
    for body in random.Random(7).sample(pages, 20):
        assert _fast(body, "data", DEFAULT_RULES) is not None
