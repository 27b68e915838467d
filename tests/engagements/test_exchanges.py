"""The exchange derivation is a pure function of the log."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from engagements.exchanges import DerivedExchange, LogEntry, derive_exchanges

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def out(id_: int, days: float, kind: str = "request") -> LogEntry:
    return LogEntry(id=id_, direction="out", kind=kind, occurred_at=at(days))


def inb(id_: int, days: float, auto: bool = False) -> LogEntry:
    return LogEntry(id=id_, direction="in", kind="reply", occurred_at=at(days), is_auto_reply=auto)


def test_the_seed_story_is_one_request_answered_in_fifteen_days():
    log = [out(1, 0), out(2, 7, "follow_up"), inb(3, 15)]
    assert derive_exchanges(log) == [
        DerivedExchange(
            request_id=1,
            requested_at=at(0),
            reply_id=3,
            replied_at=at(15),
            followups=1,
            last_followup_at=at(7),
        )
    ]
    assert derive_exchanges(log)[0].reply_seconds == 15 * 86400


def test_an_unanswered_request_stays_open():
    [exchange] = derive_exchanges([out(1, 0), out(2, 3, "follow_up")])
    assert exchange.replied_at is None
    assert exchange.reply_seconds is None
    assert exchange.followups == 1


def test_auto_replies_and_notes_do_not_close_an_exchange():
    log = [out(1, 0), inb(2, 0.1, auto=True), LogEntry(3, "note", "other", at(0.2)), inb(4, 2)]
    [exchange] = derive_exchanges(log)
    assert exchange.reply_id == 4


def test_an_inbound_message_without_an_open_request_opens_nothing():
    assert derive_exchanges([inb(1, 0)]) == []


def test_an_outbound_delivery_with_nothing_open_opens_nothing():
    assert derive_exchanges([out(1, 0, "delivery")]) == []


def test_a_back_dated_request_entered_after_the_reply_pairs_with_it():
    # The reply was logged first (lower id), the request back-dated afterwards.
    log = [inb(1, 2), out(2, 0)]
    [exchange] = derive_exchanges(log)
    assert (exchange.request_id, exchange.reply_id) == (2, 1)


def test_a_reply_at_the_requests_own_instant_answers_it():
    [exchange] = derive_exchanges([inb(1, 0), out(2, 0)])
    assert exchange.reply_id == 1
    assert exchange.reply_seconds == 0


def test_two_rounds_give_two_exchanges():
    log = [out(1, 0), inb(2, 1), out(3, 2), out(4, 3, "follow_up"), inb(5, 4), out(6, 5)]
    exchanges = derive_exchanges(log)
    assert [(e.request_id, e.reply_id, e.followups) for e in exchanges] == [
        (1, 2, 0),
        (3, 5, 1),
        (6, None, 0),
    ]


def _logs(max_size: int = 12, **more) -> st.SearchStrategy[list[LogEntry]]:
    return st.lists(
        st.builds(
            LogEntry,
            id=st.integers(min_value=1, max_value=10_000),
            direction=st.sampled_from(["out", "in", "note"]),
            kind=st.sampled_from(["request", "follow_up", "reply", "delivery", "other"]),
            occurred_at=st.integers(min_value=0, max_value=60 * 24 * 30).map(
                lambda m: T0 + timedelta(minutes=m)
            ),
            is_auto_reply=st.booleans(),
            **more,
        ),
        max_size=max_size,
        unique_by=lambda e: e.id,
    )


entries = _logs()


@given(entries, st.randoms())
def test_the_order_of_entry_never_changes_the_result(log, random):
    shuffled = list(log)
    random.shuffle(shuffled)
    assert derive_exchanges(shuffled) == derive_exchanges(log)


@given(entries)
def test_exchanges_never_overlap_and_at_most_the_last_is_open(log):
    exchanges = derive_exchanges(log)
    assert all(e.replied_at is not None for e in exchanges[:-1])
    for a, b in itertools.pairwise(exchanges):
        assert a.replied_at is not None and a.replied_at <= b.requested_at
    assert all(e.reply_seconds is None or e.reply_seconds >= 0 for e in exchanges)


def _derived_one_step_at_a_time(entries) -> list[DerivedExchange]:
    """The derivation as first written, a new DerivedExchange per step: the reference for the faster one."""
    from dataclasses import replace

    exchanges: list[DerivedExchange] = []
    open_: DerivedExchange | None = None
    for entry in sorted(entries, key=lambda e: (e.occurred_at, 0 if e.direction == "out" else 1, e.id)):
        if entry.direction == "out":
            if open_ is not None:
                open_ = replace(
                    open_,
                    followups=open_.followups + 1,
                    last_followup_at=entry.occurred_at,
                    followup_logged_at=entry.logged_at,
                )
            elif entry.kind in ("request", "follow_up"):
                open_ = DerivedExchange(
                    request_id=entry.id, requested_at=entry.occurred_at, logged_at=entry.logged_at
                )
        elif entry.answers and open_ is not None:
            exchanges.append(replace(open_, reply_id=entry.id, replied_at=entry.occurred_at))
            open_ = None
    if open_ is not None:
        exchanges.append(open_)
    return exchanges


logged_entries = _logs(
    max_size=20,
    not_an_answer=st.booleans(),
    logged_at=st.none()
    | st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m)),
)


@given(logged_entries)
def test_the_derivation_gives_what_one_new_exchange_per_step_gave(log):
    assert derive_exchanges(log) == _derived_one_step_at_a_time(log)


def test_follow_ups_and_when_they_were_logged_are_kept_on_the_open_and_the_answered_exchange():
    log = [
        LogEntry(1, "out", "request", at(0), logged_at=at(0)),
        LogEntry(2, "out", "follow_up", at(1), logged_at=at(3)),
        LogEntry(3, "out", "other", at(2), logged_at=at(4)),
        LogEntry(4, "in", "reply", at(5)),
        LogEntry(5, "out", "request", at(6), logged_at=at(6)),
        LogEntry(6, "out", "follow_up", at(7), logged_at=at(8)),
    ]
    assert derive_exchanges(log) == [
        DerivedExchange(1, at(0), 4, at(5), 2, at(2), logged_at=at(0), followup_logged_at=at(4)),
        DerivedExchange(5, at(6), None, None, 1, at(7), logged_at=at(6), followup_logged_at=at(8)),
    ]
