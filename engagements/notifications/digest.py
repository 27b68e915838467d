"""The daily digest: one e-mail per person instead of one per flag, for those who chose it."""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from engagements.models import Notification
from engagements.notifications.outbox import RENDER_RELATED
from engagements.sql import skip_locked
from outsourcing.mail_headers import header_text

logger = logging.getLogger(__name__)


def send_daily_digests() -> int:
    """Send each recipient's waiting digest items as one e-mail; returns e-mails sent."""
    sent = 0
    with transaction.atomic():
        rows = Notification.objects.filter(status=Notification.Status.DIGEST).select_related(
            *RENDER_RELATED, "recipient"
        )
        # A second digest run at the same time skips what this one took.
        rows = skip_locked(rows)
        by_recipient: dict[int, list[Notification]] = defaultdict(list)
        for row in rows.order_by("recipient_id", "created_at"):
            if row.recipient_id is not None:
                by_recipient[row.recipient_id].append(row)
        for items in by_recipient.values():
            recipient = items[0].recipient
            assert recipient is not None
            # The items were written in the recipient's language; the frame follows.
            with translation.override(recipient.language or settings.LANGUAGE_CODE):
                subject = ngettext(
                    "Outsourcing Tracker: %(n)d flag needs attention",
                    "Outsourcing Tracker: %(n)d flags need attention",
                    len(items),
                ) % {"n": len(items)}
                lines = [f"- {n.headline}\n  {settings.SITE_URL}{n.link}" for n in items]
                body = _("Since your last digest:") + "\n\n" + "\n".join(lines) + "\n"
            try:
                EmailMessage(subject=header_text(subject), body=body, to=[recipient.email]).send()
            except Exception:  # one refused mail must not hold back the others' digests
                # The rows stay waiting for the digest: the next run sends them.
                logger.warning("daily digest for user %s not sent", recipient.pk, exc_info=True)
                continue
            Notification.objects.filter(pk__in=[n.pk for n in items]).update(
                status=Notification.Status.SENT, sent_at=timezone.now()
            )
            sent += 1
    return sent
