"""Installed schedules: what cron was given at start, so status and health never claim another.

Cron reads the crontab that `fetcher prepare` renders at start; a schedule changed in the
configuration afterwards takes effect at the next start ("restart to apply"). `prepare` records
the schedule each source was installed with (or the one schedule of the image's default crontab,
which runs every source), and `pending` compares it with the configuration. The crontab has one
line per schedule, `run-job --schedule EXPR`, and that job runs the sources recorded here at EXPR
(`running_at`): what status and health say cron runs is what it runs, until the next start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from fetcher.config.model import Config, Source

FILE = "schedules.json"
RESTART = "restart to apply"


@dataclass(frozen=True)
class Installed:
    """Each source's schedule in cron, or `every_source`: the default crontab's, for all of them."""

    schedules: dict[str, str] = field(default_factory=dict)
    every_source: str | None = None

    @classmethod
    def of_config(cls, config: Config) -> Installed:
        return cls({source.name: source.schedule for source in config.sources})

    @classmethod
    def of_crontab(cls, text: str) -> Installed:
        """The default crontab's: the schedule (the first five fields) of its one job line."""
        jobs = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        schedules = [" ".join(fields[:5]) for fields in jobs if "=" not in fields[0]]
        return cls(every_source=schedules[0] if schedules else None)

    def schedule_of(self, source: str) -> str | None:
        """The schedule cron runs `source` at, or None when cron does not run it."""
        return self.schedules.get(source, self.every_source)


def running_at(installed: Installed | None, sources: Iterable[Source], schedule: str) -> tuple[Source, ...]:
    """The sources of `sources` that cron runs at `schedule`: as installed at start, or (outside the
    container, where nothing was installed) as configured."""
    wanted = " ".join(schedule.split())

    def runs_at(source: Source) -> bool:
        running = source.schedule if installed is None else installed.schedule_of(source.name)
        return running is not None and " ".join(running.split()) == wanted

    return tuple(source for source in sources if runs_at(source))


def save(installed: Installed, state_dir: str) -> None:
    """Record what cron was given (world-readable: health and status run as root or not)."""
    path = os.path.join(state_dir, FILE)
    temp = f"{path}.tmp"
    with open(temp, "w", encoding="utf-8") as file:
        json.dump({"schedules": installed.schedules, "every_source": installed.every_source}, file)
    os.chmod(temp, 0o644)
    os.replace(temp, path)


def load(state_dir: str) -> Installed | None:
    """What cron was given at start, or None outside the container (nothing recorded)."""
    try:
        with open(os.path.join(state_dir, FILE), encoding="utf-8") as file:
            document = json.load(file)
        return Installed(dict(document["schedules"]), document["every_source"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pending(installed: Installed | None, source: Source) -> str | None:
    """Why cron does not run `source` as configured (ending in "restart to apply"), or None."""
    if installed is None:
        return None
    running = installed.schedule_of(source.name)
    if running == source.schedule:
        return None
    if running is None:
        return f"cron does not run it yet: {RESTART}"
    return f"cron runs it at {running!r}, the configuration says {source.schedule!r}: {RESTART}"
