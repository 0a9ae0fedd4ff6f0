"""Redaction: secrets never survive into text, in any of the forms they travel in."""

from __future__ import annotations

import base64

import pytest

from fetcher import redact


def test_redact_registered_secret_anywhere() -> None:
    redact.register_secret("tok-abc-123")

    assert redact.redact("failed with tok-abc-123 in body") == "failed with *** in body"


def test_redact_url_encoded_form_of_secret() -> None:
    redact.register_secret("a b/c+d")

    assert "a%20b%2Fc%2Bd" not in redact.redact("GET /x?k=a%20b%2Fc%2Bd")
    assert "a+b%2Fc%2Bd" not in redact.redact("GET /x?k=a+b%2Fc%2Bd")


def test_redact_basic_auth_header_value() -> None:
    redact.register_secret("pw", username="ann")
    encoded = base64.b64encode(b"ann:pw").decode()

    assert encoded not in redact.redact(f"sent {encoded}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("https://h/x?token=abc&page=2", "https://h/x?token=***&page=2", id="token-param"),
        pytest.param(
            "https://h/x?page=2&API_KEY=abc", "https://h/x?page=2&API_KEY=***", id="case-insensitive"
        ),
        pytest.param("https://h/x?access_token=abc#frag", "https://h/x?access_token=***#frag", id="fragment"),
        pytest.param("https://ann:pw@h/x", "https://ann:***@h/x", id="userinfo"),
        pytest.param("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***", id="bearer"),
        pytest.param("Authorization: Basic YW5uOnB3", "Authorization: Basic ***", id="basic"),
        pytest.param("https://h/x?page=2&tokens=1", "https://h/x?page=2&tokens=1", id="similar-name-kept"),
    ],
)
def test_redact_patterns_without_registration(text: str, expected: str) -> None:
    assert redact.redact(text) == expected


def test_redact_registered_param_name() -> None:
    redact.register_param("appid")

    assert redact.redact("/weather?q=berlin&appid=xyz") == "/weather?q=berlin&appid=***"


def test_reset_forgets_registered_secrets() -> None:
    redact.register_secret("forget-me")
    redact.reset()

    assert redact.redact("forget-me") == "forget-me"


def test_register_empty_secret_is_ignored() -> None:
    redact.register_secret("")

    assert redact.redact("text stays") == "text stays"
