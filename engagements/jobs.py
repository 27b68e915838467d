"""Background work queued once the current transaction commits.

Domain code asks for a task by its name here and never imports the task
modules: those are thin wrappers that import the domain, so importing them
back would tie the two in a cycle. On commit, because the worker must find
the rows the task is about.

The broker may be away when a change commits (outsourcing/redis_guard.py). The
change is saved by then, so the person must not see an error for it: a task the
beat redoes anyway is left to the beat, any other runs here and now.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from outsourcing.celery import app
from outsourcing.redis_guard import BROKER

logger = logging.getLogger(__name__)

# Notifications per delivery task: a retry repeats little, and many workers share a big batch.
DELIVERY_CHUNK = 100


# What publishing a task raises when the broker cannot be reached.
BROKER_AWAY = (OperationalError, RedisError, OSError)
# Tasks whose work a periodic task finds by itself (the minute's delivery of due notifications).
BEAT_REDOES = frozenset({"engagements.tasks.deliver_notifications"})


def _send(name: str, args: tuple[Any, ...], countdown: float | None = None) -> None:
    # Not even tried while the broker failed moments ago: one timeout per process, not per call.
    BROKER.check()
    try:
        # The app registers every task when Django starts (EngagementsConfig.ready).
        task = app.tasks[name]
        if countdown:
            task.apply_async(args, countdown=countdown)
        else:
            task.delay(*args)
    except BROKER_AWAY as error:
        BROKER.trip(error)
        raise


def _send_or_fall_back(name: str, args: tuple[Any, ...]) -> None:
    try:
        _send(name, args)
    except BROKER_AWAY:
        if name in BEAT_REDOES:
            logger.warning("Broker away: %s left to the beat", name)
            return
        logger.warning("Broker away: %s runs in this process instead", name)
        app.tasks[name].apply(args=args, throw=True)


def later(name: str, *args: Any) -> None:
    """Run the task ``name`` with ``args`` once the current transaction commits (at once outside one).

    With the broker away: left to the beat when it redoes such work anyway, else run here.
    """
    transaction.on_commit(partial(_send_or_fall_back, name, args))


def send_now(name: str, *args: Any, countdown: float | None = None) -> None:
    """Queue the task at once, for a caller that must know whether the broker took it.

    With ``countdown``, a worker starts it no sooner than that many seconds from now.
    """
    _send(name, args, countdown)


def deliver_later(ids: Sequence[int]) -> None:
    """Deliver these notifications once the current transaction commits, in chunks."""
    ids = list(ids)
    for start in range(0, len(ids), DELIVERY_CHUNK):
        later("engagements.tasks.deliver_notifications", ids[start : start + DELIVERY_CHUNK])
