"""Notifications: a run's failure, recovery or success sent to a webhook, Slack and healthchecks.io.

Each receiver is a notifier kind: one class that says what it is sent before a run and after
one, and one entry in `NOTIFIERS` (its URL is the `[notify]` key of the same `url_key`). The
webhook and Slack hear the events the source's `on` names (failure and recovery by default);
healthchecks.io, a dead-man's switch, hears every run: `/start`, then the URL itself or `/fail`.

A notification is retried briefly (`ATTEMPTS`, waits capped at `MAX_WAIT_S`, each request bounded
by `timeout_s`); one that still fails logs `event=notify_failed` and never fails the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import tenacity

from fetcher.config.model import Config, Source
from fetcher.logs import quote
from fetcher.ops.outcomes import Outcome
from fetcher.redact import redact

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

FAILURE, RECOVERY, SUCCESS = "failure", "recovery", "success"
ATTEMPTS = 3
MAX_WAIT_S = 2.0
MAX_BODY_CHARS = 1000  # healthchecks.io keeps the body of a ping as its log line: keep it short


@dataclass(frozen=True)
class Message:
    """One POST to a receiver: a JSON document, a text body, or neither."""

    url: str
    json: dict[str, Any] | None = None
    text: str | None = None


class Notifier:
    """A receiver: what it is sent before a run and after one (None: nothing)."""

    url_key: ClassVar[str]

    def __init__(self, url: str, events: tuple[str, ...]) -> None:
        self.url = url
        self.events = events

    def starting(self, source: str) -> Message | None:
        return None

    def finished(self, event: str, outcome: Outcome) -> Message | None:
        raise NotImplementedError


class Webhook(Notifier):
    """A JSON document describing the run, on the events `on` names."""

    url_key = "webhook_url"

    def finished(self, event: str, outcome: Outcome) -> Message | None:
        if event not in self.events:
            return None
        document = {
            "event": event,
            "source": outcome.source,
            "run_id": outcome.run_id,
            "status": outcome.status,
            "records": outcome.records,
            "pages": outcome.pages,
            "duration_s": round(outcome.duration_s, 3),
            "error": outcome.error,
            "finished_at": outcome.finished_at.isoformat(),
            "last_success_at": outcome.last_success_at.isoformat() if outcome.last_success_at else None,
        }
        return Message(self.url, json=document)


class Slack(Notifier):
    """A Slack incoming-webhook message: one readable line, on the events `on` names."""

    url_key = "slack_webhook_url"

    def finished(self, event: str, outcome: Outcome) -> Message | None:
        if event not in self.events:
            return None
        return Message(self.url, json={"text": describe(event, outcome)})


class Healthchecks(Notifier):
    """healthchecks.io's pings: `/start` before the run, the URL on success, `/fail` with the error."""

    url_key = "healthchecks_url"

    def starting(self, source: str) -> Message | None:
        return Message(_with_path(self.url, "/start"))

    def finished(self, event: str, outcome: Outcome) -> Message | None:
        text = describe(event, outcome)[:MAX_BODY_CHARS]
        if outcome.succeeded:
            return Message(self.url, text=text)
        return Message(_with_path(self.url, "/fail"), text=text)


NOTIFIERS: dict[str, type[Notifier]] = {"webhook": Webhook, "slack": Slack, "healthchecks": Healthchecks}


def event_of(outcome: Outcome, previous: Outcome | None) -> str:
    """failure, recovery (a success after a failure) or success."""
    if not outcome.succeeded:
        return FAILURE
    return RECOVERY if previous is not None and not previous.succeeded else SUCCESS


def describe(event: str, outcome: Outcome) -> str:
    """The run in one line a person reads: `fetcher: orders failed: HTTP 503 ... (run ..., 2.1 s)`."""
    run = f"run {outcome.run_id}, " if outcome.run_id else ""
    if event == FAILURE:
        what = f"failed: {outcome.error or outcome.status}"
    else:
        verb = "recovered" if event == RECOVERY else "succeeded"
        what = f"{verb}: {outcome.records} records, {outcome.pages} pages"
    return f"fetcher: {outcome.source} {what} ({run}{outcome.duration_s:.1f} s)"


def start(config: Config, source: Source) -> None:
    """The signal before a run: each receiver's start message (healthchecks.io's `/start`)."""
    _send_all(config, source, lambda notifier: notifier.starting(source.name))


def finish(config: Config, source: Source, outcome: Outcome, previous: Outcome | None) -> None:
    """The signal after a run: each receiver's message for its event, if it listens for it."""
    event = event_of(outcome, previous)
    _send_all(config, source, lambda notifier: notifier.finished(event, outcome))


class _Refused(Exception):
    """The receiver answered with a status other than 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the receiver answered HTTP {status}")
        self.status = status


def _send_all(config: Config, source: Source, compose: Callable[[Notifier], Message | None]) -> None:
    settings = config.notify_of(source)
    urls = {name: getattr(settings, kind.url_key) for name, kind in NOTIFIERS.items()}
    messages = {name: compose(NOTIFIERS[name](url, settings.events)) for name, url in urls.items() if url}
    if not any(messages.values()):
        return
    import requests  # only when there is a message to send: every run loads this module

    with requests.Session() as session:
        for name, message in messages.items():
            if message is None:
                continue
            try:
                _send(session, message, settings.timeout, f"notifier={name} source={source.name}")
            except (requests.RequestException, _Refused) as exc:
                logger.warning(
                    "event=notify_failed notifier=%s source=%s error=%s",
                    name,
                    source.name,
                    quote(redact(str(exc))),
                )
            else:
                logger.info("event=notified notifier=%s source=%s", name, source.name)


def _send(session: requests.Session, message: Message, timeout_s: float, labels: str) -> None:
    """POST `message`; connection errors, timeouts, 429 and 5xx are retried, other answers are not."""

    def log_retry(retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        logger.warning(
            "event=notify_retry %s attempt=%d/%d wait_s=%.2f error=%s",
            labels,
            retry_state.attempt_number,
            ATTEMPTS,
            retry_state.upcoming_sleep,
            quote(redact(str(error))),
        )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_is_transient),
        stop=tenacity.stop_after_attempt(ATTEMPTS),
        wait=tenacity.wait_exponential(multiplier=0.5, max=MAX_WAIT_S),
        before_sleep=log_retry,
        sleep=_sleep,
        reraise=True,
    )
    data = message.text.encode() if message.text is not None else None
    for attempt in retrying:
        with attempt:
            # No redirects: a POST redirected becomes a GET, and the message would be lost unsaid.
            response = session.post(
                message.url,
                json=message.json,
                data=data,
                timeout=(timeout_s, timeout_s),
                allow_redirects=False,
            )
            response.close()
            if not 200 <= response.status_code < 300:
                raise _Refused(response.status_code)


def _is_transient(error: BaseException) -> bool:
    import requests

    if isinstance(error, _Refused):
        return error.status == 429 or error.status >= 500
    return isinstance(error, requests.ConnectionError | requests.Timeout)


def _with_path(url: str, suffix: str) -> str:
    """`url` with `suffix` after its path, before any query (`https://hc-ping.com/<uuid>/fail`)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def _sleep(seconds: float) -> None:
    """The real wait between attempts: the seam tests replace, so that none really sleeps."""
    time.sleep(seconds)
