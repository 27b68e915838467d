"""The navigation's badges on every page: ``queries.nav_counts``' one query, compiled once per process.

Building and compiling that query took about 1 ms of CPU on every page, for SQL that only ever
differs in three values: the workspace, the person and the moment. So it is built once from
``queries.nav_counts_query`` itself (the rules stay there, in ``deadlines`` and the flag and
notification filters), with stand-in values, and run again with each page's own.

Where each value goes among the statement's parameters is found, not assumed: the query is compiled
twice, with two sets of stand-ins, and the statement is kept only when the two compile to the same
SQL and differ exactly where one of the three stand-ins (prepared as the ORM prepares them) stands.
Otherwise, on any database where that would not hold, every page builds the query as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from engagements.notifications.outbox import unread_notifications
from engagements.queries import NAV_COUNT_CAP, nav_counts, nav_counts_query
from outsourcing.models import User, Workspace

# Two sets of stand-ins, unlike any real id or moment and unlike each other.
_STAND_INS: tuple[dict[str, Any], dict[str, Any]] = (
    {
        "workspace": 2_000_000_011,
        "user": 2_000_000_013,
        "now": datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC),
    },
    {
        "workspace": 2_000_000_017,
        "user": 2_000_000_019,
        "now": datetime(2002, 3, 4, 5, 6, 7, 890123, tzinfo=UTC),
    },
)


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]  # the constant ones, and stand-ins where ``slots`` say
    slots: tuple[tuple[int, str], ...]  # (parameter's index, "workspace" | "user" | "now")


def badge_counts(workspace: Workspace, user: User, *, now: datetime | None = None) -> tuple[int, int]:
    """``queries.nav_counts(workspace, unread_notifications(user, workspace))``, without building it."""
    now = now or timezone.now()
    alias = router.db_for_read(Workspace)
    statement = _statement(alias)
    if statement is None:
        return nav_counts(workspace, unread_notifications(user, workspace), now=now)
    connection = connections[alias]
    values = {"workspace": workspace.pk, "user": user.pk, "now": now}
    params = list(statement.params)
    for index, name in statement.slots:
        params[index] = _prepared(name, values[name], connection)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        flagged, ours, unread = cursor.fetchone()
    return int(flagged) + int(ours), int(unread)


# How the ORM hands each value to the database driver (a moment, on SQLite, as UTC text).
_KEY = models.IntegerField()
_MOMENT = models.DateTimeField()


def _prepared(name: str, value: Any, connection: BaseDatabaseWrapper) -> Any:
    return (_MOMENT if name == "now" else _KEY).get_db_prep_value(value, connection)


def _compiled(alias: str, stand_ins: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    workspace = Workspace(pk=stand_ins["workspace"])
    unread = unread_notifications(User(pk=stand_ins["user"]), workspace)
    query = nav_counts_query(workspace, unread, now=stand_ins["now"], cap=NAV_COUNT_CAP)
    sql, params = query.query.get_compiler(using=alias).as_sql()
    return sql, tuple(params)


@cache
def _statement(alias: str) -> _Statement | None:
    """The statement for the database ``alias``, or None when its parameters cannot be told apart."""
    (sql, params), (other_sql, other_params) = (_compiled(alias, s) for s in _STAND_INS)
    if sql != other_sql or len(params) != len(other_params):
        return None
    connection = connections[alias]
    first, second = ({name: _prepared(name, v, connection) for name, v in s.items()} for s in _STAND_INS)
    slots = []
    for index, (a, b) in enumerate(zip(params, other_params, strict=True)):
        if a == b:
            continue
        names = [name for name in first if a == first[name] and b == second[name]]
        if len(names) != 1:
            return None
        slots.append((index, names[0]))
    if {name for _, name in slots} != set(first):
        return None
    return _Statement(sql, params, tuple(slots))
