"""A change asks a worker to refresh its workspace's figures: one refresh waits in the queue per
workspace, however many changes commit, and however long bulk work keeps it waiting."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from engagements import backlog

REFRESH = "engagements.tasks.refresh_metrics_workspace"


def _commit_a_change(engagement, capture) -> None:
    with capture(execute=True):
        backlog.backlog_add_for_engagement(engagement)


@pytest.mark.django_db
def test_changes_committed_before_the_refresh_starts_queue_it_once(
    engagement, django_capture_on_commit_callbacks
):
    with mock.patch.object(backlog.jobs, "send_now") as send_now:
        for _ in range(5):
            _commit_a_change(engagement, django_capture_on_commit_callbacks)
        assert send_now.call_args_list == [mock.call(REFRESH, engagement.workspace_id, False, countdown=None)]

        # The refresh began: what commits from now on needs the next one.
        backlog.refresh_started(engagement.workspace_id)
        _commit_a_change(engagement, django_capture_on_commit_callbacks)
        _commit_a_change(engagement, django_capture_on_commit_callbacks)
    assert send_now.call_count == 2


@pytest.mark.django_db
def test_a_refresh_waiting_minutes_behind_bulk_work_is_not_queued_a_second_time(
    engagement, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(backlog.jobs, "send_now") as send_now,
        time_machine.travel(timezone.now(), tick=False) as clock,
    ):
        _commit_a_change(engagement, django_capture_on_commit_callbacks)
        for _ in range(10):  # ten minutes of changes while the bulk worker is busy with an import
            clock.shift(timedelta(minutes=1))
            _commit_a_change(engagement, django_capture_on_commit_callbacks)
    assert send_now.call_count == 1
