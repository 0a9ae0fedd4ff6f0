"""The report: target checks, summaries of measured runs, their markdown tables and RESULTS.md."""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import clients


@dataclass(frozen=True)
class Check:
    """One of the issue's targets: what was measured against what is allowed."""

    target: str
    measured: float
    limit: float
    unit: str = ""
    at_least: bool = False
    cause: str = ""  # what the measurements say about a miss, written into the report's misses

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def row(self) -> str:
        bound = ">=" if self.at_least else "<="
        verdict = "met" if self.met else f"**missed** by {abs(self.measured - self.limit):.2f}{self.unit}"
        measured, allowed = f"{self.measured:.2f}{self.unit}", f"{bound} {self.limit:g}{self.unit}"
        return f"| {self.target} | {measured} | {allowed} | {verdict} |"


@dataclass(frozen=True)
class Summary:
    """Medians (and wall-time spread) of one client's rounds."""

    label: str
    records: int
    wall_s: float
    wall_min_s: float
    wall_max_s: float
    peak_rss_mib: float

    @classmethod
    def of(cls, label: str, runs: Sequence[clients.Measurement]) -> Summary:
        walls = [run.wall_s for run in runs]
        return cls(
            label,
            runs[0].records,
            statistics.median(walls),
            min(walls),
            max(walls),
            statistics.median(run.peak_rss_mib for run in runs),
        )

    @property
    def records_per_s(self) -> float:
        return self.records / self.wall_s


def summary_table(summaries: dict[str, Summary], baseline: str | None = None) -> str:
    """Markdown table of summaries, with a wall-time ratio column if baseline is among them."""
    header = "| client | records | wall (s) | wall min-max (s) | records/s | peak RSS (MiB) |"
    if baseline in summaries:
        header += f" wall / {baseline} |"
    lines = [header, "|" + "---|" * header.count(" |")]
    for summary in summaries.values():
        line = (
            f"| {summary.label} | {summary.records:,} | {summary.wall_s:.2f} | "
            f"{summary.wall_min_s:.2f}-{summary.wall_max_s:.2f} | {summary.records_per_s:,.0f} | "
            f"{summary.peak_rss_mib:.1f} |"
        )
        if baseline in summaries:
            line += f" {summary.wall_s / summaries[baseline].wall_s:.2f}x |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def ratio_lines(summaries: dict[str, Summary]) -> str:
    lines = [
        f"- {top}/{bottom}: wall {summaries[top].wall_s / summaries[bottom].wall_s:.2f}x, "
        f"peak RSS {summaries[top].peak_rss_mib / summaries[bottom].peak_rss_mib:.2f}x"
        for top, bottom in clients.RATIOS
        if top in summaries and bottom in summaries
    ]
    return "Ratios of medians:\n\n" + "\n".join(lines) + "\n" if lines else ""


def render_report(
    notes: Sequence[str],
    checks: Sequence[Check],
    sections: Sequence[str],
    started: datetime,
    elapsed_s: float,
    explanation: str = "",
) -> str:
    """RESULTS.md: the command and machine, the notes, the checks as a table, then the sections,
    then `explanation` (why targets are missed) if any check is missed."""
    command = shlex.join(["python", *sys.argv])
    header = [
        "# Benchmark results",
        "",
        f"Date: {started:%Y-%m-%d %H:%M} UTC; the whole run took {elapsed_s:.0f} s.",
        "",
        f"Command: `{command}`",
        "",
        "Machine:",
        "",
        *_machine_lines(),
        *[f"- {note}" for note in notes],
        "",
    ]
    targets = [
        "## Targets",
        "",
        "| target | measured | allowed | verdict |",
        "|---|---|---|---|",
        *[check.row() for check in checks],
        "",
    ]
    report = "\n".join(header + targets) + "\n" + "\n".join(sections)
    missed = [check for check in checks if not check.met]
    if missed:
        report += "\n" + misses(missed)
        if explanation:
            report += "\n" + explanation
    return report


def misses(missed: Sequence[Check]) -> str:
    """The missed targets, each with the cause its own section measured."""
    lines = [
        f"- **{check.target}**: {check.measured:.2f}{check.unit}, allowed "
        f"{'>=' if check.at_least else '<='} {check.limit:g}{check.unit}."
        + (f" Measured: {check.cause}." if check.cause else "")
        for check in missed
    ]
    return "## Missed targets, as measured\n\n" + "\n".join(lines) + "\n"


def _machine_lines() -> list[str]:
    return [
        f"- cores: {os.cpu_count()} ({_cpu_model()})",
        f"- memory: {_mem_total_gib():.1f} GiB",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- OS: {platform.platform()}",
    ]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")
