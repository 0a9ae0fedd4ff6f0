"""The transport: urllib3 pools for a run, with the environment's proxy and CA settings as requests
read them, redirects followed as requests follows them, and every socket watched.

Safe to share across threads: urllib3's PoolManager is, and the proxy managers are made under a
lock. Each connection registers its socket with the exchange that uses it (fetcher.http.watchdog),
so the exchange's deadline holds in any thread.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlencode, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from fetcher.http import watchdog

MAX_REDIRECTS = 30  # requests' limit
POOL_SIZE = 10  # connections kept per host, as requests keeps: enough for the fetch-ahead workers
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Headers that describe a body, dropped with it when a redirect turns the request into a GET.
_BODY_HEADERS = ("Content-Type", "Content-Length", "Transfer-Encoding")


class TooManyRedirects(urllib3.exceptions.HTTPError):
    """More than MAX_REDIRECTS redirects in one exchange."""


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        watchdog.adopt(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        watchdog.adopt(self.sock)  # a kept-alive connection serves a new exchange
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        watchdog.adopt(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        watchdog.adopt(self.sock)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def should_strip_auth(old_url: str, new_url: str) -> bool:
    """Whether credentials for `old_url` must not go to `new_url`: requests' rule, kept exactly.

    Another host, port or scheme strips them, except the upgrade from http to https on the
    default ports, and a port written out that is the scheme's default.
    """
    old, new = urlsplit(old_url), urlsplit(new_url)
    if old.hostname != new.hostname:
        return True
    if old.scheme == "http" and old.port in (80, None) and new.scheme == "https" and new.port in (443, None):
        return False
    changed_port = old.port != new.port
    changed_scheme = old.scheme != new.scheme
    default_port = (_DEFAULT_PORTS.get(old.scheme), None)
    if not changed_scheme and old.port in default_port and new.port in default_port:
        return False
    return changed_port or changed_scheme


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` appended to its query, encoded as requests encodes `params=`."""
    if not params:
        return url
    parts = urlsplit(url)
    encoded = urlencode(params, doseq=True)
    return urlunsplit(parts._replace(query=f"{parts.query}&{encoded}" if parts.query else encoded))


class Transport:
    """Sends requests for one source's run. `close()` ends every pool."""

    def __init__(self, maxsize: int = POOL_SIZE) -> None:
        """`maxsize`: connections kept per host, at least as many as the requests out at once."""
        self._tls = _ca_settings()
        self._maxsize = max(maxsize, POOL_SIZE)
        self._proxies = urllib.request.getproxies()  # the environment's, read once per run
        self._direct = self._with_watched_pools(
            urllib3.PoolManager(POOL_SIZE, maxsize=self._maxsize, block=False, **self._tls)
        )
        self._via: dict[str, urllib3.ProxyManager] = {}
        self._bypassed: dict[str, bool] = {}  # by scheme and host: NO_PROXY covers it
        self._lock = threading.Lock()

    def close(self) -> None:
        self._direct.clear()
        for manager in self._via.values():
            manager.clear()

    def open(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        timeout_s: float,
        strip_on_redirect: tuple[str, ...] | None = None,
    ) -> tuple[str, urllib3.BaseHTTPResponse]:
        """The final URL and the response, its body unread, of a request; `strip_on_redirect` None
        means redirects are not followed, else these headers are dropped where requests drops
        `Authorization` (should_strip_auth)."""
        timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        sent = dict(headers)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._manager(url).urlopen(
                method, url, body=body, headers=sent, timeout=timeout,
                retries=False, redirect=False, preload_content=False,
            )  # fmt: skip
            location = response.get_redirect_location() if strip_on_redirect is not None else None
            if not location:
                return url, response
            response.drain_conn()
            response.release_conn()
            target = urljoin(url, location)
            if strip_on_redirect and should_strip_auth(url, target):
                sent = {name: value for name, value in sent.items() if name not in strip_on_redirect}
            method, body, sent = _rebuild_method(response.status, method, body, sent)
            url = target
        raise TooManyRedirects(f"Exceeded {MAX_REDIRECTS} redirects.")

    def _manager(self, url: str) -> urllib3.PoolManager:
        """The pools for `url`: through the proxy the environment names for it, or direct, as
        requests decides for each request (a token endpoint or a next page may be on another host)."""
        if not self._proxies:
            return self._direct
        proxy = _select_proxy(url, self._proxies)
        if proxy is None or self._bypasses(url):
            return self._direct
        with self._lock:
            manager = self._via.get(proxy)
            if manager is None:
                manager = urllib3.ProxyManager(
                    proxy,
                    POOL_SIZE,
                    proxy_headers=_proxy_headers(proxy),
                    maxsize=self._maxsize,
                    **self._tls,
                )
                self._via[proxy] = self._with_watched_pools(manager)
            return manager

    def _bypasses(self, url: str) -> bool:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            known = self._bypassed.get(key)
        if known is None:
            # requests' NO_PROXY rules (CIDR ranges, host:port, suffixes) are the ones users wrote
            # their settings against; its import is paid only with a proxy set.
            from requests.utils import should_bypass_proxies

            known = should_bypass_proxies(url, no_proxy=None)
            with self._lock:
                self._bypassed[key] = known
        return known

    @staticmethod
    def _with_watched_pools(manager: urllib3.PoolManager) -> Any:
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


def _rebuild_method(
    status: int, method: str, body: bytes | None, headers: dict[str, str]
) -> tuple[str, bytes | None, dict[str, str]]:
    """The method after a redirect, as browsers and requests do: 303 (and 302, and 301 from a POST)
    turn it into a GET without a body; 307 and 308 keep both."""
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        method = "GET"
    if status not in (307, 308):
        body = None
        headers = {name: value for name, value in headers.items() if name not in _BODY_HEADERS}
    return method, body, headers


def _ca_settings() -> dict[str, str]:
    """The CA bundle requests would verify with: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, else certifi's."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not bundle:
        import certifi

        bundle = certifi.where()
    if os.path.isdir(bundle):
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": bundle}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": bundle}


def _select_proxy(url: str, proxies: Mapping[str, str]) -> str | None:
    """requests' choice among `proxies`: scheme://host, scheme, all://host, then all."""
    if not proxies:
        return None
    parts = urlsplit(url)
    if parts.hostname is None:
        return proxies.get(parts.scheme) or proxies.get("all")
    for key in (f"{parts.scheme}://{parts.hostname}", parts.scheme, f"all://{parts.hostname}", "all"):
        if key in proxies:
            return proxies[key]
    return None


def _proxy_headers(proxy: str) -> dict[str, str]:
    """Proxy-Authorization from credentials in the proxy's URL, as requests sends it."""
    parts = urlsplit(proxy)
    if not parts.username:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return urllib3.util.make_headers(proxy_basic_auth=credentials)
