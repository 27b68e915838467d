"""Where one request stands at a moment: the rule the scorecard shows, at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engagements.models import Exchange
from engagements.reliability import RequestState, request_state

ASKED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DUE = ASKED + timedelta(days=2)


def exchange(**fields) -> Exchange:
    return Exchange(requested_at=ASKED, reply_due_at=DUE, **fields)


@pytest.mark.parametrize(
    ("fields", "now", "state"),
    [
        ({"replied_at": DUE, "within_policy": True}, DUE + timedelta(days=9), RequestState.WITHIN),
        ({"replied_at": DUE + timedelta(seconds=1), "within_policy": False}, DUE, RequestState.LATE),
        ({}, DUE - timedelta(seconds=1), RequestState.NOT_DUE),
        ({}, DUE, RequestState.OVERDUE),  # due at this very instant: overdue, as the flagging pass says
        ({"followups": 1}, DUE + timedelta(days=30), RequestState.OVERDUE),  # too few follow-ups to ghost
        (
            {"followups": 2, "ghosted_due_at": DUE + timedelta(days=5)},
            DUE + timedelta(days=4),
            RequestState.OVERDUE,
        ),
        (
            {"followups": 2, "ghosted_due_at": DUE + timedelta(days=5)},
            DUE + timedelta(days=5),
            RequestState.GHOSTED,
        ),
        # Follow-ups sent quickly may ghost "before" the reply is due: not overdue yet, so not ghosted either.
        (
            {"followups": 2, "ghosted_due_at": ASKED + timedelta(days=1)},
            DUE - timedelta(hours=1),
            RequestState.NOT_DUE,
        ),
    ],
)
def test_a_request_is_placed_on_the_ladder_the_flagging_pass_climbs(fields, now, state):
    assert request_state(exchange(**fields), now) == state


def test_a_request_without_a_due_time_is_never_overdue():
    assert request_state(Exchange(requested_at=ASKED, reply_due_at=None), ASKED + timedelta(days=400)) == (
        RequestState.NOT_DUE
    )
