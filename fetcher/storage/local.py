"""Local storage: atomic publication of files under a directory, and nothing outside it.

A file is written to a dot-prefixed temporary name in its final directory, fsynced, renamed over
its final name with `os.replace`, and the directory is fsynced: readers of the volume see the
whole file or nothing, and dataset readers skip the temporary names (they start with `.`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from fetcher.errors import Conflict, OutputError
from fetcher.storage import layout
from fetcher.storage.base import Staged, json_bytes, local_path, output_errors


class LocalStorage:
    """Files under a local directory, addressed by `/`-separated paths relative to it."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def __str__(self) -> str:
        return self.root

    def path(self, relpath: str) -> str:
        """The absolute path of `relpath`, refusing any that resolves outside the root."""
        return local_path(self.root, relpath)

    def stage(self, relpath: str) -> Staged:
        """Reserve a temporary file beside `relpath`'s final name, creating its directory."""
        final = self.path(relpath)
        directory, name = os.path.split(final)
        with output_errors(directory):
            os.makedirs(directory, exist_ok=True)
        return Staged(os.path.join(directory, layout.temp_name(name)), relpath)

    def publish(self, *staged: Staged) -> None:
        """Publish staged files together: all of them, or none.

        Every file is fsynced before the first is renamed over its final name; if a rename then
        fails, the files already renamed are removed again. The directories are fsynced last.
        """
        finals = [self.path(item.relpath) for item in staged]
        for item in staged:
            with output_errors(item.temp_path), open(item.temp_path, "rb+") as file:
                os.fsync(file.fileno())
        published: list[str] = []
        try:
            for item, final in zip(staged, finals, strict=True):
                with output_errors(final):
                    os.replace(item.temp_path, final)
                published.append(final)
            for directory in dict.fromkeys(os.path.dirname(final) for final in finals):
                with output_errors(directory):
                    _fsync_directory(directory)
        except BaseException:
            for final in published:
                with suppress(OSError):
                    os.unlink(final)
            raise

    def discard(self, staged: Staged) -> None:
        """Remove a staged file that will not be published; never fails."""
        with suppress(OSError):
            os.unlink(staged.temp_path)

    @contextmanager
    def writing(self, relpath: str) -> Iterator[Staged]:
        """Stage `relpath`, publish it when the block succeeds, discard it when the block fails."""
        staged = self.stage(relpath)
        try:
            yield staged
        except BaseException:
            self.discard(staged)
            raise
        try:
            self.publish(staged)
        except BaseException:
            self.discard(staged)
            raise

    def version(self, relpath: str) -> str | None:
        """A digest of the file's bytes, or None when there is none."""
        path = self.path(relpath)
        try:
            with open(path, "rb") as file:
                return hashlib.sha256(file.read()).hexdigest()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise OutputError(f"cannot read {path}: {exc.strerror}") from None

    def write_json(self, relpath: str, document: Any, *, replaces: str | None) -> str:
        """Publish `document` as indented JSON at `relpath`, atomically, only over the version
        `replaces` (None: only where there is none); return its version, or raise Conflict.

        The check and the rename are two steps: the run's lock (a flock beside the data, which every
        host that mounts the volume sees) keeps other runs out between them.
        """
        data = json_bytes(document)
        current = self.version(relpath)
        if current != replaces:
            expected = "no file" if replaces is None else "the version it read"
            raise Conflict(f"{self.path(relpath)} changed: this run expected {expected} there")
        with (
            self.writing(relpath) as staged,
            output_errors(staged.temp_path),
            open(staged.temp_path, "wb") as file,
        ):
            file.write(data)
        return hashlib.sha256(data).hexdigest()

    def read_json(self, relpath: str) -> Any | None:
        """The JSON document at `relpath`, or None when there is none."""
        path = self.path(relpath)
        try:
            with open(path, encoding="utf-8") as file:
                return json.load(file)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot read {path}: {exc}") from None

    def read_bytes(self, relpath: str) -> bytes:
        """The whole file at `relpath`; OutputError when it cannot be read."""
        path = self.path(relpath)
        try:
            with open(path, "rb") as file:
                return file.read()
        except OSError as exc:
            raise OutputError(f"cannot read {path}: {exc.strerror}") from None

    def list(self, relpath: str) -> list[str]:
        """The names in directory `relpath`, sorted; empty when it does not exist."""
        try:
            return sorted(os.listdir(self.path(relpath)))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise OutputError(f"cannot list {self.path(relpath)}: {exc.strerror}") from None

    def remove_temps(self, source: str) -> list[str]:
        """Remove the temporary files crashed runs left under `source`'s directory; return their paths."""
        removed = []
        for directory, _, names in os.walk(self.path(source)):
            for name in names:
                if layout.TEMP_NAME.fullmatch(name):
                    path = os.path.join(directory, name)
                    with output_errors(path):
                        os.unlink(path)
                    removed.append(path)
        return removed

    def close(self) -> None:
        """Nothing to release locally."""


def _fsync_directory(directory: str) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as exc:  # some filesystems cannot fsync a directory; the rename still holds
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(descriptor)
