"""The lease of lock = "s3", against moto_server on 127.0.0.1, on an injected clock: acquire, renew,
expire, take over, release."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from pyarrow import fs

from fetcher.errors import EXIT_LOCKED, Locked, OutputError
from fetcher.storage import open_lease
from fetcher.storage.lease import Lease
from fetcher.storage.local import LocalStorage
from fetcher.storage.s3 import S3Storage
from tests.polling import wait_for

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp()


class Clock:
    """A wall clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def storage(bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str) -> S3Storage:
    _, name = bucket
    return S3Storage(f"s3://{name}/lake", moto_endpoint)


def _lease(storage: S3Storage, clock: Clock, lease_s: float = 60.0) -> Lease:
    return Lease(storage.objects(), storage.key("api/.lease"), "api", lease_s, clock=clock)


def _document(storage: S3Storage) -> dict[str, Any]:
    document = storage.read_json("api/.lease")
    assert document is not None
    return document


def test_acquire_creates_the_lease_held_for_a_lease_from_now(storage: S3Storage) -> None:
    lease = _lease(storage, Clock())

    lease.acquire()

    document = _document(storage)
    assert lease.held
    assert document["holder"] == lease.holder
    assert (document["host"], document["pid"]) == (socket.gethostname(), os.getpid())
    assert document["expires_at"] == "2026-11-21T10:01:00.000Z"
    assert document["released"] is False


def test_acquire_while_another_holds_it_is_locked_naming_its_pid_and_host(storage: S3Storage) -> None:
    clock = Clock()
    _lease(storage, clock).acquire()
    clock.now += 59

    with pytest.raises(Locked) as caught:
        _lease(storage, clock).acquire()

    assert caught.value.exit_code == EXIT_LOCKED
    assert str(caught.value) == f"skipped: run in progress (pid {os.getpid()} on {socket.gethostname()})"


def test_renew_extends_the_lease_from_now(storage: S3Storage) -> None:
    clock = Clock()
    lease = _lease(storage, clock)
    lease.acquire()
    clock.now += 50

    assert lease.renew()

    assert _document(storage)["expires_at"] == "2026-11-21T10:01:50.000Z"
    clock.now += 50  # past the first expiry, within the renewed one
    with pytest.raises(Locked):
        _lease(storage, clock).acquire()


def test_expired_lease_is_taken_over_and_its_old_holder_loses_it(
    storage: S3Storage, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    old = _lease(storage, clock)
    old.acquire()
    clock.now += 60

    new = _lease(storage, clock)
    with caplog.at_level(logging.WARNING):
        new.acquire()

    assert (
        f"event=lease_taken_over source=api previous={old.holder} expired_at=2026-11-21T10:01:00.000Z"
        in caplog.text
    )
    assert not old.renew()
    assert not old.held
    assert "event=lease_lost source=api" in caplog.text
    old.release()  # lost: releasing writes nothing over the new holder's lease
    assert _document(storage)["holder"] == new.holder
    assert _document(storage)["released"] is False


def test_released_lease_is_taken_at_once_without_a_warning(
    storage: S3Storage, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    first = _lease(storage, clock)
    first.acquire()
    first.release()

    second = _lease(storage, clock)
    with caplog.at_level(logging.WARNING):
        second.acquire()

    assert not first.held
    assert second.held
    assert _document(storage)["holder"] == second.holder
    assert "lease_taken_over" not in caplog.text


def test_lease_that_does_not_parse_is_taken_over(storage: S3Storage) -> None:
    storage.objects().put(storage.key("api/.lease"), b"not json", replaces=None)
    lease = _lease(storage, Clock())

    lease.acquire()

    assert _document(storage)["holder"] == lease.holder


def test_hold_renews_in_the_background_and_releases_at_the_end(storage: S3Storage) -> None:
    lease = Lease(storage.objects(), storage.key("api/.lease"), "api", 0.3)  # renewed every 0.1 s

    with lease.hold():
        first = _document(storage)["renewed_at"]
        wait_for(lambda: _document(storage)["renewed_at"] != first, what="a renewal of the lease")

    document = _document(storage)
    assert document["released"] is True
    assert document["expires_at"] == document["renewed_at"]
    assert not lease.held


def test_hold_while_held_raises_locked_and_runs_nothing(storage: S3Storage) -> None:
    ran = []
    with open_lease(storage, "api", 60).hold(), pytest.raises(Locked), open_lease(storage, "api", 60).hold():
        ran.append(True)

    assert ran == []
    assert _document(storage)["released"] is True


def test_open_lease_on_a_directory_is_output_error(tmp_path: Any) -> None:
    with pytest.raises(OutputError, match='lock = "s3" needs an s3:// output_dir'):
        open_lease(LocalStorage(str(tmp_path)), "api", 60)
