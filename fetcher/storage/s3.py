"""S3 storage: the same layout and guarantees as a directory, in `s3://bucket/prefix`.

pyarrow's own S3 filesystem does the work; credentials and region come from the standard AWS
variables and files (and instance or pod roles), the endpoint from `s3_endpoint_url`.

An object must never be visible unfinished under its final key. pyarrow completes an upload when
its stream closes, even on an exception, so files are written locally (in a temporary directory of
the storage's own), uploaded to a staging key in the source's `_staging/` (readers skip `_`
names), and only then copied server-side to the final key, which S3 makes appear whole. A crash
leaves at most a staging object, which the next run of the source deletes; uploads cut off mid-way
leave invisible multipart parts (a bucket rule that aborts incomplete multipart uploads clears
them).

Run records and state are single conditional PUTs (fetcher.storage.s3objects): a run's state is
written only over the version the run read, a run record only where there is none, so that of
two runs that overlap, from any hosts, the one that lost fails and overwrites nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Any
from urllib.parse import urlsplit

from pyarrow import fs

from fetcher.errors import OutputError
from fetcher.storage import layout
from fetcher.storage.base import Staged, json_bytes, output_errors
from fetcher.storage.s3objects import Objects

# Conditional writes of run records and state: each waits at most this long, a few times.
_WRITE_TIMEOUT_S = 30.0
_WRITE_ATTEMPTS = 3
# pyarrow reads an object with a HEAD, then a ranged GET: racing an overwrite (of the state, say),
# it can see a mix of both versions, which does not parse. The next read sees one version.
_READ_ATTEMPTS = 3


class S3Storage:
    """Objects under `s3://bucket/prefix`, addressed by `/`-separated paths relative to it."""

    def __init__(self, uri: str, endpoint_url: str | None) -> None:
        self.uri = uri.rstrip("/")
        self.root = bucket_path(uri)
        options: dict[str, Any] = {"allow_delayed_open": True}
        if endpoint_url:
            endpoint = urlsplit(endpoint_url)
            options.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme)
        self.fs = fs.S3FileSystem(**options)
        self.endpoint_url = endpoint_url
        self._local: str | None = None
        self._objects: Objects | None = None

    def __str__(self) -> str:
        return self.uri

    def stage(self, relpath: str) -> Staged:
        """A local temporary file (in a directory of its own, removed by close); `publish` uploads it."""
        name = os.path.basename(self.key(relpath))
        return Staged(os.path.join(self._local_dir(), layout.temp_name(name)), relpath)

    def publish(self, *staged: Staged) -> None:
        """Publish staged files together: all of them, or none.

        Every file is uploaded to a staging key and checked before the first is copied to its
        final key; if a copy then fails, the objects already copied are deleted again.
        """
        staging = {item: self.key(layout.staging_key(item.relpath)) for item in staged}
        published: list[str] = []
        try:
            for item, key in staging.items():
                self._upload(item, key)
            for item, key in staging.items():
                final = self.key(item.relpath)
                with output_errors(f"s3://{final}"):
                    self.fs.copy_file(key, final)
                published.append(final)
        except BaseException:
            for final in published:
                self._delete(final)
            raise
        finally:
            for key in staging.values():
                self._delete(key)
        for item in staged:
            self.discard(item)

    def _upload(self, staged: Staged, key: str) -> None:
        final = self.key(staged.relpath)
        with output_errors(f"s3://{final}"):
            fs.copy_files(
                staged.temp_path, key, source_filesystem=fs.LocalFileSystem(), destination_filesystem=self.fs
            )
            uploaded = self.fs.get_file_info(key).size
        if uploaded != os.path.getsize(staged.temp_path):
            raise OutputError(f"upload of s3://{final} is incomplete ({uploaded} bytes)")

    def discard(self, staged: Staged) -> None:
        """Remove the local staged file; never fails."""
        with contextlib.suppress(OSError):
            os.unlink(staged.temp_path)

    def version(self, relpath: str) -> str | None:
        """The ETag of the object at `relpath`, or None when there is none."""
        return self._conditional().version(self.key(relpath))

    def write_json(self, relpath: str, document: Any, *, replaces: str | None) -> str:
        """One conditional PUT of the whole document, over the ETag `replaces` (None: where there is
        none): S3 replaces the object atomically, or answers 412 and keeps it (Conflict)."""
        return self._conditional().put(self.key(relpath), json_bytes(document), replaces=replaces)

    def objects(self, timeout_s: float = _WRITE_TIMEOUT_S, attempts: int = _WRITE_ATTEMPTS) -> Objects:
        """Conditional requests on objects of this storage's bucket, each waiting at most
        `timeout_s` to connect and as much to read, `attempts` times."""
        return Objects(self.endpoint_url, self.fs.region, timeout_s=timeout_s, attempts=attempts)

    def read_json(self, relpath: str) -> Any | None:
        """The JSON document at `relpath`, or None when there is none."""
        key = self.key(relpath)
        problem: Exception | None = None
        for _ in range(_READ_ATTEMPTS):
            try:
                with self.fs.open_input_stream(key) as stream:
                    return json.loads(stream.read())
            except FileNotFoundError:
                return None
            except (OSError, ValueError) as exc:
                problem = exc
        raise OutputError(f"cannot read s3://{key}: {problem}")

    def read_bytes(self, relpath: str) -> bytes:
        """The whole object at `relpath` (published whole, never overwritten); OutputError if unreadable."""
        key = self.key(relpath)
        try:
            with self.fs.open_input_stream(key) as stream:
                return stream.read()
        except OSError as exc:
            raise OutputError(f"cannot read s3://{key}: {exc}") from None

    def list(self, relpath: str) -> list[str]:
        """The names directly under `relpath`, sorted; empty when there are none."""
        key = self.key(relpath)
        try:
            infos = self.fs.get_file_info(fs.FileSelector(key, allow_not_found=True))
        except OSError as exc:
            raise OutputError(f"cannot list s3://{key}: {exc}") from None
        return sorted(os.path.basename(info.path) for info in infos)

    def remove_temps(self, source: str) -> list[str]:
        """Delete the staging objects crashed runs of `source` left behind."""
        staging = self.key(layout.staging_dir(source))
        try:
            infos = self.fs.get_file_info(fs.FileSelector(staging, allow_not_found=True, recursive=True))
        except OSError as exc:
            raise OutputError(f"cannot list s3://{staging}: {exc}") from None
        removed = [info.path for info in infos if info.type == fs.FileType.File]
        for path in removed:
            self._delete(path)
        return [f"s3://{path}" for path in removed]

    def close(self) -> None:
        """Remove the local directory of staged files."""
        if self._local is not None:
            shutil.rmtree(self._local, ignore_errors=True)
            self._local = None

    def _conditional(self) -> Objects:
        if self._objects is None:
            self._objects = self.objects()
        return self._objects

    def _local_dir(self) -> str:
        if self._local is None:
            try:
                self._local = tempfile.mkdtemp(prefix="fetcher-")
            except OSError as exc:
                raise OutputError(f"cannot create a temporary directory: {exc.strerror}") from None
        return self._local

    def key(self, relpath: str) -> str:
        """`bucket/prefix/relpath`: the object `relpath` names, refusing any outside the prefix."""
        parts = relpath.split("/")
        if relpath.startswith("/") or ".." in parts or "" in parts:
            raise OutputError(f"refusing {relpath!r}: it is not a path inside {self.uri}")
        return f"{self.root}/{relpath}" if self.root else relpath

    def _delete(self, key: str) -> None:
        with contextlib.suppress(OSError):  # gone already, or unreachable: the next run retries
            self.fs.delete_file(key)


def bucket_path(uri: str) -> str:
    """`bucket/prefix` of `s3://bucket/prefix/`: what pyarrow's S3 filesystem calls its root."""
    parts = urlsplit(uri)
    return f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
