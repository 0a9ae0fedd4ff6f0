"""The per-source lock: an exclusive `flock` on the source's lock file (the workspace's), holding the pid."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from fetcher.errors import Locked, OutputError
from fetcher.storage import hints


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
