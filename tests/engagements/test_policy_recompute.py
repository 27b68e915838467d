"""Changing a response policy, or a provider's, moves the open due times, in a Celery task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements import services, tasks
from engagements.models import Engagement, Exchange
from engagements.policies import default_policy
from providers import services as provider_services
from tests.factories import EngagementFactory, ProviderFactory

# Mon 2026-02-02 10:00 Berlin: the following week has no German holiday, so
# n business days later is the same time n weekdays later.
DAY0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def after(business_days: int) -> datetime:
    return DAY0 + timedelta(days=business_days)


@pytest.fixture
def quick(team):
    return provider_services.policy_create(workspace=team.workspace, name="Quick", reply_within=3)


@pytest.fixture
def provider(team):
    return ProviderFactory(
        workspace=team.workspace, name="BrightDesk", time_zone="Europe/Berlin", country="DE"
    )


def waiting(team, provider, policy=None, *, answered=False) -> Engagement:
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, response_policy=policy
    )
    # Logged as it happened: a request typed in long after its reply was due is looked at later.
    with time_machine.travel(DAY0, tick=False):
        services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=DAY0)
    if answered:
        with time_machine.travel(DAY0 + timedelta(hours=1), tick=False):
            services.message_log(
                engagement=engagement, direction="in", kind="reply", occurred_at=DAY0 + timedelta(hours=1)
            )
    return engagement


def exchange(engagement) -> Exchange:
    return Exchange.objects.get(engagement=engagement)


def test_changing_a_policys_reply_within_moves_the_open_exchanges_of_its_engagements(
    team, provider, quick, django_capture_on_commit_callbacks
):
    mine = waiting(team, provider, quick)
    answered = waiting(team, provider, quick, answered=True)
    others = waiting(team, provider)  # under the workspace default
    assert exchange(mine).reply_due_at == after(3)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_update(policy=quick, reply_within=1)

    moved = exchange(mine)
    assert moved.reply_due_at == after(1)
    assert moved.next_check_at == after(1)
    assert exchange(answered).reply_due_at == after(3)
    assert exchange(answered).within_policy is True
    assert exchange(others).reply_due_at == after(2)
    assert exchange(others).next_check_at == after(2)


def test_an_engagement_without_a_policy_follows_its_providers(
    team, provider, quick, django_capture_on_commit_callbacks
):
    provider.response_policy = quick
    provider.save(update_fields=["response_policy"])
    engagement = waiting(team, provider)
    assert exchange(engagement).reply_due_at == after(3)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_update(policy=quick, reply_within=4)

    assert exchange(engagement).reply_due_at == after(4)


def test_an_engagements_own_policy_wins_over_a_change_of_its_providers(
    team, provider, quick, django_capture_on_commit_callbacks
):
    slow = provider_services.policy_create(workspace=team.workspace, name="Slow", reply_within=4)
    provider.response_policy = quick
    provider.save(update_fields=["response_policy"])
    engagement = waiting(team, provider, slow)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_update(policy=quick, reply_within=1)

    assert exchange(engagement).reply_due_at == after(4)


def test_changing_the_default_moves_engagements_that_name_no_policy(
    team, provider, quick, django_capture_on_commit_callbacks
):
    fallback = waiting(team, provider)
    pinned = waiting(team, provider, quick)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_update(policy=default_policy(team.workspace), reply_within=1)

    assert exchange(fallback).reply_due_at == after(1)
    assert exchange(pinned).reply_due_at == after(3)


def test_changing_a_providers_policy_moves_their_open_exchanges(
    team, provider, quick, django_capture_on_commit_callbacks
):
    engagement = waiting(team, provider)
    other_provider = ProviderFactory(workspace=team.workspace, time_zone="Europe/Berlin", country="DE")
    untouched = waiting(team, other_provider)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.provider_update(provider=provider, response_policy=quick)

    assert exchange(engagement).reply_due_at == after(3)
    assert exchange(engagement).next_check_at == after(3)
    assert exchange(untouched).reply_due_at == after(2)


def test_moving_a_provider_to_another_time_zone_moves_their_due_times(
    team, provider, django_capture_on_commit_callbacks
):
    engagement = waiting(team, provider)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.provider_update(provider=provider, time_zone="America/New_York")

    # Mon 04:00 New York is before the working day: 16 business hours from Mon 09:00 end Tue 17:00.
    assert exchange(engagement).reply_due_at == datetime(2026, 2, 3, 22, 0, tzinfo=UTC)


def test_deleting_a_policy_falls_back_to_the_providers_policy_or_the_default(
    team, provider, quick, django_capture_on_commit_callbacks
):
    slow = provider_services.policy_create(workspace=team.workspace, name="Slow", reply_within=4)
    to_default = waiting(team, provider, slow)
    quick_provider = ProviderFactory(
        workspace=team.workspace, time_zone="Europe/Berlin", country="DE", response_policy=quick
    )
    to_providers = waiting(team, quick_provider, slow)
    slow_provider = ProviderFactory(
        workspace=team.workspace, time_zone="Europe/Berlin", country="DE", response_policy=slow
    )
    via_provider = waiting(team, slow_provider)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_delete(policy=slow)

    assert exchange(to_default).reply_due_at == after(2)
    assert exchange(to_providers).reply_due_at == after(3)
    assert exchange(via_provider).reply_due_at == after(2)
    slow_provider.refresh_from_db()
    assert slow_provider.response_policy is None


def test_making_another_policy_the_default_moves_whoever_fell_back(
    team, provider, quick, django_capture_on_commit_callbacks
):
    fallback = waiting(team, provider)
    pinned_to_old = waiting(team, provider, default_policy(team.workspace))

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_make_default(policy=quick)

    assert exchange(fallback).reply_due_at == after(3)
    assert exchange(pinned_to_old).reply_due_at == after(2)


def test_the_recompute_is_queued_only_once_the_change_is_committed(
    team, provider, quick, django_capture_on_commit_callbacks
):
    engagement = waiting(team, provider, quick)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        provider_services.policy_update(policy=quick, reply_within=1)
        assert exchange(engagement).reply_due_at == after(3)

    assert len(callbacks) == 1
    callbacks[0]()
    assert exchange(engagement).reply_due_at == after(1)


def test_renaming_a_policy_queues_no_recompute(team, quick, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        provider_services.policy_update(policy=quick, name="Quick (3 days)")
    assert callbacks == []


def test_editing_a_providers_notes_queues_no_recompute(team, provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        provider_services.provider_update(provider=provider, notes="Answers on Mondays.")
    assert callbacks == []


def test_running_a_recompute_twice_is_harmless(team, provider, quick):
    engagement = waiting(team, provider, quick)
    quick.reply_within = 1
    quick.save(update_fields=["reply_within"])

    assert tasks.recompute_policy(quick.pk) == 1
    first = exchange(engagement)
    assert tasks.recompute_policy(quick.pk) == 1
    second = exchange(engagement)

    assert first.pk == second.pk
    assert (second.reply_due_at, second.next_check_at) == (after(1), after(1))
    assert Exchange.objects.filter(engagement=engagement).count() == 1


def test_a_task_for_a_policy_deleted_meanwhile_does_nothing(team, quick):
    pk = quick.pk
    quick.delete()
    assert tasks.recompute_policy(pk) == 0


def test_a_closed_engagement_is_left_alone(team, provider, quick):
    engagement = waiting(team, provider, quick)
    Engagement.objects.filter(pk=engagement.pk).update(status=Engagement.Status.CANCELLED)
    Exchange.objects.filter(engagement=engagement).update(next_check_at=None)
    quick.reply_within = 1
    quick.save(update_fields=["reply_within"])

    assert tasks.recompute_policy(quick.pk) == 0
    assert exchange(engagement).next_check_at is None


def test_the_provider_task_recomputes_only_that_providers_waiting_engagements(team, provider):
    engagements = [waiting(team, provider), waiting(team, provider, answered=True)]
    waiting(team, ProviderFactory(workspace=team.workspace))
    assert tasks.recompute_provider(provider.pk) == 1
    assert exchange(engagements[0]).reply_due_at == after(2)


def _recompute_queries(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as context:
        services.engagements_recompute(engagement_ids=ids)
    return len(context.captured_queries)


def test_the_recompute_costs_the_same_queries_however_many_engagements_there_are(team, provider, quick):
    ids = [waiting(team, provider, quick).pk for _ in range(5)]
    for engagement_id in ids[2:]:
        # Longer logs must not cost more queries: exchanges are written in bulk.
        engagement = Engagement.objects.get(pk=engagement_id)
        for day in (1, 2):
            services.message_log(
                engagement=engagement, direction="out", kind="follow_up", occurred_at=after(day)
            )

    two, five = _recompute_queries(ids[:2]), _recompute_queries(ids)

    assert five == two
    # The engagements, their lock, log, exchanges, five calendar reads, two bulk writes, the
    # savepoint pair and the metrics backlog.
    assert two <= 14
