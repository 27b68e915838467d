"""A workspace's refresh keeps a pace: it waits after the previous one up to REFRESH_PACE (five) times
as long as that one took (at most a minute), so refreshing under continuous changes runs about a sixth
of the time; the minute's safety net keeps each workspace's pace too. The clock is frozen: the waits
are computed, never slept."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from engagements import backlog, jobs
from engagements.models import MetricsBacklog
from engagements.reliability import snapshots
from outsourcing.celery import app
from tests.factories import EngagementFactory
from tests.realparts import caches_at

REFRESH = "engagements.tasks.refresh_metrics_workspace"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def _countdown_of_the_next_refresh(engagement, capture) -> float | None:
    """Commit a change and say the countdown its refresh task was sent with."""
    backlog.refresh_started(engagement.workspace_id)  # the previous one began: the next may be queued
    with mock.patch.object(backlog.jobs, "send_now") as send_now, capture(execute=True):
        backlog.backlog_add_for_engagement(engagement)
    send_now.assert_called_once_with(REFRESH, engagement.workspace_id, mock.ANY, countdown=mock.ANY)
    countdown = send_now.call_args.kwargs["countdown"]
    # A task that must wait is a paced one (it will run throttled); one sent at once is not.
    assert send_now.call_args.args[2] is (countdown is not None)
    return countdown


def _refresh_took(workspace_id: int, seconds: float, clock) -> None:
    started = timezone.now()
    clock.shift(timedelta(seconds=seconds))
    backlog.refresh_ended(workspace_id, started=started)


@pytest.mark.django_db
def test_a_workspace_never_refreshed_has_its_refresh_sent_without_a_countdown(
    engagement, django_capture_on_commit_callbacks
):
    assert _countdown_of_the_next_refresh(engagement, django_capture_on_commit_callbacks) is None


@pytest.mark.django_db
def test_after_a_five_second_refresh_ended_two_seconds_ago_the_next_waits_twenty_three_seconds(
    engagement, django_capture_on_commit_callbacks, clock
):
    _refresh_took(engagement.workspace_id, 5, clock)
    clock.shift(timedelta(seconds=2))
    countdown = _countdown_of_the_next_refresh(engagement, django_capture_on_commit_callbacks)
    assert backlog.REFRESH_PACE == 5
    assert countdown == pytest.approx(5 * 5 - 2)


@pytest.mark.django_db
def test_after_a_forty_second_refresh_the_next_waits_a_minute_at_most(
    engagement, django_capture_on_commit_callbacks, clock
):
    _refresh_took(engagement.workspace_id, 40, clock)
    countdown = _countdown_of_the_next_refresh(engagement, django_capture_on_commit_callbacks)
    assert countdown == pytest.approx(backlog.REFRESH_PACE_MAX_SECONDS) == pytest.approx(60)


@pytest.mark.django_db
def test_a_refresh_that_ended_longer_ago_than_its_pace_asks_for_no_wait(
    engagement, django_capture_on_commit_callbacks, clock
):
    _refresh_took(engagement.workspace_id, 5, clock)
    clock.shift(timedelta(seconds=26))
    assert _countdown_of_the_next_refresh(engagement, django_capture_on_commit_callbacks) is None
    _refresh_took(engagement.workspace_id, 40, clock)
    clock.shift(timedelta(minutes=10))
    assert _countdown_of_the_next_refresh(engagement, django_capture_on_commit_callbacks) is None


@pytest.mark.django_db
def test_the_pace_is_kept_per_workspace(team, engagement, clock):
    _refresh_took(engagement.workspace_id, 5, clock)
    assert backlog.refresh_wait(engagement.workspace_id) == pytest.approx(25)
    assert backlog.refresh_wait(team.other_workspace.pk) is None


@pytest.mark.django_db
def test_a_workspace_refresh_whose_figures_fail_still_records_how_long_it_took(
    engagement, django_capture_on_commit_callbacks, clock
):
    with mock.patch.object(backlog.jobs, "send_now"), django_capture_on_commit_callbacks(execute=True):
        backlog.backlog_add_for_engagement(engagement)

    def five_seconds_then_fail(**kwargs):
        clock.shift(timedelta(seconds=5))
        raise RuntimeError("figures failed")

    with mock.patch.object(snapshots, "snapshots_refresh", side_effect=five_seconds_then_fail):
        assert snapshots.backlog_refresh(workspace_id=engagement.workspace_id) == 0

    assert MetricsBacklog.objects.filter(provider=engagement.provider).exists(), "kept queued"
    assert backlog.refresh_wait(engagement.workspace_id) == pytest.approx(25)


@pytest.mark.django_db
def test_a_refresh_that_raises_outright_still_records_how_long_it_took(engagement, clock):
    def five_seconds_then_fail(*args, **kwargs):
        clock.shift(timedelta(seconds=5))
        raise RuntimeError("database gone")

    with (
        mock.patch.object(snapshots, "_backlog_refresh", side_effect=five_seconds_then_fail),
        pytest.raises(RuntimeError),
    ):
        snapshots.backlog_refresh(workspace_id=engagement.workspace_id)
    assert backlog.refresh_wait(engagement.workspace_id) == pytest.approx(25)


@pytest.mark.django_db
def test_the_minutes_refresh_leaves_a_workspace_that_just_refreshed_to_its_pace_and_refreshes_the_others(
    team, engagement, clock
):
    other = EngagementFactory(workspace=team.other_workspace)
    for queued in (engagement, other):
        MetricsBacklog.objects.create(
            workspace_id=queued.workspace_id, provider_id=queued.provider_id, since=timezone.now()
        )
    _refresh_took(engagement.workspace_id, 5, clock)  # its own task ran moments ago
    clock.shift(timedelta(seconds=1))
    real_refresh = snapshots.snapshots_refresh

    def three_seconds(**kwargs):
        clock.shift(timedelta(seconds=3))
        return real_refresh(**kwargs)

    with mock.patch.object(snapshots, "snapshots_refresh", side_effect=three_seconds):
        assert snapshots.backlog_refresh() == 1

    assert MetricsBacklog.objects.filter(provider=engagement.provider).exists(), "left to its pace"
    assert not MetricsBacklog.objects.filter(provider=other.provider).exists(), "refreshed"
    # Refreshed by the minute's task, the other workspace now keeps a pace as after its own task.
    assert backlog.refresh_wait(other.workspace_id) == pytest.approx(5 * 3)
    clock.shift(timedelta(seconds=25))
    assert snapshots.backlog_refresh() == 1
    assert not MetricsBacklog.objects.filter(provider=engagement.provider).exists(), (
        "its pace kept, then refreshed"
    )


def test_with_the_cache_away_a_refresh_ends_without_error_and_the_next_waits_for_nothing(silent_redis, clock):
    with override_settings(CACHES=caches_at(silent_redis.url)):
        _refresh_took(7, 5, clock)
        assert backlog.refresh_wait(7) is None
    assert silent_redis.accepted, "the cache was asked (and did not answer)"


def test_a_queued_refresh_task_outlasts_the_longest_wait():
    # Else a change made while a paced task waits would queue a second one.
    assert backlog.REFRESH_QUEUED_SECONDS > backlog.REFRESH_PACE_MAX_SECONDS


def test_a_countdown_reaches_the_broker_and_no_countdown_sends_the_task_as_before():
    task = app.tasks[REFRESH]
    with mock.patch.object(task, "apply_async") as apply_async:
        jobs.send_now(REFRESH, 7, countdown=13.0)
        jobs.send_now(REFRESH, 8)
        jobs.send_now(REFRESH, 9, countdown=None)
    assert [(c.args[0], c.kwargs.get("countdown")) for c in apply_async.call_args_list] == [
        ((7,), 13.0),
        ((8,), None),
        ((9,), None),
    ]


@pytest.mark.django_db
def test_a_refresh_task_queued_while_the_last_refresh_ran_waits_its_pace_before_refreshing(engagement, clock):
    from engagements import tasks

    MetricsBacklog.objects.create(
        workspace_id=engagement.workspace_id, provider_id=engagement.provider_id, since=timezone.now()
    )
    _refresh_took(engagement.workspace_id, 4, clock)  # the one that ran while this task was queued
    with (
        mock.patch.object(jobs, "send_now") as send_now,
        mock.patch.object(snapshots, "backlog_refresh") as refresh,
    ):
        assert tasks.refresh_metrics_workspace(engagement.workspace_id) == 0
    send_now.assert_called_once_with(REFRESH, engagement.workspace_id, True, countdown=pytest.approx(20))
    refresh.assert_not_called()
    clock.shift(timedelta(seconds=20))
    with (
        mock.patch.object(jobs, "send_now") as send_now,
        mock.patch.object(snapshots, "backlog_refresh") as refresh,
    ):
        tasks.refresh_metrics_workspace(engagement.workspace_id)
    send_now.assert_not_called()
    refresh.assert_called_once_with(workspace_id=engagement.workspace_id)


@pytest.mark.django_db
def test_a_refresh_task_run_in_place_refreshes_at_once_whatever_the_pace(engagement, clock):
    """Eagerly (tests, no broker) a countdown means nothing: sending itself again would recurse."""
    from engagements import tasks

    _refresh_took(engagement.workspace_id, 4, clock)
    with (
        mock.patch.object(jobs, "send_now") as send_now,
        mock.patch.object(snapshots, "backlog_refresh") as refresh,
    ):
        tasks.refresh_metrics_workspace.apply(args=[engagement.workspace_id])
    send_now.assert_not_called()
    refresh.assert_called_once_with(workspace_id=engagement.workspace_id)
