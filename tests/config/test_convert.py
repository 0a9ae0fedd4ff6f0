"""Conversion: tables into typed structs, msgspec's errors into the key, the value and what is allowed."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import pytest

from fetcher.config.convert import convert, show
from fetcher.errors import ConfigError


class Example(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    count: int = 1
    ratio: float = 0.5
    tags: tuple[str, ...] = ()
    labels: dict[str, str] = {}
    extra: dict[str, Any] | None = None
    secret: str = ""

    resolved_fields: ClassVar[tuple[str, ...]] = ("secret",)


class _Kind(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    pass


class Page(_Kind, tag="page"):
    size: int = 1


class Cursor(_Kind, tag="cursor"):
    path: str


class Holder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: Page | Cursor
    items: tuple[Example, ...] = ()


def test_convert_types_every_field() -> None:
    built = convert(
        {"name": "a", "count": 3, "ratio": 2, "tags": ["x"], "labels": {"n": "1"}, "extra": {"k": [1]}},
        Example,
        "t",
    )

    assert built == Example(name="a", count=3, ratio=2.0, tags=("x",), labels={"n": "1"}, extra={"k": [1]})
    assert isinstance(built.ratio, float)


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        pytest.param(
            {"name": "a", "cuont": 1},
            "t.cuont",
            "unknown key; allowed: name, count, ratio, tags, labels, extra; did you mean count?",
            id="unknown-lists-all-but-resolved-fields",
        ),
        pytest.param({}, "t.name", "is required", id="missing"),
        pytest.param({"name": 1}, "t.name", "1 is not a string", id="wrong-type"),
        pytest.param({"name": "a", "count": True}, "t.count", "true is not an integer", id="bool-is-not-int"),
        pytest.param({"name": "a", "ratio": "2"}, "t.ratio", '"2" is not a number', id="text-is-not-number"),
        pytest.param(
            {"name": "a", "tags": ["x", 1]}, "t.tags", '["x", 1] is not a list of strings', id="list-item"
        ),
        pytest.param(
            {"name": "a", "labels": {"n": [1]}}, "t.labels.n", "[1] is not a string", id="table-value"
        ),
        pytest.param({"name": "a", "extra": 1}, "t.extra", "1 is not a table", id="optional-table"),
    ],
)
def test_convert_refuses_with_key_value_and_allowed(table: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        convert(table, Example, "t")

    assert caught.value.key == key
    assert str(caught.value) == f"{key}: {words}"


def test_convert_unknown_key_far_from_any_suggests_nothing() -> None:
    with pytest.raises(ConfigError) as caught:
        convert({"name": "a", "xyzzy": 1}, Example)

    assert str(caught.value) == "xyzzy: unknown key; allowed: name, count, ratio, tags, labels, extra"


def test_convert_top_level_keys_have_no_prefix() -> None:
    with pytest.raises(ConfigError, match=r"^cuont: unknown key; allowed: name"):
        convert({"name": "a", "cuont": 1}, Example)


def test_convert_picks_the_kind_its_type_names() -> None:
    assert convert({"kind": {"type": "cursor", "path": "p"}}, Holder).kind == Cursor(path="p")


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        pytest.param(
            {"kind": {"type": "pages"}}, "kind.type", '"pages" is not one of: page, cursor', id="unknown"
        ),
        pytest.param({"kind": {}}, "kind.type", "is required; one of: page, cursor", id="no-type"),
        pytest.param({"kind": 5}, "kind", "5 is not a table", id="not-a-table"),
        pytest.param(
            {"kind": {"type": "cursor"}}, "kind.path", 'is required for type = "cursor"', id="missing-setting"
        ),
        pytest.param(
            {"kind": {"type": "page", "path": "p"}},
            "kind.path",
            'unknown key with type = "page"; allowed: type, size',
            id="setting-of-another-kind",
        ),
        pytest.param(
            {"kind": {"type": "page"}, "items": [{"name": "a"}, {"name": "b", "count": "x"}]},
            "items[1].count",
            '"x" is not an integer',
            id="in-a-list-of-tables",
        ),
    ],
)
def test_convert_kinds_name_the_kind_and_the_kinds(table: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        convert(table, Holder)

    assert str(caught.value) == f"{key}: {words}"


def test_show_quotes_and_truncates_long_values() -> None:
    assert show("a b") == '"a b"'
    assert len(show("x" * 200)) == 80 and show("x" * 200).endswith("...")
