"""Background work queued once the current transaction commits.

Domain code asks for a task by its name here and never imports the task
modules: those are thin wrappers that import the domain, so importing them
back would tie the two in a cycle. On commit, because the worker must find
the rows the task is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import transaction

from outsourcing.celery import app

# Notifications per delivery task: a retry repeats little, and many workers share a big batch.
DELIVERY_CHUNK = 100


def _send(name: str, args: tuple[Any, ...]) -> None:
    # The app registers every task when Django starts (EngagementsConfig.ready).
    app.tasks[name].delay(*args)


def later(name: str, *args: Any) -> None:
    """Run the task ``name`` with ``args`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(_send, name, args))


def send_now(name: str, *args: Any) -> None:
    """Queue the task at once, for a caller that must know whether the broker took it."""
    _send(name, args)


def deliver_later(ids: Sequence[int]) -> None:
    """Deliver these notifications once the current transaction commits, in chunks."""
    ids = list(ids)
    for start in range(0, len(ids), DELIVERY_CHUNK):
        later("engagements.tasks.deliver_notifications", ids[start : start + DELIVERY_CHUNK])
