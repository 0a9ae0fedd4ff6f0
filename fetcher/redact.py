"""Redaction of secrets from every string that leaves the process: log lines, errors, run records.

Secrets are redacted three ways, so that one missed path does not leak:
- every registered secret value (and its URL-encoded and Basic-auth forms), wherever it appears;
- the value of any query parameter whose name looks sensitive, or was registered as one;
- the password in `scheme://user:password@host` and the credential after `Bearer`/`Basic`.
"""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"

SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "api-key",
        "api_key",
        "apikey",
        "auth",
        "client_secret",
        "key",
        "password",
        "secret",
        "sig",
        "signature",
        "token",
    }
)

_lock = threading.Lock()
_secrets: set[str] = set()
_params: set[str] = set(SENSITIVE_PARAMS)
_secret_pattern: re.Pattern[str] | None = None
_param_pattern: re.Pattern[str]

_USERINFO = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]*):[^/@\s]*@")
_AUTH_SCHEME = re.compile(r"\b(?P<head>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def _compile_params() -> re.Pattern[str]:
    names = "|".join(sorted((re.escape(name) for name in _params), key=len, reverse=True))
    return re.compile(rf"(?P<head>[?&;](?:{names})=)[^&#\s\"'<>]*", re.IGNORECASE)


_param_pattern = _compile_params()


def register_secret(secret: str, *, username: str | None = None) -> None:
    """Redact `secret` from now on, with its URL-encoded forms and, given `username`, Basic auth."""
    global _secret_pattern
    if not secret:
        return
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    if username is not None:
        forms.add(base64.b64encode(f"{username}:{secret}".encode()).decode())
    with _lock:
        _secrets.update(forms)
        alternatives = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(form) for form in alternatives))


def register_param(name: str) -> None:
    """Treat the query parameter `name` as sensitive (an `api_key` auth sent in the query)."""
    global _param_pattern
    with _lock:
        _params.add(name)
        _param_pattern = _compile_params()


def reset() -> None:
    """Forget every registered secret and parameter (for tests and long-lived processes)."""
    global _secret_pattern, _param_pattern
    with _lock:
        _secrets.clear()
        _params.clear()
        _params.update(SENSITIVE_PARAMS)
        _secret_pattern = None
        _param_pattern = _compile_params()


def redact(text: str) -> str:
    """Return `text` with every secret replaced by `***`."""
    if _secret_pattern is not None:
        text = _secret_pattern.sub(MASK, text)
    text = _param_pattern.sub(rf"\g<head>{MASK}", text)
    text = _USERINFO.sub(rf"\g<head>:{MASK}@", text)
    return _AUTH_SCHEME.sub(rf"\g<head> {MASK}", text)
