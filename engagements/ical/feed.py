"""What a calendar feed holds, and the write actions on feeds.

The events: open engagements' due dates (all day), the reply due times of
open requests (from the stored ``Exchange.reply_due_at``, which
``engagements.deadlines`` computes), and when snoozed flags wake up, in the
reader's time zone. Each event's UID is stable (the engagement, the request
message, the flag); ``CalendarEvent`` remembers what was last published, so
an event that moved comes with a higher SEQUENCE and a new DTSTAMP and
LAST-MODIFIED, which is what makes calendar programs take the change.

The address holds a random token; only its SHA-256 is stored, so the
address is shown once, when it is made. Revoking deletes the row (the
address is a 404 from then on); so does leaving the workspace.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from engagements.models import CalendarEvent, CalendarFeed, Engagement, Exchange, Flag
from outsourcing.models import Membership, User, Workspace, hash_token

REQUEST_MINUTES = 30
DOMAIN = "outsourcing-tracker"


@dataclass
class FeedEvent:
    uid: str
    summary: str
    start: date | datetime
    description: str
    path: str  # the page it is about, on this site

    @property
    def fingerprint(self) -> str:
        start = self.start.isoformat() if isinstance(self.start, datetime) else f"D{self.start.isoformat()}"
        return f"{start}|{hashlib.sha256(self.summary.encode()).hexdigest()[:16]}"


# --- Write actions ---------------------------------------------------------------------------


@transaction.atomic
def calendar_feed_create(
    *, workspace: Workspace, user: User, only_mine: bool = False
) -> tuple[CalendarFeed, str]:
    """Make (or make anew) the person's feed; returns it and its token, which is never shown again.

    A new token replaces the old one: the old address stops working at once.
    """
    token = secrets.token_urlsafe(32)
    feed, _created = CalendarFeed.objects.update_or_create(
        workspace=workspace,
        user=user,
        defaults={
            "token_hash": hash_token(token),
            "only_mine": only_mine,
            "created_at": timezone.now(),
            "last_used_at": None,
        },
    )
    return feed, token


def calendar_feed_revoke(*, workspace: Workspace, user: User) -> bool:
    """Delete the person's feed: its address is a 404 from now on. False if there was none."""
    deleted, _ = CalendarFeed.objects.filter(workspace=workspace, user=user).delete()
    return bool(deleted)


def calendar_feed_for_token(token: str) -> CalendarFeed | None:
    """The feed this token opens, while its owner still belongs to the workspace; None otherwise."""
    if not token or len(token) > 100:
        return None
    feed = (
        CalendarFeed.objects.select_related("workspace", "user")
        .filter(token_hash=hash_token(token), user__is_active=True)
        .first()
    )
    if feed is None or not Membership.objects.filter(workspace=feed.workspace_id, user=feed.user_id).exists():
        return None
    return feed


# --- Reading ---------------------------------------------------------------------------------


def reader_zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or settings.DISPLAY_TIME_ZONE)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _detail(workspace: Workspace, pk: int) -> str:
    return reverse("engagements:detail", kwargs={"ws": workspace.slug, "pk": pk})


def _label(engagement: Engagement) -> str:
    return f"{engagement.title} ({engagement.provider.name})"


def _due_dates(feed: CalendarFeed) -> Iterator[FeedEvent]:
    """Open engagements' due dates (those the calendar can hold: see ``deadlines.due_end``)."""
    mine = {"owner": feed.user_id} if feed.only_mine else {}
    engagements = (
        Engagement.objects.filter(
            workspace=feed.workspace,
            status__in=Engagement.OPEN_STATUSES,
            due_on__isnull=False,
            due_on__lt=date.max,
            **mine,
        )
        .select_related("provider")
        .only("title", "due_on", "status", "provider__name")
        .order_by("due_on", "pk")
    )
    for engagement in engagements:
        assert engagement.due_on is not None
        yield FeedEvent(
            uid=f"engagement-{engagement.pk}-due@{DOMAIN}",
            summary=_("Due: %(label)s") % {"label": _label(engagement)},
            start=engagement.due_on,
            description=str(engagement.get_status_display()),
            path=_detail(feed.workspace, engagement.pk),
        )


def _reply_due_times(feed: CalendarFeed) -> Iterator[FeedEvent]:
    """When the replies to open requests of open engagements are due."""
    mine = {"engagement__owner": feed.user_id} if feed.only_mine else {}
    exchanges = (
        Exchange.objects.filter(
            workspace=feed.workspace,
            replied_at=None,
            reply_due_at__isnull=False,
            engagement__status__in=Engagement.OPEN_STATUSES,
            **mine,
        )
        .select_related("engagement__provider")
        .only(
            "request_message_id",
            "reply_due_at",
            "requested_at",
            "engagement__title",
            "engagement__provider__name",
        )
        .order_by("reply_due_at", "pk")
    )
    for exchange in exchanges:
        assert exchange.reply_due_at is not None
        yield FeedEvent(
            uid=f"request-{exchange.request_message_id}-reply-due@{DOMAIN}",
            summary=_("Reply due: %(label)s") % {"label": _label(exchange.engagement)},
            start=exchange.reply_due_at,
            description=_("Requested %(when)s")
            % {"when": exchange.requested_at.isoformat(timespec="minutes")},
            path=_detail(feed.workspace, exchange.engagement_id),
        )


def _wake_ups(feed: CalendarFeed, now: datetime) -> Iterator[FeedEvent]:
    """When snoozed open flags come back to Needs attention."""
    mine = {"engagement__owner": feed.user_id} if feed.only_mine else {}
    flags = (
        Flag.objects.filter(workspace=feed.workspace, resolved_at=None, snoozed_until__gt=now, **mine)
        .select_related("engagement__provider")
        .only("kind", "reason", "snoozed_until", "engagement__title", "engagement__provider__name")
        .order_by("snoozed_until", "pk")
    )
    attention = reverse("engagements:attention", kwargs={"ws": feed.workspace.slug})
    for flag in flags:
        assert flag.snoozed_until is not None
        yield FeedEvent(
            uid=f"flag-{flag.pk}-wakes@{DOMAIN}",
            summary=_("Snoozed flag returns: %(kind)s, %(label)s")
            % {"kind": flag.get_kind_display(), "label": _label(flag.engagement)},
            start=flag.snoozed_until,
            description=flag.reason,
            path=attention,
        )


def feed_events(feed: CalendarFeed, now: datetime) -> list[FeedEvent]:
    """The feed's events at ``now``: due dates, reply due times, snoozed flags' wake-ups."""
    return [*_due_dates(feed), *_reply_due_times(feed), *_wake_ups(feed, now)]


def _remember(workspace: Workspace, events: list[FeedEvent], now: datetime) -> dict[str, CalendarEvent]:
    """Each event's sequence and modification time: a new one starts at 0, a changed one goes up by one."""
    known = {
        row.uid: row
        for row in CalendarEvent.objects.filter(workspace=workspace, uid__in=[e.uid for e in events])
    }
    fresh = [
        CalendarEvent(workspace=workspace, uid=e.uid, fingerprint=e.fingerprint, modified_at=now)
        for e in events
        if e.uid not in known
    ]
    changed = []
    for event in events:
        row = known.get(event.uid)
        if row is not None and row.fingerprint != event.fingerprint:
            row.fingerprint, row.sequence, row.modified_at = event.fingerprint, row.sequence + 1, now
            changed.append(row)
    if fresh:
        # Two readers at once may both see an event first: the second insert is dropped.
        CalendarEvent.objects.bulk_create(fresh, ignore_conflicts=True)
        known.update({row.uid: row for row in fresh})
    if changed:
        CalendarEvent.objects.bulk_update(changed, ["fingerprint", "sequence", "modified_at"])
    return known


def feed_ics(feed: CalendarFeed, *, base_url: str, now: datetime | None = None) -> bytes:
    """The feed as an iCalendar file (and a note that it was read)."""
    now = now or timezone.now()
    zone = reader_zone(feed.user)
    events = feed_events(feed, now)
    state = _remember(feed.workspace, events, now)
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)

    calendar = Calendar()
    calendar.add("prodid", "-//Outsourcing Tracker//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{feed.workspace.name} · Outsourcing Tracker")
    calendar.add("x-wr-timezone", zone.key)
    # Calendar programs poll; ask for about once an hour.
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for event in events:
        row = state[event.uid]
        item = Event()
        item.add("uid", event.uid)
        item.add("summary", event.summary)
        if isinstance(event.start, datetime):
            start = event.start.astimezone(zone)
            item.add("dtstart", start)
            item.add("dtend", start + timedelta(minutes=REQUEST_MINUTES))
        else:
            item.add("dtstart", event.start)
            item.add("dtend", event.start + timedelta(days=1))
            item.add("transp", "TRANSPARENT")
        item.add("dtstamp", row.modified_at)
        item.add("last-modified", row.modified_at)
        item.add("sequence", row.sequence)
        if event.description:
            item.add("description", event.description)
        item.add("url", base_url + event.path)
        calendar.add_component(item)
    calendar.add_missing_timezones()
    return calendar.to_ical()
