"""Logging: one UTC key=value line per event, redacted, tracebacks included."""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path

import pytest

from fetcher import logs, redact


@pytest.fixture
def stream() -> io.StringIO:
    buffer = io.StringIO()
    logs.configure("INFO", buffer)
    yield buffer
    logging.getLogger().handlers.clear()


def test_configure_line_has_utc_timestamp_and_level(stream: io.StringIO) -> None:
    logging.getLogger("fetcher.test").info("event=hello source=%s", "api")

    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=INFO event=hello source=api\n", stream.getvalue()
    )


def test_configure_redacts_secrets_in_message_and_traceback(stream: io.StringIO) -> None:
    redact.register_secret("sup3r-s3cret")
    try:
        raise RuntimeError("boom sup3r-s3cret")
    except RuntimeError:
        logging.getLogger("fetcher.test").exception("event=bug url=%s", "https://h/x?token=sup3r-s3cret")

    assert "sup3r-s3cret" not in stream.getvalue()
    assert "Traceback" in stream.getvalue()


def test_configure_third_party_line_is_one_quoted_event(stream: io.StringIO) -> None:
    logging.getLogger("urllib3.test").warning("retrying\nGET /x?token=abc")

    line = stream.getvalue()
    assert line.count("\n") == 1
    assert 'logger=urllib3.test message="retrying\\nGET /x?token=***"' in line


def test_configure_libraries_quiet_below_warning(stream: io.StringIO) -> None:
    logging.getLogger("urllib3.connectionpool").info("Starting new HTTP connection")

    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        (42, "42"),
    ],
)
def test_quote_bare_only_when_safe(value: object, expected: str) -> None:
    assert logs.quote(value) == expected


def test_cap_file_empties_regular_file_over_limit_and_appends_after(tmp_path: Path) -> None:
    path = tmp_path / "fetch.log"
    path.write_text("x" * 100)

    with open(path, "a") as stream:
        assert logs.cap_file(stream, 50) == 100
        stream.write("new\n")

    assert path.read_text() == "new\n"


def test_cap_file_leaves_small_files_and_pipes(tmp_path: Path) -> None:
    path = tmp_path / "fetch.log"
    path.write_text("small")
    read_end, write_end = os.pipe()

    with open(path, "a") as stream, os.fdopen(write_end, "w") as pipe:
        assert logs.cap_file(stream, 50) is None
        assert logs.cap_file(pipe, 0) is None
    os.close(read_end)
    assert path.read_text() == "small"
