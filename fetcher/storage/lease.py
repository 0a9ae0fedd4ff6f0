"""The lease lock of `lock = "s3"`: an object in the bucket that serialises a source's runs across hosts.

The lease is the object `{name}/.lease` (fetcher.storage.layout): which run holds it, and until
when. A run creates it only where there is none (If-None-Match), renews it every third of the lease
while it runs (If-Match on the version it wrote last), and releases it at the end by writing it
expired, again over its own version. A lease past its expiry (its run died, or lost the bucket for
a whole lease) is taken over with If-Match on that expired version: of two runs that race for it,
one wins. A run that finds the lease held raises Locked, as the local flock does.

Expiry is judged on each host's clock: the hosts' clocks must agree to well within a lease (NTP
keeps them within milliseconds). A run whose renewal fails for a whole lease may lose it; its state
write is conditional still, so the cursor never moves backwards, whoever holds the lease.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fetcher.errors import Conflict, Locked, OutputError
from fetcher.logs import quote
from fetcher.storage import layout
from fetcher.storage.base import json_bytes
from fetcher.storage.s3 import S3Storage
from fetcher.storage.s3objects import Objects

logger = logging.getLogger(__name__)

_ACQUIRE_ATTEMPTS = 3


class Lease:
    """The lease on the runs of `source`, held by this process while its `hold` block runs."""

    def __init__(
        self,
        objects: Objects,
        path: str,
        source: str,
        lease_s: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`path` is the lease object's `bucket/key`; `clock` the wall clock, in seconds since the epoch."""
        self.path = path
        self.source = source
        self.lease_s = lease_s
        self.holder = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self._objects = objects
        self._clock = clock
        self._version: str | None = None
        self._mutex = threading.Lock()

    @classmethod
    def of(cls, storage: S3Storage, source: str, lease_s: float) -> Lease:
        """The lease of `source` beside its data in `storage`; each request waits a sixth of the
        lease at most, once, so that a renewal never outlasts a third of it."""
        objects = storage.objects(timeout_s=lease_s / 6, attempts=1)
        return cls(objects, storage.key(layout.lease_file(source)), source, lease_s)

    @property
    def held(self) -> bool:
        """Whether this process holds the lease (it took it, and has neither lost nor released it)."""
        return self._version is not None

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the lease for the block, renewing it in a background thread; raise Locked if held."""
        self.acquire()
        stop = threading.Event()
        renewer = threading.Thread(
            target=self._renew_until, args=(stop,), name=f"lease-{self.source}", daemon=True
        )
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self.release()

    def acquire(self) -> None:
        """Take the lease: create it, or take over an expired one; raise Locked while another holds it."""
        holder: dict[str, Any] = {}
        for _ in range(_ACQUIRE_ATTEMPTS):
            try:
                self._version = self._objects.put(self.path, self._document(), replaces=None)
                return
            except Conflict:
                pass
            current = self._objects.get(self.path)
            if current is None:
                continue  # released and removed in between: create it again
            data, version = current
            holder = _parse(data)
            if not self._expired(holder):
                break
            try:
                self._version = self._objects.put(self.path, self._document(), replaces=version)
            except Conflict:
                continue  # another run took it over first: look again
            if not holder.get("released"):
                logger.warning(
                    "event=lease_taken_over source=%s previous=%s expired_at=%s",
                    self.source,
                    holder.get("holder", "unknown"),
                    holder.get("expires_at", "unknown"),
                )
            return
        pid = holder.get("pid")
        raise Locked(self.source, pid if isinstance(pid, int) else None, holder.get("host") or None)

    def renew(self) -> bool:
        """Extend the lease by a lease from now; False once it is lost (another run took it over).

        A renewal that cannot reach S3 is logged and tried again at the next tick.
        """
        with self._mutex:
            if self._version is None:
                return False
            try:
                self._version = self._objects.put(self.path, self._document(), replaces=self._version)
            except Conflict:
                self._version = None
                logger.error(
                    "event=lease_lost source=%s lease=%s message=%s",
                    self.source,
                    f"s3://{self.path}",
                    quote("another run took the lease over; this run's state write is conditional still"),
                )
                return False
            except OutputError as exc:
                logger.warning("event=lease_renewal_failed source=%s error=%s", self.source, quote(str(exc)))
            return True

    def release(self) -> None:
        """Write the lease expired, over this run's own version; a failure is logged (the lease expires)."""
        with self._mutex:
            if self._version is None:
                return
            try:
                self._objects.put(self.path, self._document(released=True), replaces=self._version)
            except OutputError as exc:
                logger.warning("event=lease_release_failed source=%s error=%s", self.source, quote(str(exc)))
            self._version = None

    def _renew_until(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 3):
            if not self.renew():
                return

    def _document(self, *, released: bool = False) -> bytes:
        now = self._now()
        expires = now if released else now + timedelta(seconds=self.lease_s)
        document = {
            "holder": self.holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "source": self.source,
            "lease_s": self.lease_s,
            "renewed_at": _iso(now),
            "expires_at": _iso(expires),
            "released": released,
        }
        return json_bytes(document)

    def _expired(self, holder: dict[str, Any]) -> bool:
        """Whether the lease `holder` wrote has run out; one that does not parse has."""
        try:
            return datetime.fromisoformat(str(holder["expires_at"])) <= self._now()
        except (KeyError, TypeError, ValueError):
            return True

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _parse(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
