"""Fixtures for the engagement pages: a provider and an engagement in alice's workspace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements import services
from engagements.models import Engagement, Message
from tests.factories import EngagementFactory, ProviderFactory


@pytest.fixture
def provider(team):
    return ProviderFactory(workspace=team.workspace, name="Vanessa VA")


@pytest.fixture
def engagement(team, provider) -> Engagement:
    return EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Landing page copy"
    )


@pytest.fixture
def message(team, engagement) -> Message:
    return services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=timezone.now() - timedelta(days=3),
        subject="Please write the copy",
        body="Line one\nLine two",
        author=team.alice,
    )


def url(name: str, **kwargs) -> str:
    return reverse(f"engagements:{name}", kwargs={"ws": "acme", **kwargs})
