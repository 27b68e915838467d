"""Background work run throttled pauses after each query, in proportion to what it did, never inside a
transaction; the refresh tasks run throttled on a worker and at full speed in place."""

from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import transaction
from django.test import override_settings

from engagements import tasks, throttle
from engagements.models import Engagement


class FakeTime:
    """A clock that moves ``step`` seconds each time it is read, and remembers each sleep asked for."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.mark.django_db(transaction=True)
def test_each_query_is_followed_by_a_pause_of_factor_times_the_work_since_the_last_one():
    clock = FakeTime(step=0.25)
    with mock.patch.object(throttle, "time", clock), throttle.throttled(2.0):
        for _ in range(3):
            Engagement.objects.count()
    # Each pause: 2 × (the 0.25 s the clock moved between the last mark and the query's end).
    assert clock.sleeps == [pytest.approx(0.5)] * 3


@pytest.mark.django_db(transaction=True)
def test_a_pause_is_never_longer_than_the_cap():
    clock = FakeTime(step=30.0)
    with mock.patch.object(throttle, "time", clock), throttle.throttled(2.0):
        Engagement.objects.count()
    assert clock.sleeps == [throttle.MAX_PAUSE_SECONDS]


@pytest.mark.django_db(transaction=True)
def test_no_pause_holds_a_transaction_open():
    clock = FakeTime(step=0.25)
    with mock.patch.object(throttle, "time", clock), throttle.throttled(2.0):
        with transaction.atomic():
            Engagement.objects.count()
            Engagement.objects.count()
        assert clock.sleeps == []
        Engagement.objects.count()
    assert len(clock.sleeps) == 1


@pytest.mark.django_db(transaction=True)
def test_factor_zero_runs_at_full_speed():
    clock = FakeTime(step=0.25)
    with mock.patch.object(throttle, "time", clock), throttle.throttled(0):
        Engagement.objects.count()
    assert clock.sleeps == []


@contextmanager
def _recording(factors: list[float]):
    @contextmanager
    def throttled(factor: float):
        factors.append(factor)
        yield

    with mock.patch.object(tasks, "throttled", throttled):
        yield


@override_settings(METRICS_REFRESH_THROTTLE=2.0)
@pytest.mark.parametrize("name", ["refresh_metrics_backlog", "refresh_metrics_all"])
def test_a_refresh_task_runs_throttled_on_a_worker_and_at_full_speed_in_place(name):
    task = getattr(tasks, name)
    factors: list[float] = []
    with (
        _recording(factors),
        mock.patch.object(tasks.snapshots, "backlog_refresh", return_value=0),
        mock.patch.object(tasks.snapshots, "refresh_all", return_value=0),
    ):
        task()  # as a worker runs it
        task.apply()  # in place (eagerly)
    assert factors == [2.0, 0.0]


@override_settings(METRICS_REFRESH_THROTTLE=2.0)
@pytest.mark.django_db
def test_a_lone_changes_refresh_runs_at_full_speed_and_one_paced_behind_another_throttled(engagement):
    factors: list[float] = []
    with (
        _recording(factors),
        mock.patch.object(tasks.snapshots, "backlog_refresh", return_value=0) as refresh,
    ):
        tasks.refresh_metrics_workspace(engagement.workspace_id)
        tasks.refresh_metrics_workspace(engagement.workspace_id, True)
        tasks.refresh_metrics_workspace.apply(args=[engagement.workspace_id, True])
    assert refresh.call_args_list == [mock.call(workspace_id=engagement.workspace_id)] * 3
    assert factors == [0.0, 2.0, 0.0]
