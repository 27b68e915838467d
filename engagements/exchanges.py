"""Derive exchanges (request → reply pairs) from a message log.

``derive_exchanges`` is a pure function of the log: the same set of messages
gives the same exchanges whatever order they were entered in, so back-dated
and out-of-order entries are always handled alike.

The rules:
- outbound *request* or *follow-up* with no open exchange opens one;
- any further outbound message while one is open is a follow-up (it does not
  reset the clock);
- the next inbound message that answers closes it: an automatic reply does
  not, nor does one a person marked "not an answer" (off topic, "will check
  later"), so the request's clock keeps running;
- internal notes and deleted messages never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engagements import clock

OUTBOUND = "out"
INBOUND = "in"
OPENING_KINDS = frozenset({"request", "follow_up"})


@dataclass(frozen=True)
class LogEntry:
    id: int
    direction: str
    kind: str
    occurred_at: datetime
    is_auto_reply: bool = False
    not_an_answer: bool = False
    # When it was entered (not when it happened): history typed in after the fact.
    logged_at: datetime | None = None

    @property
    def answers(self) -> bool:
        """An inbound message that counts as the provider's reply."""
        return self.direction == INBOUND and not self.is_auto_reply and not self.not_an_answer


@dataclass(frozen=True)
class DerivedExchange:
    request_id: int
    requested_at: datetime
    reply_id: int | None = None
    replied_at: datetime | None = None
    followups: int = 0
    last_followup_at: datetime | None = None
    # When the request, and the latest of its follow-ups, were entered (None when unknown).
    logged_at: datetime | None = None
    followup_logged_at: datetime | None = None

    @property
    def reply_seconds(self) -> int | None:
        if self.replied_at is None:
            return None
        return int(clock.elapsed(self.requested_at, self.replied_at).total_seconds())


def _order(entry: LogEntry) -> tuple[datetime, int, int]:
    # At the same instant our message comes first: a reply logged with the
    # request's own timestamp answers it (in zero time) rather than preceding it.
    return (entry.occurred_at, 0 if entry.direction == OUTBOUND else 1, entry.id)


def _exchange(
    request: LogEntry,
    reply: LogEntry | None,
    followups: int,
    last_followup: LogEntry | None,
) -> DerivedExchange:
    return DerivedExchange(
        request_id=request.id,
        requested_at=request.occurred_at,
        reply_id=reply.id if reply is not None else None,
        replied_at=reply.occurred_at if reply is not None else None,
        followups=followups,
        last_followup_at=last_followup.occurred_at if last_followup is not None else None,
        logged_at=request.logged_at,
        followup_logged_at=last_followup.logged_at if last_followup is not None else None,
    )


def derive_exchanges(entries: Iterable[LogEntry]) -> list[DerivedExchange]:
    exchanges: list[DerivedExchange] = []
    # The open exchange, kept in locals and made once when it closes (a long log has many follow-ups).
    request: LogEntry | None = None
    followups = 0
    last_followup: LogEntry | None = None
    for entry in sorted(entries, key=_order):
        if entry.direction == OUTBOUND:
            if request is not None:
                followups += 1
                last_followup = entry
            elif entry.kind in OPENING_KINDS:
                request, followups, last_followup = entry, 0, None
        elif request is not None and entry.answers:
            exchanges.append(_exchange(request, entry, followups, last_followup))
            request = None
    if request is not None:
        exchanges.append(_exchange(request, None, followups, last_followup))
    return exchanges


# The Engagement fields engagement_summary() gives.
SUMMARY_FIELDS = (
    "awaiting_reply",
    "waiting_since",
    "last_message_at",
    "last_inbound_at",
    "last_outbound_at",
    "our_turn_since",
)


def engagement_summary(derived: Sequence[DerivedExchange], entries: Sequence[LogEntry]) -> dict[str, Any]:
    """The Engagement summary fields for a log (notes and deleted entries already left out).

    ``our_turn_since``: the log leaves the next word to us from the provider's
    first real message after our last one, while no request of ours is open
    (an auto-reply or a message marked "not an answer" never makes it our turn).
    Whether that answer is owed at all is ``deadlines.obligations``' call (status, delivery).
    """
    open_ = [d for d in derived if d.replied_at is None]
    inbound = [e.occurred_at for e in entries if e.answers]
    outbound = [e.occurred_at for e in entries if e.direction == OUTBOUND]
    last_outbound = max(outbound, default=None)
    # At one instant our message comes first (see _order): their word at that instant is the later one.
    since_ours = [at for at in inbound if last_outbound is None or at >= last_outbound]
    return {
        "awaiting_reply": bool(open_),
        "waiting_since": open_[0].requested_at if open_ else None,
        "last_message_at": max((e.occurred_at for e in entries), default=None),
        "last_inbound_at": max(inbound, default=None),
        "last_outbound_at": last_outbound,
        "our_turn_since": None if open_ else min(since_ours, default=None),
    }
