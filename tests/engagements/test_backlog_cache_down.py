"""Logging a message while Redis is away (the cluster test cuts it off): saved, no error for the person."""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import override_settings

from engagements import backlog, services
from engagements.models import Message, MetricsBacklog
from tests.realparts import caches_at


@pytest.mark.django_db
def test_a_message_logged_while_the_cache_is_unreachable_is_saved_and_its_refresh_left_to_the_beat(
    team, engagement, django_capture_on_commit_callbacks, silent_redis
):
    with (
        override_settings(CACHES=caches_at(silent_redis.url)),
        mock.patch.object(backlog.jobs, "send_now") as send_now,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        message = services.message_log(
            engagement=engagement,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.REQUEST,
            subject="Sent while Redis was away",
            author=team.alice,
        )

    assert callbacks, "the refresh is asked for after the commit"
    assert Message.objects.filter(pk=message.pk).exists()
    # Queued for the minute's beat task instead of a worker right away.
    assert MetricsBacklog.objects.filter(provider=engagement.provider).exists()
    send_now.assert_not_called()
    assert silent_redis.accepted, "the cache was asked (and did not answer)"
