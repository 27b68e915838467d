"""Display helpers for engagement pages: how long the silence lasts, status colours, follow-ups."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from functools import lru_cache

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe

from engagements import queries
from engagements.models import Flag, Message
from outsourcing import zones

register = template.Library()

# Stands for the pk while a URL's pattern is made: digits no workspace slug or path contains.
_PK_MARK = 987654321987654321


@lru_cache(maxsize=512)
def _pk_pattern(prefix: str, urlconf: str | None, name: str, ws: str) -> tuple[str, str]:
    before, after = reverse(name, urlconf=urlconf, kwargs={"ws": ws, "pk": _PK_MARK}).split(str(_PK_MARK))
    return before, after


def pk_pattern(name: str, ws: str) -> tuple[str, str]:
    """What an ``<int:pk>`` route's URL has before and after its pk, made once per process."""
    return _pk_pattern(get_script_prefix(), get_urlconf(), name, ws)


@register.simple_tag
def pk_url(name: str, ws: str, pk: int) -> str:
    """``{% url name ws=ws pk=pk %}`` for an ``<int:pk>`` route, from a pattern made once.

    The attention page draws hundreds of links to flags and engagements; resolving each took
    a noticeable part of its time. Same result as ``reverse`` (the script prefix and urlconf
    are part of the pattern's key).
    """
    before, after = pk_pattern(name, ws)
    return f"{before}{int(pk)}{after}"


STATUS_BADGES = {
    "draft": "text-bg-secondary",
    "requested": "text-bg-info",
    "in_progress": "text-bg-primary",
    "delivered": "text-bg-warning",
    "completed": "text-bg-success",
    "on_hold": "text-bg-dark",
    "cancelled": "text-bg-light border",
}


@register.filter
def silent_for(since: datetime | None) -> timedelta | None:
    """The time elapsed since ``since`` (feed it to ``duration``)."""
    if since is None:
        return None
    return max(timezone.now() - since, timedelta(0))


@register.filter
def status_badge(status: str) -> str:
    """The Bootstrap badge classes for an engagement status."""
    return STATUS_BADGES.get(status, "text-bg-secondary")


@register.filter
def mail_html(html: str) -> SafeString:
    """A mail's HTML version, cleaned again with the display allowlist, ready to show."""
    from engagements.mail.parse import display_html

    # Safe: nh3 has just cleaned it with the display allowlist.
    return mark_safe(display_html(html or ""))  # nosec B308, B703


@register.filter
def platform_label(platform: str) -> str:
    """A platform's name for its stored key (Upwork, Fiverr …)."""
    from engagements.mail.platforms import label

    return label(platform)


@register.filter
def followed_up_at(flag: Flag) -> datetime | None:
    """When the provider was last chased about a flag (None: not yet)."""
    return queries.flag_followed_up_at(flag)


@register.simple_tag
def sender_local_time(message: Message) -> dict[str, str] | None:
    """The sender's wall-clock time of a message ("09:05", and the day when theirs differs) and their city.

    None when no zone is known for the sender, or when their clock showed what the reader's
    does at that instant (same offset): then it would only repeat the time beside it.
    """
    name = message.sender_time_zone
    if not name or not zones.is_known(name):
        return None
    theirs = message.occurred_at.astimezone(zoneinfo.ZoneInfo(name))
    ours = timezone.localtime(message.occurred_at)
    if theirs.utcoffset() == ours.utcoffset():
        return None
    time = formats.date_format(theirs, "TIME_FORMAT")
    if theirs.date() != ours.date():
        time = f"{formats.date_format(theirs, 'SHORT_DATE_FORMAT')} {time}"
    return {"time": time, "place": zones.city_name(name), "zone": name}
