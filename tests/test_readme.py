"""The README's read snippets are code: each runs here on landed files, with the readers users have.

The records hold fields named like the partition key and the metadata columns (`date`,
`fetch_date`, `_run_id`), a timestamp, and a nested object: every snippet must return the API's
own values for them, a timestamp-typed `created_at`, `address__city`, and the run's columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import fetcher
import fetcher.reader
from fetcher.config.load import load
from fetcher.run import runner
from tests.apiserver import ApiServer

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPET = re.compile(r"<!-- snippet: (\w+) -->\n```python\n(.*?)```", re.S)
START = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


def snippets() -> dict[str, str]:
    found = dict(SNIPPET.findall(README.read_text()))
    assert set(found) == {"duckdb", "pyarrow", "pandas", "polars"}, found.keys()
    return found


def run_snippet(name: str, where: Path) -> dict[str, Any]:
    """Run the README's snippet `name` in `where` (which holds `output/`); return its variables.

    The test stays in `where` (see the `land` fixture): duckdb reads lazily, when asked for rows.
    """
    assert Path.cwd() == where
    scope: dict[str, Any] = {}
    exec(compile(snippets()[name], f"README.md:{name}", "exec"), scope)
    return scope


def record(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": n,
        "date": "2025-03-01",
        "fetch_date": f"api-{n}",
        "_run_id": f"their-{n}",
        "created_at": f"2025-03-01T10:00:0{n}+01:00",
        "address": {"city": "Berlin"},
        "price": 1234567890.12 if n else 0.1,  # exact as decimal(12,2); a float would not be
        **extra,
    }


class _Clock(datetime):
    moment = START

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.moment


@pytest.fixture
def land(
    api: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """Land `rows` as a run of the source `orders`, a day after the previous run."""
    served: list[dict[str, Any]] = []
    api.route("/orders", lambda exchange: (200, {"data": served}))
    config = tmp_path / "fetcher.toml"
    config.write_text(
        f'output_dir = "{tmp_path / "output"}"\n[[sources]]\nname = "orders"\n'
        f'url = "{api.url("/orders")}"\nrecords = "data"\n[sources.columns]\nprice = "decimal(12,2)"\n'
    )
    settings = load(str(config), {})
    monkeypatch.chdir(tmp_path)
    _Clock.moment = START
    monkeypatch.setattr("fetcher.run.runner.datetime", _Clock)

    def run(rows: list[dict[str, Any]]) -> None:
        served[:] = rows
        assert runner.run(settings, settings.sources[0]).status == "succeeded"
        _Clock.moment += timedelta(days=1)

    yield run


def expect_api_values(rows: list[dict[str, Any]]) -> None:
    """The rows of record(0) and record(1) as every reader must give them back."""
    rows = sorted(rows, key=lambda row: row["id"])
    assert [row["date"] for row in rows] == [date(2025, 3, 1), date(2025, 3, 1)]
    assert [row["fetch_date_"] for row in rows] == ["api-0", "api-1"]
    assert [row["_run_id_"] for row in rows] == ["their-0", "their-1"]
    assert [str(row["fetch_date"])[:10] for row in rows] == ["2026-11-21", "2026-11-22"]
    assert [row["_run_id"] for row in rows] == ["20261121T100000Z", "20261122T100000Z"]
    assert [row["address__city"] for row in rows] == ["Berlin", "Berlin"]
    created = [row["created_at"] for row in rows]
    assert created[0] == datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)
    fetched = [row["_fetched_at"] for row in rows]
    assert fetched[0] == START
    assert [Decimal(str(row["price"])) for row in rows] == [Decimal("0.10"), Decimal("1234567890.12")]


def arrow_of(relation: Any) -> pa.Table:
    """A duckdb relation's rows as an Arrow table (duckdb 1.x returns a table or a reader)."""
    result = relation.arrow()
    return result.read_all() if hasattr(result, "read_all") else result


@pytest.fixture
def landed(land: Callable[[list[dict[str, Any]]], None], tmp_path: Path) -> Path:
    land([record(0)])
    land([record(1)])
    return tmp_path


def test_duckdb_snippet_returns_the_api_values(landed: Path) -> None:
    table = arrow_of(run_snippet("duckdb", landed)["orders"])
    created = table.schema.field("created_at").type
    assert pa.types.is_timestamp(created) and created.tz in ("UTC", "Etc/UTC")  # duckdb's name for it
    expect_api_values(table.to_pylist())


def test_pyarrow_snippet_returns_the_api_values(landed: Path) -> None:
    table = run_snippet("pyarrow", landed)["table"]
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("price").type == pa.decimal128(12, 2)
    expect_api_values(table.to_pylist())


def test_pandas_snippet_returns_the_api_values(landed: Path) -> None:
    df = run_snippet("pandas", landed)["df"]
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    rows = df.to_dict("records")
    for row in rows:
        row["created_at"] = row["created_at"].to_pydatetime()
        row["_fetched_at"] = row["_fetched_at"].to_pydatetime()
    expect_api_values(rows)


def test_polars_snippet_returns_the_api_values(landed: Path) -> None:
    df = run_snippet("polars", landed)["df"]
    assert str(df.schema["created_at"]) == "Datetime(time_unit='us', time_zone='UTC')"
    expect_api_values(df.to_dicts())


def test_fetcher_read_returns_the_api_values(landed: Path) -> None:
    table = fetcher.reader.read_table(str(landed / "output"), "orders")
    expect_api_values(table.to_pylist())


def test_duckdb_and_fetcher_read_whole_history_after_added_and_retyped_columns(
    land: Callable[[list[dict[str, Any]]], None], tmp_path: Path
) -> None:
    land([record(0, total=10)])
    land([record(1, total="ten", coupon="X1")])

    duck = arrow_of(run_snippet("duckdb", tmp_path)["orders"]).sort_by("id")
    frame = fetcher.read(str(tmp_path / "output"), "orders")

    assert duck.column("total").to_pylist() == ["10", "ten"]
    assert duck.column("coupon").to_pylist() == [None, "X1"]
    assert sorted(zip(frame["id"], frame["total"], frame["coupon"].fillna("-"), strict=True)) == [
        (0, "10", "-"),
        (1, "ten", "X1"),
    ]


def test_readme_auth_examples_load_as_configuration(tmp_path: Path) -> None:
    """Every `[sources.auth]` example of the Authentication section is a valid configuration."""
    examples = re.findall(r"```toml\n(\[sources\.auth\]\n.*?)```", README.read_text(), re.S)
    kinds = []
    for example in examples:
        config = tmp_path / "fetcher.toml"
        config.write_text(f'[[sources]]\nname = "api"\nurl = "https://api.example.com/items"\n{example}')
        auth = load(str(config), {}).sources[0].auth
        assert auth is not None
        kinds.append(type(auth).__name__)

    assert kinds == ["ApiKey", "OAuth2ClientCredentials"]
