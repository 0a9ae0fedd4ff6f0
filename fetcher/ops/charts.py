"""Inline SVG charts of a source's runs: records and duration per run, failures and schema changes marked.

Every mark carries its run's data as attributes (`data-run-id`, `data-status`, `data-records`,
`data-duration-s`) and a `<title>` tooltip, so the page needs no script and a test can read the
data back. Every value is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from fetcher.run.history import FAILED, RunRecord

WIDTH = 760
HEIGHT = 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 14, 30


@dataclass(frozen=True)
class _Frame:
    """The plot area, and where each of `count` runs sits in it."""

    count: int
    top_value: float

    @property
    def slot(self) -> float:
        return (WIDTH - _LEFT - _RIGHT) / max(self.count, 1)

    def x(self, index: int) -> float:
        return _LEFT + index * self.slot

    def y(self, value: float) -> float:
        span = HEIGHT - _TOP - _BOTTOM
        return HEIGHT - _BOTTOM - (value / self.top_value * span if self.top_value else 0.0)


def records_chart(runs: list[RunRecord]) -> str:
    """Bars of records per run, oldest first: failed runs red, warned ones amber."""
    # At least 2, so that the middle tick of a chart of tiny counts is a whole number.
    frame = _Frame(len(runs), _nice_top(max([2, *(run.records for run in runs)])))
    bars = []
    for index, run in enumerate(runs):
        top = frame.y(run.records)
        bars.append(
            f'<rect class="bar {_kind(run)}" {_data(run)} x="{frame.x(index) + frame.slot * 0.15:.1f}" '
            f'y="{top:.1f}" width="{frame.slot * 0.7:.1f}" height="{frame.y(0) - top:.1f}">'
            f"<title>{escape(_tooltip(run))}</title></rect>"
        )
    return _svg("records", "Records per run", frame, runs, bars, _whole)


def duration_chart(runs: list[RunRecord]) -> str:
    """A line of seconds per run, oldest first, with a point per run: failed runs red."""
    frame = _Frame(len(runs), _nice_top(max((run.duration_s or 0.0 for run in runs), default=0.0)))
    centres = [
        (frame.x(index) + frame.slot / 2, frame.y(run.duration_s or 0.0)) for index, run in enumerate(runs)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in centres)
    marks = [f'<polyline class="line" points="{line}"/>'] if len(runs) > 1 else []
    for run, (x, y) in zip(runs, centres, strict=True):
        marks.append(
            f'<circle class="point {_kind(run)}" {_data(run)} cx="{x:.1f}" cy="{y:.1f}" r="4">'
            f"<title>{escape(_tooltip(run))}</title></circle>"
        )
    return _svg("duration", "Duration per run (seconds)", frame, runs, marks, _seconds)


def _svg(
    name: str,
    label: str,
    frame: _Frame,
    runs: list[RunRecord],
    marks: list[str],
    tick: Callable[[float], str],
) -> str:
    """The chart: axes and grid, a band behind each failed run, the marks, schema changes on top."""
    parts = [
        f'<svg class="chart" data-chart="{name}" data-runs="{len(runs)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = frame.y(frame.top_value * fraction)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(tick(frame.top_value * fraction))}</text>"
        )
    for index, run in enumerate(runs):
        if run.status == FAILED:
            parts.append(
                f'<rect class="failed-band" data-run-id="{escape(run.run_id)}" x="{frame.x(index):.1f}" '
                f'y="{_TOP}" width="{frame.slot:.1f}" height="{HEIGHT - _TOP - _BOTTOM}"/>'
            )
    parts.extend(marks)
    for index, run in enumerate(runs):
        if run.schema_change is not None:
            parts.append(_schema_mark(frame.x(index) + frame.slot / 2, run))
    if runs:
        parts.append(_x_label(runs[0], _LEFT, "start"))
        if len(runs) > 1:
            parts.append(_x_label(runs[-1], WIDTH - _RIGHT, "end"))
    else:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no runs yet</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _schema_mark(x: float, run: RunRecord) -> str:
    """A dashed line through the run and a diamond above it: the run's columns changed."""
    assert run.schema_change is not None
    change = run.schema_change.describe()
    return (
        f'<g class="schema-change" data-run-id="{escape(run.run_id)}" data-change="{escape(change)}">'
        f"<title>{escape(f'{run.run_id}: schema change: {change}')}</title>"
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{HEIGHT - _BOTTOM}"/>'
        f'<path d="M{x:.1f} {_TOP - 6} l6 6 l-6 6 l-6 -6 z"/></g>'
    )


def _x_label(run: RunRecord, x: float, anchor: str) -> str:
    return (
        f'<text class="tick" x="{x}" y="{HEIGHT - 10}" text-anchor="{anchor}">'
        f"{escape(f'{run.started_at:%Y-%m-%d %H:%M}')}</text>"
    )


def _kind(run: RunRecord) -> str:
    if run.status == FAILED:
        return "failed"
    return "warned" if run.warnings else "succeeded"


def _data(run: RunRecord) -> str:
    duration = "" if run.duration_s is None else f"{run.duration_s:g}"
    return (
        f'data-run-id="{escape(run.run_id)}" data-status="{escape(run.status)}" '
        f'data-records="{run.records}" data-duration-s="{duration}" '
        f'data-schema-change="{"true" if run.schema_change else "false"}"'
    )


def _tooltip(run: RunRecord) -> str:
    lines = [f"{run.run_id}: {run.status}, {run.records} records, {_seconds(run.duration_s or 0.0)}"]
    if run.error is not None:
        lines.append(f"error: {run.error.message}")
    lines.extend(run.warnings)
    if run.schema_change is not None:
        lines.append(f"schema change: {run.schema_change.describe()}")
    return "\n".join(lines)


def _nice_top(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _whole(value: float) -> str:
    return f"{value:,.0f}"


def _seconds(value: float) -> str:
    return f"{value:.3g} s"
