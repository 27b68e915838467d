"""Template filters shared by every app: money and durations in the active locale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from outsourcing.money import format_money

register = template.Library()


@register.simple_tag
def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def duration(value: timedelta | int | float | None) -> str:
    """A span as people say it: "3 days 4 hours", "25 minutes"."""
    if value is None:
        return ""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 60:
        return _("under a minute")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes and not days:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts[:2])
