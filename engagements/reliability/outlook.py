"""Is a reply still coming? What a provider's record says about a request that has gone silent.

For a request unanswered for ``t0`` business seconds so far, the provider's
Kaplan–Meier curve of time to reply in business time — the scorecard's data
over all time: answered requests at their reply time, unanswered ones censored
at how long they have waited (until now, or until their engagement closed) —
restarted at ``t0`` gives the chance of a reply within the next business day
and the share never answered. ``docs/metrics.md`` ("Is a reply still coming?")
works an example through.

A fixed number of queries for any number of requests and providers: the
providers' records from the sample the reliability refresh keeps (else one
query for all their requests), one for the requests asked about, and their
engagements' calendars (``engagement_calendars``), which also say how long
each one's business day is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from engagements.reliability import snapshots
from engagements.reliability.metrics import Period, Sample, Scope, exchange_rows, unanswered_calendars
from engagements.reliability.statistics import (
    MIN_DATA_POINTS,
    ConditionalReply,
    Interval,
    conditional_reply,
)

HOUR = 3600


@dataclass(frozen=True)
class ReplyOutlook:
    """One open request's outlook: its silence so far and what the provider's history says next."""

    exchange_id: int
    silent_seconds: float  # business seconds waited so far
    day_seconds: int  # the length of one of the provider's business days under the policy
    figures: ConditionalReply
    history: int  # the provider's requests, all time

    @property
    def enough(self) -> bool:
        """Shown only with enough history: the scorecard's minimum overall, ``MIN_AT_RISK`` past this silence."""
        return self.history >= MIN_DATA_POINTS and self.figures.enough

    @property
    def silent_hours(self) -> int:
        """Whole business hours of silence (what the sentence says)."""
        return int(self.silent_seconds // HOUR)

    @property
    def answered_next_day(self) -> Interval:
        """The share answered within the next business day, with its 95 % interval and n at risk."""
        f = self.figures
        return Interval(point=f.answered_within, low=f.low, high=f.high, n=f.n)

    @property
    def never(self) -> float | None:
        return self.figures.never


def reply_outlooks(
    workspace_id: int, requests: Iterable[tuple[int, int]], *, now: datetime
) -> dict[int, ReplyOutlook]:
    """The outlook of each open request given as (exchange id, provider id), by exchange id.

    The providers' records come from the workspace's requests as the last
    reliability refresh kept them (``snapshots.kept_sample``) when there are
    any, else from the database; the requests asked about are always read
    afresh, with how long they have waited as of ``now``. Only requests whose
    provider has enough history get an outlook (``ReplyOutlook.enough``); a
    request answered meanwhile, or logged this very instant, gets none either.
    """
    wanted = dict(requests)
    if not wanted:
        return {}
    provider_ids = tuple(sorted(set(wanted.values())))
    scope = Scope(workspace_id=workspace_id, provider_ids=provider_ids)
    period = Period.standard("all", now)
    kept = snapshots.kept_sample(workspace_id, now)
    if kept is None:
        rows = exchange_rows(scope, period)
        calendars = unanswered_calendars(rows)
        records = Sample.from_rows(rows, now, calendars)
        waited = records.business_t
    else:
        # Only the requests asked about are read; their silence as of now, not as of the refresh.
        rows = exchange_rows(scope, period, pks=wanted)
        calendars = unanswered_calendars(rows)
        waited = Sample.from_rows(rows, now, calendars).business_t
        records = kept.take(np.isin(kept.provider, np.asarray(provider_ids, dtype=np.int64)))
    by_provider = {
        provider_id: np.flatnonzero(records.provider == provider_id) for provider_id in provider_ids
    }
    outlooks = {}
    for i, row in enumerate(rows):
        if row.exchange_id not in wanted or row.replied_at is not None:
            continue
        mine = by_provider[row.provider_id]
        silent = float(waited[i])
        outlook = ReplyOutlook(
            exchange_id=row.exchange_id,
            silent_seconds=silent,
            day_seconds=calendars[row.engagement_id].day_seconds,
            # A request censored at or before its silence (the one asked about, kept
            # at what it had waited at the refresh) is never at risk after it.
            figures=conditional_reply(
                records.business_t[mine],
                records.answered[mine],
                silent=silent,
                within=calendars[row.engagement_id].day_seconds,
            ),
            history=int(mine.size),
        )
        if outlook.enough:
            outlooks[row.exchange_id] = outlook
    return outlooks


def least_likely_first[T](
    items: Sequence[T], outlooks: dict[int, ReplyOutlook], exchange_of: Callable[[T], int | None]
) -> list[T]:
    """``items`` by the chance of never hearing back, highest first; those without an outlook last.

    Stable: items with equal chances (and all those without one) keep the order they came in.
    """

    def key(item: T) -> tuple[bool, float]:
        exchange_id = exchange_of(item)
        outlook = outlooks.get(exchange_id) if exchange_id is not None else None
        never = outlook.never if outlook is not None else None
        return (never is None, -(never or 0.0))

    return sorted(items, key=key)
