"""Is a reply still coming? What a provider's record says about a request that has gone silent.

For a request unanswered for ``t0`` business seconds so far, the provider's
Kaplan–Meier curve of time to reply in business time — the scorecard's data
over all time: answered requests at their reply time, unanswered ones censored
at how long they have waited (until now, or until their engagement closed) —
restarted at ``t0`` gives the chance of a reply within the next business day
and the share never answered. ``docs/metrics.md`` ("Is a reply still coming?")
works an example through.

A fixed number of queries for any number of requests and providers: the
providers' records from what the reliability refresh keeps of each (their
parts of the kept sample, a few small cache reads, turned into curves each
process keeps until the next refresh: ``kept_curves``) with one query for the
requests asked about, else one query for all their requests, and their
engagements' calendars (``engagement_calendars``), which also say how long
each one's business day is.

``least_likely_order`` orders a whole list of open requests (Needs attention's
"Awaiting reply", before it is paginated) by the chance of never hearing back:
the same figure, from each provider's curve computed once rather than once per
request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from engagements.clock import BusinessCalendar
from engagements.reliability import snapshots
from engagements.reliability.metrics import (
    Period,
    Sample,
    Scope,
    _ExchangeRow,
    exchange_rows,
    unanswered_calendars,
)
from engagements.reliability.statistics import (
    MIN_AT_RISK,
    MIN_DATA_POINTS,
    ConditionalReply,
    Interval,
    kaplan_meier,
    log_log_bounds,
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
        return _enough(self.history, self.figures.n)

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


def _enough(history: int, at_risk: int) -> bool:
    return history >= MIN_DATA_POINTS and at_risk >= MIN_AT_RISK


@dataclass(frozen=True)
class _Read:
    """What the outlooks are computed from: the requests asked about and their providers' curves."""

    asked: list[tuple[_ExchangeRow, float]]  # each still unanswered, with its business seconds of silence
    calendars: dict[int, BusinessCalendar]  # by engagement id
    curves: dict[int, ProviderCurve]  # by provider id, from each provider's requests (all time)


def _read(workspace_id: int, wanted: dict[int, int], now: datetime) -> _Read:
    """The curves of the providers in ``wanted`` (exchange id → provider id) and the requests' silence.

    The providers' curves come from their requests as the last reliability
    refresh kept them (``kept_curves``), and from the database for those it
    kept none of; the requests asked about are always read afresh, with how
    long they have waited as of ``now``.
    """
    provider_ids = tuple(sorted(set(wanted.values())))
    period = Period.standard("all", now)
    curves, missing = kept_curves(workspace_id, provider_ids)
    rows = []
    if len(missing) < len(provider_ids):
        gone = set(missing)
        found = tuple(pk for pk in provider_ids if pk not in gone)
        rows = exchange_rows(Scope(workspace_id=workspace_id, provider_ids=found), period, pks=wanted)
    if missing:
        # Their whole record, which holds the requests asked about too.
        rows += exchange_rows(Scope(workspace_id=workspace_id, provider_ids=tuple(missing)), period)
    calendars = unanswered_calendars(rows)
    fresh = Sample.from_rows(rows, now, calendars)
    waited = fresh.business_t
    if missing:
        loaded = fresh.take(np.isin(fresh.provider, np.asarray(missing, dtype=np.int64)))
        for provider_id, mine in _indices_by_provider(loaded.provider, missing).items():
            curves[provider_id] = ProviderCurve.of(loaded.business_t[mine], loaded.answered[mine])
    return _Read(
        asked=[
            (row, float(waited[i]))
            for i, row in enumerate(rows)
            if row.exchange_id in wanted and row.replied_at is None
        ],
        calendars=calendars,
        curves=curves,
    )


@dataclass
class _Kept:
    """One workspace's curves made from one generation of kept parts, and how many requests they hold."""

    generation: str
    curves: dict[int, ProviderCurve]
    requests: int = 0


# Each process keeps the curves it made from the kept parts, per workspace, for as long as the
# workspace's kept generation is the same: a generation's parts never change (each refresh keeps
# its own under a new name), so such a curve is right until the next refresh. Reading and
# unpickling a hundred providers' parts was a sixth of Needs attention's time at a million messages.
_CURVES: OrderedDict[int, _Kept] = OrderedDict()
# At most this many requests' curves a process keeps (about 32 bytes each, so some 32 MB): the
# least recently shown workspaces go first, and the one just shown is always kept.
_CURVES_MAX_REQUESTS = 1_000_000
_CURVES_LOCK = threading.Lock()


def kept_curves(workspace_id: int, provider_ids: Sequence[int]) -> tuple[dict[int, ProviderCurve], list[int]]:
    """These providers' curves from the parts the last refresh kept, and the providers it kept none of.

    The second are to be read afresh: nothing kept (no refresh yet, the cache down or emptied), or a
    provider without requests. A curve this process already made from the same generation is not
    read again.
    """
    generation = snapshots.kept_generation(workspace_id) if provider_ids else None
    if not generation:
        return {}, list(provider_ids)
    with _CURVES_LOCK:
        kept = _CURVES.get(workspace_id)
        known = dict(kept.curves) if kept is not None and kept.generation == generation else {}
    wanted = [pk for pk in provider_ids if pk not in known]
    made = {
        pk: ProviderCurve.of(np.asarray(part["business_t"]), np.asarray(part["answered"]))
        for pk, part in (snapshots.kept_parts(workspace_id, generation, wanted) if wanted else {}).items()
    }
    with _CURVES_LOCK:
        kept = _CURVES.get(workspace_id)
        if kept is None or kept.generation != generation:
            kept = _CURVES[workspace_id] = _Kept(generation, {})
        for pk, curve in made.items():
            if pk not in kept.curves:
                kept.curves[pk] = curve
                kept.requests += curve.history
        _CURVES.move_to_end(workspace_id)
        total = sum(k.requests for k in _CURVES.values())  # one number per workspace kept
        while total > _CURVES_MAX_REQUESTS and len(_CURVES) > 1:
            total -= _CURVES.popitem(last=False)[1].requests
    curves = {pk: found for pk in provider_ids if (found := known.get(pk) or made.get(pk)) is not None}
    return curves, [pk for pk in provider_ids if pk not in curves]


def _indices_by_provider(providers: np.ndarray, provider_ids: Sequence[int]) -> dict[int, np.ndarray]:
    """Each provider's indices into ``providers``, ascending (``np.flatnonzero(providers == id)``).

    One stable sort for all of them, rather than a pass over every request per provider.
    """
    none = np.zeros(0, dtype=np.intp)
    if not providers.size:
        return dict.fromkeys(provider_ids, none)
    order = np.argsort(providers, kind="stable")
    found, starts = np.unique(providers[order], return_index=True)
    parts = dict(zip(found.tolist(), np.split(order, starts[1:]), strict=True))
    return {provider_id: parts.get(provider_id, none) for provider_id in provider_ids}


def reply_outlooks(
    workspace_id: int, requests: Iterable[tuple[int, int]], *, now: datetime
) -> dict[int, ReplyOutlook]:
    """The outlook of each open request given as (exchange id, provider id), by exchange id.

    Records and silence as ``_read`` gets them. Only requests whose provider
    has enough history get an outlook (``ReplyOutlook.enough``); a request
    answered meanwhile, or logged this very instant, gets none either.
    """
    wanted = dict(requests)
    if not wanted:
        return {}
    read = _read(workspace_id, wanted, now)
    outlooks = {}
    for row, silent in read.asked:
        curve = read.curves[row.provider_id]
        day_seconds = read.calendars[row.engagement_id].day_seconds
        outlook = ReplyOutlook(
            exchange_id=row.exchange_id,
            silent_seconds=silent,
            day_seconds=day_seconds,
            # A request censored at or before its silence (the one asked about, kept
            # at what it had waited at the refresh) is never at risk after it.
            figures=curve.conditional(silent, day_seconds),
            history=curve.history,
        )
        if outlook.enough:
            outlooks[row.exchange_id] = outlook
    return outlooks


@dataclass(frozen=True)
class ProviderCurve:
    """One provider's Kaplan–Meier curve, ready to be restarted at any silence.

    ``conditional(silent, within)`` is ``conditional_reply(...)`` on the
    provider's requests to the last bit, for a fraction of its cost: the risk
    set past ``silent`` has the very same steps as the whole curve past it
    (each reply time's at-risk count is everyone whose time is at least that
    time), so its survival is the running product of the whole curve's factors
    from there on, multiplied in the same order, and its Greenwood sum is the
    whole curve's terms from there on (an exactly rounded sum, in any order).
    """

    times: np.ndarray  # every request's time, sorted (to count who is at risk)
    reply_times: np.ndarray  # the curve's reply times, ascending
    factors: np.ndarray  # (n − d) / n at each of them
    greenwood: np.ndarray  # d / (n (n − d)) at each of them (inf where all at risk replied)
    history: int

    @classmethod
    def of(cls, durations: np.ndarray, answered: np.ndarray) -> ProviderCurve:
        curve = kaplan_meier(durations, answered)
        at_risk = np.asarray(curve.at_risk, dtype=np.float64)
        events = np.asarray(curve.events, dtype=np.float64)
        with np.errstate(divide="ignore"):
            # Counts are whole numbers far below 2**53: n (n − d) is exact, and the division rounds
            # once, as Python's int / int does in conditional_reply.
            greenwood = events / (at_risk * (at_risk - events))
        return cls(
            times=np.sort(np.asarray(durations, dtype=np.float64)),
            reply_times=np.asarray(curve.times, dtype=np.float64),
            factors=(at_risk - events) / at_risk,
            greenwood=greenwood,
            history=int(durations.size),
        )

    def at_risk(self, silent: float) -> int:
        """How many of the provider's requests outlasted ``silent`` (the ``n`` of the outlook)."""
        return int(self.times.size - np.searchsorted(self.times, silent, side="right"))

    def never(self, silent: float) -> float | None:
        """The share never answered among the requests that outlasted ``silent``; None when none did."""
        if not self.at_risk(silent):
            return None
        tail = self.factors[np.searchsorted(self.reply_times, silent, side="right") :]
        return float(np.cumprod(tail)[-1]) if tail.size else 1.0

    def conditional(self, silent: float, within: float, confidence: float = 0.95) -> ConditionalReply:
        """What ``conditional_reply`` says of a request silent for ``silent``, answered within ``within``."""
        if silent < 0 or within <= 0:
            raise ValueError(f"need silent >= 0 and within > 0, got {silent} and {within}")
        n = self.at_risk(silent)
        if not n:
            return ConditionalReply(silent, within, 0, None, None, None, None)
        start = int(np.searchsorted(self.reply_times, silent, side="right"))
        horizon = silent + within
        upto = int(np.searchsorted(self.reply_times, horizon, side="right"))
        path = np.cumprod(self.factors[start:])
        survival = float(path[upto - start - 1]) if upto > start else 1.0
        bounds = log_log_bounds(survival, self.greenwood[start:upto].tolist(), confidence)
        return ConditionalReply.restarted(
            silent, within, n, survival, bounds, float(path[-1]) if path.size else 1.0
        )


class Awaiting(NamedTuple):
    """An open request to order: its exchange, its provider and when its reply is due."""

    exchange_id: int
    provider_id: int
    reply_due_at: datetime | None


def least_likely_order(workspace_id: int, candidates: Sequence[Awaiting], *, now: datetime) -> list[Awaiting]:
    """``candidates`` by the chance of never hearing back, highest first, for a page to paginate.

    The chance is the outlook's (``ReplyOutlook.never``), shown only with enough
    history (``ReplyOutlook.enough``); requests without one follow all that have
    one. Equal chances, and those without, go most overdue first (the earliest
    reply due; none set last), then by id. Each provider's curve is computed
    once, whatever the number of their requests, and the queries are
    ``reply_outlooks``' (a fixed number).
    """
    if not candidates:
        return []
    read = _read(workspace_id, {c.exchange_id: c.provider_id for c in candidates}, now)
    curves = read.curves
    chances: dict[int, float] = {}
    for row, silent in read.asked:
        curve = curves[row.provider_id]
        never = curve.never(silent)
        if never is not None and _enough(curve.history, curve.at_risk(silent)):
            chances[row.exchange_id] = never

    def key(c: Awaiting) -> tuple[bool, float, bool, float, int]:
        never = chances.get(c.exchange_id)
        due = c.reply_due_at
        return (never is None, -(never or 0.0), due is None, due.timestamp() if due else 0.0, c.exchange_id)

    return sorted(candidates, key=key)


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
