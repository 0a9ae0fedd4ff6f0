"""GraphQL: the body of a query, and the errors in a 200 response that fail the run."""

from __future__ import annotations

from typing import Any

import pytest

from fetcher import redact
from fetcher.errors import FetchError
from fetcher.http.graphql import GraphQL, raise_errors

URL = "https://api.example.com/graphql"


def test_payload_is_query_and_variables() -> None:
    query = GraphQL(query="{ a }", variables={"first": 2})

    assert query.payload() == {"query": "{ a }", "variables": {"first": 2}}


@pytest.mark.parametrize(
    "document",
    [{"data": {"a": 1}}, {"data": {"a": 1}, "errors": []}, [{"a": 1}]],
    ids=["no-errors", "empty-errors", "not-an-object"],
)
def test_raise_errors_passes_a_document_without_errors(document: Any) -> None:
    raise_errors(document, URL)


def test_raise_errors_names_the_messages() -> None:
    document = {"data": None, "errors": [{"message": "Cannot query field 'x' on type 'Query'."}]}

    with pytest.raises(FetchError) as caught:
        raise_errors(document, URL)

    assert str(caught.value) == f"{URL}: GraphQL errors: Cannot query field 'x' on type 'Query'."
    assert caught.value.status == 200


def test_raise_errors_shows_the_first_three_cut_and_counts_the_rest() -> None:
    errors = [{"message": f"problem {index} " + "x" * 300} for index in range(5)] + ["plain"]

    with pytest.raises(FetchError) as caught:
        raise_errors({"errors": errors}, URL)

    message = str(caught.value)
    assert "problem 0" in message and "problem 2" in message and "problem 3" not in message
    assert message.endswith("… (and 3 more)")
    assert len(message) < 800


def test_raise_errors_redacts_secrets_in_messages() -> None:
    redact.register_secret("s3cret-token")

    with pytest.raises(FetchError) as caught:
        raise_errors({"errors": [{"message": "bad token s3cret-token"}]}, URL)

    assert "s3cret-token" not in str(caught.value) and "bad token ***" in str(caught.value)
