"""Hints: what to do when the output cannot be written, by cause, in one line each.

One home for them, so that a run's error, its run record, health, status and the container's
start-up all give the same advice: a read-only mount, a directory the job's user does not own, a
full disk.
"""

from __future__ import annotations

import errno
import os

READ_ONLY = "the output is mounted read-only: remove :ro"
DISK_FULL = "the disk is full: free space on it, or mount a larger volume"


def explain(exc: OSError, path: str, verb: str = "write") -> str:
    """`cannot VERB PATH: REASON`, then what to do about it when the cause is a known one."""
    where = exc.filename if isinstance(exc.filename, str) and exc.filename else path
    message = f"cannot {verb} {where}: {exc.strerror or exc}"
    advice = hint(exc.errno, where)
    return f"{message}; {advice}" if advice else message


def hint(error: int | None, path: str) -> str | None:
    """What to do about `error` (an errno) met at `path`, or None for a cause without advice."""
    if error == errno.EROFS:
        return READ_ONLY
    if error in (errno.ENOSPC, errno.EDQUOT):
        return DISK_FULL
    if error in (errno.EACCES, errno.EPERM):
        return _ownership(path)
    return None


def _ownership(path: str) -> str | None:
    """Compare the owner of the nearest existing directory with the user this process runs as."""
    directory = _existing(path)
    if directory is None:
        return None
    info = os.stat(directory)
    owner, job = (info.st_uid, info.st_gid), (os.geteuid(), os.getegid())
    if owner[0] == job[0]:
        mode = f"{info.st_mode & 0o7777:04o}"
        return f"{directory} (mode {mode}) is not writable by its owner {job[0]}: chmod u+w it"
    ids = f"{job[0]}:{job[1]}"
    if owner[0] == 0:
        return f"{directory} belongs to root and the job runs as {ids} (never as root): chown it to {ids}"
    return (
        f"{directory} belongs to {owner[0]}:{owner[1]} but the job runs as {ids}: "
        f"set PUID={owner[0]} and PGID={owner[1]} (the owner), or chown it to {ids}"
    )


def _existing(path: str) -> str | None:
    """`path`'s nearest directory that exists (itself, or an ancestor), or None (not local)."""
    if "://" in path or not os.path.isabs(path):
        return None
    candidate = path
    while not os.path.isdir(candidate):
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return None
        candidate = parent
    return candidate
