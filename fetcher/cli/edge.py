"""The program's edge: the configuration loaded once, its secrets read and registered for redaction;
and the process kept lean for the commands that fetch (no pandas; Arrow's system allocator)."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fetcher.config.model import Config


def configuration(path: str | None, environ: Mapping[str, str]) -> Config:
    """Load the configuration, read its secrets and register them for redaction: the program's edge.

    Every command goes through here, so a missing secret fails each one as a configuration error.
    """
    from fetcher.config import load, secrets

    config = secrets.resolve(load.load(path, environ), environ)
    _register_secrets(config)
    return config


def _register_secrets(config: Config) -> None:
    """Redact every secret from now on, with Basic auth's encoded form and an API key's parameter.

    An OAuth2 client secret is redacted with the Basic form the token request sends (id and secret
    form-urlencoded first). Its access token, known only at run time, is registered where it is
    read, by fetcher.http.oauth2: the one secret not registered here.
    A notification URL is redacted whole and by its path and query too, the token that errors
    such as requests' "Max retries exceeded with url: /hook/..." show without the host.
    """
    from urllib.parse import quote, urlsplit

    from fetcher import redact
    from fetcher.http.auth import ApiKey, Basic, OAuth2ClientCredentials

    for auth in (source.auth for source in config.sources if source.auth is not None):
        redact.register_secret(auth.secret, username=auth.username if isinstance(auth, Basic) else None)
        if isinstance(auth, ApiKey) and auth.query:
            redact.register_param(auth.query)
        if isinstance(auth, OAuth2ClientCredentials):
            redact.register_secret(quote(auth.secret, safe=""), username=quote(auth.client_id, safe=""))
    for notify in (config.notify, *(source.notify for source in config.sources if source.notify)):
        for url in filter(None, (getattr(notify, key) for key in notify.URL_KEYS)):
            redact.register_secret(url)
            parts = urlsplit(url)
            token = parts.path + (f"?{parts.query}" if parts.query else "")
            if token.strip("/"):
                redact.register_secret(token)


def lean_memory(environ: Mapping[str, str]) -> None:
    """Arrow's buffers from the system allocator, unless ARROW_DEFAULT_MEMORY_POOL chooses one.

    pyarrow's default (mimalloc) keeps freed pages for reuse, so a long run's peak grows with the
    pages it has seen; glibc hands them back. Measured over 2M records of bench/server.py, Parquet
    and CSV: a peak of 194-208 MB against 141-144 MB, at the same speed.
    """
    if "ARROW_DEFAULT_MEMORY_POOL" not in environ:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())


class _HidePandas(importlib.abc.MetaPathFinder):
    """Answers `import pandas` as if it were not installed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"{name} is kept out of this command", name=name)


@contextmanager
def without_pandas() -> Iterator[None]:
    """Within the block, pandas cannot be imported, unless it is already loaded.

    pyarrow imports pandas the first time it turns a Python value into Arrow, only to ask whether
    the value is a pandas object. A fetch never has one, and pandas costs a run about 0.2 s of
    start-up and 50 MB of memory. pyarrow then takes pandas as absent, and imports it after all
    when something asks for a DataFrame later in the process.
    """
    if "pandas" in sys.modules:
        yield
        return
    finder = _HidePandas()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
