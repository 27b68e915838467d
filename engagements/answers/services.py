"""What the provider does on their answer page (the owner's decision: ``engagements.proposals``).

Every action is logged through ``services.message_log`` as an inbound message
with source "Provider's answer page", so the exchanges are recomputed and flags
resolved as for any reply (DESIGN.md: the next real inbound message closes the
open request, whatever its kind). The owner gets an in-app notification.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagements import services
from engagements.answers.links import Opened
from engagements.models import AnswerLink, DueDateProposal, Engagement, Message, Notification
from outsourcing.models import User
from outsourcing.uploads import check_upload

# A proposal further out than this is a typo (2036 for 2026), not a plan.
LATEST_PROPOSAL_DAYS = 3 * 365
QUESTION_MAX = 5000
REASON_MAX = 2000


def provider_today(engagement: Engagement) -> date:
    """Today where the provider is."""
    return timezone.localdate(timezone.now(), ZoneInfo(engagement.provider.time_zone or "UTC"))


def _check_open(engagement: Engagement) -> None:
    if engagement.status in Engagement.CLOSED_STATUSES:
        raise ValidationError(_("This task is closed: nothing more can be sent for it here."), code="closed")


def _claim(link: AnswerLink, field: str) -> bool:
    """Mark a once-only action done on the link; False when it was done before (or a twin request won)."""
    now = timezone.now()
    changed = AnswerLink.objects.filter(pk=link.pk, **{f"{field}__isnull": True}).update(
        **{field: now, "last_used_at": now}
    )
    if changed:
        # Set on the row in hand only once the answer is really recorded (a rollback undoes the claim).
        transaction.on_commit(lambda: setattr(link, field, now))
    return changed == 1


def _touch(link: AnswerLink) -> None:
    link.last_used_at = timezone.now()
    AnswerLink.objects.filter(pk=link.pk).update(last_used_at=link.last_used_at)


def _log(
    opened: Opened, *, kind: str, what: str, body: str, attachments: tuple[UploadedFile, ...] = ()
) -> Message:
    request = opened.request
    engagement = request.engagement
    subject = request.subject or engagement.title
    message = services.message_log(
        engagement=engagement,
        direction=Message.Direction.INBOUND,
        kind=kind,
        channel=Message.Channel.OTHER,
        subject=f"Re: {subject}"[:300],
        body=body,
        sender=engagement.provider.name[:300],
        source=Message.Source.LINK,
        attachments=attachments,
    )
    _notify_owner(engagement, message, what)
    return message


# What the owner's notification says, per kind of answer (in the owner's language).
NOTIFY_TEXTS = {
    "acknowledged": gettext_lazy("%(provider)s acknowledged “%(title)s”"),
    "proposed": gettext_lazy("%(provider)s proposes a new due date for “%(title)s”"),
    "question": gettext_lazy("%(provider)s asks a question about “%(title)s”"),
    "delivered": gettext_lazy("%(provider)s reports “%(title)s” delivered"),
}


def _notify_owner(engagement: Engagement, message: Message, what: str) -> None:
    owner: User | None = engagement.owner
    if owner is None:
        return
    now = timezone.now()
    with translation.override(owner.language or None):
        subject = str(NOTIFY_TEXTS[what]) % {
            "title": engagement.title,
            "provider": engagement.provider.name,
        }
    Notification.objects.create(
        workspace_id=engagement.workspace_id,
        recipient=owner,
        channel=Notification.Channel.IN_APP,
        subject=subject[:300],
        body=message.body,
        url=reverse("engagements:detail", kwargs={"ws": engagement.workspace.slug, "pk": engagement.pk}),
        idempotency_key=f"answer-{message.pk}",
        status=Notification.Status.SENT,
        sent_at=now,
    )


@transaction.atomic
def answer_acknowledge(*, opened: Opened, text: str) -> Message | None:
    """ "Got it, on it": an inbound reply (it answers the request). None when this link did it before.

    ``text`` is the sentence as the provider read it on the page, in their language.
    """
    _check_open(opened.request.engagement)
    if not _claim(opened.link, "acknowledged_at"):
        return None
    return _log(opened, kind=Message.Kind.REPLY, what="acknowledged", body=text)


@transaction.atomic
def answer_propose_date(*, opened: Opened, proposed_on: date, reason: str, text: str) -> DueDateProposal:
    """A new delivery date with its reason: an inbound reply, and a proposal the owner accepts or declines.

    ``text``: the logged message, written in the provider's language from the date and reason.
    """
    engagement = opened.request.engagement
    _check_open(engagement)
    reason = reason.strip()
    today = provider_today(engagement)
    if proposed_on < today:
        raise ValidationError({"proposed_on": _("Choose today or a later date.")})
    if proposed_on > today + timedelta(days=LATEST_PROPOSAL_DAYS):
        raise ValidationError({"proposed_on": _("Choose a date within the next three years.")})
    if not reason:
        raise ValidationError({"reason": _("Say why the date moves.")})
    _touch(opened.link)
    logged = _log(opened, kind=Message.Kind.REPLY, what="proposed", body=text)
    proposal = DueDateProposal.objects.create(
        workspace_id=engagement.workspace_id,
        engagement=engagement,
        message=logged,
        proposed_on=proposed_on,
        previous_due_on=engagement.due_on,
        reason=reason[:REASON_MAX],
    )
    return proposal


@transaction.atomic
def answer_ask(*, opened: Opened, question: str) -> Message:
    """A question: an inbound message of kind "other" (a real answer by the clock's rules)."""
    _check_open(opened.request.engagement)
    question = question.strip()
    if not question:
        raise ValidationError({"question": gettext_lazy("Write your question.")})
    _touch(opened.link)
    return _log(opened, kind=Message.Kind.OTHER, what="question", body=question[:QUESTION_MAX])


@transaction.atomic
def answer_deliver(*, opened: Opened, note: str, file: UploadedFile | None, text: str) -> Message | None:
    """The work is delivered: an inbound delivery with the optional file. None when this link did it before.

    The file is checked as every upload is (size, type); a refused file records nothing.
    """
    _check_open(opened.request.engagement)
    if file is not None:
        try:
            check_upload(file)
        except ValidationError as error:
            raise ValidationError({"file": error.messages}) from error
    if not _claim(opened.link, "delivered_at"):
        return None
    body = f"{text}\n\n{note.strip()}" if note.strip() else text
    return _log(
        opened,
        kind=Message.Kind.DELIVERY,
        what="delivered",
        body=body[:QUESTION_MAX],
        attachments=(file,) if file else (),
    )
