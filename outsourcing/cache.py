"""Cache backends that keep pages answering while Redis is away (outsourcing/redis_guard.py).

``GuardedRedisCache`` raises at once while the breaker is open: for the rate-limit
counters, whose callers decide what a missing count means (a 503 for an anonymous
form, a pass for a member's action). ``ForgivingRedisCache`` is the default cache:
nothing in it is the only copy of anything, so while Redis is away a read is a miss,
a write is dropped, and ``add`` (our locks) says someone else holds the key, so the
work is left to the beat's next run instead of being done twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from .redis_guard import CACHE


class GuardedRedisCache(RedisCache):
    """Django's Redis cache, failing fast while Redis is known to be away."""

    def _guarded[T](self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        CACHE.check()
        try:
            return call(*args, **kwargs)
        except RedisError as error:
            CACHE.trip(error)
            raise

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guarded(super().add, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guarded(super().get, key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._guarded(super().set, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guarded(super().touch, key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(super().delete, key, version)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return self._guarded(super().get_many, keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(super().has_key, key, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._guarded(super().incr, key, delta, version)

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._guarded(super().set_many, data, timeout, version)

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._guarded(super().delete_many, keys, version)


class ForgivingRedisCache(GuardedRedisCache):
    """The default cache: while Redis is away, a miss for every read and nothing stored."""

    @staticmethod
    def _or[T](fallback: T, call: Callable[..., T], *args: Any) -> T:
        try:
            return call(*args)
        except RedisError:
            return fallback

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        # As if someone else held the key: the beat's next run does the work.
        return self._or(False, super().add, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._or(default, super().get, key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._or(None, super().set, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._or(False, super().touch, key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._or(False, super().delete, key, version)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return self._or({}, super().get_many, keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._or(False, super().has_key, key, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return super().incr(key, delta, version)
        except RedisError as error:
            raise ValueError(f"Key {key!r} not found (Redis unreachable)") from error

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._or(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._or(None, super().delete_many, keys, version)
