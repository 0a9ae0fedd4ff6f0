"""Shared state of one benchmark invocation: options, a scratch root, notes and target checks."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import clients
import report

T = TypeVar("T")


@dataclass
class Bench:
    """Shared state of one benchmark invocation: options, a scratch root, and the target checks."""

    args: argparse.Namespace
    scratch: Path
    notes: list[str] = field(default_factory=list)
    checks: list[report.Check] = field(default_factory=list)

    def measure(
        self, client: clients.Client, url: str, records: int, page_size: int = 0
    ) -> clients.Measurement:
        """One run of client in a fresh scratch dir (removed afterwards); page_size 0 is --page-size."""
        work_dir = self.work_dir(client.name)
        target = clients.Target(url, page_size or self.args.page_size, records, work_dir)
        try:
            result = client.measure(target)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        log(f"  {client.name:16} {result.wall_s:8.2f} s {result.peak_rss_mib:7.1f} MiB")
        return result

    def work_dir(self, prefix: str) -> Path:
        """A fresh directory under the scratch root; the caller removes it."""
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.scratch))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rotated(items: Sequence[T], shift: int) -> list[T]:
    """items rotated left by shift: each round of interleaved runs starts with another one."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]
