"""`[sources.incremental]`'s time windows: each bad value or missing piece is a ConfigError naming its key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fetcher.config.load import load
from fetcher.config.placeholders import fill
from fetcher.errors import ConfigError

SOURCE = '[[sources]]\nname = "a"\nurl = "http://h/x"\n'
WINDOWED = '[sources.incremental]\ncursor_field = "t"\ninitial = "2026-01-01"\nstart_param = "from"\n'


def _load(write_config: Callable[[str], Path], text: str) -> object:
    return load(str(write_config(text)), {})


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        pytest.param(
            SOURCE + WINDOWED + 'end_param = "to"\nwindow = "1 day"\n',
            "sources[0].incremental.window",
            "'1 day' is not a duration",
            id="bad-window",
        ),
        pytest.param(
            SOURCE + WINDOWED + 'end_param = "to"\nlookback = "0m"\n',
            "sources[0].incremental.lookback",
            "must be longer than 0",
            id="zero-lookback",
        ),
        pytest.param(
            SOURCE + WINDOWED + 'end_param = "to"\nend = "soon"\n',
            "sources[0].incremental.end",
            "\"now\" or 'soon' is not a date or an ISO 8601 time",
            id="bad-end",
        ),
        pytest.param(
            SOURCE + WINDOWED,
            "sources[0].incremental.end_param",
            "set end_param, or use {window_end}",
            id="window-end-not-sent",
        ),
        pytest.param(
            SOURCE + '[sources.incremental]\ncursor_field = "t"\ninitial = "2026-01-01"\nend_param = "to"\n',
            "sources[0].incremental.start_param",
            "set start_param, or use {window_start}",
            id="window-start-not-sent",
        ),
        pytest.param(
            SOURCE + '[sources.incremental]\ncursor_field = "t"\nstart_param = "a"\nend_param = "b"\n',
            "sources[0].incremental.initial",
            "is required with time windows",
            id="windows-without-initial",
        ),
        pytest.param(
            SOURCE
            + '[sources.incremental]\ncursor_field = "t"\ninitial = 5\nstart_param = "a"\nend_param = "b"\n',
            "sources[0].incremental.initial",
            "'5' is not a date or an ISO 8601 time",
            id="windows-numeric-initial",
        ),
        pytest.param(
            SOURCE + '[sources.incremental]\ncursor_field = "t"\n',
            "sources[0].incremental.param",
            "is required: set it, or use {cursor}",
            id="cursor-not-sent",
        ),
        pytest.param(
            '[[sources]]\nname = "a"\nurl = "http://h/x/{cursor}"\n'
            '[sources.incremental]\ncursor_field = "t"\n',
            "sources[0].incremental.initial",
            "is required with {cursor}",
            id="cursor-placeholder-without-initial",
        ),
        pytest.param(
            SOURCE + 'headers = { "X-Since" = "{window_start}" }\n',
            "sources[0].headers",
            "{window_start} needs [sources.incremental]",
            id="placeholder-without-incremental",
        ),
        pytest.param(
            SOURCE + WINDOWED + 'end_param = ""\n',
            "sources[0].incremental.end_param",
            "must not be empty",
            id="empty-end-param",
        ),
    ],
)
def test_check_bad_windows_name_key_and_allowed(
    write_config: Callable[[str], Path], text: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(write_config, text)

    assert caught.value.key == key
    assert words in str(caught.value)


def test_windows_by_placeholders_alone_are_windowed(write_config: Callable[[str], Path]) -> None:
    text = (
        '[[sources]]\nname = "a"\nurl = "http://h/w/{window_start}"\n'
        'headers = { "X-Until" = "{window_end}" }\n'
        '[sources.incremental]\ncursor_field = "t"\ninitial = "2026-01-01"\n'
    )

    (source,) = _load(write_config, text).sources  # type: ignore[attr-defined]

    assert source.windowed
    assert source.placeholders == {"window_start", "window_end"}


def test_window_keys_parse_to_lengths_and_times(write_config: Callable[[str], Path]) -> None:
    text = SOURCE + WINDOWED + 'end_param = "to"\nwindow = "1d"\nlookback = "2h"\nend = "2026-02-01"\n'

    (source,) = _load(write_config, text).sources  # type: ignore[attr-defined]
    incremental = source.incremental

    assert incremental.window_length == timedelta(days=1)
    assert incremental.lookback_length == timedelta(hours=2)
    assert incremental.initial_time == datetime(2026, 1, 1, tzinfo=UTC)
    assert incremental.end_at(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2026, 2, 1, tzinfo=UTC)


def test_plain_incremental_is_not_windowed_and_end_defaults_to_now(
    write_config: Callable[[str], Path],
) -> None:
    text = SOURCE + '[sources.incremental]\ncursor_field = "t"\nparam = "since"\n'
    now = datetime(2026, 3, 1, tzinfo=UTC)

    (source,) = _load(write_config, text).sources  # type: ignore[attr-defined]

    assert not source.windowed
    assert source.incremental.end_at(now) == now
    assert source.incremental.lookback_length == timedelta()


def test_filled_source_fills_url_params_headers_body(write_config: Callable[[str], Path]) -> None:
    text = (
        '[[sources]]\nname = "a"\nurl = "http://h/w/{window_start}/x"\nmethod = "POST"\n'
        'params = { until = "{window_end}", kept = "{other}" }\nheaders = { "X-From" = "{cursor}" }\n'
        'body = { filter = { since = "{window_start}" } }\n'
        '[sources.incremental]\ncursor_field = "t"\ninitial = "2026-01-01"\n'
    )
    (source,) = _load(write_config, text).sources  # type: ignore[attr-defined]
    values = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2026-01-02T00:00:00Z", "cursor": "c 1"}

    filled = fill(source, values)

    assert filled.url == "http://h/w/2026-01-01T00%3A00%3A00Z/x"
    assert filled.params == {"until": "2026-01-02T00:00:00Z", "kept": "{other}"}
    assert filled.headers == {"X-From": "c 1"}
    assert filled.body == {"filter": {"since": "2026-01-01T00:00:00Z"}}
    assert fill(source, {}) is source
