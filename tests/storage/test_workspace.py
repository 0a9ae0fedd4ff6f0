"""The workspace: a run's lock and scratch space, on this host, beside the data or under TMPDIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fetcher.errors import OutputError
from fetcher.storage import open_workspace
from fetcher.storage.workspace import Workspace


def test_local_workspace_keeps_lock_and_scratch_in_the_source_directory(tmp_path: Path) -> None:
    workspace = open_workspace(str(tmp_path / "out"))

    lock = workspace.lock_path("api")
    scratch = workspace.scratch_dir("api")
    workspace.close()

    assert lock == str(tmp_path / "out" / "api" / ".lock")
    assert scratch == str(tmp_path / "out" / "api")
    assert os.path.isdir(scratch), "close leaves the source's own directory alone"


def test_local_workspace_refuses_a_source_directory_leading_out_of_output_dir(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "api").symlink_to(tmp_path)
    workspace = open_workspace(str(tmp_path / "out"))

    with pytest.raises(OutputError, match="resolves outside output_dir"):
        workspace.lock_path("api")
    with pytest.raises(OutputError, match="resolves outside output_dir"):
        workspace.scratch_dir("api")


def test_local_workspace_lock_where_directory_cannot_exist_is_output_error(tmp_path: Path) -> None:
    (tmp_path / "api").write_text("a file where a directory belongs")

    with pytest.raises(OutputError, match=r"cannot write .*api"):
        open_workspace(str(tmp_path)).lock_path("api")


def test_s3_workspace_is_local_and_scratch_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    workspace = open_workspace("s3://bucket/prefix/")

    scratch = workspace.scratch_dir("api")
    lock = workspace.lock_path("api")
    assert workspace.scratch_dir("other") == scratch, "one scratch directory per run"
    workspace.close()

    assert not os.path.exists(scratch)
    assert os.path.isdir(os.path.dirname(lock))
    assert lock == str(tmp_path / "fetcher-locks" / "bucket%2Fprefix" / "api" / ".lock")
    assert os.listdir(tmp_path) == ["fetcher-locks"]


def test_s3_workspace_locks_are_shared_by_every_spelling_of_the_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    assert open_workspace("s3://bucket/prefix").lock_path("api") == open_workspace(
        "s3://bucket/prefix/"
    ).lock_path("api")


def test_temporary_workspace_scratch_where_tmpdir_is_unusable_is_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "missing"))

    with pytest.raises(OutputError, match="cannot create a temporary directory"):
        Workspace.temporary("bucket").scratch_dir("api")
