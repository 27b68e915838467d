"""Where one request stands at a moment: the rule every page shows, at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engagements import deadlines
from engagements.models import Engagement, Exchange

ASKED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DUE = ASKED + timedelta(days=2)


def exchange(status: str = Engagement.Status.IN_PROGRESS, **fields) -> Exchange:
    return Exchange(requested_at=ASKED, reply_due_at=DUE, engagement=Engagement(status=status), **fields)


@pytest.mark.parametrize(
    ("fields", "now", "state"),
    [
        ({"replied_at": DUE, "within_policy": True}, DUE + timedelta(days=9), "within"),
        ({"replied_at": DUE + timedelta(seconds=1), "within_policy": False}, DUE, "late"),
        ({}, DUE - timedelta(seconds=1), "not_due"),
        ({}, DUE, "not_due"),  # a reply at this very instant would still be on time
        ({}, DUE + timedelta(microseconds=1), "overdue"),
        ({"followups": 1}, DUE + timedelta(days=30), "overdue"),  # too few follow-ups to ghost
        ({"followups": 2, "ghosted_due_at": DUE + timedelta(days=5)}, DUE + timedelta(days=4), "overdue"),
        ({"followups": 2, "ghosted_due_at": DUE + timedelta(days=5)}, DUE + timedelta(days=6), "ghosted"),
        # Follow-ups sent quickly may ghost "before" the reply is due: not overdue yet, so not ghosted either.
        ({"followups": 2, "ghosted_due_at": ASKED + timedelta(days=1)}, DUE - timedelta(hours=1), "not_due"),
        ({"status": Engagement.Status.CANCELLED}, DUE + timedelta(days=30), "dropped"),
        ({"status": Engagement.Status.COMPLETED, "replied_at": DUE, "within_policy": True}, DUE, "within"),
    ],
)
def test_a_request_is_placed_on_the_ladder_the_flagging_pass_climbs(fields, now, state):
    assert deadlines.exchange_state_key(exchange(**fields), now) == state


def test_a_request_without_a_due_time_is_never_overdue():
    no_due = Exchange(requested_at=ASKED, reply_due_at=None, engagement=Engagement(status="requested"))
    assert deadlines.exchange_state_key(no_due, ASKED + timedelta(days=400)) == "not_due"
