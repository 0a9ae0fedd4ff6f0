"""Notifications: runs driven through the command line, each receiver a real server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fetcher import cli
from fetcher.errors import EXIT_FAILED, EXIT_OK
from fetcher.ops import notify
from fetcher.ops.outcomes import Outcome
from tests.apiserver import ApiServer, Exchange, Reply

TOKEN = "T0K3Nsecret"
HOOK, SLACK, HC = f"/hook/{TOKEN}", f"/slack/{TOKEN}", f"/hc/{TOKEN}"


@pytest.fixture(autouse=True)
def status_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path / "status"))
    return tmp_path / "status"


class Api:
    """The source's API: it answers 404 (the run fails at once) until it is `fixed`."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.fixed = False
        server.route("/items", self._items)

    def _items(self, exchange: Exchange) -> Reply:
        return (200, {"data": [{"id": 1}, {"id": 2}]}) if self.fixed else (404, {"error": "no such list"})


@pytest.fixture
def source_api(api: ApiServer) -> Api:
    return Api(api)


@pytest.fixture
def receiver(api: ApiServer) -> ApiServer:
    """The receiver of every notification, on the API's server: each path answers 200 unless routed."""
    for path in (HOOK, SLACK, HC, f"{HC}/start", f"{HC}/fail"):
        api.route(path, lambda exchange: (200, "OK"))
    return api


@pytest.fixture
def run(
    source_api: Api, receiver: ApiServer, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., int]:
    """Run a config whose `[sources.notify]` is `notify_table`, with HOOK, SLACK and HC set."""
    for name, path in (("HOOK", HOOK), ("SLACK", SLACK), ("HC", HC)):
        monkeypatch.setenv(name, receiver.url(path))

    def run_with(notify_table: str, *args: str) -> int:
        config = write_config(
            f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{source_api.server.url("/items")}"\n'
            f"[sources.notify]\n{notify_table}"
        )
        return cli.main(["run", "--config", str(config), *args])

    return run_with


def _sent(receiver: ApiServer, path: str) -> list[Exchange]:
    return [exchange for exchange in receiver.requests if exchange.path == path]


class TestWebhook:
    def test_failure_then_recovery_each_send_one_message_and_a_plain_success_none(
        self, run: Callable[..., int], source_api: Api, receiver: ApiServer
    ) -> None:
        assert run('webhook_url_env = "HOOK"\n') == EXIT_FAILED
        (failure,) = _sent(receiver, HOOK)

        source_api.fixed = True
        assert run('webhook_url_env = "HOOK"\n') == EXIT_OK
        assert run('webhook_url_env = "HOOK"\n') == EXIT_OK

        first, recovery = (exchange.json() for exchange in _sent(receiver, HOOK))
        assert (first["event"], first["source"], first["status"], first["records"]) == (
            "failure",
            "api",
            "failed",
            0,
        )
        assert "HTTP 404" in first["error"]
        assert failure.method == "POST" and failure.headers["Content-Type"] == "application/json"
        assert (recovery["event"], recovery["status"], recovery["records"], recovery["error"]) == (
            "recovery",
            "succeeded",
            2,
            None,
        )
        assert set(recovery) == {
            "event",
            "source",
            "run_id",
            "status",
            "records",
            "pages",
            "duration_s",
            "error",
            "finished_at",
            "last_success_at",
        }
        assert recovery["run_id"] and recovery["run_id"] != first["run_id"]
        assert recovery["duration_s"] >= 0 and recovery["last_success_at"] == recovery["finished_at"]

    def test_on_success_sends_every_successful_run(
        self, run: Callable[..., int], source_api: Api, receiver: ApiServer
    ) -> None:
        source_api.fixed = True

        assert run('webhook_url_env = "HOOK"\non = ["success"]\n') == EXIT_OK
        assert run('webhook_url_env = "HOOK"\non = ["success"]\n') == EXIT_OK

        assert [exchange.json()["event"] for exchange in _sent(receiver, HOOK)] == ["success", "success"]

    def test_on_without_failure_sends_nothing_for_a_failed_run(
        self, run: Callable[..., int], receiver: ApiServer
    ) -> None:
        assert run('webhook_url_env = "HOOK"\non = ["recovery"]\n') == EXIT_FAILED

        assert _sent(receiver, HOOK) == []


def test_slack_message_is_one_readable_line(run: Callable[..., int], receiver: ApiServer) -> None:
    assert run('slack_webhook_url_env = "SLACK"\n') == EXIT_FAILED

    (message,) = _sent(receiver, SLACK)
    document = message.json()
    assert list(document) == ["text"]
    assert document["text"].startswith("fetcher: api failed: ")
    assert "HTTP 404" in document["text"] and "\n" not in document["text"]


class TestHealthchecks:
    def test_success_pings_start_then_the_url(
        self, run: Callable[..., int], source_api: Api, receiver: ApiServer
    ) -> None:
        source_api.fixed = True

        assert run('healthchecks_url_env = "HC"\non = []\n') == EXIT_OK

        # /start goes out before the run asks the API for anything, the success ping after it.
        assert [(exchange.method, exchange.path) for exchange in receiver.requests] == [
            ("POST", f"{HC}/start"),
            ("GET", "/items"),
            ("POST", HC),
        ]
        assert receiver.requests[2].body.decode().startswith("fetcher: api succeeded: 2 records")

    def test_failure_pings_start_then_fail_with_a_short_body(
        self, run: Callable[..., int], receiver: ApiServer
    ) -> None:
        assert run('healthchecks_url_env = "HC"\n') == EXIT_FAILED

        assert [exchange.path for exchange in receiver.requests] == [f"{HC}/start", "/items", f"{HC}/fail"]
        body = receiver.requests[2].body.decode()
        assert body.startswith("fetcher: api failed: ") and "HTTP 404" in body
        assert len(body) <= notify.MAX_BODY_CHARS

    def test_ping_keeps_the_urls_query_after_its_path(self) -> None:
        pinger = notify.Healthchecks("https://hc-ping.com/KEY/api?create=1", ())

        assert pinger.starting("api") == notify.Message("https://hc-ping.com/KEY/api/start?create=1")


class TestDelivery:
    def test_receiver_answering_500_then_200_is_retried(
        self,
        run: Callable[..., int],
        receiver: ApiServer,
        no_retry_sleep: list[float],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        answers = iter([500, 200])
        receiver.route(HOOK, lambda exchange: (next(answers), "ok"))

        assert run('webhook_url_env = "HOOK"\n') == EXIT_FAILED
        log = capsys.readouterr().err

        assert len(_sent(receiver, HOOK)) == 2
        assert len(no_retry_sleep) == 1
        assert "event=notify_retry notifier=webhook source=api attempt=1/3" in log
        assert "event=notified notifier=webhook source=api" in log
        assert "notify_failed" not in log

    def test_receiver_refusing_with_4xx_is_not_retried(
        self, run: Callable[..., int], receiver: ApiServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        receiver.route(HOOK, lambda exchange: (404, "no such hook"))

        assert run('webhook_url_env = "HOOK"\n') == EXIT_FAILED
        log = capsys.readouterr().err

        assert len(_sent(receiver, HOOK)) == 1
        assert 'error="the receiver answered HTTP 404"' in log

    def test_receiver_answering_503_always_gets_every_attempt_and_the_others_still_hear(
        self,
        run: Callable[..., int],
        source_api: Api,
        receiver: ApiServer,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        source_api.fixed = True
        receiver.route(HOOK, lambda exchange: (503, "busy"))

        assert run('webhook_url_env = "HOOK"\nhealthchecks_url_env = "HC"\non = ["success"]\n') == EXIT_OK
        log = capsys.readouterr().err

        assert len(_sent(receiver, HOOK)) == notify.ATTEMPTS
        assert log.count("event=notify_failed notifier=webhook source=api") == 1
        assert [exchange.path for exchange in _sent(receiver, HC)] == [HC]

    def test_receiver_down_is_logged_redacted_and_leaves_the_exit_code(
        self,
        run: Callable[..., int],
        source_api: Api,
        monkeypatch: pytest.MonkeyPatch,
        no_retry_sleep: list[float],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        with socket.socket() as probe:  # a port nothing listens on: every connection is refused
            probe.bind(("127.0.0.1", 0))
            down = f"http://127.0.0.1:{probe.getsockname()[1]}{HOOK}"
        monkeypatch.setenv("HOOK", down)
        source_api.fixed = True

        assert run('webhook_url_env = "HOOK"\non = ["success"]\n', "--log-level", "DEBUG") == EXIT_OK

        log = capsys.readouterr().err
        assert len(no_retry_sleep) == notify.ATTEMPTS - 1
        assert log.count("event=notify_retry notifier=webhook source=api") == notify.ATTEMPTS - 1
        assert log.count("event=notify_failed notifier=webhook source=api error=") == 1
        assert TOKEN not in log and down not in log


def test_no_log_line_shows_a_receivers_url(
    run: Callable[..., int], source_api: Api, receiver: ApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.route(HOOK, lambda exchange: (500, "down"))

    assert (
        run(
            'webhook_url_env = "HOOK"\nslack_webhook_url_env = "SLACK"\nhealthchecks_url_env = "HC"\n',
            "--log-level",
            "DEBUG",
        )
        == EXIT_FAILED
    )

    log = capsys.readouterr().err
    assert "event=notify_failed notifier=webhook" in log and "event=notified notifier=slack" in log
    assert f"{HC}/start" in {exchange.path for exchange in receiver.requests}
    assert TOKEN not in log


def _outcome(status: str) -> Outcome:
    return Outcome(source="api", status=status, finished_at=datetime(2026, 11, 21, tzinfo=UTC))


@pytest.mark.parametrize(
    ("status", "previous", "event"),
    [
        pytest.param("failed", None, "failure", id="first-failure"),
        pytest.param("failed", "failed", "failure", id="still-failing"),
        pytest.param("succeeded", "failed", "recovery", id="recovery"),
        pytest.param("succeeded", "succeeded", "success", id="success"),
        pytest.param("succeeded", None, "success", id="first-success"),
    ],
)
def test_event_of_tells_failure_recovery_and_success(status: str, previous: str | None, event: str) -> None:
    assert notify.event_of(_outcome(status), _outcome(previous) if previous else None) == event


def test_global_notify_table_serves_a_source_without_its_own(
    source_api: Api, receiver: ApiServer, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK", receiver.url(HOOK))
    config = write_config(
        f'output_dir = "{{out}}"\n[notify]\nwebhook_url_env = "HOOK"\n'
        f'[[sources]]\nname = "api"\nurl = "{receiver.url("/items")}"\n'
    )

    assert cli.main(["run", "--config", str(config)]) == EXIT_FAILED

    assert [exchange.json()["event"] for exchange in _sent(receiver, HOOK)] == ["failure"]
