"""The storage interface: both backends implement it; errors and JSON as every backend writes them."""

from __future__ import annotations

import errno
import inspect
from pathlib import Path

import pytest

from fetcher.errors import OutputError
from fetcher.storage.base import Storage, json_bytes, local_path, output_errors
from fetcher.storage.local import LocalStorage
from fetcher.storage.s3 import S3Storage

INTERFACE = [
    "close",
    "discard",
    "list",
    "publish",
    "read_bytes",
    "read_json",
    "remove_temps",
    "stage",
    "version",
    "write_json",
]


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_storage_is_about_publishing_only() -> None:
    assert sorted(_methods(Storage)) == INTERFACE


@pytest.mark.parametrize("backend", [LocalStorage, S3Storage])
def test_backend_implements_every_method_with_its_signature(backend: type) -> None:
    methods = _methods(backend)

    assert {name: methods.get(name) for name in INTERFACE} == {
        name: signature for name, signature in _methods(Storage).items()
    }


def test_output_errors_names_the_path_and_the_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "x"

    with (
        pytest.raises(OutputError, match=rf"^cannot write {missing}: No such file or directory$"),
        output_errors("elsewhere"),
    ):
        missing.write_text("x")


def test_output_errors_without_filename_names_the_given_path() -> None:
    with pytest.raises(OutputError, match=r"^cannot write /out/api: disk full$"), output_errors("/out/api"):
        raise OSError("disk full")


def test_output_errors_lets_output_errors_through() -> None:
    with pytest.raises(OutputError, match=r"^as it was$"), output_errors("/out"):
        raise OutputError("as it was")


def test_json_bytes_indented_utf8_with_final_newline() -> None:
    assert (
        json_bytes({"name": "café", "n": [1]}) == '{\n  "name": "café",\n  "n": [\n    1\n  ]\n}\n'.encode()
    )


def test_local_path_inside_root_is_absolute(tmp_path: Path) -> None:
    assert local_path(str(tmp_path), "api/_state.json") == str(tmp_path.resolve() / "api" / "_state.json")


@pytest.mark.parametrize("relpath", ["../escape", "/etc/passwd", "api/../../escape"])
def test_local_path_refuses_paths_outside_root(tmp_path: Path, relpath: str) -> None:
    with pytest.raises(OutputError, match="resolves outside output_dir"):
        local_path(str(tmp_path), relpath)


def test_output_errors_carries_the_causes_hint() -> None:
    with (
        pytest.raises(
            OutputError,
            match=r"^cannot write /out/api: Read-only file system; "
            r"the output is mounted read-only: remove :ro$",
        ),
        output_errors("/out/api"),
    ):
        raise OSError(errno.EROFS, "Read-only file system")
