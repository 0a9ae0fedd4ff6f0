"""The latency section: pages that each wait on the server, where fetching ahead is what counts."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import clients
import processes
import report
from harness import Bench, log, rotated

FORMATS = ("parquet", "csv")


def latency_section(bench: Bench) -> str:
    """raw (sequential), the fetcher (default, and each --latency-concurrency) and dlt, interleaved."""
    args = bench.args
    pages, size, delay = args.latency_pages, args.latency_page_size, args.latency_delay_ms
    records = pages * size
    chosen = [clients.CLIENTS["raw"], _fetcher("fetcher", "fetcher (Parquet + CSV), default concurrency")]
    placement = _concurrency_placement(bench) if args.latency_concurrency else None
    if args.latency_concurrency and placement is None:
        bench.notes.append("latency: this fetcher has no `concurrency` key, so only its default was measured")
    for n in args.latency_concurrency if placement else ():
        chosen.append(_fetcher(f"fetcher-c{n}", f"fetcher (Parquet + CSV), concurrency = {n}", placement(n)))
    if "dlt" in args.clients:
        chosen.append(clients.CLIENTS["dlt"])
    runs: dict[str, list[clients.Measurement]] = {client.name: [] for client in chosen}
    with processes.api_server(records, size, bench.scratch, delay_ms=delay) as url:
        for round_no in range(args.rounds):
            log(f"latency round {round_no + 1}/{args.rounds}")
            for client in rotated(chosen, round_no):
                runs[client.name].append(bench.measure(client, url, records, size))
    summaries = {client.name: report.Summary.of(client.label, runs[client.name]) for client in chosen}
    _check(bench, summaries, pages * delay / 1000)
    return "\n".join(
        [
            f"## Latency\n\n{records:,} records in {pages:,} pages of {size:,}, `page` paging, the server "
            f"waiting {delay} ms before each answer (in the request's own thread, so concurrent requests "
            f"overlap); clients interleaved, median of {args.rounds} rounds. The raw floor fetches the "
            f"pages one after another: their latency alone is {pages * delay / 1000:.1f} s.\n",
            report.summary_table(summaries, "raw"),
            _ratio_lines(summaries),
        ]
    )


def _fetcher(name: str, label: str, extra: clients.FetcherExtra | None = None) -> clients.Client:
    return clients.fetcher_client(name, label, FORMATS, extra)


def _check(bench: Bench, summaries: dict[str, report.Summary], latency_s: float) -> None:
    raw, fetcher = summaries["raw"], summaries["fetcher"]
    delay = bench.args.latency_delay_ms
    cause = (
        f"the fetcher took {fetcher.wall_s:.2f} s and the sequential raw floor {raw.wall_s:.2f} s; the "
        f"pages' latency alone is {latency_s:.1f} s one at a time, so the fetcher kept "
        f"{latency_s / fetcher.wall_s:.1f} requests in flight on average over its wall, start-up "
        "included (the cold-start section times a 1-page run)"
    )
    bench.checks.append(
        report.Check(
            f"latency-bound, {delay} ms per page, `page` paging: fetcher / the sequential raw floor",
            fetcher.wall_s / raw.wall_s,
            0.3,
            "x",
            cause=cause,
        )
    )
    if "dlt" in summaries:
        dlt = summaries["dlt"]
        bench.checks.append(
            report.Check(
                "latency-bound: dlt / fetcher",
                dlt.wall_s / fetcher.wall_s,
                8,
                "x",
                at_least=True,
                cause=f"dlt took {dlt.wall_s:.2f} s ({dlt.wall_s / raw.wall_s:.2f}x raw): it fetches one "
                f"resource's pages one at a time; the fetcher took {fetcher.wall_s:.2f} s",
            )
        )


def _ratio_lines(summaries: dict[str, report.Summary]) -> str:
    raw = summaries["raw"]
    lines = [
        f"- {name}/raw: wall {summary.wall_s / raw.wall_s:.2f}x, peak RSS "
        f"{summary.peak_rss_mib / raw.peak_rss_mib:.2f}x"
        for name, summary in summaries.items()
        if name != "raw"
    ]
    if "dlt" in summaries:
        lines.append(f"- dlt/fetcher: wall {summaries['dlt'].wall_s / summaries['fetcher'].wall_s:.2f}x")
    return "Ratios of medians:\n\n" + "\n".join(lines) + "\n"


def _concurrency_placement(bench: Bench) -> Callable[[int], clients.FetcherExtra] | None:
    """Where this fetcher takes `concurrency`: on the source, or in its pagination; None if nowhere.

    Asked of `fetcher validate`, which rejects unknown keys, so the bench runs against the
    fetcher before and after the key lands.
    """
    candidates = (
        lambda n: clients.FetcherExtra(source_lines=(f"concurrency = {n}",)),
        lambda n: clients.FetcherExtra(pagination_lines=(f"concurrency = {n}",)),
    )
    work_dir = bench.work_dir("validate")
    try:
        for candidate in candidates:
            config = work_dir / "fetcher.toml"
            config.write_text(
                f'output_dir = "{work_dir / "out"}"\n'
                + clients.source_table("probe", "http://127.0.0.1:9/records", 100, FORMATS, candidate(2))
            )
            command = clients.fetcher_command(config, "validate")
            try:
                processes.run_child(command, work_dir, cwd=processes.REPO_ROOT)
            except processes.BenchError:
                continue
            return candidate
        return None
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
