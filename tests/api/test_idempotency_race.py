"""Two copies of the same POST at the same instant (a client that retried too early): one message."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from engagements.models import Message
from tests.api.conftest import ApiTeam, client_with

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_retries_with_one_idempotency_key_log_one_message(api: ApiTeam) -> None:
    if connection.vendor != "postgresql":
        # CI runs the suite on PostgreSQL too, where this runs.
        pytest.skip("SQLite's in-memory test database locks whole tables: one writer at a time, no race")
    api.client("member")
    key = api.keys["member:write"]
    body = {"engagement": api.world.engagement.pk, "direction": "in", "kind": "reply", "body": "Here it is."}
    start = threading.Barrier(3)
    answers: list[tuple[int, int]] = []

    def post() -> None:
        try:
            start.wait()
            response = client_with(key).post(
                "/api/v1/messages/", body, format="json", headers={"Idempotency-Key": "race"}
            )
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 3
    assert {status for status, _id in answers} == {201}
    assert len({message_id for _status, message_id in answers}) == 1
    assert Message.objects.filter(engagement=api.world.engagement, direction="in").count() == 1
