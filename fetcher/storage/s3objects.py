"""Conditional requests on single S3 objects (If-Match, If-None-Match), which pyarrow cannot send.

State, run records and the lease are small JSON objects written whole. Each write names the version
(the ETag) it replaces, or asks that there be none: of two runs that race, S3 lets one write and
answers the other 412 Precondition Failed, which is `Conflict` here. boto3 is imported when the
first request is made, so that local runs and the command line never load it.
"""

from __future__ import annotations

import threading
from typing import Any

from fetcher.errors import Conflict, OutputError

# 412: the condition failed. 409 ConditionalRequestConflict: a conditional write raced another on
# the same key (AWS). 404 on If-Match: the object the run read is gone.
_LOST = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


class Objects:
    """Objects in S3, addressed as `bucket/key` (as pyarrow's filesystem addresses them)."""

    def __init__(
        self, endpoint_url: str | None, region: str | None, *, timeout_s: float, attempts: int
    ) -> None:
        """Each request gives up after `timeout_s` to connect and as much to read, `attempts` times."""
        self._endpoint_url = endpoint_url
        self._region = region
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._client: Any = None
        self._mutex = threading.Lock()

    def version(self, path: str) -> str | None:
        """The ETag of the object at `path`, or None when there is none."""
        bucket, key = _split(path)
        try:
            return str(self._s3().head_object(Bucket=bucket, Key=key)["ETag"])
        except _client_errors() as exc:
            if _code(exc) in _MISSING:
                return None
            raise OutputError(f"cannot read s3://{path}: {exc}") from None

    def get(self, path: str) -> tuple[bytes, str] | None:
        """The bytes of the object at `path` and their ETag, read together; None when there is none."""
        bucket, key = _split(path)
        try:
            answer = self._s3().get_object(Bucket=bucket, Key=key)
            return answer["Body"].read(), str(answer["ETag"])
        except _client_errors() as exc:
            if _code(exc) in _MISSING:
                return None
            raise OutputError(f"cannot read s3://{path}: {exc}") from None

    def put(self, path: str, data: bytes, *, replaces: str | None) -> str:
        """Write `data` at `path` only if the object is still the version `replaces` (None: only if
        there is none); return the new version. Raise Conflict when another writer came first.

        A PUT that landed but whose answer was lost is retried by botocore, and the retry fails its
        condition: an object that holds exactly `data` is then this write's own, not a conflict.
        """
        bucket, key = _split(path)
        condition = {"IfNoneMatch": "*"} if replaces is None else {"IfMatch": replaces}
        try:
            answer = self._s3().put_object(Bucket=bucket, Key=key, Body=data, **condition)
            return str(answer["ETag"])
        except _client_errors() as exc:
            if _code(exc) not in _LOST:
                raise OutputError(f"cannot write s3://{path}: {exc}") from None
        current = self.get(path)
        if current is not None and current[0] == data:
            return current[1]
        expected = "no object" if replaces is None else f"version {replaces}"
        raise Conflict(f"s3://{path} changed: this run expected {expected} there")

    def _s3(self) -> Any:
        """The boto3 client, made on first use (boto3 clients are safe to share between threads)."""
        with self._mutex:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(
                    connect_timeout=self._timeout_s,
                    read_timeout=self._timeout_s,
                    retries={"mode": "standard", "max_attempts": self._attempts},
                )
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=self._endpoint_url, region_name=self._region, config=config
                )
            return self._client


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path.partition("/")
    return bucket, key


def _client_errors() -> tuple[type[Exception], ...]:
    """What a request raises: an answer from S3 (ClientError) or none (BotoCoreError: no
    connection, no credentials). Imported here, after `_s3` has loaded botocore."""
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def _code(exc: Exception) -> str:
    """The error code of S3's answer (`PreconditionFailed`), or, for HEAD, its HTTP status."""
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    return code or str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
