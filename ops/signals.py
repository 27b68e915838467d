"""Celery signal handlers: the beat's heartbeat, and one log line per task."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import beat_init, before_task_publish, task_postrun, task_prerun

from ops import health

task_log = logging.getLogger("ops.tasks")

# Set in the beat process only; a web or worker process publishing a task is not the beat.
_beat = {"running": False, "written": 0.0}
# The heartbeat is written at most this often (the beat sends several tasks a minute).
BEAT_WRITE_EVERY = 20.0

_started: dict[str, float] = {}


@beat_init.connect
def _beat_started(sender: Any = None, **kwargs: Any) -> None:
    _beat["running"] = True
    _beat_alive()


@before_task_publish.connect
def _beat_sends(sender: Any = None, **kwargs: Any) -> None:
    if _beat["running"] and time.monotonic() - _beat["written"] >= BEAT_WRITE_EVERY:
        _beat_alive()


def _beat_alive() -> None:
    try:
        health.beat_seen()
    except Exception:  # noqa: BLE001 - a database hiccup must not stop the beat from sending
        task_log.warning("beat heartbeat not written", exc_info=True)
        return
    _beat["written"] = time.monotonic()


@task_prerun.connect
def _task_starts(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_ends(
    task_id: str | None = None,
    task: Any = None,
    kwargs: dict | None = None,
    state: str | None = None,
    **_: Any,
) -> None:
    started = _started.pop(task_id or "", None)
    workspace = (kwargs or {}).get("workspace_id")
    duration_ms = round((time.monotonic() - started) * 1000, 1) if started is not None else None
    # The message reads on its own in a developer's text log; JSON logs carry the fields too.
    task_log.info(
        "task %s %s %s ms",
        getattr(task, "name", ""),
        state,
        duration_ms,
        extra={
            "task": getattr(task, "name", ""),
            "task_id": task_id,
            "state": state,
            "duration_ms": duration_ms,
            "workspace_id": workspace if isinstance(workspace, int) else None,
        },
    )
