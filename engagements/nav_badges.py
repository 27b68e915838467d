"""The navigation's badges on every page: ``queries.nav_counts``' one query, compiled once per process.

Building and compiling that query took about 1 ms of CPU on every page, for SQL that only ever
differs in three values: the workspace, the person and the moment. So it is a ``Statement``
(``outsourcing/statements.py``) made from ``queries.nav_counts_query`` itself: the rules stay
there, in ``deadlines`` and the flag and notification filters, and each page binds its own values.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from engagements.notifications.outbox import unread_notifications
from engagements.queries import NAV_COUNT_CAP, nav_counts_query
from outsourcing.models import User, Workspace
from outsourcing.statements import Statement


def _badges(workspace_id: int, user_id: int, now: datetime) -> QuerySet[Workspace, tuple[int, ...]]:
    workspace = Workspace(pk=workspace_id)
    unread = unread_notifications(User(pk=user_id), workspace)
    return nav_counts_query(workspace, unread, now=now, cap=NAV_COUNT_CAP)


BADGES: Statement[tuple[int, ...]] = Statement(
    Workspace, _badges, workspace_id=int, user_id=int, now=datetime
)


def badge_counts(workspace: Workspace, user: User, *, now: datetime | None = None) -> tuple[int, int]:
    """``queries.nav_counts(workspace, unread_notifications(user, workspace))``, without building it."""
    [(flagged, ours, unread)] = BADGES(workspace_id=workspace.pk, user_id=user.pk, now=now or timezone.now())
    return int(flagged) + int(ours), int(unread)
