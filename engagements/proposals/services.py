"""Accepting or declining a due date the provider proposed on their answer page, and telling them.

Accepting moves the engagement's due date through the same service as an edit
(a delivery flag follows the new date); declining keeps it, with the owner's
optional reason. Either way the decision is noted in the log and the provider
gets a mail in their language saying it, with a fresh answer link
(``outbound.mail_notice``). All in one transaction: a mail the server refuses
leaves the proposal undecided, to try again.

(Beside ``engagements.answers`` rather than in it: sending mail needs
``engagements.mail``, which itself makes the answer links.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.template.loader import select_template
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from engagements import services
from engagements.answers.services import REASON_MAX
from engagements.mail import outbound
from engagements.models import DueDateProposal, Message
from outsourcing import formats as date_formats
from outsourcing.models import User


@dataclass(frozen=True)
class Decision:
    """A proposal decided, and the mail that told the provider (None: they have no address to write to)."""

    proposal: DueDateProposal
    told: Message | None


def _decide(proposal: DueDateProposal, state: str, by: User, **fields: Any) -> None:
    # Conditional: of two owners clicking at once (or one clicking twice) only the first decides.
    now = timezone.now()
    changed = DueDateProposal.objects.filter(pk=proposal.pk, state=DueDateProposal.State.PENDING).update(
        state=state, decided_by=by, decided_at=now, **fields
    )
    if changed != 1:
        raise ValidationError(_("This proposal was decided already."), code="decided")
    proposal.state = state
    proposal.decided_by = by
    proposal.decided_at = now
    for name, value in fields.items():
        setattr(proposal, name, value)


def _note(proposal: DueDateProposal, text: str, by: User) -> None:
    services.message_log(
        engagement=proposal.engagement,
        direction=Message.Direction.NOTE,
        kind=Message.Kind.OTHER,
        body=text,
        author=by,
    )


def answered_request(proposal: DueDateProposal) -> Message | None:
    """The request (or its latest follow-up) the provider answered with the proposal (one query)."""
    proposed_at = Message.objects.filter(pk=proposal.message_id).values("occurred_at")[:1]
    return (
        Message.objects.filter(
            engagement_id=proposal.engagement_id,
            direction=Message.Direction.OUTBOUND,
            kind__in=outbound.KINDS,
            deleted_at=None,
            occurred_at__lte=Subquery(proposed_at),
        )
        .order_by("-occurred_at", "-id")
        .first()
    )


def _tell_provider(proposal: DueDateProposal, by: User) -> Message | None:
    """Mail the provider the decision, in their language and with their dates (``outbound.mail_notice``)."""
    engagement = proposal.engagement
    provider = engagement.provider
    language = outbound.mail_language(engagement)
    accepted = proposal.state == DueDateProposal.State.ACCEPTED
    template = select_template([f"engagements/proposals/{language}.txt", "engagements/proposals/en.txt"])
    with (
        translation.override(language),
        date_formats.override(date_formats.for_language(language)),
        timezone.override(provider.time_zone or "UTC"),
    ):
        if accepted:
            subject = _("New due date accepted: %(title)s") % {"title": engagement.title}
        else:
            subject = _("Proposed due date declined: %(title)s") % {"title": engagement.title}
        body = template.render(
            {
                "name": provider.name,
                "title": engagement.title,
                "accepted": accepted,
                "proposed_on": proposal.proposed_on,
                "due_on": engagement.due_on,
                "reason": proposal.decline_reason,
                "sender": by.display_name,
            }
        )
    return outbound.mail_notice(
        engagement=engagement,
        by=by,
        subject=subject,
        # The template's optional paragraphs leave blank lines behind when they are empty.
        body=re.sub(r"\n{3,}", "\n\n", body).strip(),
        language=language,
        about=answered_request(proposal),
    )


@transaction.atomic
def proposal_accept(*, proposal: DueDateProposal, by: User) -> Decision:
    """Move the engagement's due date to the proposed one (as an edit would), note it, tell the provider."""
    _decide(proposal, DueDateProposal.State.ACCEPTED, by)
    engagement = proposal.engagement
    services.engagement_update(
        engagement=engagement, by=by, owner=engagement.owner, due_on=proposal.proposed_on
    )
    _note(
        proposal,
        _("Accepted the proposed due date %(date)s.") % {"date": formats.date_format(proposal.proposed_on)},
        by,
    )
    return Decision(proposal=proposal, told=_tell_provider(proposal, by))


@transaction.atomic
def proposal_decline(*, proposal: DueDateProposal, by: User, reason: str = "") -> Decision:
    """Keep the due date: note the decision (and the reason, if one is given), tell the provider."""
    reason = reason.replace("\r\n", "\n").strip()[:REASON_MAX]
    _decide(proposal, DueDateProposal.State.DECLINED, by, decline_reason=reason)
    text = _("Declined the proposed due date %(date)s.") % {"date": formats.date_format(proposal.proposed_on)}
    _note(proposal, f"{text}\n\n{reason}" if reason else text, by)
    return Decision(proposal=proposal, told=_tell_provider(proposal, by))
