"""The report's sections, each measuring and checking targets (latency and many sources: own modules)."""

from __future__ import annotations

import shutil
import statistics
import sys
from collections.abc import Callable, Sequence

import clients
import image
import latency
import manysources
import processes
import profiling
import report
from harness import Bench, log, rotated

MIB_TO_MB = 1.048576


def _throughput_section(bench: Bench) -> str:
    args = bench.args
    chosen = [clients.CLIENTS[name] for name in args.clients]
    runs: dict[str, list[clients.Measurement]] = {client.name: [] for client in chosen}
    with processes.api_server(args.records, args.page_size, bench.scratch) as url:
        for round_no in range(args.rounds):
            log(f"throughput round {round_no + 1}/{args.rounds}")
            for client in rotated(chosen, round_no):
                runs[client.name].append(bench.measure(client, url, args.records))
        profile = profiling.profile_fetcher(bench, url, args.records) if args.profile else None
    summaries = {
        name: report.Summary.of(clients.CLIENTS[name].label, measured) for name, measured in runs.items()
    }
    if "dlt" in runs:
        bench.notes.append(_dlt_note(runs["dlt"]))
    _throughput_checks(bench, summaries, profile)
    pages = -(-args.records // args.page_size)
    title = (
        f"## Throughput\n\n{args.records:,} records in {pages:,} pages of {args.page_size:,}, "
        f"clients interleaved, median of {args.rounds} rounds.\n"
    )
    parts = [title, report.summary_table(summaries, "raw"), report.ratio_lines(summaries)]
    return "\n".join(parts + ([profile.markdown] if profile else []))


def _throughput_checks(
    bench: Bench, summaries: dict[str, report.Summary], profile: profiling.Profile | None
) -> None:
    walls = {name: summary.wall_s for name, summary in summaries.items()}
    profiled = profile.summary if profile else "run with --profile for where the fetcher's CPU goes"
    if {"raw", "fetcher"} <= walls.keys():
        bench.checks.append(
            report.Check(
                f"CPU-bound, {bench.args.records:,} records, Parquet + CSV: fetcher / the raw floor",
                walls["fetcher"] / walls["raw"],
                0.9,
                "x",
                cause=f"fetcher {walls['fetcher']:.2f} s, raw {walls['raw']:.2f} s; {profiled}",
            )
        )
    if {"dlt", "fetcher"} <= walls.keys():
        bench.checks.append(
            report.Check(
                "CPU-bound: dlt / fetcher",
                walls["dlt"] / walls["fetcher"],
                12,
                "x",
                at_least=True,
                cause=f"dlt {walls['dlt']:.2f} s, fetcher {walls['fetcher']:.2f} s; {profiled}",
            )
        )


def _dlt_note(runs: Sequence[clients.Measurement]) -> str:
    """dlt's versions and the median seconds of its pipeline steps."""
    steps = ", ".join(
        f"{step} {statistics.median(run.info['steps'][step] for run in runs):.1f} s"
        for step in runs[0].info["steps"]
    )
    versions = f"dlt {runs[0].info['dlt']} with pyarrow {runs[0].info['pyarrow']} (bench/.venv-dlt)"
    return f"{versions}; median seconds of its pipeline steps: {steps}"


def _memory_section(bench: Bench) -> str:
    client = clients.CLIENTS["fetcher"]
    summaries: dict[str, report.Summary] = {}
    for records in sorted(set(bench.args.memory_records)):
        log(f"memory at {records} records")
        with processes.api_server(records, bench.args.page_size, bench.scratch) as url:
            measured = [bench.measure(client, url, records) for _ in range(bench.args.memory_rounds)]
        summaries[f"{records}"] = report.Summary.of(client.label, measured)
    peaks = [summary.peak_rss_mib for summary in summaries.values()]
    sizes = [int(size) for size in summaries]
    cause = ", ".join(f"{size:,} records: {peak:.0f} MiB" for size, peak in zip(sizes, peaks, strict=True))
    bench.checks.append(
        report.Check(f"peak RSS at {sizes[-1]:,} records", peaks[-1] * MIB_TO_MB, 250, " MB", cause=cause)
    )
    if len(peaks) >= 2:
        bench.checks.append(
            report.Check(
                f"peak RSS at {sizes[-1]:,} records / at {sizes[0]:,}",
                peaks[-1] / peaks[0],
                1.3,
                "x",
                cause=cause,
            )
        )
    title = (
        "## Memory\n\nPeak RSS of `python -m fetcher run` (Parquet + CSV) with the default configuration "
        "(the default page path and concurrency), "
        f"median of {bench.args.memory_rounds} run(s) per size.\n"
    )
    return "\n".join([title, report.summary_table(summaries)])


def _coldstart_section(bench: Bench) -> str:
    runs = bench.args.coldstart_runs
    help_runs = [_time_help(bench) for _ in range(runs)]
    log(f"cold start: --help median {statistics.median(help_runs):.3f} s")
    client = clients.CLIENTS["fetcher"]
    page = bench.args.page_size
    with processes.api_server(page, page, bench.scratch) as url:
        one_page = [bench.measure(client, url, page) for _ in range(runs)]
        imports = profiling.import_times(bench, url, page)
    bench.checks.append(report.Check("`--help`", statistics.median(help_runs), 0.3, " s"))
    bench.checks.append(
        report.Check(
            f"a 1-page run ({page:,} records, Parquet + CSV)",
            statistics.median(r.wall_s for r in one_page),
            1.0,
            " s",
            cause=imports,
        )
    )
    return (
        f"## Cold start\n\nMedian of {runs} runs each.\n\n"
        "| command | wall (s) | wall min-max (s) |\n|---|---|---|\n"
        f"| `python -m fetcher --help` | {statistics.median(help_runs):.3f} | "
        f"{min(help_runs):.3f}-{max(help_runs):.3f} |\n"
        f"| `python -m fetcher run`, 1 page of {page:,} records, Parquet + CSV | "
        f"{statistics.median(r.wall_s for r in one_page):.3f} | "
        f"{min(r.wall_s for r in one_page):.3f}-{max(r.wall_s for r in one_page):.3f} |\n"
    )


def _time_help(bench: Bench) -> float:
    work_dir = bench.work_dir("help")
    try:
        cmd = [sys.executable, "-m", "fetcher", "--help"]
        return processes.run_child(cmd, work_dir, cwd=processes.REPO_ROOT).wall_s
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _image_section(bench: Bench) -> str:
    log("image: building ours and the naive one, then rebuilding both after a code-only change")
    results = image.measure(processes.REPO_ROOT)
    ours, naive = results["ours"], results["naive"]
    bench.checks.append(report.Check("image: size", ours["size_mb"], 450, " MB"))
    bench.checks.append(
        report.Check("image: size / the naive image's", ours["size_mb"] / naive["size_mb"], 0.6, "x")
    )
    bench.checks.append(report.Check("image: rebuild after a code-only change", ours["rebuild_s"], 5, " s"))
    rows = [
        f"| {label} | `{image.IMAGES[name]}` | {results[name]['size_mb']:.0f} | "
        f"{results[name]['first_build_s']:.1f} | {results[name]['rebuild_s']:.1f} |"
        for name, label in (("ours", "fetcher"), ("naive", "naive tutorial image"))
    ]
    return (
        "## Image\n\nSizes as `docker image inspect` reports them. The first build ran with whatever "
        "layers the engine had cached; the rebuild followed a one-line change to `fetcher/__init__.py`.\n\n"
        "| image | Dockerfile | size (MB) | first build (s) | code-only rebuild (s) |\n"
        "|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nOurs is {ours['size_mb'] / naive['size_mb']:.2f}x the naive image's size.\n"
    )


SECTIONS: dict[str, Callable[[Bench], str]] = {
    "throughput": _throughput_section,
    "latency": latency.latency_section,
    "many-sources": manysources.many_sources_section,
    "memory": _memory_section,
    "coldstart": _coldstart_section,
    "image": _image_section,
}
