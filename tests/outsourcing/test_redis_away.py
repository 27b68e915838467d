"""Redis away for a while (make cluster-test cuts its network off): nothing hangs, nothing 500s,
nothing is lost. A "silent" Redis here is a real socket that accepts and never answers, as a
host behind a cut link does for a connection made before the cut."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from engagements import jobs
from outsourcing import limits
from outsourcing.celery import app
from outsourcing.redis_guard import BROKER, CACHE, Unavailable
from tests.realparts import caches_at as _caches_at


def test_the_default_cache_reads_as_empty_while_redis_does_not_answer_and_asks_it_once(silent_redis):
    with override_settings(CACHES=_caches_at(silent_redis.url)):
        cache = caches["default"]
        assert cache.get("anything", "fallback") == "fallback"
        assert CACHE.is_open()
        asked = len(silent_redis.accepted)
        # While the breaker is open nothing waits on the socket again.
        assert cache.add("lock", 1) is False
        cache.set("key", "value")
        assert cache.get_many(["a", "b"]) == {}
        assert cache.delete("key") is False
        with pytest.raises(ValueError):
            cache.incr("counter")
        assert len(silent_redis.accepted) == asked == 1


def test_the_rate_limit_cache_raises_at_once_while_redis_is_known_away(silent_redis):
    with override_settings(CACHES=_caches_at(silent_redis.url)):
        counts = caches["ratelimit"]
        with pytest.raises(RedisError):
            counts.add("n", 1)
        with pytest.raises(Unavailable):
            counts.incr("n")
        assert len(silent_redis.accepted) == 1


def test_redis_is_asked_again_once_the_pause_is_over(silent_redis, settings):
    settings.REDIS_RETRY_AFTER = 0
    with override_settings(CACHES=_caches_at(silent_redis.url)):
        cache = caches["default"]
        cache.get("a")
        cache.get("b")
    assert len(silent_redis.accepted) >= 2


@pytest.mark.django_db
def test_logging_in_while_the_counts_cannot_be_read_is_a_503_page_to_try_again(team, client, silent_redis):
    with override_settings(CACHES=_caches_at(silent_redis.url)):
        response = client.post(reverse("account_login"), {"login": team.alice.email, "password": "password"})

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b'data-testid="backend-away"' in response.content


@pytest.mark.django_db
def test_a_members_limited_action_goes_through_uncounted_but_an_anonymous_one_does_not(
    team, rf, silent_redis
):
    request = rf.post("/")
    request.user = team.bob
    request.workspace = team.workspace
    with override_settings(CACHES=_caches_at(silent_redis.url)):
        assert limits.exceeded(request, limits.MAIL_SEND) is False
        anonymous = rf.post("/")
        anonymous.user = mock.Mock(is_authenticated=False)
        with pytest.raises(RedisError):
            limits.exceeded(anonymous, limits.SIGNUP)


def test_a_task_the_beat_redoes_is_left_to_it_when_the_broker_is_away():
    task = app.tasks["engagements.tasks.deliver_notifications"]
    with (
        mock.patch.object(task, "delay", side_effect=OperationalError("no route")) as delay,
        mock.patch.object(task, "apply") as apply,
    ):
        jobs._send_or_fall_back("engagements.tasks.deliver_notifications", ([1, 2],))
        jobs._send_or_fall_back("engagements.tasks.deliver_notifications", ([3],))

    apply.assert_not_called()
    # The second was not even tried: one timeout per process, not one per call.
    assert delay.call_count == 1
    assert BROKER.is_open()


def test_any_other_task_runs_in_the_process_when_the_broker_is_away():
    task = app.tasks["engagements.tasks.recompute_provider"]
    with (
        mock.patch.object(task, "delay", side_effect=OperationalError("no route")),
        mock.patch.object(task, "apply") as apply,
    ):
        jobs._send_or_fall_back("engagements.tasks.recompute_provider", (7,))

    apply.assert_called_once_with(args=(7,), throw=True)
