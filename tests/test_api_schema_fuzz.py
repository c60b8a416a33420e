"""Property-based tests of the public API, generated from its own OpenAPI document.

Schemathesis draws requests that the document says are valid, for each operation, against
one app on a real SQLite file with the test docs (service_support), so most requests reach
the handlers: the path's article is usually a real open one (sometimes closed, hidden or
unknown), and the no-JavaScript form usually names it and carries a valid token. Every
answer must be no 5xx, a documented status, a documented content type, and a body that
matches the documented schema. Deterministic (derandomize) and bounded: a fixed number of
examples per operation, and a time budget for the whole file.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from conftest import make_settings
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_support import CLOSED, HIDDEN, OPEN, app_client, post_approved, with_docs

from comments_service.config import Settings
from comments_service.verbs import spam

EXAMPLES_PER_OPERATION = 100
FILE_BUDGET_SECONDS = 50.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
# Weighted towards the open article, so posts are validated, stored and refused for real.
ARTICLES = [OPEN, OPEN, OPEN, CLOSED, HIDDEN, "no-such-article"]
# The success each operation's drawn requests must sometimes reach.
REACHES = {"GET /api/articles/{article_id}/comments": 200,
           "POST /api/articles/{article_id}/comments": 202, "POST /comments": 303}
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


class Served:
    """One app for the whole file, its client, and the schema it serves."""

    def __init__(self, client: TestClient) -> None:
        self.started = time.monotonic()
        self.client = client
        self.schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        self.signing_key: bytes = client.app.state.keyring.signing_key  # type: ignore[attr-defined]
        # A published comment, so some generated parent_ids are real ones.
        self.parent_id = post_approved(client, body="A published comment to reply to.")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    settings: Settings = with_docs(make_settings(tmp_path), tmp_path,
                                   rate_limit_count=100_000, notify_interval_seconds=0)
    with app_client(settings) as client:
        yield Served(client)


def _is_public_api(label: str) -> bool:
    """The JSON API, its health and status, and the no-JavaScript post. (The HTML pages
    readers browse without JavaScript, GET /comments/..., have their own tests.)"""
    method, _, path = label.partition(" ")
    return path.startswith("/api/") or path == "/healthz" or (method, path) == (
        "POST", "/comments")


def _labels() -> list[str]:
    """The public API's operations in the document, read from a throwaway app."""
    with tempfile.TemporaryDirectory() as folder, app_client(
            with_docs(make_settings(Path(folder)), Path(folder))) as client:
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        labels = [result.ok().label for result in schema.get_all_operations()]
    return [label for label in labels if _is_public_api(label)]


def _strategy(served: Served, label: str) -> Any:
    operation = served.schema.find_operation_by_label(label)
    assert operation is not None, label
    if "{article_id}" in operation.path:
        return st.one_of(*(operation.as_strategy(path_parameters={"article_id": article})
                           for article in dict.fromkeys(ARTICLES)))
    strategy = operation.as_strategy()
    if operation.path == "/comments":
        return st.tuples(strategy, st.sampled_from(ARTICLES), st.booleans(),
                         st.booleans()).map(lambda drawn: _real_form(served, *drawn))
    return strategy


def _real_form(served: Served, case: Any, article: str, token: bool, plausible: bool) -> Any:
    """The drawn form naming a real article; half carry a valid token, and half of those
    an address and a ticked box, so drawn names and comments get as far as being stored."""
    if isinstance(case.body, dict):
        case.body["article_id"] = article
        if token:
            case.body[spam.FORM_TOKEN_FIELD] = spam.form_token(served.signing_key, article,
                                                               now=time.time() - 60)
            if plausible:
                case.body.update(email="reader@example.org", accept_terms="yes", website="")
    return case


def _send(client: TestClient, case: Any) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    request: dict[str, Any] = {
        "headers": {k: v for k, v in kwargs["headers"].items()
                    if k.lower() not in ("connection", "accept-encoding")},
        "params": kwargs.get("params") or None,
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    if "data" in kwargs:
        request["data"] = kwargs["data"]
    path = kwargs["url"].removeprefix("http://testserver")
    client.cookies.clear()
    return client.request(kwargs["method"], path, follow_redirects=False, **request)


@pytest.mark.parametrize("label", _labels())
def test_every_answer_matches_the_openapi_document(served: Served, label: str) -> None:
    if time.monotonic() - served.started > FILE_BUDGET_SECONDS:
        pytest.fail(f"the fuzz file ran past its {FILE_BUDGET_SECONDS:.0f} s budget")
    statuses: set[int] = set()

    @FUZZ_SETTINGS
    @hypothesis.given(case=_strategy(served, label))
    def answers_as_documented(case: Any) -> None:
        response = _send(served.client, case)
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    answers_as_documented()
    assert statuses, "no request was sent"
    assert not any(status >= 500 for status in statuses), statuses
    # Drawn requests got past validation to the handler's own success answer.
    assert REACHES.get(label, min(statuses)) in statuses, statuses
