"""Secrets: each auth kind's secret, read from the variable or the file its configuration names.

A separate step after loading, so that loading stays pure: `resolve` returns the configuration
with every secret filled in. Registering the secrets for redaction is the command line's job.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from fetcher.config import environment
from fetcher.config.model import Config
from fetcher.errors import ConfigError
from fetcher.http.auth import Auth


def resolve(config: Config, environ: Mapping[str, str]) -> Config:
    """`config` with every auth's secret read; a ConfigError naming the key when one cannot be."""
    sources = []
    for index, source in enumerate(config.sources):
        if source.auth is not None:
            try:
                secret = _read(source.auth, f"sources[{index}].auth", environ)
            except ConfigError as exc:
                if config.origin == environment.FROM_ENVIRONMENT:
                    raise environment.name_variable(exc) from None
                raise
            source = msgspec.structs.replace(source, auth=msgspec.structs.replace(source.auth, secret=secret))
        sources.append(source)
    return msgspec.structs.replace(config, sources=tuple(sources))


def _read(auth: Auth, where: str, environ: Mapping[str, str]) -> str:
    env_key, file_key = auth.secret_keys
    variable, path = auth.secret_variable, auth.secret_file
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
