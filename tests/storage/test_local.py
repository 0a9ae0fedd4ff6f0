"""Storage: atomic publication, safe paths, and cleanup of what a crash left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fetcher.errors import OutputError
from fetcher.storage.local import LocalStorage


def test_writing_publishes_only_on_success(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))

    with storage.writing("api/data.csv") as staged:
        Path(staged.temp_path).write_text("a\n1\n")
        assert os.path.basename(staged.temp_path).startswith(".data.csv.")
        assert not (tmp_path / "api" / "data.csv").exists()

    assert (tmp_path / "api" / "data.csv").read_text() == "a\n1\n"
    assert [path.name for path in (tmp_path / "api").iterdir()] == ["data.csv"]


def test_writing_discards_temp_file_on_failure(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))

    with pytest.raises(RuntimeError), storage.writing("api/data.csv") as staged:
        Path(staged.temp_path).write_text("partial")
        raise RuntimeError("crash mid-write")

    assert list((tmp_path / "api").iterdir()) == []


def test_writing_replaces_existing_file_atomically(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    first = storage.write_json("api/_state.json", {"cursor": 1}, replaces=None)

    storage.write_json("api/_state.json", {"cursor": 2}, replaces=first)

    assert storage.read_json("api/_state.json") == {"cursor": 2}


def test_path_refuses_traversal(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="resolves outside output_dir"):
        LocalStorage(str(tmp_path)).path("../escape")


def test_path_refuses_symlink_out_of_root(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "api").symlink_to(tmp_path)

    with pytest.raises(OutputError, match="resolves outside output_dir"):
        LocalStorage(str(tmp_path / "root")).path("api/_state.json")


def test_remove_temps_removes_only_dot_tmp_files(tmp_path: Path) -> None:
    day = tmp_path / "api" / "fetch_date=2026-11-21"
    day.mkdir(parents=True)
    for name in (".api_1.parquet.ab12.tmp", "api_1.parquet", ".lock", "._state.json.cd34.tmp"):
        (day / name).write_text("x")

    removed = LocalStorage(str(tmp_path)).remove_temps("api")

    assert sorted(os.path.basename(path) for path in removed) == [
        "._state.json.cd34.tmp",
        ".api_1.parquet.ab12.tmp",
    ]
    assert sorted(path.name for path in day.iterdir()) == [".lock", "api_1.parquet"]


def test_read_json_missing_is_none_and_corrupt_is_error(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    (tmp_path / "bad.json").write_text("{not json")

    assert storage.read_json("none.json") is None
    with pytest.raises(OutputError, match="cannot read"):
        storage.read_json("bad.json")


def test_list_missing_directory_is_empty(tmp_path: Path) -> None:
    assert LocalStorage(str(tmp_path)).list("api/_runs") == []


def test_stage_where_directory_cannot_exist_is_output_error(tmp_path: Path) -> None:
    (tmp_path / "api").write_text("a file where a directory belongs")

    with pytest.raises(OutputError, match=r"cannot write .*api.*(Not a directory|File exists)"):
        LocalStorage(str(tmp_path)).write_json("api/x.json", {}, replaces=None)


def test_read_bytes_whole_file_and_missing_is_error(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "a.parquet").write_bytes(b"PAR1")

    assert storage.read_bytes("api/a.parquet") == b"PAR1"
    with pytest.raises(OutputError, match=r"cannot read .*none\.parquet: No such file"):
        storage.read_bytes("api/none.parquet")
