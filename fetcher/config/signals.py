"""`[notify]` and `[metrics]`: where the signals sent after each run go (see fetcher.ops.signals)."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from fetcher.config.checks import check_choice, check_positive
from fetcher.config.convert import show
from fetcher.errors import ConfigError

NOTIFY_EVENTS = ("failure", "recovery", "success")


class Notify(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[notify]` and `[sources.notify]`: where a run's notifications go, and on which events.

    Each receiver's URL is a secret: the configuration names the variable (`*_url_env`) or the
    file (`*_url_file`) that holds it, and fetcher.config.secrets reads it into the `*_url` field
    (never a key; `repr` hides it). A source's table is laid over the global one (`over`).
    Unset `on` and `timeout_s` mean the global value, else the defaults.
    """

    webhook_url_env: str | None = None
    webhook_url_file: str | None = None
    slack_webhook_url_env: str | None = None
    slack_webhook_url_file: str | None = None
    healthchecks_url_env: str | None = None
    healthchecks_url_file: str | None = None
    on: tuple[str, ...] | None = None
    timeout_s: float | None = None
    webhook_url: str = ""
    slack_webhook_url: str = ""
    healthchecks_url: str = ""

    URL_KEYS: ClassVar[tuple[str, ...]] = ("webhook_url", "slack_webhook_url", "healthchecks_url")
    resolved_fields: ClassVar[tuple[str, ...]] = URL_KEYS
    DEFAULT_ON: ClassVar[tuple[str, ...]] = ("failure", "recovery")
    DEFAULT_TIMEOUT_S: ClassVar[float] = 5.0

    @property
    def events(self) -> tuple[str, ...]:
        """The events that notify the webhook and Slack: `on`, else failure and recovery."""
        return self.DEFAULT_ON if self.on is None else self.on

    @property
    def timeout(self) -> float:
        return self.DEFAULT_TIMEOUT_S if self.timeout_s is None else self.timeout_s

    def variable(self, key: str) -> str | None:
        """The environment variable that holds the URL `key` (`webhook_url`), if it is read from one."""
        return getattr(self, f"{key}_env")

    def file(self, key: str) -> str | None:
        """The file that holds the URL `key`, if it is read from one."""
        return getattr(self, f"{key}_file")

    def check(self, where: str) -> None:
        """Raise ConfigError naming the key under `where` unless the settings make sense."""
        for key in self.URL_KEYS:
            if self.variable(key) is not None and self.file(key) is not None:
                raise ConfigError(f"{where}.{key}_env", f"set {key}_env or {key}_file, not both")
        for event in self.on or ():
            check_choice(event, NOTIFY_EVENTS, f"{where}.on")
        if self.on is not None and len(set(self.on)) != len(self.on):
            raise ConfigError(f"{where}.on", f"{show(list(self.on))} names an event twice")
        if self.timeout_s is not None:
            check_positive(self.timeout_s, f"{where}.timeout_s")

    def over(self, base: Notify) -> Notify:
        """This table laid over `base`: each receiver it names replaces base's; `on`, `timeout_s` if set."""
        changes: dict[str, Any] = {}
        for key in self.URL_KEYS:
            if self.variable(key) is None and self.file(key) is None:
                for name in (f"{key}_env", f"{key}_file", key):
                    changes[name] = getattr(base, name)
        for name in ("on", "timeout_s"):
            if getattr(self, name) is None:
                changes[name] = getattr(base, name)
        return msgspec.structs.replace(self, **changes)

    def __repr__(self) -> str:
        shown = (
            f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name not in self.URL_KEYS
        )
        return f"{type(self).__name__}({', '.join(shown)})"


class Metrics(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[metrics]`: the node_exporter textfile-collector directory each run writes its metrics to."""

    textfile_dir: str | None = None

    def check(self, where: str) -> None:
        if self.textfile_dir is not None and (not self.textfile_dir or "://" in self.textfile_dir):
            raise ConfigError(f"{where}.textfile_dir", f"{show(self.textfile_dir)} is not a local directory")
