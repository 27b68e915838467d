"""The admin shows the log and what is derived from it, and changes none of it: those changes
belong in the app, where they keep their history and move due times, flags and figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from engagements.models import Engagement, Exchange, Message
from tests.factories import EngagementFactory, request_logged

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(team) -> Message:
    engagement = EngagementFactory(workspace=team.workspace, owner=team.alice, title="Landing page copy")
    return request_logged(engagement, by=team.alice, ago=timedelta(hours=1))


def rows(logged: Message) -> list[tuple[str, int]]:
    """(model name, primary key) of the engagement, the message and its exchange."""
    exchange = Exchange.objects.get(engagement=logged.engagement)
    return [("engagement", logged.engagement_id), ("message", logged.pk), ("exchange", exchange.pk)]


def test_the_admin_shows_engagements_messages_and_exchanges(logged, admin_client):
    for model, pk in rows(logged):
        changelist = admin_client.get(reverse(f"admin:engagements_{model}_changelist"))
        page = admin_client.get(reverse(f"admin:engagements_{model}_change", args=[pk]))

        assert changelist.status_code == 200, model
        assert page.status_code == 200, model
        assert 'name="_save"' not in page.content.decode(), model


def test_the_admin_changes_adds_and_deletes_none_of_them(logged, admin_client):
    for model, pk in rows(logged):
        assert admin_client.get(reverse(f"admin:engagements_{model}_add")).status_code == 403, model
        change = admin_client.post(
            reverse(f"admin:engagements_{model}_change", args=[pk]), {"body": "Changed"}
        )
        assert change.status_code == 403, model
        delete = admin_client.post(reverse(f"admin:engagements_{model}_delete", args=[pk]), {"post": "yes"})
        assert delete.status_code == 403, model

    assert Message.objects.get(pk=logged.pk).body == "Could you send the draft?"
    assert Engagement.objects.filter(pk=logged.engagement_id).exists()
    assert Exchange.objects.filter(engagement=logged.engagement).exists()
