"""Schemathesis against /api/schema/: generated calls to every operation, with a member's token.

No answer may be a server error, and every answer (status, content type,
headers, body) must match the schema. Bounded: a few examples per operation,
no time deadline per example (the suite's own timeout still holds).
"""

from __future__ import annotations

import json

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ApiTeam

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _served_schema() -> schemathesis.BaseSchema:
    """The schema exactly as /api/schema/ serves it, called through the app's WSGI handler."""
    response = Client().get("/api/schema/?format=json", SERVER_NAME="localhost")
    assert response.status_code == 200, response.content
    loaded = schemathesis.openapi.from_dict(json.loads(response.content))
    loaded.app = WSGIHandler()
    return loaded


schema = _served_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection(settings):
    """As Django's test client does: a request must not close the test's database connection."""
    # Generated calls come fast: the per-token limits are tested elsewhere.
    settings.RATE_LIMITS = {"api_token": "100000/m", "api_token_write": "100000/m"}
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def member_token(api: ApiTeam) -> str:
    api.client("member")
    return api.keys["member:write"]


@schema.parametrize()
@hypothesis.settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    # explicit: schemathesis' boundary cases (odd offsets, huge numbers, wrong types); generate: random ones.
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    derandomize=True,
)
@pytest.mark.django_db
def test_every_answer_matches_the_schema_and_none_is_a_server_error(case, member_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {member_token}"}, checks=CHECKS)
