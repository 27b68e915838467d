"""The engagement list and the message logs as CSV or XLSX: the rows and order the page shows, every page of them.

The cells are written by ``outsourcing.exports`` (formula-safe text, real
numbers and dates). "Whose turn" is the page's own partial, rendered as text,
so the file says exactly what the screen says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from engagements import deadlines
from engagements.models import Engagement, Message
from engagements.templatetags.list_rows import whose_turn_short

Table = tuple[list[str], list[list[object]]]


def _plain(html: str) -> str:
    text = strip_tags(re.sub(r"<br\s*/?>", "; ", html))
    return " ".join(text.split())


def engagement_list_table(engagements: Sequence[Engagement], now: datetime) -> Table:
    """The list page's columns for these engagements (loaded as the page loads them)."""
    deadlines.mark_delivery_overdue(engagements, now)
    deadlines.mark_whose_turn(engagements, now)
    headers = [
        _("Title"),
        _("Client"),
        _("Provider"),
        _("Owner"),
        _("Status"),
        _("Priority"),
        _("Due"),
        _("Delivery overdue"),
        _("Whose turn"),
        _("Fee"),
        _("Currency"),
        _("Created"),
    ]
    rows: list[list[object]] = [
        [
            e.title,
            e.client_name,
            e.provider.name,
            e.owner.display_name if e.owner else "",
            e.get_status_display(),
            e.get_priority_display(),
            e.due_on,
            bool(getattr(e, "delivery_is_overdue", False)),
            _plain(whose_turn_short(e.turn)),  # type: ignore[attr-defined]
            e.fee_amount,
            e.fee_currency,
            e.created_at,
        ]
        for e in engagements
    ]
    return headers, rows


def message_log_table(messages: Iterable[Message], *, with_engagement: bool) -> Table:
    """A log as its page lists it, newest first; deleted entries (struck through there) say when."""
    headers = [
        _("When"),
        *([_("Engagement")] if with_engagement else []),
        _("Direction"),
        _("Kind"),
        _("Channel"),
        _("Subject"),
        _("Message"),
        _("From"),
        _("Source"),
        _("Auto-reply"),
        _("Not an answer"),
        _("Deleted"),
    ]
    rows: list[list[object]] = []
    for m in messages:
        author = m.author.display_name if m.author else ""
        rows.append(
            [
                m.occurred_at,
                *([m.engagement.title] if with_engagement else []),
                m.get_direction_display(),
                m.get_kind_display(),
                m.get_channel_display(),
                m.subject,
                m.body,
                m.sender or author,
                m.get_source_display(),
                m.is_auto_reply,
                m.not_an_answer,
                m.deleted_at,
            ]
        )
    return headers, rows
