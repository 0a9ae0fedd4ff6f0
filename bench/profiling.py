"""`--profile`: one fetcher run sampled by py-spy (every thread, native frames too), summarised.

py-spy comes from bench/.venv-dlt (requirements-dlt.txt). It starts the fetcher itself and
samples it 100 times a second; idle threads (waiting on a socket or a lock) are left out, so
the shares below are of the CPU the fetcher's threads spent. The run's wall time under the
sampler is not used for any ratio.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import clients
import processes
from harness import Bench, log

PY_SPY = clients.VENV_PYTHON.parent / "py-spy"
TOP = 12


@dataclass(frozen=True)
class Profile:
    """A sampled run: its markdown and a one-line summary for the causes of a miss."""

    markdown: str
    summary: str


def profile_fetcher(bench: Bench, url: str, records: int) -> Profile:
    """Run the fetcher (Parquet + CSV) once under py-spy against url; never raises on a failed sample."""
    log("profile: one fetcher run under py-spy")
    work_dir = bench.work_dir("profile")
    target = clients.Target(url, bench.args.page_size, records, work_dir)
    client = clients.fetcher_client("fetcher-profiled", "fetcher under py-spy", ("parquet", "csv"))
    samples = work_dir / "py-spy.txt"
    sampler = [str(PY_SPY), "record", "--native", "--nolineno", "--rate", "100", "--format", "raw"]
    try:
        config = clients.write_fetcher_config(target, ("parquet", "csv"), None)
        command = [*sampler, "--output", str(samples), "--", *clients.fetcher_command(config)]
        finished = processes.run_child(command, work_dir, cwd=processes.REPO_ROOT)
        client.verify(target, finished)
        stacks = _read(samples)
    except (processes.BenchError, OSError) as error:
        log(f"profile failed: {error}")
        return Profile(f"### Profile\n\nThe sampled run failed: `{str(error)[:500]}`\n", "")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return _render(stacks, records, finished.wall_s)


def _read(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw format: one `frame;frame;...;leaf COUNT` line per distinct stack, outermost first."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _render(stacks: list[tuple[list[str], int]], records: int, wall_s: float) -> Profile:
    total = sum(count for _, count in stacks) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
        packages[_package(_innermost_python(frames))] += count

    def table(counts: Counter[str], what: str) -> str:
        rows = [f"| `{name}` | {count / total:.0%} |" for name, count in counts.most_common(TOP)]
        return f"| {what} | share of samples |\n|---|---|\n" + "\n".join(rows) + "\n"

    markdown = (
        f"### Where a fetcher run's CPU goes (py-spy)\n\n{records:,} records, Parquet + CSV, one run "
        f"sampled at 100 Hz over every thread with native frames ({total:,} samples of busy threads; "
        f"{wall_s:.1f} s wall under the sampler).\n\n"
        "By package: each sample counted for the innermost Python frame's package, so a compiled "
        "call counts for the Python code that made it.\n\n"
        + table(packages, "package")
        + "\nBy function, itself (the sampled frame, native ones included):\n\n"
        + table(own, "function (file)")
        + "\nThe fetcher's own functions, including what they call (below the job and the runner):\n\n"
        + table(_fetchers_own(inclusive), "function (file)")
    )
    summary = "; ".join(f"{name} {count / total:.0%}" for name, count in packages.most_common(5))
    return Profile(markdown, f"py-spy, by package: {summary}")


def _innermost_python(frames: list[str]) -> str:
    for frame in reversed(frames):
        if frame.endswith(".py)") or frame.endswith(">)"):
            return frame
    return frames[-1]


def _package(frame: str) -> str:
    """`fetcher.records` for a frame in fetcher/records/x.py, `pyarrow` for pyarrow/..., and so on."""
    where = frame.rpartition(" (")[2].rstrip(")")
    if where.startswith("<frozen"):
        return "imports (frozen importlib)"
    if not where.endswith(".py"):
        return f"native ({where})"
    parts = where.split("/")
    depth = 2 if parts[0] == "fetcher" and len(parts) > 2 else 1
    return ".".join(parts[:depth]).removesuffix(".py")


def _fetchers_own(inclusive: Counter[str]) -> Counter[str]:
    """Inclusive counts of the frames in fetcher/, without the chain from the command line to a run."""
    entry = ("(fetcher/__main__.py)", "(fetcher/cli/", "(fetcher/fetch_data.py)", "(fetcher/ops/job.py)")
    entry += ("(fetcher/run/runner.py)",)
    return Counter(
        {
            name: count
            for name, count in inclusive.items()
            if " (fetcher/" in name and not any(part in name for part in entry)
        }
    )


def import_times(bench: Bench, url: str, page_size: int) -> str:
    """A 1-page fetcher run under `python -X importtime`: its imports' seconds, the largest first.

    Returns one line for the causes of a missed cold-start target, or "" if the run failed.
    """
    work_dir = bench.work_dir("importtime")
    target = clients.Target(url, page_size, page_size, work_dir)
    try:
        config = clients.write_fetcher_config(target, ("parquet", "csv"), None)
        python, *rest = clients.fetcher_command(config)
        finished = processes.run_child([python, "-X", "importtime", *rest], work_dir, processes.REPO_ROOT)
        stderr = (work_dir / "stderr.txt").read_text()
    except (processes.BenchError, OSError) as error:
        log(f"import times failed: {error}")
        return ""
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    packages: Counter[str] = Counter()  # each module's own import time, summed per top-level package
    for line in stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and len(fields) == 3 and fields[0].strip().isdigit():
            packages[fields[2].strip().split(".")[0]] += int(fields[0])
    total_s = sum(packages.values()) / 1e6
    largest = ", ".join(f"{name} {us / 1e6:.2f} s" for name, us in packages.most_common(6))
    return f"imports took {total_s:.2f} s of a {finished.wall_s:.2f} s 1-page run (by package: {largest})"
