"""Storage: where files land under output_dir, locally or on S3, always atomically.

This module is the one place that tells the backends apart by the scheme of `output_dir`: it
opens a run's storage (what is published), its workspace (what stays on this host), and, with
`lock = "s3"`, the lease that serialises a source's runs across hosts.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fetcher.errors import OutputError
from fetcher.storage.workspace import Workspace

if TYPE_CHECKING:
    from pyarrow import fs

    from fetcher.storage.base import Storage
    from fetcher.storage.lease import Lease

S3_SCHEME = "s3"
LOCAL_LOCK = "local"  # a flock in the workspace: beside the data, or on this host for S3
S3_LOCK = "s3"  # a lease object beside the data in the bucket: across hosts
LOCKS = (LOCAL_LOCK, S3_LOCK)
DEFAULT_LEASE_S = 60.0
MIN_LEASE_S = 15.0  # renewed every 5 s at least, each request given a sixth of the lease


def is_remote(output_dir: str) -> bool:
    """Whether `output_dir` is an object store (`s3://bucket/prefix`) rather than a directory."""
    return urlsplit(output_dir).scheme == S3_SCHEME


def check_output_dir(output_dir: str) -> None:
    """Raise ValueError saying what is wrong unless `output_dir` names a usable location."""
    if not output_dir:
        raise ValueError("must not be empty")
    if is_remote(output_dir):
        parts = urlsplit(output_dir)
        if not parts.netloc or parts.query or parts.fragment or ".." in parts.path.split("/"):
            raise ValueError("is not s3://bucket or s3://bucket/prefix")


def open_storage(output_dir: str, s3_endpoint_url: str | None = None) -> Storage:
    """The storage for `output_dir`: a directory, or `s3://bucket/prefix` (at `s3_endpoint_url`)."""
    if is_remote(output_dir):
        from fetcher.storage.s3 import S3Storage

        return S3Storage(output_dir, s3_endpoint_url)
    from fetcher.storage.local import LocalStorage

    return LocalStorage(output_dir)


def open_workspace(output_dir: str) -> Workspace:
    """The host-local workspace of runs into `output_dir`: beside the data, or under `TMPDIR` for S3."""
    if is_remote(output_dir):
        from fetcher.storage.s3 import bucket_path

        return Workspace.temporary(bucket_path(output_dir))
    return Workspace.beside(output_dir)


def open_lease(storage: Storage, source: str, lease_s: float) -> Lease:
    """The lease of `source`'s runs (`lock = "s3"`) in the bucket of `storage`, an S3 storage."""
    from fetcher.storage.lease import Lease
    from fetcher.storage.s3 import S3Storage

    if not isinstance(storage, S3Storage):
        raise OutputError(f'lock = "s3" needs an s3:// output_dir, not {storage}')
    return Lease.of(storage, source, lease_s)


def open_filesystem(output_dir: str, s3_endpoint_url: str | None = None) -> tuple[fs.FileSystem, str]:
    """For readers of the landed files: a pyarrow filesystem, and the path of `output_dir` on it."""
    if is_remote(output_dir):
        from fetcher.storage.s3 import S3Storage

        storage = S3Storage(output_dir, s3_endpoint_url)
        return storage.fs, storage.root
    from pyarrow import fs

    return fs.LocalFileSystem(), os.path.abspath(output_dir)
