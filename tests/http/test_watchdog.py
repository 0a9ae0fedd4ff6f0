"""The watchdog: an exchange that overruns its deadline ends, in the main thread and in any other."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from fetcher.config.model import Retry, Source
from fetcher.errors import FetchError
from fetcher.http import watchdog
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.pagination.pages import PageRequest
from tests.apiserver import ApiServer, Exchange
from tests.polling import wait_for

TIMED_OUT = "timed out: no complete response within timeout_s=1"


def _trickle_forever(head: bytes) -> Callable[[Exchange], None]:
    """A route that sends `head`, then one header byte every 0.2 s until the client goes away."""

    def route(exchange: Exchange) -> None:
        handler = exchange.handler
        try:
            handler.wfile.write(head)
            while True:
                handler.wfile.write(b"z")
                handler.wfile.flush()
                time.sleep(0.2)  # the server's pace, not the test's synchronisation
        except OSError:
            return

    return route


def _fetch_in_a_thread(client: Client, url: str) -> list[BaseException | None]:
    """Run client.get(url) in a worker thread; the list gets its error (or None) when it ends."""
    ended: list[BaseException | None] = []

    def fetch() -> None:
        try:
            client.get(PageRequest(url))
            ended.append(None)
        except BaseException as exc:  # handed to the test to assert on
            ended.append(exc)

    threading.Thread(target=fetch, daemon=True).start()
    return ended


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Slow: ", id="headers"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", id="body"),
        pytest.param(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", id="body-without-length"),
    ],
)
def test_trickled_response_in_a_worker_thread_ends_at_the_exchange_deadline(
    api: ApiServer, head: bytes
) -> None:
    api.route("/slow", _trickle_forever(head))
    source = Source(name="api", url=api.url("/slow"), timeout_s=1, retry=Retry(max_attempts=1))

    with Client(source, Deadline.after(300)) as client:
        ended = _fetch_in_a_thread(client, source.url)
        wait_for(lambda: ended, timeout_s=60, what="the worker thread's exchange to end")

    [error] = ended
    assert isinstance(error, FetchError)
    assert "timed out" in str(error)
    if head.endswith(b"X-Slow: "):
        assert TIMED_OUT in str(error)


def test_trickled_headers_in_the_main_thread_end_at_the_exchange_deadline(api: ApiServer) -> None:
    api.route("/slow", _trickle_forever(b"HTTP/1.1 200 OK\r\nX-Slow: "))
    source = Source(name="api", url=api.url("/slow"), timeout_s=1, retry=Retry(max_attempts=1))

    with Client(source, Deadline.after(300)) as client, pytest.raises(FetchError) as caught:
        client.get(PageRequest(source.url))

    assert TIMED_OUT in str(caught.value)


def test_one_client_shared_by_threads_holds_each_exchange_to_its_own_deadline(api: ApiServer) -> None:
    """A stuck exchange in one thread ends at its deadline; the other threads' pages still arrive."""
    api.route("/slow", _trickle_forever(b"HTTP/1.1 200 OK\r\nX-Slow: "))
    api.route("/fast", lambda exchange: (200, {"page": exchange.query.get("page")}))
    source = Source(name="api", url=api.url("/fast"), timeout_s=1, retry=Retry(max_attempts=1))
    results: dict[str, bytes] = {}

    with Client(source, Deadline.after(300)) as client:
        stuck = _fetch_in_a_thread(client, api.url("/slow"))

        def fetch(page: str) -> None:
            results[page] = client.get(PageRequest(source.url, {"page": page})).content

        workers = [threading.Thread(target=fetch, args=(str(n),), daemon=True) for n in range(8)]
        for worker in workers:
            worker.start()
        wait_for(lambda: stuck and len(results) == 8, timeout_s=60, what="every thread to end")

    assert TIMED_OUT in str(stuck[0])
    assert results == {str(n): f'{{"page": "{n}"}}'.encode() for n in range(8)}


def test_watch_shuts_the_socket_of_an_overrun_exchange_only() -> None:
    kept, other = socket.socketpair()
    cut, peer = socket.socketpair()
    with kept, other, cut, peer:
        with watchdog.watch(300) as patient:
            watchdog.adopt(kept)
        cut.settimeout(60)  # a watchdog that never fires fails the test instead of hanging it
        with watchdog.watch(0.01) as hasty:
            watchdog.adopt(cut)
            assert cut.recv(1) == b""  # returns once the watchdog shuts the socket

        other.sendall(b"x")
        assert (patient.fired, hasty.fired) == (False, True)
        assert kept.recv(1) == b"x"
