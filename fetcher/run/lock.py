"""The per-source lock: an exclusive `flock` on the source's lock file (the workspace's), holding the pid.

With `lock = "s3"` a lease in the bucket (fetcher.storage.lease) takes its place, across hosts.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from fetcher.config.model import Config
from fetcher.errors import Locked, OutputError
from fetcher.storage import S3_LOCK, hints, open_lease
from fetcher.storage.base import Storage
from fetcher.storage.workspace import Workspace


def hold_source(
    config: Config, storage: Storage, workspace: Workspace, source: str
) -> AbstractContextManager[None]:
    """The lock of `source`'s runs: the flock in `workspace`, or, with `lock = "s3"`, the lease."""
    if config.lock == S3_LOCK:
        return open_lease(storage, source, config.lease_s).hold()
    return hold(workspace.lock_path(source), source)


@contextmanager
def hold(path: str, source: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the lock at `path` for the block, or raise Locked naming the holder's pid.

    With `wait`, wait for the holder to let go instead. The kernel releases a flock when its holder
    dies, even by SIGKILL: no stale lock survives.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(hints.explain(exc, path, "open lock")) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Locked(source, _holder(descriptor)) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)


def _holder(descriptor: int) -> int | None:
    text = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
