"""Schema changes across runs: what a run's columns gained, lost or retyped since the last success.

A run compares its columns (name -> Arrow type, as its record keeps them) with those of the newest
successful run that wrote any; a difference is logged once (`event=schema_change`) and kept in the
run record, so that a reader of the history knows when to expect a column to appear or change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fetcher.logs import quote

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retyped:
    """A column whose type changed: `from_type` in the previous run, `to_type` in this one."""

    from_type: str
    to_type: str


@dataclass(frozen=True)
class SchemaChange:
    """Columns added (with their type), removed (with their last type) and retyped."""

    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    retyped: dict[str, Retyped] = field(default_factory=dict)

    def describe(self) -> str:
        """`added=a:int64 removed=b:string retyped=c:int64->string`, the parts there are."""
        parts = [
            ("added", ",".join(f"{name}:{kind}" for name, kind in self.added.items())),
            ("removed", ",".join(f"{name}:{kind}" for name, kind in self.removed.items())),
            ("retyped", ",".join(f"{n}:{t.from_type}->{t.to_type}" for n, t in self.retyped.items())),
        ]
        return " ".join(f"{key}={quote(value)}" for key, value in parts if value)


def compare(previous: dict[str, str], current: dict[str, str]) -> SchemaChange | None:
    """The change from `previous` columns to `current` ones, or None when they are the same."""
    change = SchemaChange(
        added={name: kind for name, kind in current.items() if name not in previous},
        removed={name: kind for name, kind in previous.items() if name not in current},
        retyped={
            name: Retyped(kind, current[name])
            for name, kind in previous.items()
            if name in current and current[name] != kind
        },
    )
    return change if change.added or change.removed or change.retyped else None


def log(source: str, change: SchemaChange) -> None:
    """The one line a schema change is reported by."""
    logger.warning("event=schema_change source=%s %s", source, change.describe())
