"""TOML tables into typed dataclasses: keys and types checked against the annotations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from fetcher.config import tables
from fetcher.errors import ConfigError


@dataclass(frozen=True)
class Example:
    name: str
    count: int = 1
    ratio: float = 0.5
    tags: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] | None = None
    secret: str = field(default="", metadata={"resolved": True})


def test_build_types_every_field() -> None:
    built = tables.build(
        Example,
        {
            "name": "a",
            "count": 3,
            "ratio": 2,
            "tags": ["x"],
            "labels": {"n": 1, "b": True},
            "extra": {"k": [1]},
        },
        "t",
    )

    assert built == Example(
        name="a", count=3, ratio=2.0, tags=("x",), labels={"n": "1", "b": "true"}, extra={"k": [1]}
    )


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        pytest.param(
            {"name": "a", "cuont": 1},
            "t.cuont",
            "unknown key; allowed: name, count, ratio, tags, labels, extra",
            id="unknown",
        ),
        pytest.param(
            {"name": "a", "secret": "x"}, "t.secret", "unknown key", id="resolved-field-not-settable"
        ),
        pytest.param({}, "t.name", "is required", id="missing"),
        pytest.param({"name": 1}, "t.name", "1 is not a string", id="wrong-type"),
        pytest.param({"name": "a", "count": True}, "t.count", "true is not an integer", id="bool-is-not-int"),
        pytest.param({"name": "a", "tags": ["x", 1]}, "t.tags", "is not a list of strings", id="list-item"),
        pytest.param(
            {"name": "a", "labels": {"n": [1]}},
            "t.labels.n",
            "is not a string, number or boolean",
            id="table-value",
        ),
    ],
)
def test_build_refuses_with_key_value_and_allowed(table: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        tables.build(Example, table, "t")

    assert caught.value.key == key and words in str(caught.value)


def test_kind_picks_class_or_lists_the_kinds() -> None:
    kinds = {"page": dict, "cursor": list}

    assert tables.kind({"type": "page", "size": 1}, "p", kinds) == (dict, {"size": 1})
    with pytest.raises(ConfigError, match=r'p\.type: "pages" is not one of: page, cursor'):
        tables.kind({"type": "pages"}, "p", kinds)


def test_show_quotes_and_truncates_long_values() -> None:
    assert tables.show("a b") == '"a b"'
    assert len(tables.show("x" * 200)) == 80 and tables.show("x" * 200).endswith("...")
