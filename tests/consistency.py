"""What must hold between rows whatever anyone posted: nothing points across workspaces, nothing half-saved.

Each check is one query that finds the rows breaking a rule; ``problems()``
names the rules broken. The fuzz test runs it after every request.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from engagements.models import (
    Attachment,
    Engagement,
    Exchange,
    Flag,
    InboundMail,
    Message,
    MetricSnapshot,
    Notification,
    Review,
    SavedView,
)
from outsourcing.models import Membership, Role, Workspace
from providers.models import Absence, Document, Provider, ProviderEmail

RULES: dict[str, QuerySet] = {
    "an engagement's provider is of its workspace": Engagement.objects.exclude(
        provider__workspace=F("workspace")
    ),
    "an engagement's owner is a member of its workspace": Engagement.objects.filter(owner__isnull=False)
    .exclude(owner__memberships__workspace=F("workspace"))
    .distinct(),
    "an engagement's policy is of its workspace": Engagement.objects.filter(
        response_policy__isnull=False
    ).exclude(response_policy__workspace=F("workspace")),
    "a provider's policy is of its workspace": Provider.objects.filter(response_policy__isnull=False).exclude(
        response_policy__workspace=F("workspace")
    ),
    "a provider's address is of its workspace": ProviderEmail.objects.exclude(
        workspace=F("provider__workspace")
    ),
    "a message is of its engagement's workspace": Message.objects.exclude(
        workspace=F("engagement__workspace")
    ),
    "an exchange is of its engagement's workspace": Exchange.objects.exclude(
        workspace=F("engagement__workspace")
    ),
    "an exchange opens with a message of its engagement": Exchange.objects.exclude(
        request_message__engagement=F("engagement")
    ),
    "an exchange's reply is a message of its engagement": Exchange.objects.filter(
        reply_message__isnull=False
    ).exclude(reply_message__engagement=F("engagement")),
    "a flag is of its engagement's workspace": Flag.objects.exclude(workspace=F("engagement__workspace")),
    "a flag's exchange is of its engagement": Flag.objects.filter(exchange__isnull=False).exclude(
        exchange__engagement=F("engagement")
    ),
    "an exchange's flag_open says whether an open flag points at it": Exchange.objects.alias(
        flagged=Exists(Flag.objects.filter(exchange=OuterRef("pk"), resolved_at=None))
    ).exclude(flag_open=F("flagged")),
    "an exchange's engagement_open says whether its engagement is open": Exchange.objects.alias(
        engagement_is_open=Exists(
            Engagement.objects.filter(pk=OuterRef("engagement_id"), status__in=Engagement.OPEN_STATUSES)
        )
    ).exclude(engagement_open=F("engagement_is_open")),
    "a notification is of its flag's workspace": Notification.objects.filter(flag__isnull=False).exclude(
        workspace=F("flag__workspace")
    ),
    "a review is of its engagement's workspace": Review.objects.exclude(workspace=F("engagement__workspace")),
    "a logged inbound mail is a message of its workspace": InboundMail.objects.filter(
        logged_message__isnull=False
    ).exclude(logged_message__workspace=F("workspace")),
    "a snapshot's provider is of its workspace": MetricSnapshot.objects.filter(
        provider__isnull=False
    ).exclude(provider__workspace=F("workspace")),
    "a private saved view's creator is a member of its workspace": SavedView.objects.filter(shared=False)
    .exclude(creator__memberships__workspace=F("workspace"))
    .distinct(),
    "an attachment has its file": Attachment.objects.filter(Q(file="") | Q(file__isnull=True)),
    "a document has its file": Document.objects.filter(Q(file="") | Q(file__isnull=True)),
    "an absence does not end before it starts": Absence.objects.filter(ends_on__lt=F("starts_on")),
    "every workspace keeps an owner": Workspace.objects.exclude(
        pk__in=Membership.objects.filter(role=Role.OWNER).values("workspace")
    ),
}


def problems() -> list[str]:
    """The rules some row breaks (one query each)."""
    return [rule for rule, rows in RULES.items() if rows.exists()]
