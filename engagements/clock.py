"""The response clock: how much time counts between two instants.

For now the clock counts calendar time. Business calendars (working hours,
holidays, absences, on-hold periods) will grow here, behind the same calls,
so nothing else in the project has to know how time is counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def _require_aware(*values: datetime) -> None:
    for value in values:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the clock only takes aware datetimes")


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Calendar time from ``start`` to ``end``; never negative."""
    _require_aware(start, end)
    return max(end - start, timedelta(0))
