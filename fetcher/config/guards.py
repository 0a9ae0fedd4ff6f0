"""`[sources.guards]`: checks of a run's data, judged before anything is published (fetcher.run.guards)."""

from __future__ import annotations

from typing import Literal

import msgspec

from fetcher.config.checks import check_positive
from fetcher.errors import ConfigError

Action = Literal["warn", "fail"]
GUARD_NAMES = ("min_records", "max_drop_pct", "stale_cursor_runs")


class GuardActions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[sources.guards.actions]`: a guard's own action, where it differs from the guards' `action`."""

    min_records: Action | None = None
    max_drop_pct: Action | None = None
    stale_cursor_runs: Action | None = None


class Guards(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[sources.guards]`: checks of a run's data, made after the fetch and before anything is published.

    Each guard is off until its threshold is set. A tripped guard with action `fail` fails the run
    (nothing published, state not advanced); with `warn` it is logged and kept in the run record.
    """

    min_records: int | None = None
    max_drop_pct: float | None = None
    history_runs: int = 7
    stale_cursor_runs: int | None = None
    action: Action = "fail"
    actions: GuardActions = GuardActions()

    def action_of(self, guard: str) -> Action:
        """What tripping `guard` (one of GUARD_NAMES) does: its own action, else the guards' `action`."""
        action: Action | None = getattr(self.actions, guard)
        return action or self.action

    def check(self, where: str) -> None:
        if self.min_records is not None:
            check_positive(self.min_records, f"{where}.min_records")
        if self.max_drop_pct is not None and not 0 < self.max_drop_pct < 100:
            raise ConfigError(
                f"{where}.max_drop_pct", f"{self.max_drop_pct} must be greater than 0 and less than 100"
            )
        check_positive(self.history_runs, f"{where}.history_runs")
        if self.stale_cursor_runs is not None:
            check_positive(self.stale_cursor_runs, f"{where}.stale_cursor_runs")
