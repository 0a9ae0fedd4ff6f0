"""Schema changes across runs: compared, described, logged once and kept in the run record."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import responses

from fetcher.config.load import load
from fetcher.run import changes, runner
from fetcher.run.changes import Retyped, SchemaChange

URL = "https://api.example.com/items"


def test_compare_same_columns_is_no_change() -> None:
    assert changes.compare({"id": "int64"}, {"id": "int64"}) is None


def test_compare_names_added_removed_and_retyped_columns() -> None:
    change = changes.compare(
        {"id": "int64", "v": "int64", "gone": "string"}, {"id": "int64", "v": "string", "new": "double"}
    )

    assert change == SchemaChange(
        added={"new": "double"}, removed={"gone": "string"}, retyped={"v": Retyped("int64", "string")}
    )
    assert change.describe() == "added=new:double removed=gone:string retyped=v:int64->string"


@responses.activate
def test_run_logs_and_records_the_change_from_the_last_success(
    write_config: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(  # type: ignore[operator]
        f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{URL}"\nrecords = "data"\n'
    )
    settings = load(str(config), {})
    responses.get(URL, json={"data": [{"id": 1, "v": 1}]})
    first = runner.run(settings, settings.sources[0])
    responses.replace(responses.GET, URL, json={"data": [{"id": 2, "v": "x", "w": True}]})

    with caplog.at_level(logging.INFO, logger="fetcher"):
        second = runner.run(settings, settings.sources[0])

    assert first.schema_change is None
    assert second.schema_change == SchemaChange(
        added={"w": "bool"}, retyped={"v": Retyped("int64", "string")}
    )
    lines = [r.getMessage() for r in caplog.records if "event=schema_change" in r.getMessage()]
    assert lines == ["event=schema_change source=api added=w:bool retyped=v:int64->string"]
    saved = json.loads((tmp_path / "out" / "api" / "_runs" / f"{second.run_id}.json").read_text())
    assert saved["schema_change"] == {
        "added": {"w": "bool"},
        "removed": {},
        "retyped": {"v": {"from_type": "int64", "to_type": "string"}},
    }
