"""Secrets: each auth kind's secret and each notification URL, read from the variable or the file named.

A separate step after loading, so that loading stays pure: `resolve` returns the configuration
with every secret filled in. Registering the secrets for redaction is the command line's job
(all but an OAuth2 access token, which exists only at run time: see fetcher.http.oauth2).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import msgspec

from fetcher.config import environment
from fetcher.config.model import Config
from fetcher.config.signals import Notify
from fetcher.errors import ConfigError


def resolve(config: Config, environ: Mapping[str, str]) -> Config:
    """`config` with every secret read; a ConfigError naming the key when one cannot be."""
    sources = []
    for index, source in enumerate(config.sources):
        where = f"sources[{index}]"
        if source.auth is not None:
            auth = source.auth
            try:
                secret = _read(
                    auth.secret_variable, auth.secret_file, f"{where}.auth", auth.secret_keys, environ
                )
            except ConfigError as exc:
                if config.origin == environment.FROM_ENVIRONMENT:
                    raise environment.name_variable(exc) from None
                raise
            source = msgspec.structs.replace(source, auth=msgspec.structs.replace(auth, secret=secret))
        if source.notify is not None:
            source = msgspec.structs.replace(
                source, notify=_notify(source.notify, f"{where}.notify", environ)
            )
        sources.append(source)
    return msgspec.structs.replace(
        config, sources=tuple(sources), notify=_notify(config.notify, "notify", environ)
    )


def _notify(notify: Notify, where: str, environ: Mapping[str, str]) -> Notify:
    """`notify` with the URL of every receiver it names read, and refused unless http(s)."""
    urls = {}
    for key in Notify.URL_KEYS:
        variable, path = notify.variable(key), notify.file(key)
        if variable is None and path is None:
            continue
        keys = (f"{key}_env", f"{key}_file")
        url = _read(variable, path, where, keys, environ)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            named = keys[0] if variable is not None else keys[1]
            raise ConfigError(f"{where}.{named}", "is not an http:// or https:// URL (value redacted)")
        urls[key] = url
    return msgspec.structs.replace(notify, **urls)


def _read(
    variable: str | None, path: str | None, where: str, keys: tuple[str, str], environ: Mapping[str, str]
) -> str:
    """The secret in `variable`, else in the file at `path`; `keys` name the two settings under `where`."""
    env_key, file_key = keys
    if variable is not None:
        secret = environ.get(variable, "")
        if not secret:
            raise ConfigError(f"{where}.{env_key}", f"environment variable {variable} is not set")
        return secret
    assert path is not None  # the kind's check: exactly one of the two is set
    try:
        with open(path, encoding="utf-8") as file:
            secret = file.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{where}.{file_key}", f"cannot read {path}: {reason}") from None
    if not secret:
        raise ConfigError(f"{where}.{file_key}", f"{path} is empty")
    return secret
