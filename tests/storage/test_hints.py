"""Hints: the advice an output error carries, by cause."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from fetcher.storage import hints


@pytest.fixture
def job(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """This process runs as uid 1000, gid 1000, as a job with PUID=1000 would."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(os, "getegid", lambda: 1000)
    return 1000, 1000


def _error(number: int, path: Path | str) -> OSError:
    return OSError(number, os.strerror(number), str(path))


def test_explain_read_only_says_remove_ro() -> None:
    message = hints.explain(_error(errno.EROFS, "/out/users"), "/out")

    assert message == (
        "cannot write /out/users: Read-only file system; the output is mounted read-only: remove :ro"
    )


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT])
def test_explain_disk_full_says_free_space(number: int) -> None:
    message = hints.explain(_error(number, "/out/users/x.parquet"), "/out")

    assert message.endswith("; the disk is full: free space on it, or mount a larger volume")


def test_explain_permission_denied_on_root_owned_folder_says_chown_to_the_job(
    tmp_path: Path, job: tuple[int, int]
) -> None:
    message = hints.explain(_error(errno.EACCES, tmp_path / "users"), str(tmp_path))

    assert message == (
        f"cannot write {tmp_path}/users: Permission denied; {tmp_path} belongs to root and the job runs "
        "as 1000:1000 (never as root): chown it to 1000:1000"
    )


def test_explain_permission_denied_on_another_users_folder_names_both_ids(
    tmp_path: Path, job: tuple[int, int]
) -> None:
    os.chown(tmp_path, 1234, 2345)

    message = hints.explain(_error(errno.EACCES, tmp_path / "a" / "b"), str(tmp_path))

    assert message.endswith(
        f"; {tmp_path} belongs to 1234:2345 but the job runs as 1000:1000: "
        "set PUID=1234 and PGID=2345 (the owner), or chown it to 1000:1000"
    )


def test_explain_permission_denied_on_own_folder_says_chmod(tmp_path: Path, job: tuple[int, int]) -> None:
    os.chown(tmp_path, 1000, 1000)
    tmp_path.chmod(0o555)

    message = hints.explain(_error(errno.EACCES, tmp_path / "users"), str(tmp_path))

    assert message.endswith(f"; {tmp_path} (mode 0555) is not writable by its owner 1000: chmod u+w it")


@pytest.mark.parametrize(
    ("number", "path"),
    [
        pytest.param(errno.ENOENT, "/out/x", id="other-cause"),
        pytest.param(errno.EACCES, "s3://bucket/x", id="not-local"),
    ],
)
def test_explain_without_known_cause_or_local_folder_has_no_hint(number: int, path: str) -> None:
    assert hints.explain(_error(number, path), "/out") == f"cannot write {path}: {os.strerror(number)}"


def test_explain_error_without_filename_names_the_given_path_and_verb() -> None:
    exc = OSError(errno.EROFS, "Read-only file system")

    assert hints.explain(exc, "/out/a/.lock", "open lock").startswith(
        "cannot open lock /out/a/.lock: Read-only file system; "
    )
