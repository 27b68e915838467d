"""Notifications: the outbox rows a flag produces, and their delivery.

Delivery claims a row with a conditional update and a lease, so a retried or
duplicated task never sends it twice while another worker holds it, and a
worker that died mid-send leaves a lease that expires and is picked up again.
The idempotency key travels with the message (the e-mail's Message-ID, the
webhook's ``Idempotency-Key`` header) so a receiver can recognise the rare
repeat after a crash between sending and recording.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from engagements.models import Engagement, Flag, Notification
from outsourcing.models import Membership, Role, User

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
WEBHOOK_TIMEOUT = 10


class PermanentDeliveryError(Exception):
    """Retrying will not help (a 4xx answer, a refused address)."""


# --- Writing the outbox ------------------------------------------------------


def _flag_text(flag: Flag, engagement: Engagement) -> tuple[str, str]:
    provider = engagement.provider.name
    if flag.kind == Flag.Kind.REPLY_OVERDUE:
        subject = _("Reply overdue: %(title)s (%(provider)s)")
        lead = _("%(provider)s has not answered your request on “%(title)s” in time.")
    elif flag.kind == Flag.Kind.GHOSTED:
        subject = _("Ghosted: %(title)s (%(provider)s)")
        lead = _("%(provider)s did not answer your request on “%(title)s”, nor your follow-ups.")
    else:
        subject = _("Delivery overdue: %(title)s (%(provider)s)")
        lead = _("The delivery of “%(title)s” by %(provider)s is past its due date.")
    params = {"title": engagement.title, "provider": provider}
    return subject % params, lead % params


def _recipients(engagement: Engagement, members: dict[tuple[int, int], Membership]) -> list[Membership]:
    chosen: dict[int, Membership] = {}
    if engagement.owner_id and (engagement.workspace_id, engagement.owner_id) in members:
        chosen[engagement.owner_id] = members[(engagement.workspace_id, engagement.owner_id)]
    if engagement.workspace.notify_managers:
        for (ws, user_id), m in members.items():
            if ws == engagement.workspace_id and m.role in (Role.MANAGER, Role.OWNER):
                chosen.setdefault(user_id, m)
    return list(chosen.values())


def notifications_for_flags(flags: Sequence[Flag]) -> list[Notification]:
    """The outbox rows for newly raised flags (saved flags, with their engagements loaded)."""
    engagement_ids = {f.engagement_id for f in flags}
    engagements = {
        e.pk: e
        for e in Engagement.objects.filter(pk__in=engagement_ids).select_related("provider", "workspace")
    }
    workspace_ids = {e.workspace_id for e in engagements.values()}
    members = {
        (m.workspace_id, m.user_id): m
        for m in Membership.objects.filter(workspace_id__in=workspace_ids).select_related("user")
    }
    rows: list[Notification] = []
    with translation.override(settings.LANGUAGE_CODE):
        for flag in flags:
            engagement = engagements[flag.engagement_id]
            subject, lead = _flag_text(flag, engagement)
            url = reverse("engagements:detail", kwargs={"ws": engagement.workspace.slug, "pk": engagement.pk})
            common = {
                "workspace_id": engagement.workspace_id,
                "flag": flag,
                "subject": subject[:300],
                "body": lead,
                "url": url,
            }
            for member in _recipients(engagement, members):
                if member.notify_in_app:
                    rows.append(
                        Notification(
                            channel=Notification.Channel.IN_APP,
                            recipient_id=member.user_id,
                            idempotency_key=f"flag-{flag.pk}-in_app-{member.user_id}",
                            status=Notification.Status.SENT,
                            sent_at=flag.raised_at,
                            **common,
                        )
                    )
                if member.notify_email:
                    rows.append(
                        Notification(
                            channel=Notification.Channel.EMAIL,
                            recipient_id=member.user_id,
                            idempotency_key=f"flag-{flag.pk}-email-{member.user_id}",
                            status=(
                                Notification.Status.DIGEST
                                if member.email_digest
                                else Notification.Status.PENDING
                            ),
                            **common,
                        )
                    )
            if engagement.workspace.webhook_url:
                rows.append(
                    Notification(
                        channel=Notification.Channel.WEBHOOK,
                        idempotency_key=f"flag-{flag.pk}-webhook",
                        **common,
                    )
                )
    return rows


# --- Delivering -------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def claim(pk: int, now: datetime) -> bool:
    """Take the row for this worker: pending and due, or left behind by a dead worker."""
    claimed = (
        Notification.objects.filter(
            pk=pk,
            status__in=[Notification.Status.PENDING, Notification.Status.SENDING],
            next_attempt_at__lte=now,
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(status=Notification.Status.SENDING, lease_until=now + LEASE, attempts=F("attempts") + 1)
    )
    return claimed == 1


def deliver(pk: int, *, now: datetime | None = None) -> str:
    """Deliver one notification; returns "sent", "retry", "failed" or "skipped"."""
    now = now or timezone.now()
    if not claim(pk, now):
        return "skipped"
    notification = Notification.objects.select_related("recipient", "workspace").get(pk=pk)
    try:
        _send(notification)
    except PermanentDeliveryError as exc:
        _record_failure(notification, str(exc), permanent=True, now=now)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - any other failure is worth another try
        permanent = notification.attempts >= MAX_ATTEMPTS
        _record_failure(notification, f"{type(exc).__name__}: {exc}", permanent=permanent, now=now)
        return "failed" if permanent else "retry"
    Notification.objects.filter(pk=pk, status=Notification.Status.SENDING).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), lease_until=None, last_error=""
    )
    return "sent"


def _record_failure(notification: Notification, error: str, *, permanent: bool, now: datetime) -> None:
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.FAILED if permanent else Notification.Status.PENDING,
        lease_until=None,
        next_attempt_at=now + backoff(notification.attempts),
        last_error=error[:2000],
    )


def due_for_delivery(now: datetime, limit: int = 1000) -> list[int]:
    """Pending rows whose time has come, and rows whose worker's lease ran out."""
    return list(
        Notification.objects.filter(
            status__in=[Notification.Status.PENDING, Notification.Status.SENDING], next_attempt_at__lte=now
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def _send(notification: Notification) -> None:
    if notification.channel == Notification.Channel.EMAIL:
        _send_email(notification)
    elif notification.channel == Notification.Channel.WEBHOOK:
        _send_webhook(notification)
    # In-app notifications are delivered by existing.


def _absolute(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def _send_email(notification: Notification) -> None:
    recipient: User | None = notification.recipient
    if recipient is None or not recipient.email:
        raise PermanentDeliveryError("no recipient address")
    body = f"{notification.body}\n\n{_absolute(notification.url)}\n"
    message = EmailMessage(
        subject=notification.subject,
        body=body,
        to=[recipient.email],
        headers={"Message-ID": f"<{notification.idempotency_key}@outsourcing-tracker>"},
    )
    message.send()


def webhook_payload(notification: Notification) -> bytes:
    flag = notification.flag
    data = {
        "text": f"{notification.subject}\n{_absolute(notification.url)}",
        "event": "flag.raised",
        "flag": {"id": flag.pk, "kind": flag.kind, "engagement": flag.engagement_id} if flag else None,
        "url": _absolute(notification.url),
        "idempotency_key": notification.idempotency_key,
    }
    return json.dumps(data, ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _send_webhook(notification: Notification) -> None:
    url = notification.workspace.webhook_url
    if not url:
        raise PermanentDeliveryError("the workspace has no webhook URL any more")
    try:
        check_webhook_url(url)
    except ValidationError as exc:
        raise PermanentDeliveryError("; ".join(exc.messages)) from None
    body = webhook_payload(notification)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "OutsourcingTracker/1",
            "Idempotency-Key": notification.idempotency_key,
            "X-Tracker-Signature": signature(notification.workspace.webhook_secret, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise PermanentDeliveryError(f"HTTP {exc.code}") from None
        raise


def check_webhook_url(url: str) -> None:
    """Refuse anything but http(s) to a public address (unless a setting allows private ones).

    Checked when the URL is saved and again before each POST, since DNS may
    change in between.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter an http:// or https:// address."))
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise ValidationError(_("The webhook's host name cannot be resolved.")) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ValidationError(_("Private, loopback and reserved addresses are not allowed for webhooks."))
