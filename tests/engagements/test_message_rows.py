"""The log's rows, written in Python (``{% message_rows %}``), read exactly as the
``engagements/_message.html`` they replaced did (kept in fixtures/_message_old.html)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from engagements import queries
from engagements.models import Attachment, Message
from outsourcing import formats
from tests.factories import MessageFactory

OLD = (Path(__file__).parent / "fixtures" / "_message_old.html").read_text()
NEW = "{% load message_rows %}{% message_rows messages show_engagement=show_engagement %}"

KINDS = [k for k, _ in Message.Kind.choices]
CHANNELS = [c for c, _ in Message.Channel.choices]
DIRECTIONS = [d for d, _ in Message.Direction.choices]
ZONES = ["", "America/New_York", "Europe/Berlin", "UTC", "Asia/Tokyo", "Not/AZone"]


@pytest.fixture
def log(team, engagement):
    """Messages that take every branch the old template had, in many combinations."""
    base = datetime(2026, 3, 28, 23, 30, tzinfo=timezone.UTC)
    users = [None, team.alice, team.bob]
    for i, (direction, flags) in enumerate(itertools.product(DIRECTIONS, range(12))):
        m = MessageFactory(
            engagement=engagement,
            direction=direction,
            kind=KINDS[i % len(KINDS)],
            channel=CHANNELS[i % len(CHANNELS)],
            source=[s for s, _ in Message.Source.choices][i % len(Message.Source.choices)],
            occurred_at=base - timedelta(hours=7 * i, minutes=i),
            subject=["", "Re: <b>copy</b> & more", "Plain"][i % 3],
            body=["", "Line one\nLine <two> & 'three'", "100 % done"][(i + 1) % 3],
            signature="-- \nVanessa <va@example.com>" if flags % 4 == 1 else "",
            quoted="> earlier & <older>" if flags % 3 == 2 else "",
            html="<p>Hi <b>there</b><script>x()</script></p>" if flags % 5 == 3 else "",
            sender=["", "Vanessa <va@example.com>", "O'Brien & Sons"][flags % 3],
            author=users[flags % 3],
            is_auto_reply=flags % 6 == 4,
            not_an_answer=flags % 4 == 2,
            not_an_answer_by=users[(flags // 2) % 3] if flags % 4 == 2 else None,
            not_an_answer_at=base - timedelta(days=1) if flags % 8 == 2 else None,
            version=1 + flags % 3,
            absence_until=date(2026, 4, 14) if flags % 5 in (1, 2) else None,
            deleted_at=base + timedelta(hours=2) if flags % 4 == 3 else None,
            deleted_by=users[flags % 3] if flags % 4 == 3 else None,
            sender_time_zone=ZONES[i % len(ZONES)],
        )
        for n in range(flags % 3 if flags % 2 else 0):
            Attachment.objects.create(
                message=m,
                file=f"attachments/x{i}-{n}.pdf",
                original_name=f"offer <{n}> & terms.pdf",
                content_type="application/pdf",
                size=[512, 1536000, 7 * 1024**3][n % 3],
            )
    return list(queries.timeline(engagement).select_related("engagement"))


def both(messages, context, language, format_locale=None):
    before, after = [], []
    with translation.override(language), formats.override(format_locale):
        for show_engagement in (False, True):
            ctx = {**context, "show_engagement": show_engagement}
            old = Template(OLD)
            before.append("".join(old.render(Context({**ctx, "message": m})) for m in messages))
            after.append(Template(NEW).render(Context({**ctx, "messages": messages})))
    return before, after


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("can_edit", [True, False])
def test_the_rows_read_as_the_template_wrote_them(team, log, language, can_edit):
    context = {
        "workspace": team.workspace,
        "membership": SimpleNamespace(can_edit=can_edit),
        "can_edit": can_edit,
        "csrf_token": "tok<en>",
        "logged": log[5],
    }
    before, after = both(log, context, language)
    assert after == before
    assert "data-swap-focus" in after[0]
    for branch in ("sender-time", "not-an-answer", "signature", "html-version", "quoted", "list-inline-item"):
        assert branch in after[0]
    assert ("absence-offer" in after[0]) is ("mark-not-an-answer" in after[0]) is can_edit
    assert ("counts-as-answer" in after[0]) is can_edit
    assert "deleted-marker" in after[0]
    assert ("Restore" in after[0] or "Wiederherstellen" in after[0]) is can_edit


@pytest.mark.parametrize("format_locale", [formats.UK, formats.DE, formats.US])
def test_the_rows_follow_the_reader_s_time_zone_and_date_format(team, log, format_locale):
    context = {"workspace": team.workspace, "membership": None, "can_edit": True, "csrf_token": ""}
    with timezone.override("Europe/Berlin"):
        before, after = both(log, context, "en", format_locale)
    assert after == before


def test_a_page_without_a_csrf_token_or_a_membership_reads_the_same(team, log):
    context = {"workspace": team.workspace}
    before, after = both(log[:10], context, "de")
    assert after == before
