"""The storage interface: what a backend does to publish a run's files under `output_dir`.

A backend publishes files only complete, keeps run records and state beside the data (written
only over the version a run read: a run that lost a race never overwrites), and removes what a
crashed run left behind. Paths are `/`-separated and relative to `output_dir`
(`fetcher.storage.layout` names them). Host-local needs of a run (its lock, its scratch space)
are not storage: `fetcher.storage.workspace` holds them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fetcher.errors import OutputError
from fetcher.storage import hints


@dataclass(frozen=True)
class Staged:
    """A file being written: its temporary local path, and where it will be published."""

    temp_path: str
    relpath: str


class Storage(Protocol):
    """Where a run's files go, addressed by `/`-separated paths relative to `output_dir`."""

    def stage(self, relpath: str) -> Staged:
        """Reserve a local temporary file that `publish` will make `relpath`."""
        ...

    def publish(self, *staged: Staged) -> None:
        """Publish staged files together, each complete under its final name: all, or none."""
        ...

    def discard(self, staged: Staged) -> None:
        """Remove a staged file that will not be published; never fails."""
        ...

    def version(self, relpath: str) -> str | None:
        """The version of the document at `relpath` now, or None when there is none."""
        ...

    def write_json(self, relpath: str, document: Any, *, replaces: str | None) -> str:
        """Publish `document` as JSON (`json_bytes`) at `relpath`, atomically, and return its version.

        Only over the version `replaces` (None: only where there is none): raise Conflict, and
        change nothing, when another writer changed `relpath` first.
        """
        ...

    def read_json(self, relpath: str) -> Any | None:
        """The JSON document at `relpath`, or None when there is none."""
        ...

    def read_bytes(self, relpath: str) -> bytes:
        """The whole file at `relpath` (a published data file); OutputError when it cannot be read."""
        ...

    def list(self, relpath: str) -> list[str]:
        """The names directly under `relpath`, sorted; empty when there are none."""
        ...

    def remove_temps(self, source: str) -> list[str]:
        """Remove what crashed runs of `source` left unpublished; return where it was."""
        ...

    def close(self) -> None:
        """Release what the storage holds."""
        ...


def local_path(root: str, relpath: str) -> str:
    """The absolute path of `relpath` under the local directory `root`, refusing any outside it.

    Symbolic links are resolved first: a link that leads out of `root` is refused too.
    """
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, relpath))
    if os.path.commonpath([real_root, target]) != real_root:
        raise OutputError(f"refusing {relpath!r}: it resolves outside output_dir {root}")
    return target


@contextmanager
def output_errors(path: str) -> Iterator[None]:
    """Turn an OSError in the block into an OutputError naming the path, the problem and its hint."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(hints.explain(exc, path)) from None


def json_bytes(document: Any) -> bytes:
    """`document` as the indented UTF-8 JSON that run records and state files hold."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
