"""The run report: one self-contained static HTML page of every source's recent runs.

`fetcher report` writes it, and a signal rebuilds it after every run, into
`{output_dir}/_report/index.html` through the storage (atomically, locally or on S3). Per source it
shows the status, the last success, the last error and warnings, and charts of the last
`report_runs` runs (fetcher.ops.charts). No script, no stylesheet or font fetched: it opens from
a file, offline. Every value shown is escaped.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from string import Template

from fetcher.config.model import Config, Source
from fetcher.ops import charts
from fetcher.run import history, lock
from fetcher.run.history import FAILED, RunRecord
from fetcher.storage import layout, open_storage, open_workspace
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)

_DIRECTORY = layout.source_of(layout.report_file())  # `_report`: its lock, its temporary files

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fetcher report</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 820px; padding: 0 16px; color: #1f2937; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 14px 0 2px; color: #4b5563; font-weight: 600; }
.meta { color: #6b7280; margin: 0 0 16px; }
table.summary { border-collapse: collapse; width: 100%; margin: 8px 0 24px; }
table.summary th, table.summary td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e7eb;
       vertical-align: top; }
table.summary td.error { color: #991b1b; max-width: 320px; overflow-wrap: anywhere; }
section.source { border: 1px solid #e5e7eb; border-radius: 8px; padding: 16px; margin: 0 0 20px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: #6b7280; } dd { margin: 0; overflow-wrap: anywhere; }
dd.error { color: #991b1b; } dd.warning { color: #92400e; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; color: #fff; }
.status.succeeded { background: #2563eb; } .status.failed { background: #dc2626; }
.status.warned { background: #d97706; } .status.never { background: #9ca3af; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg .grid { stroke: #e5e7eb; } svg .tick, svg .empty { font-size: 11px; fill: #6b7280; }
svg .bar.succeeded, svg .point.succeeded { fill: #2563eb; }
svg .bar.warned, svg .point.warned { fill: #d97706; }
svg .bar.failed, svg .point.failed { fill: #dc2626; }
svg .failed-band { fill: #fee2e2; }
svg .line { fill: none; stroke: #93c5fd; stroke-width: 1.5; }
svg .schema-change line { stroke: #7c3aed; stroke-dasharray: 4 3; }
svg .schema-change path { fill: #7c3aed; }
.legend { font-size: 12px; color: #4b5563; margin: 6px 0 0; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px;
       vertical-align: -1px; border-radius: 2px; }
.legend .succeeded::before { background: #2563eb; } .legend .warned::before { background: #d97706; }
.legend .failed::before { background: #dc2626; } .legend .schema::before { background: #7c3aed; }
</style>
</head>
<body>
<header><h1>fetcher report</h1>
<p class="meta">Generated $generated UTC from $output_dir; the last $runs runs of each source.</p></header>
<table class="summary">
<thead><tr><th>Source</th><th>Status</th><th>Last run (UTC)</th><th>Last success (UTC)</th><th>Records</th>
<th>Last error</th></tr></thead>
<tbody>
$rows
</tbody>
</table>
<p class="legend">Charts: <span class="succeeded">succeeded</span>
<span class="warned">succeeded, a guard warned</span><span class="failed">failed</span>
<span class="schema">schema changed</span></p>
$sections
</body>
</html>
""")


@dataclass(frozen=True)
class SourceRuns:
    """What the report shows of one source: its last runs (oldest first) and its last success."""

    name: str
    runs: list[RunRecord]
    last_success: RunRecord | None

    @property
    def latest(self) -> RunRecord | None:
        return self.runs[-1] if self.runs else None

    @property
    def last_failure(self) -> RunRecord | None:
        return next((run for run in reversed(self.runs) if run.status == FAILED), None)

    @property
    def status(self) -> str:
        """`succeeded`, `warned` (succeeded, a guard warned), `failed`, or `never` before a first run."""
        latest = self.latest
        if latest is None:
            return "never"
        return "warned" if latest.status != FAILED and latest.warnings else latest.status


def gather(storage: Storage, source: Source, runs: int) -> SourceRuns:
    """The last `runs` run records of `source`, and its last success (perhaps older than those)."""
    recent = history.recent(storage, source.name, runs)
    success = next((run for run in reversed(recent) if run.status == history.SUCCEEDED), None)
    if success is None and recent:
        success = history.last_success(storage, source.name)
    return SourceRuns(source.name, recent, success)


def render(sources: list[SourceRuns], *, output_dir: str, runs: int, generated: datetime) -> str:
    """The whole page, self-contained."""
    return _PAGE.substitute(
        generated=escape(f"{generated.astimezone(UTC):%Y-%m-%d %H:%M:%S}"),
        output_dir=escape(output_dir),
        runs=runs,
        rows="\n".join(_row(source) for source in sources),
        sections="\n".join(_section(source) for source in sources),
    )


def write(config: Config, runs: int | None = None) -> str:
    """Build the report of every source of `config` and publish it; return where it is."""
    count = runs or config.report_runs
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    workspace = open_workspace(config.output_dir)
    # One writer at a time (runs of several sources may end together); it first removes what a
    # writer killed mid-way left, then reads every run record saved so far.
    with (
        closing(storage),
        closing(workspace),
        lock.hold(workspace.lock_path(_DIRECTORY), _DIRECTORY, wait=True),
    ):
        storage.remove_temps(_DIRECTORY)
        sources = [gather(storage, source, count) for source in config.sources]
        page = render(sources, output_dir=config.output_dir, runs=count, generated=datetime.now(UTC))
        relpath = layout.report_file()
        staged = storage.stage(relpath)
        try:
            with open(staged.temp_path, "w", encoding="utf-8") as file:
                file.write(page)
            storage.publish(staged)
        except BaseException:
            storage.discard(staged)
            raise
    where = f"{str(storage).rstrip('/')}/{relpath}"
    logger.info("event=report path=%s sources=%d runs=%d", where, len(sources), count)
    return where


def rebuild(config: Config, source: Source, *outcomes: object) -> None:
    """The signal (see fetcher.ops.outcomes): after any run, the report of every source again."""
    write(config)


def _row(source: SourceRuns) -> str:
    latest, failure = source.latest, source.last_failure
    return (
        f'<tr data-source="{escape(source.name)}"><td><a href="#source-{escape(source.name)}">'
        f"{escape(source.name)}</a></td><td>{_badge(source.status)}</td>"
        f"<td>{_when(latest)}</td><td>{_when(source.last_success)}</td>"
        f"<td>{latest.records if latest else '-'}</td>"
        f'<td class="error">{escape(failure.error.message) if failure and failure.error else ""}</td></tr>'
    )


def _section(source: SourceRuns) -> str:
    latest, failure = source.latest, source.last_failure
    facts = [
        ("Last run", f"{_when(latest)} ({escape(latest.run_id)})" if latest else "never", ""),
        ("Last success", _when(source.last_success), ""),
    ]
    if failure is not None and failure.error is not None:
        facts.append(("Last error", f"{escape(failure.error.message)} ({escape(failure.run_id)})", "error"))
    for warning in latest.warnings if latest else []:
        facts.append(("Warning", escape(warning), "warning"))
    listed = "".join(f'<dt>{label}</dt><dd class="{kind}">{value}</dd>' for label, value, kind in facts)
    return (
        f'<section class="source" id="source-{escape(source.name)}" data-source="{escape(source.name)}">'
        f"<h2>{escape(source.name)} {_badge(source.status)}</h2><dl>{listed}</dl>"
        f"<h3>Records per run</h3>{charts.records_chart(source.runs)}"
        f"<h3>Duration per run</h3>{charts.duration_chart(source.runs)}</section>"
    )


def _badge(status: str) -> str:
    return f'<span class="status {escape(status)}">{escape(status)}</span>'


def _when(record: RunRecord | None) -> str:
    return escape(f"{record.ended_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}") if record else "never"
