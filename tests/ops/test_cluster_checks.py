"""The cluster test's own count of due flags (cluster/verify.py): read from the deadlines and the
flags alone, so a pass that skipped or doubled work cannot vouch for itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from cluster import verify
from engagements import services
from engagements.flagging import flag_pass
from engagements.models import Exchange, Flag, Message
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the cluster runs on PostgreSQL"),
]


def count(sql: str) -> int:
    with connection.cursor() as cursor:
        return verify.scalar(cursor, sql)


@pytest.fixture
def overdue(team):
    provider = ProviderFactory(
        workspace=team.workspace, name="Quiet Ltd", time_zone="Europe/Berlin", country="DE"
    )
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    request = services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(days=10),
        author=team.alice,
    )
    # Typed in an hour ago: past the grace a back-dated request gets before it is looked at.
    Message.objects.filter(pk=request.pk).update(created_at=timezone.now() - timedelta(hours=1))
    Exchange.objects.filter(engagement=engagement).update(next_check_at=F("reply_due_at"))
    return engagement


def test_a_back_dated_request_just_typed_in_is_not_due_yet(team):
    provider = ProviderFactory(workspace=team.workspace, name="Later Ltd")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(days=10),
    )

    assert count(verify.DUE) == 0


def test_a_request_past_due_without_a_flag_is_counted_until_the_pass_raises_it(overdue):
    assert (count(verify.DUE), count(verify.DUE_UNFLAGGED)) == (1, 1)

    flag_pass()

    assert (count(verify.DUE), count(verify.DUE_UNFLAGGED)) == (1, 0)
    assert count(verify.FLAGGED_EARLY) == 0
    assert count(verify.FLAGGED_AFTER_ANSWER) == 0


def test_an_answered_request_is_no_longer_due(overdue, team):
    flag_pass()
    services.message_log(engagement=overdue, direction="in", kind="reply", occurred_at=timezone.now())

    assert count(verify.DUE) == 0
    assert count(verify.FLAGGED_AFTER_ANSWER) == 0


def test_a_flag_raised_before_its_deadline_is_caught(overdue):
    flag_pass()
    flag = Flag.objects.get(kind=Flag.Kind.REPLY_OVERDUE)
    Flag.objects.filter(pk=flag.pk).update(raised_at=flag.due_at - timedelta(hours=1))

    assert count(verify.FLAGGED_EARLY) == 1


def test_a_flag_raised_after_the_answer_was_logged_is_caught(overdue):
    services.message_log(
        engagement=overdue,
        direction="in",
        kind="reply",
        occurred_at=timezone.now() - timedelta(days=9, hours=23),
    )
    exchange = overdue.exchanges.get()
    Flag.objects.create(
        workspace=overdue.workspace,
        engagement=overdue,
        exchange=exchange,
        kind=Flag.Kind.REPLY_OVERDUE,
        due_at=exchange.reply_due_at,
        raised_at=timezone.now(),
    )

    assert count(verify.FLAGGED_AFTER_ANSWER) == 1


def test_a_request_with_no_ghosting_deadline_is_never_counted_as_past_it(overdue):
    flag_pass()

    assert overdue.exchanges.get().ghosted_due_at is None
    assert (count(verify.GHOSTED_DUE), count(verify.GHOSTED_UNFLAGGED)) == (0, 0)


def test_a_request_whose_flag_marker_disagrees_with_its_flags_is_caught(overdue):
    flag_pass()
    assert count(verify.MARKER_WRONG) == 0

    # As a path that resolved the flag without clearing the marker would leave it.
    Flag.objects.filter(engagement=overdue).update(resolved_at=timezone.now())

    assert count(verify.MARKER_WRONG) == 1
