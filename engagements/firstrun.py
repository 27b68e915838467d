"""A new workspace's first run: the dashboard's checklist of the steps that get it going."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _

from engagements.models import Engagement, InboundMail, Mailbox, MailUpload, Message
from outsourcing.models import Invitation, Membership, Workspace
from providers.models import Provider


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    url: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    items: list[ChecklistItem]

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self.items)

    @property
    def all_done(self) -> bool:
        return all(item.done for item in self.items)


def first_run_checklist(membership: Membership) -> Checklist | None:
    """The steps of a first run and which are done, read from the workspace's rows (one query).

    None once the person is past it: they hid it, or everything was done (which is
    remembered, so a step undone later, a provider deleted, does not bring it back).
    """
    if membership.first_run_done:
        return None
    workspace = membership.workspace
    ws = OuterRef("pk")
    facts = (
        Workspace.objects.filter(pk=workspace.pk)
        .annotate(
            provider=Exists(Provider.objects.filter(workspace=ws)),
            engagement=Exists(Engagement.objects.filter(workspace=ws)),
            request=Exists(
                Message.objects.filter(
                    workspace=ws,
                    direction=Message.Direction.OUTBOUND,
                    kind__in=(Message.Kind.REQUEST, Message.Kind.FOLLOW_UP),
                    deleted_at__isnull=True,
                )
            ),
            mailbox=Exists(Mailbox.objects.filter(workspace=ws)),
            upload=Exists(MailUpload.objects.filter(workspace=ws)),
            inbound=Exists(InboundMail.objects.filter(workspace=ws)),
            colleague=Exists(Membership.objects.filter(workspace=ws).exclude(user_id=membership.user_id)),
            invitation=Exists(Invitation.objects.filter(workspace=ws)),
            # Where a request is logged: the newest engagement's page.
            latest_engagement=Subquery(
                Engagement.objects.filter(workspace=ws).order_by("-created_at", "-pk").values("pk")[:1]
            ),
        )
        .values(
            "provider",
            "engagement",
            "request",
            "mailbox",
            "upload",
            "inbound",
            "colleague",
            "invitation",
            "latest_engagement",
        )
        .get()
    )
    slug = workspace.slug
    latest = facts["latest_engagement"]
    request_url = (
        reverse("engagements:detail", kwargs={"ws": slug, "pk": latest})
        if latest
        else reverse("engagements:create", kwargs={"ws": slug})
    )
    # Mailboxes are the managers' to connect; anyone who may edit can upload mail.
    mail_url = (
        reverse("mail:mailboxes", kwargs={"ws": slug})
        if membership.can_manage
        else reverse("mail:upload", kwargs={"ws": slug})
    )
    checklist = Checklist(
        items=[
            ChecklistItem(
                "provider",
                _("Add a provider"),
                reverse("providers:create", kwargs={"ws": slug}),
                facts["provider"],
            ),
            ChecklistItem(
                "engagement",
                _("Delegate a task"),
                reverse("engagements:create", kwargs={"ws": slug}),
                facts["engagement"],
            ),
            ChecklistItem("request", _("Log or send a request"), request_url, facts["request"]),
            ChecklistItem(
                "mail",
                _("Connect a mailbox or import mail"),
                mail_url,
                facts["mailbox"] or facts["upload"] or facts["inbound"],
            ),
            ChecklistItem(
                "colleague",
                _("Invite a colleague"),
                reverse("members", kwargs={"ws": slug}),
                facts["colleague"] or facts["invitation"],
            ),
        ]
    )
    if checklist.all_done:
        first_run_finish(membership=membership)
        return None
    return checklist


def first_run_finish(*, membership: Membership) -> None:
    """The person is past the first run in this workspace: no checklist, and it opens on the engagements."""
    if not membership.first_run_done:
        membership.first_run_done = True
        membership.save(update_fields=["first_run_done"])
