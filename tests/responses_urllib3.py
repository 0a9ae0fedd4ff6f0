"""Lets `responses` answer the fetcher's urllib3 requests as it answers requests' own.

`responses` mocks requests' adapter; the fetcher sends pages over urllib3 pools instead. While a
`responses` mock is active, each urllib3 request (one hop: redirects stay the fetcher's to follow)
is handed to requests' adapter, which `responses` has replaced: the tests written against it keep
their registries, matchers and recorded calls, and the fetcher's transport above the pool runs for
real. With no mock active, urllib3 goes to the network as ever.
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool

_REAL_URLOPEN = HTTPConnectionPool.urlopen
_REAL_SEND = HTTPAdapter.send
_DEFAULT_PORTS = {"http": 80, "https": 443}


def urlopen(
    pool: HTTPConnectionPool, method: str, url: str, body: Any = None, headers: Any = None, **kwargs: Any
) -> Any:
    """HTTPConnectionPool.urlopen, answered by `responses` while a mock is active."""
    if HTTPAdapter.send is _REAL_SEND:
        return _REAL_URLOPEN(pool, method, url, body=body, headers=headers, **kwargs)
    port = "" if pool.port in (None, _DEFAULT_PORTS.get(pool.scheme)) else f":{pool.port}"
    full_url = url if "://" in url else f"{pool.scheme}://{pool.host}{port}{url}"
    request = requests.Request(method, full_url, headers=dict(headers or {}), data=body).prepare()
    try:
        return HTTPAdapter().send(request, stream=True).raw
    except requests.Timeout as exc:  # what urllib3 itself raises for each, so the fetcher sees them
        raise urllib3.exceptions.ReadTimeoutError(pool, url, str(exc)) from exc
    except requests.ConnectionError as exc:
        raise urllib3.exceptions.ProtocolError(str(exc)) from exc
