"""What /readyz checks: each check answers (ok, detail) and never raises."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

from amqp.exceptions import NotFound
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from kombu.exceptions import ChannelError

from ops.models import Heartbeat

BEAT = "beat"
# How long a beat may stay unseen: it sends tasks every minute.
BEAT_GRACE = timedelta(minutes=3)

_migrations_applied = False


def database() -> tuple[bool, str]:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure is "down", reported by type
        return False, f"error: {type(exc).__name__}"
    return True, "ok"


def migrations() -> tuple[bool, str]:
    """No migration left to apply. Once true it stays true for this process (a deploy restarts it)."""
    global _migrations_applied
    if _migrations_applied:
        return True, "ok"
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001
        return False, f"error: {type(exc).__name__}"
    if plan:
        return False, f"{len(plan)} unapplied"
    _migrations_applied = True
    return True, "ok"


def beat(now: Any = None) -> tuple[bool, str]:
    now = now or timezone.now()
    try:
        seen = Heartbeat.objects.filter(name=BEAT).values_list("seen_at", flat=True).first()
    except Exception as exc:  # noqa: BLE001
        return False, f"error: {type(exc).__name__}"
    if seen is None:
        return False, "never seen"
    age = int((now - seen).total_seconds())
    return age <= BEAT_GRACE.total_seconds(), f"seen {age} s ago"


def queues() -> list[str]:
    """The queues the workers read: the default one (flags, delivery) and the bulk one (settings)."""
    return list(dict.fromkeys((settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_BULK_QUEUE)))


def queue_depth() -> tuple[bool, dict[str, int] | str]:
    """Tasks waiting in each queue; too many in one means its workers cannot keep up (or are gone)."""
    from outsourcing.celery import app as celery_app

    depths: dict[str, int] = {}
    try:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            for queue in queues():
                depths[queue] = _depth(conn, queue)
    except Exception as exc:  # noqa: BLE001
        return False, f"error: {type(exc).__name__}"
    return all(depth <= settings.READY_MAX_QUEUE_DEPTH for depth in depths.values()), depths


def _depth(conn: Any, queue: str) -> int:
    try:
        _name, depth, _consumers = conn.default_channel.queue_declare(queue=queue, passive=True)
    except (ChannelError, NotFound) as exc:
        if "NOT_FOUND" not in str(exc) and not isinstance(exc, NotFound):
            raise
        return 0  # no worker has declared the queue yet, and nothing waits in it
    return int(depth)


def beat_seen(host: str | None = None) -> None:
    """The beat process is alive: its row says when and where."""
    Heartbeat.objects.update_or_create(
        name=BEAT, defaults={"seen_at": timezone.now(), "host": (host or socket.gethostname())[:255]}
    )


def report() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    ready = True
    for name, check in (
        ("database", database),
        ("migrations", migrations),
        ("broker_queue", queue_depth),
        ("beat", beat),
    ):
        ok, detail = check()
        checks[name] = detail
        ready = ready and ok
    return ready, checks
