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
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from engagements import jobs
from engagements.models import Engagement, Flag, Notification
from engagements.sql import id_in, skip_locked
from outsourcing import formats as date_formats
from outsourcing.mail_headers import header_text
from outsourcing.models import Membership, Role, User, Workspace
from outsourcing.network import PrivateAddressError, public_opener
from outsourcing.webhooks import check_webhook_url

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# What rendering a notification's text reads (Notification.headline, .message, .link).
RENDER_RELATED = ("workspace", "flag__engagement__provider")
WEBHOOK_TIMEOUT = 10
# Rows one sweep (a minute) queues at most: about what two workers deliver in that minute,
# so a backlog (a broker outage's, a first pass's) drains in minutes, not at a fixed trickle.
SWEEP_LIMIT = 20_000
# Rows marked per statement (SQLite's parameter limit).
SWEEP_MARK_BATCH = 5_000


class PermanentDeliveryError(Exception):
    """Retrying will not help (a 4xx answer, a refused address)."""


# --- Writing the outbox ------------------------------------------------------


def queue_for_flags(flag_ids: Sequence[int]) -> list[tuple[int, str]]:
    """Write the outbox rows for newly raised flags; returns (id, status) of each.

    Set-based, like the pass that calls it: one INSERT … SELECT for all
    recipients and channels, so the cost does not grow with a Python loop per
    flag. Recipients: the engagement's owner, and owners and managers when the
    workspace asks for it; each on the channels their preferences choose. The
    rows hold no text: it is rendered from the flag when read or sent.
    """
    if not flag_ids:
        return []
    # Written now by the real clock (the pass may run at a simulated instant).
    db_now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = (
        "workspace_id, flag_id, recipient_id, channel, idempotency_key, status, subject, body, url, "
        "attempts, next_attempt_at, last_error, created_at, sent_at"
    )
    joins = (
        f"FROM {Flag._meta.db_table} f "
        f"JOIN {Engagement._meta.db_table} e ON e.id = f.engagement_id "
        f"JOIN {Workspace._meta.db_table} w ON w.id = f.workspace_id "
    )
    member_join = (
        f"JOIN {Membership._meta.db_table} m ON m.workspace_id = f.workspace_id "
        "AND (m.user_id = e.owner_id OR (w.notify_managers AND m.role IN (%s, %s))) "
    )
    in_flags, flag_params = id_in("f.id", flag_ids)
    channel = Notification.Channel
    status = Notification.Status
    sql = (
        f"INSERT INTO {Notification._meta.db_table} ({columns}) "
        # In the app: delivered by existing.
        "SELECT f.workspace_id, f.id, m.user_id, %s, "
        "'flag-' || CAST(f.id AS TEXT) || '-in_app-' || CAST(m.user_id AS TEXT), %s, '', '', '', 0, %s, '', %s, f.raised_at "
        f"{joins}{member_join} WHERE {in_flags} AND m.notify_in_app "
        "UNION ALL "
        "SELECT f.workspace_id, f.id, m.user_id, %s, "
        "'flag-' || CAST(f.id AS TEXT) || '-email-' || CAST(m.user_id AS TEXT), "
        "CASE WHEN m.email_digest THEN %s ELSE %s END, '', '', '', 0, %s, '', %s, NULL "
        f"{joins}{member_join} WHERE {in_flags} AND m.notify_email "
        "UNION ALL "
        "SELECT f.workspace_id, f.id, NULL, %s, "
        "'flag-' || CAST(f.id AS TEXT) || '-webhook', %s, '', '', '', 0, %s, '', %s, NULL "
        f"{joins} WHERE {in_flags} AND w.webhook_url <> '' "
        "RETURNING id, status"
    )
    managers = [Role.OWNER.value, Role.MANAGER.value]
    params = [
        channel.IN_APP.value, status.SENT.value, db_now, db_now, *managers, *flag_params,
        channel.EMAIL.value, status.DIGEST.value, status.PENDING.value, db_now, db_now,
        *managers, *flag_params,
        channel.WEBHOOK.value, status.PENDING.value, db_now, db_now, *flag_params,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], row[1]) for row in cursor.fetchall()]


def withdraw_alerts(flag_ids: Sequence[int], *, now: datetime) -> list[int]:
    """The flags were withdrawn: stop their alerts, and correct those that reached someone.

    What has not gone out (pending, waiting for the digest, given up) never
    will; an unread in-app alert is marked read. Whoever got one by e-mail, by
    webhook or read it in the app gets a correction on the same channel.
    Returns the ids of the corrections ready to deliver.
    """
    originals = Notification.objects.filter(flag_id__in=flag_ids, correction=False)
    reached = list(
        originals.filter(
            Q(status__in=[Notification.Status.SENT, Notification.Status.SENDING])
            & (~Q(channel=Notification.Channel.IN_APP) | Q(read_at__isnull=False))
        ).values("workspace_id", "flag_id", "recipient_id", "channel", "idempotency_key")
    )
    originals.filter(
        status__in=[Notification.Status.PENDING, Notification.Status.DIGEST, Notification.Status.FAILED]
    ).update(status=Notification.Status.WITHDRAWN, lease_until=None)
    originals.filter(channel=Notification.Channel.IN_APP, read_at__isnull=True).update(read_at=now)
    if not reached:
        return []
    # Those who take their e-mail as a daily digest get the correction in it too.
    digest = set(
        Membership.objects.filter(
            workspace_id__in={r["workspace_id"] for r in reached},
            user_id__in={r["recipient_id"] for r in reached} - {None},
            email_digest=True,
        ).values_list("workspace_id", "user_id")
    )

    def status(row: Any) -> str:
        if row["channel"] == Notification.Channel.IN_APP:
            return Notification.Status.SENT  # delivered by existing
        if (
            row["channel"] == Notification.Channel.EMAIL
            and (row["workspace_id"], row["recipient_id"]) in digest
        ):
            return Notification.Status.DIGEST
        return Notification.Status.PENDING

    keys = [f"{row['idempotency_key']}-withdrawn"[:100] for row in reached]
    # ignore_conflicts: a second withdrawal of the same flag writes no second correction.
    Notification.objects.bulk_create(
        [
            Notification(
                workspace_id=row["workspace_id"],
                flag_id=row["flag_id"],
                recipient_id=row["recipient_id"],
                channel=row["channel"],
                correction=True,
                idempotency_key=key,
                status=status(row),
                next_attempt_at=now,
                sent_at=now if row["channel"] == Notification.Channel.IN_APP else None,
            )
            for row, key in zip(reached, keys, strict=True)
        ],
        ignore_conflicts=True,
    )
    return list(
        Notification.objects.filter(idempotency_key__in=keys, status=Notification.Status.PENDING).values_list(
            "pk", flat=True
        )
    )


# --- Delivering -------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _claimable(now: datetime) -> Q:
    """Pending (queued or not), or left behind by a worker whose lease ran out."""
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Q(next_attempt_at__lte=now) & (
        Q(status=Notification.Status.PENDING) | (Q(status=Notification.Status.SENDING) & lapsed)
    )


def claim_many(ids: Sequence[int], now: datetime) -> tuple[list[int], datetime]:
    """Take for this worker those of ``ids`` that are pending and due, or left behind by a dead worker.

    One conditional update for the batch, on rows locked with SKIP LOCKED, so two workers given the
    same rows never both take one. Each taken row is leased and its attempt counted. Returns the
    ids taken (in id order) and their lease, which tells this batch's rows from anyone else's.
    """
    lease = now + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    with transaction.atomic():
        mine = list(
            skip_locked(Notification.objects.filter(_claimable(now), pk__in=ids).order_by("pk")).values_list(
                "pk", flat=True
            )
        )
        if mine:
            Notification.objects.filter(_claimable(now), pk__in=mine).update(
                status=Notification.Status.SENDING, lease_until=lease, attempts=F("attempts") + 1
            )
    return mine, lease


def _renew(pks: list[int], lease: datetime) -> tuple[set[int], datetime]:
    """Lengthen this batch's lease on the rows it has yet to send; returns those still held, and the lease."""
    renewed = timezone.now() + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    held = Notification.objects.filter(pk__in=pks, status=Notification.Status.SENDING, lease_until=lease)
    if held.update(lease_until=renewed) == len(pks):
        return set(pks), renewed
    # Renewed before the lease ran out, so no sweep can have taken a row: a safeguard only.
    return set(
        Notification.objects.filter(pk__in=pks, lease_until=renewed).values_list("pk", flat=True)
    ), renewed


def deliver(pk: int, *, now: datetime | None = None, mail: BaseEmailBackend | None = None) -> str:
    """Deliver one notification; returns "sent", "retry", "failed" or "skipped"."""
    ((outcome, _count),) = deliver_many([pk], now=now, mail=mail).items()
    return outcome


def deliver_many(
    ids: Sequence[int], *, now: datetime | None = None, mail: BaseEmailBackend | None = None
) -> dict[str, int]:
    """Deliver a batch through one mail connection (connecting once, not per e-mail); outcomes counted.

    The batch is claimed in one statement and loaded in one; each row is then sent and recorded
    on its own, so a worker killed mid-batch leaves at most the one row it was sending to come
    round again (the rest stay claimed until the lease runs out, then the sweep queues them).
    ``mail``: an open mail connection to send through, else one of the batch's own.
    """
    now = now or timezone.now()
    outcomes: dict[str, int] = {}
    own_connection = mail is None
    # Opened by the batch's first e-mail (``_send_email``): a batch of webhooks, or of rows taken
    # already, connects to no mail server, and one that is down fails only the e-mails.
    mail = mail or mailers.default
    try:
        mine, lease = claim_many(ids, now)
        if len(mine) < len(ids):
            outcomes["skipped"] = len(ids) - len(mine)
        if not mine:
            return outcomes
        # What a killed worker was holding (make cluster-test kills one mid-batch and says what it held).
        logger.info("Holding %d notifications for delivery", len(mine))
        rows = Notification.objects.select_related(*RENDER_RELATED, "recipient").in_bulk(mine)
        held = set(mine)
        # Renewed with half the lease left: longer than one send may take (its SMTP or HTTP timeout).
        margin = timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS / 2)
        for position, pk in enumerate(mine):
            if timezone.now() >= lease - margin:
                held, lease = _renew(mine[position:], lease)
            outcome = _deliver_claimed(rows[pk], now=now, mail=mail) if pk in held else "skipped"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    finally:
        if own_connection:
            mail.close()
    return outcomes


def _deliver_claimed(notification: Notification, *, now: datetime, mail: BaseEmailBackend) -> str:
    """Send a row this worker claimed, then record what came of it (the row alone)."""
    try:
        _send(notification, mail)
    except PermanentDeliveryError as exc:
        _record_failure(notification, str(exc), permanent=True, now=now)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - any other failure is worth another try
        permanent = notification.attempts >= MAX_ATTEMPTS
        _record_failure(notification, f"{type(exc).__name__}: {exc}", permanent=permanent, now=now)
        return "failed" if permanent else "retry"
    Notification.objects.filter(pk=notification.pk, status=Notification.Status.SENDING).update(
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


def due_for_delivery(now: datetime, limit: int = SWEEP_LIMIT) -> list[int]:
    """Pending rows whose time has come and rows whose worker's lease ran out, marked as queued.

    The mark (a lease on a pending row, of the same length as a worker's) keeps the next
    sweep, or the second beat's, from queueing a row again while it waits in the queue; a row
    whose task was lost comes round once that lease runs out. A row a dead worker left is
    pending again. Returns the ids to queue, oldest due first.
    """
    lease = now + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = Notification.objects.filter(
        lapsed,
        status__in=[Notification.Status.PENDING, Notification.Status.SENDING],
        next_attempt_at__lte=now,
    )
    with transaction.atomic():
        ids = list(skip_locked(due.order_by("next_attempt_at", "id")).values_list("pk", flat=True)[:limit])
        for start in range(0, len(ids), SWEEP_MARK_BATCH):
            Notification.objects.filter(pk__in=ids[start : start + SWEEP_MARK_BATCH]).update(
                status=Notification.Status.PENDING, lease_until=lease
            )
    return ids


def _send(notification: Notification, mail: BaseEmailBackend | None = None) -> None:
    if notification.channel == Notification.Channel.EMAIL:
        _send_email(notification, mail)
    elif notification.channel == Notification.Channel.WEBHOOK:
        _send_webhook(notification)
    # In-app notifications are delivered by existing.


def _absolute(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def _send_email(notification: Notification, mail: BaseEmailBackend | None = None) -> None:
    recipient: User | None = notification.recipient
    if recipient is None or not recipient.email:
        raise PermanentDeliveryError("no recipient address")
    with (
        translation.override(recipient.language or settings.LANGUAGE_CODE),
        date_formats.override(recipient.date_format or None),
    ):
        subject, body = notification.headline, f"{notification.message}\n\n{_absolute(notification.link)}\n"
    message = EmailMessage(
        # The headline holds the engagement's title and the provider's name, which may hold line breaks.
        subject=header_text(subject),
        body=body,
        to=[recipient.email],
        headers={"Message-ID": f"<{notification.idempotency_key}@outsourcing-tracker>"},
    )
    if mail is None:
        message.send()
    else:
        mail.open()  # once for a batch: a connection open already stays as it is
        mail.send_messages([message])


def webhook_payload(notification: Notification) -> bytes:
    flag = notification.flag
    with translation.override(settings.LANGUAGE_CODE):
        headline, link = notification.headline, _absolute(notification.link)
    data = {
        "text": f"{headline}\n{link}",
        "event": ("flag.withdrawn" if notification.correction else "flag.raised") if flag else "test",
        "flag": {"id": flag.pk, "kind": flag.kind, "engagement": flag.engagement_id} if flag else None,
        "url": link,
        "idempotency_key": notification.idempotency_key,
    }
    return json.dumps(data, ensure_ascii=False).encode()


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Tracker-Signature header: ``t=<Unix time>,v1=<HMAC-SHA256 of "<time>." + body>``.

    The time is signed with the body, so a receiver can refuse an old request
    replayed by whoever saw it (README, "Receiving flag webhooks").
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


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
            # Signed afresh on every attempt: a retry hours later still passes the receiver's time check.
            "X-Tracker-Signature": signature(
                notification.workspace.webhook_secret, body, int(timezone.now().timestamp())
            ),
        },
    )
    opener = public_opener(allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
    try:
        with opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise PermanentDeliveryError(f"HTTP {exc.code}: redirects are not followed") from None
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise PermanentDeliveryError(f"HTTP {exc.code}") from None
        raise
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, PrivateAddressError):
            raise PermanentDeliveryError(str(exc.reason)) from None
        raise


# --- Reading and managing the rows (the notification pages) -------------------


def unread_notifications(user: User, workspace: Workspace) -> QuerySet[Notification]:
    """The person's unread in-app notifications here (the notification_unread index)."""
    return Notification.objects.filter(
        recipient=user, workspace=workspace, channel=Notification.Channel.IN_APP, read_at__isnull=True
    )


def unread_count(user: User, workspace: Workspace) -> int:
    """The person's unread in-app notifications here: one COUNT on the notification_unread index."""
    return unread_notifications(user, workspace).count()


def in_app_notifications(user: User, workspace: Workspace) -> QuerySet[Notification]:
    """The person's in-app notifications in this workspace, newest first."""
    return (
        Notification.objects.filter(recipient=user, workspace=workspace, channel=Notification.Channel.IN_APP)
        .select_related(*RENDER_RELATED)
        .order_by("-created_at", "-id")
    )


def failed_deliveries(workspace: Workspace) -> QuerySet[Notification]:
    """Deliveries that gave up, newest first (the notification_failed index)."""
    return (
        Notification.objects.filter(workspace=workspace, status=Notification.Status.FAILED)
        .select_related(*RENDER_RELATED, "recipient")
        .order_by("-created_at", "-id")
    )


def notifications_mark_read(*, user: User, workspace: Workspace, ids: list[int] | None = None) -> int:
    """Mark the person's in-app notifications read (``ids`` None: all of them); returns rows changed.

    Conditional on ``read_at`` being empty, so the first reading time stays.
    """
    rows = Notification.objects.filter(
        recipient=user, workspace=workspace, channel=Notification.Channel.IN_APP, read_at__isnull=True
    )
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=timezone.now())


def _require_manager(by: Membership, workspace_id: int) -> None:
    if by.workspace_id != workspace_id or not by.can_manage:
        raise ValidationError(_("Only managers and owners can change the workspace's notifications."))


def notification_retry(*, notification: Notification, by: Membership) -> Notification:
    """Give a failed delivery a fresh set of attempts and queue it once the transaction commits."""
    _require_manager(by, notification.workspace_id)
    now = timezone.now()
    # Conditional: a second click, or a retry racing another, changes nothing.
    changed = Notification.objects.filter(pk=notification.pk, status=Notification.Status.FAILED).update(
        status=Notification.Status.PENDING, attempts=0, next_attempt_at=now, lease_until=None
    )
    if changed != 1:
        raise ValidationError(_("This delivery is no longer marked as failed."))
    notification.status = Notification.Status.PENDING
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.lease_until = None
    jobs.deliver_later([notification.pk])
    return notification


def webhook_test_queue(*, workspace: Workspace, by: Membership) -> Notification:
    """Queue one test POST to the workspace's webhook, delivered (and retried) like a flag's."""
    _require_manager(by, workspace.pk)
    if not workspace.webhook_url:
        raise ValidationError(_("Save a webhook URL first."))
    notification = Notification.objects.create(
        workspace=workspace,
        channel=Notification.Channel.WEBHOOK,
        subject=_("Test from Outsourcing Tracker: this webhook receives flags."),
        url=reverse("workspace_settings", kwargs={"ws": workspace.slug}),
        # A fresh key each time: a test is a new message, not a repeat of the last one.
        idempotency_key=f"webhook-test-{workspace.pk}-{secrets.token_hex(8)}",
    )
    jobs.deliver_later([notification.pk])
    return notification
