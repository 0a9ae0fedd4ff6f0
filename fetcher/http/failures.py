"""What a failed exchange says: the status with a hint a person can act on, the cause on one line."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import urllib3

from fetcher.errors import FetchError, RetryableError
from fetcher.http.retry import is_retryable_status, parse_retry_after
from fetcher.redact import redact

_SNIPPET_CHARS = 200
_HINTS = {
    400: "the API rejected the request; check params and body",
    401: "the API rejected the credentials; check [sources.auth] and the secret it names",
    403: "the credentials lack permission for this URL",
    404: "no such URL; check url and the pagination settings",
}
# A 401 or 403 for a source that sends no credentials: there is no [sources.auth] to check.
_HINTS_WITHOUT_AUTH = {
    401: "the API wants credentials and none are configured; add [sources.auth] (or FETCH_BEARER_TOKEN)",
    403: "the API refuses anonymous requests; add [sources.auth] (or FETCH_BEARER_TOKEN)",
}
LOCAL_IN_CONTAINER_HINT = (
    "127.0.0.1 is the container itself: to reach the host's API, run with --network host "
    "(make run RUN_FLAGS=--network=host)"
)


def http_problem(response: urllib3.BaseHTTPResponse) -> str:
    """`HTTP 503 Service Unavailable`: the status line, as every status error opens."""
    return f"HTTP {response.status} {response.reason or ''}".rstrip()


def retryable(response: urllib3.BaseHTTPResponse, shown: str, problem: str) -> RetryableError | None:
    """The error to retry for a 429 or 5xx, with the server's Retry-After; None for any other status."""
    if not is_retryable_status(response.status):
        return None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return RetryableError(shown, problem, status=response.status, retry_after_s=retry_after)


def status_error(response: urllib3.BaseHTTPResponse, shown: str, authenticated: bool) -> FetchError:
    status = response.status
    problem = http_problem(response)
    retry = retryable(response, shown, problem)
    if retry is not None:
        return retry
    snippet = _snippet(response)
    hint = (_HINTS if authenticated else {**_HINTS, **_HINTS_WITHOUT_AUTH}).get(
        status, "the API refused the request"
    )
    return FetchError(shown, f"{problem}: {hint}{snippet}", status=status)


def is_local(url: str) -> bool:
    """Whether `url` names this machine: localhost, or a loopback address (127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _snippet(response: urllib3.BaseHTTPResponse) -> str:
    try:
        text = response.read(4096, decode_content=True).decode("utf-8", "replace")
    except Exception:  # the body only decorates the message; never let it mask the status
        return ""
    text = " ".join(text.split())[:_SNIPPET_CHARS]
    return f"; body: {text!r}" if text else ""


def reason(exc: BaseException) -> str:
    """The cause of a urllib3 error, on one short, redacted line."""
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", None) or cause
    return redact(" ".join(str(cause).split()))[:200]
