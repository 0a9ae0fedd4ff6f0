"""`[sources.parent]`: its checks, and a child's request filled in for one parent row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fetcher.config.load import load
from fetcher.config.model import Source
from fetcher.config.parent import Parent
from fetcher.config.placeholders import fill
from fetcher.errors import ConfigError

USERS = '[[sources]]\nname = "users"\nurl = "https://api.example.com/users"\n'


def _child(extra: str = "", url: str = "https://api.example.com/users/{user_id}/orders") -> str:
    return (
        f'[[sources]]\nname = "orders"\nurl = "{url}"\n{extra}\n'
        '[sources.parent]\nsource = "users"\nfields = { user_id = "id" }\n'
    )


def _load(write_config: Callable[[str], Path], text: str) -> tuple[Source, ...]:
    return load(str(write_config('output_dir = "{out}"\n' + text)), {}).sources


def test_a_child_loads_with_its_defaults(write_config: Callable[[str], Path]) -> None:
    _, orders = _load(write_config, USERS + _child())

    assert orders.parent == Parent(source="users", fields={"user_id": "id"}, include=(), concurrency=4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            _child() + USERS,
            r'sources\[0\].parent.source: "users" must be a source listed before',
            id="after",
        ),
        pytest.param(
            _child().replace('source = "users"', 'source = "orders"'),
            "must be a source listed before",
            id="itself",
        ),
        pytest.param(
            USERS + 'formats = ["csv"]\n' + _child(),
            r'sources\[1\].parent.source: "users" must write parquet',
            id="no-parquet",
        ),
        pytest.param(
            USERS + _child(url="https://api.example.com/users/{uid}/orders"),
            r"sources\[1\].url: \{uid\} is not a placeholder of \[sources.parent\] fields \(user_id\)",
            id="unknown-placeholder",
        ),
        pytest.param(
            USERS + _child(url="https://api.example.com/orders"),
            r"sources\[1\].parent.fields.user_id: \{user_id\} is in no url, params, headers or body",
            id="unused-field",
        ),
        pytest.param(
            USERS + _child(url="https://{user_id}.example.com/orders"),
            "placeholders may fill the path and query only, never the host",
            id="host",
        ),
        pytest.param(
            USERS
            + _child().replace('fields = { user_id = "id" }', 'fields = { user_id = "id", cursor = "at" }'),
            r"sources\[1\].parent.fields: \{cursor\} is filled by the run; name the field otherwise",
            id="run-placeholder",
        ),
        pytest.param(
            USERS + _child() + "concurrency = 0\n",
            r"parent.concurrency: 0 must be greater than 0",
            id="concurrency",
        ),
        pytest.param(
            USERS + _child() + 'include = ["id", "id"]\n', "must name distinct columns", id="include-twice"
        ),
        pytest.param(
            USERS + _child(url="https://api.example.com/orders", extra='params = { user = "{user}" }'),
            r"sources\[1\].params.user: \{user\} is not a placeholder",
            id="params",
        ),
    ],
)
def test_check_refuses(write_config: Callable[[str], Path], text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(write_config, text)


def test_fill_percent_encodes_the_url_and_keeps_headers_and_params_as_text() -> None:
    template = Source(
        name="orders",
        url="https://api.example.com/users/{user}/orders?tag={user}",
        params={"owner": "{user}"},
        headers={"X-User": "user-{user}"},
        parent=Parent(source="users", fields={"user": "name"}),
    )

    filled = fill(template, {"user": "a/b c?"})

    assert filled.url == "https://api.example.com/users/a%2Fb%20c%3F/orders?tag=a%2Fb%20c%3F"
    assert filled.params == {"owner": "a/b c?"}
    assert filled.headers == {"X-User": "user-a/b c?"}
    assert template.url.endswith("/users/{user}/orders?tag={user}")


def test_fill_body_keeps_a_whole_placeholder_typed_and_spells_other_values_as_text() -> None:
    template = Source(
        name="orders",
        url="https://api.example.com/orders",
        method="POST",
        body={"user": "{id}", "label": "user {id}", "since": "{at}", "ok": ["{flag}"], "n": 3},
        parent=Parent(source="users", fields={"id": "id", "at": "seen", "flag": "active"}),
    )

    filled = fill(template, {"id": 7, "at": datetime(2026, 11, 21, tzinfo=UTC), "flag": True})

    assert filled.body == {
        "user": 7,
        "label": "user 7",
        "since": "2026-11-21T00:00:00+00:00",
        "ok": [True],
        "n": 3,
    }


def test_a_child_may_use_the_runs_placeholders_beside_its_own(write_config: Callable[[str], Path]) -> None:
    child = _child(
        extra='params = { to = "{window_end}" }',
        url="https://api.example.com/users/{user_id}/days/{window_start}",
    )
    window = '[sources.incremental]\ncursor_field = "t"\ninitial = "2026-01-01"\n'

    _, orders = _load(write_config, USERS + child + window)

    assert orders.windowed and orders.parent is not None


def test_the_readme_example_loads(write_config: Callable[[str], Path]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Parent and child sources", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]

    users, orders = _load(write_config, example)

    assert orders.parent == Parent(source="users", fields={"user_id": "id"}, include=("id",), concurrency=4)
    assert orders.rate_limit is not None and orders.rate_limit.window == (10, 1.0)
    assert users.parent is None
