"""Conditional requests on S3 objects, against moto_server on 127.0.0.1: of two writers, one wins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pyarrow import fs

from fetcher.errors import Conflict, OutputError
from fetcher.storage.s3 import S3Storage
from fetcher.storage.s3objects import Objects

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def objects(bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str) -> tuple[Objects, str]:
    _, name = bucket
    return S3Storage(f"s3://{name}", moto_endpoint).objects(), name


def test_put_where_there_is_none_creates_once_then_conflicts(objects: tuple[Objects, str]) -> None:
    s3, name = objects
    path = f"{name}/api/_runs/20261121T100000Z.json"

    version = s3.put(path, b"first", replaces=None)
    with pytest.raises(
        Conflict, match=r"s3://.*/api/_runs/20261121T100000Z\.json changed: .*expected no object"
    ):
        s3.put(path, b"second", replaces=None)

    assert s3.get(path) == (b"first", version)
    assert s3.version(path) == version


def test_put_over_a_stale_version_conflicts_and_keeps_the_newer_object(objects: tuple[Objects, str]) -> None:
    s3, name = objects
    path = f"{name}/api/_state.json"
    read_by_a = s3.put(path, b"cursor 1", replaces=None)
    by_b = s3.put(path, b"cursor 9 by b", replaces=read_by_a)

    with pytest.raises(Conflict):
        s3.put(path, b"cursor 5 by a", replaces=read_by_a)

    assert s3.get(path) == (b"cursor 9 by b", by_b)


def test_put_over_a_version_that_is_gone_conflicts(objects: tuple[Objects, str]) -> None:
    s3, name = objects
    version = s3.put(f"{name}/elsewhere.json", b"x", replaces=None)

    with pytest.raises(Conflict):
        s3.put(f"{name}/api/_state.json", b"x", replaces=version)

    assert s3.get(f"{name}/api/_state.json") is None


def test_put_whose_retry_finds_its_own_bytes_is_not_a_conflict(objects: tuple[Objects, str]) -> None:
    """A PUT that landed but whose answer was lost is retried, and the retry's condition fails."""
    s3, name = objects
    path = f"{name}/api/_runs/20261121T100000Z.json"
    landed = s3.put(path, b"the record", replaces=None)

    assert s3.put(path, b"the record", replaces=None) == landed


def test_version_and_get_of_a_missing_object_are_none(objects: tuple[Objects, str]) -> None:
    s3, name = objects

    assert s3.version(f"{name}/api/_state.json") is None
    assert s3.get(f"{name}/api/_state.json") is None


def test_unreachable_endpoint_is_output_error_not_conflict(bucket: tuple[fs.S3FileSystem, str]) -> None:
    s3 = Objects("http://127.0.0.1:9", "us-east-1", timeout_s=1, attempts=1)

    with pytest.raises(OutputError, match=r"^cannot write s3://lake/api/_state\.json: ") as caught:
        s3.put("lake/api/_state.json", b"x", replaces=None)

    assert not isinstance(caught.value, Conflict)


def test_boto3_is_loaded_by_the_first_conditional_request_only() -> None:
    """Local runs, readers of S3 and the command line never pay for loading boto3."""
    code = (
        "import sys\n"
        "from fetcher.run import runner\n"
        "from fetcher.storage.s3 import S3Storage\n"
        "S3Storage('s3://lake/x', 'http://127.0.0.1:9').objects()\n"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )

    assert result.stdout.strip() == "[]"
