"""The test processes share one Redis: what one of them clears must not reach the others."""

import secrets

import pytest
import redis
from django.conf import settings
from django.core.cache import cache


def test_clearing_the_cache_leaves_the_brokers_queue_alone():
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("the cache is in this process's memory: runs with REDIS_URL set (as in CI)")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = f"test-isolation:{secrets.token_hex(8)}"
    broker.set(key, "a task another test process has queued", ex=60)
    try:
        cache.clear()
        assert broker.get(key) == b"a task another test process has queued"
    finally:
        broker.delete(key)
