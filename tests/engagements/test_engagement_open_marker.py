"""``Exchange.engagement_open`` (its engagement is open) stays true to the status on every path
that closes or reopens an engagement: Needs attention reads it instead of joining the engagements."""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from engagements import bulk, services
from engagements.models import Engagement, Exchange
from engagements.queries import attention_awaiting, attention_due_soon
from tests.consistency import RULES
from tests.factories import EngagementFactory, ProviderFactory

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
RULE = "an exchange's engagement_open says whether its engagement is open"

pytestmark = pytest.mark.django_db


def wrong_markers() -> list[int]:
    """Exchanges whose marker disagrees with their engagement (every exchange, not just the one in hand)."""
    return list(RULES[RULE].values_list("pk", flat=True))


def awaiting(team) -> list[int]:
    return [e.engagement_id for e in attention_awaiting(team.workspace, now=NOW + timedelta(days=30))]


def markers(engagement: Engagement) -> list[bool]:
    return list(Exchange.objects.filter(engagement=engagement).values_list("engagement_open", flat=True))


@pytest.fixture
def asked(team) -> Engagement:
    """An engagement in progress with one unanswered request and one answered."""
    provider = ProviderFactory(workspace=team.workspace, name="Pixel Forge", time_zone="UTC", country="")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    with time_machine.travel(NOW, tick=False):
        for days, kind, direction in ((6, "request", "out"), (5, "reply", "in"), (2, "request", "out")):
            services.message_log(
                engagement=engagement, direction=direction, kind=kind, occurred_at=NOW - timedelta(days=days)
            )
    return engagement


def test_closing_an_engagement_clears_its_requests_markers_and_reopening_sets_them(team, asked):
    assert markers(asked) == [True, True]
    assert asked.pk in awaiting(team)

    with time_machine.travel(NOW, tick=False):
        services.engagement_set_status(engagement=asked, status=Engagement.Status.CANCELLED, by=team.alice)
    assert markers(asked) == [False, False]
    assert asked.pk not in awaiting(team)
    assert wrong_markers() == []

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        services.engagement_set_status(engagement=asked, status=Engagement.Status.DRAFT, by=team.alice)
    assert markers(asked) == [True, True]
    assert asked.pk in awaiting(team)
    assert wrong_markers() == []


def test_closing_and_reopening_in_bulk_keep_every_marker(team, asked):
    other = EngagementFactory(workspace=team.workspace, provider=asked.provider, owner=team.bob)
    with time_machine.travel(NOW, tick=False):
        services.message_log(
            engagement=other, direction="out", kind="request", occurred_at=NOW - timedelta(hours=1)
        )
        ids = [asked.pk, other.pk]
        bulk.engagements_set_status(
            workspace=team.workspace, engagement_ids=ids, status=Engagement.Status.CANCELLED, by=team.alice
        )
    assert not Exchange.objects.filter(engagement_id__in=ids, engagement_open=True).exists()
    assert awaiting(team) == []
    assert wrong_markers() == []

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        bulk.engagements_set_status(
            workspace=team.workspace, engagement_ids=ids, status=Engagement.Status.DRAFT, by=team.alice
        )
    assert Exchange.objects.filter(engagement_id__in=ids, engagement_open=False).count() == 0
    assert sorted(awaiting(team)) == sorted(ids)
    assert wrong_markers() == []


def test_a_request_logged_on_a_closed_engagement_is_not_awaited(team, asked):
    with time_machine.travel(NOW, tick=False):
        services.engagement_set_status(engagement=asked, status=Engagement.Status.CANCELLED, by=team.alice)
        # The open request answered, then a new one: a new exchange, of a closed engagement.
        services.message_log(
            engagement=asked, direction="in", kind="reply", occurred_at=NOW - timedelta(hours=4)
        )
        services.message_log(
            engagement=asked, direction="out", kind="request", occurred_at=NOW - timedelta(hours=3)
        )
    assert markers(asked) == [False, False, False]
    assert asked.pk not in awaiting(team)
    assert asked.pk not in [x.engagement_id for x in attention_due_soon(team.workspace, now=NOW)]
    assert wrong_markers() == []


def test_the_migration_marks_the_exchanges_of_closed_engagements(team, asked):
    open_one = EngagementFactory(workspace=team.workspace, provider=asked.provider, owner=team.bob)
    with time_machine.travel(NOW, tick=False):
        services.engagement_set_status(engagement=asked, status=Engagement.Status.CANCELLED, by=team.alice)
        services.message_log(
            engagement=open_one, direction="out", kind="request", occurred_at=NOW - timedelta(hours=3)
        )
    Exchange.objects.update(engagement_open=True)  # as the new column starts out
    assert wrong_markers() != []

    migration = importlib.import_module("engagements.migrations.0037_exchange_engagement_open")
    migration.mark_closed(apps, None)

    assert wrong_markers() == []
    assert markers(open_one) == [True]


def test_the_queryset_marks_from_the_engagements(team, asked):
    Engagement.objects.filter(pk=asked.pk).update(status=Engagement.Status.CANCELLED)
    assert wrong_markers() != []
    assert Exchange.objects.filter(engagement=asked).mark_engagement_open() == 2
    assert markers(asked) == [False, False]
    assert wrong_markers() == []


@pytest.mark.django_db(transaction=True)
def test_a_request_logged_while_its_engagement_is_being_closed_is_written_closed(team):
    """The log's recompute locks the engagement as the status change does, and reads its status then.

    Without that lock the recompute wrote the new request open from the engagement it was handed,
    after the closing had already marked the older ones: Needs attention would list a request of a
    closed engagement.
    """
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite runs one writer at a time anyway")
    provider = ProviderFactory(workspace=team.workspace, name="Pixel Forge", time_zone="UTC", country="")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    earlier = timezone.now() - timedelta(hours=2)
    services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=earlier)
    services.message_log(
        engagement=engagement, direction="in", kind="reply", occurred_at=earlier + timedelta(hours=1)
    )
    stale = Engagement.objects.get(pk=engagement.pk)  # what the person's page had loaded: open
    holding, release, errors = threading.Event(), threading.Event(), []

    def close() -> None:
        try:
            with transaction.atomic():
                services.engagement_set_status(
                    engagement=engagement, status=Engagement.Status.CANCELLED, by=team.alice
                )
                holding.set()
                release.wait(10)  # the change not yet committed while the request is logged
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    def log() -> None:
        try:
            services.message_log(engagement=stale, direction="out", kind="request")
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    closer = threading.Thread(target=close)
    closer.start()
    assert holding.wait(10)
    logger = threading.Thread(target=log)
    logger.start()
    logger.join(0.5)  # it waits for the closing's lock (without it, it would write meanwhile)
    release.set()
    closer.join(10)
    logger.join(10)
    assert errors == []
    assert Exchange.objects.filter(engagement=engagement).count() == 2
    assert markers(engagement) == [False, False]
    assert wrong_markers() == []
