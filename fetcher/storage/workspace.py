"""The workspace: what a run keeps on the local host, never published.

A run needs a lock file, which serialises the runs of a source, and a scratch directory for its
spool. With a local `output_dir` both sit in the source's own directory, beside the data, so that
every host that mounts the volume sees the same lock. With S3 they are local to this host, under
`TMPDIR`: the lock serialises runs on this host only (a scheduler forbids overlap across hosts),
and the scratch directory is a temporary one of the run's own, removed by `close`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from urllib.parse import quote

from fetcher.errors import OutputError
from fetcher.storage import layout
from fetcher.storage.base import local_path, output_errors

_LOCKS_DIRECTORY = "fetcher-locks"


class Workspace:
    """The host-local room of a run: where its lock lives, and its scratch directory."""

    def __init__(self, locks: str, scratch: str | None) -> None:
        """Locks live under the directory `locks`; the scratch of a source is its directory
        under `scratch`, or, when None, a temporary directory of the workspace's own."""
        self._locks = locks
        self._scratch = scratch
        self._temporary: str | None = None

    @classmethod
    def beside(cls, output_dir: str) -> Workspace:
        """Lock and scratch in each source's own directory of the local `output_dir`."""
        return cls(output_dir, output_dir)

    @classmethod
    def temporary(cls, key: str) -> Workspace:
        """Locks under `TMPDIR`, named after `key` (what the output is); scratch in a temporary directory."""
        locks = os.path.join(tempfile.gettempdir(), _LOCKS_DIRECTORY, quote(key, safe=""))
        return cls(locks, None)

    def lock_path(self, source: str) -> str:
        """The lock file of `source`, its directory created."""
        path = local_path(self._locks, layout.lock_file(source))
        with output_errors(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def scratch_dir(self, source: str) -> str:
        """A local directory for the run's own temporary files (the spool), created."""
        if self._scratch is not None:
            path = local_path(self._scratch, source)
            with output_errors(path):
                os.makedirs(path, exist_ok=True)
            return path
        if self._temporary is None:
            try:
                self._temporary = tempfile.mkdtemp(prefix="fetcher-")
            except OSError as exc:
                raise OutputError(f"cannot create a temporary directory: {exc.strerror}") from None
        return self._temporary

    def close(self) -> None:
        """Remove the temporary scratch directory, if there is one."""
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None
