"""Redis may go away for a while (a restart, a cut network): pages must neither hang nor fail for it.

Every Redis client here has short socket timeouts (settings: REDIS_SOCKET_TIMEOUT,
REDIS_CONNECT_TIMEOUT), so a dead connection costs one timeout, not the minutes a TCP
retransmit takes. After one failure a breaker stays open for ``REDIS_RETRY_AFTER``
seconds in this process: the cache answers at once as if empty, a task is not even
tried on the broker, and only then is Redis asked again. Without the breaker each
request would wait out a timeout of its own, for every call it makes.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError

logger = logging.getLogger(__name__)


class Unavailable(RedisConnectionError):
    """Raised at once, without a network call, while the breaker says Redis is away."""


class Breaker:
    """Whether to try Redis now: closed until a failure, then open for a pause."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self._until

    def check(self) -> None:
        """Raise Unavailable while open."""
        if self.is_open():
            raise Unavailable(f"Redis ({self.name}) was unreachable moments ago; not tried again yet")

    def trip(self, error: BaseException) -> None:
        pause = float(getattr(settings, "REDIS_RETRY_AFTER", 5))
        with self._lock:
            first = not self.is_open()
            self._until = time.monotonic() + pause
        if first:
            logger.warning("Redis (%s) unreachable: %s; not tried again for %.0f s", self.name, error, pause)

    def reset(self) -> None:
        with self._lock:
            self._until = 0.0


CACHE = Breaker("cache")
BROKER = Breaker("broker")
