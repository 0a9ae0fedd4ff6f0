"""Charts: one mark per run carrying its data, failed runs and schema changes marked, values escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fetcher.errors import FetchError
from fetcher.ops import charts
from fetcher.run.changes import SchemaChange
from fetcher.run.history import GuardCheck, RunRecord

START = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


def _runs() -> list[RunRecord]:
    runs = []
    for index, count in enumerate((120, 0, 80)):
        run = RunRecord(source="api", started_at=START + timedelta(hours=index), records=count)
        if index == 1:
            run.finish(FetchError("https://h/x", 'HTTP 503 <html>"busy"</html>', status=503))
        else:
            run.finish()
        run.duration_s = 1.5 + index
        runs.append(run)
    runs[2].schema_change = SchemaChange(added={"coupon": "string"})
    runs[2].guards = [GuardCheck("min_records", "warn", True, "80 records, at least 100 required")]
    return runs


def _marks(svg: str, tag: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', attributes))
        for attributes in re.findall(f"<{tag} ([^>]*)>", svg)
    ]


def test_records_chart_has_a_bar_per_run_with_its_data() -> None:
    svg = charts.records_chart(_runs())

    bars = [mark for mark in _marks(svg, "rect") if "bar" in mark["class"]]
    assert [(bar["data-run-id"], bar["data-records"], bar["data-status"]) for bar in bars] == [
        ("20261121T100000Z", "120", "succeeded"),
        ("20261121T110000Z", "0", "failed"),
        ("20261121T120000Z", "80", "succeeded"),
    ]
    assert [bar["class"] for bar in bars] == ["bar succeeded", "bar failed", "bar warned"]
    assert float(bars[0]["height"]) > float(bars[2]["height"]) > float(bars[1]["height"]) == 0
    assert 'data-chart="records" data-runs="3"' in svg


def test_failed_runs_get_a_band_and_schema_changes_a_mark() -> None:
    svg = charts.records_chart(_runs())

    bands = [mark for mark in _marks(svg, "rect") if mark["class"] == "failed-band"]
    assert [band["data-run-id"] for band in bands] == ["20261121T110000Z"]
    (change,) = _marks(svg, "g")
    assert change == {
        "class": "schema-change",
        "data-run-id": "20261121T120000Z",
        "data-change": "added=coupon:string",
    }


def test_duration_chart_has_a_point_per_run_with_its_seconds() -> None:
    svg = charts.duration_chart(_runs())

    points = _marks(svg, "circle")
    assert [(point["data-run-id"], point["data-duration-s"]) for point in points] == [
        ("20261121T100000Z", "1.5"),
        ("20261121T110000Z", "2.5"),
        ("20261121T120000Z", "3.5"),
    ]
    assert "<polyline" in svg


def test_tooltips_say_the_error_and_warnings_escaped() -> None:
    svg = charts.records_chart(_runs())

    assert "<html>" not in svg and '"busy"' not in svg
    assert "error: https://h/x: HTTP 503 &lt;html&gt;&quot;busy&quot;&lt;/html&gt;" in svg
    assert "guard min_records: 80 records, at least 100 required" in svg
    assert "schema change: added=coupon:string" in svg


def test_a_chart_without_runs_says_so() -> None:
    svg = charts.records_chart([])

    assert "no runs yet" in svg and 'data-runs="0"' in svg and "data-run-id" not in svg


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1.0), (2, 2), (3, 5), (120, 200), (500, 500), (501, 1000), (0.013, 0.02)],
)
def test_the_scale_tops_at_a_round_number(value: float, top: float) -> None:
    assert charts._nice_top(value) == pytest.approx(top)
