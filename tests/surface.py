"""The project's whole web surface, for the tests that walk all of it (the access matrix, the fuzz test).

``routes()`` reads every URL pattern from the resolver, so a URL added
tomorrow is walked tomorrow. ``build_world()`` puts one of every object a
URL can point at into alice's workspace, and the same into charlie's, whose
ids are the "foreign ids" a request may try. ``url_for()`` fills a route's
parameters from that world; a route whose parameters it cannot fill fails
loudly, so a new URL needs a line in ``PK_OF``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from api import services as api_services
from engagements import services as engagement_services
from engagements.models import (
    ChatUpload,
    DataArchive,
    DueDateProposal,
    Engagement,
    Flag,
    InboundMail,
    Mailbox,
    MailUpload,
    Message,
    Notification,
    ReliabilityReport,
    SavedView,
    TableImport,
)
from outsourcing.models import Invitation, Membership, Role, User, Workspace
from providers import services as provider_services
from tests.factories import MembershipFactory, ProviderEmailFactory

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# Which object each route's <pk> names (every other parameter says so by its own name).
PK_OF: dict[str, str] = {
    "member_role": "membership",
    "member_remove": "membership",
    "invitation_revoke": "invitation",
    "providers:detail": "provider",
    "providers:edit": "provider",
    "providers:status": "provider",
    "providers:absence_add": "provider",
    "providers:absence_delete": "provider",
    "providers:document_upload": "provider",
    "providers:document_download": "provider",
    "providers:document_delete": "provider",
    "engagements:flag_snooze": "flag",
    "engagements:flag_unsnooze": "flag",
    "engagements:flag_dismiss": "flag",
    "engagements:detail": "engagement",
    "engagements:edit": "engagement",
    "engagements:status": "engagement",
    "engagements:review": "engagement",
    "engagements:message_create": "engagement",
    "engagements:message_edit": "message",
    "engagements:message_history": "message",
    "engagements:message_delete": "message",
    "engagements:message_restore": "message",
    "engagements:message_absence": "reply",
    "engagements:message_not_an_answer": "reply",
    "engagements:attachment": "attachment",
    "engagements:proposal_accept": "proposal",
    "engagements:proposal_decline": "proposal",
    "notifications:read": "notification",
    "notifications:open": "notification",
    "notifications:retry": "failed_notification",
    "reliability:scorecard": "provider",
    "mail:sort": "inbound",
    "mail:compose": "engagement",
    "mail:mailbox_edit": "mailbox",
    "mail:mailbox_delete": "mailbox",
    "mail:mailbox_test": "mailbox",
    "mail:mailbox_poll": "mailbox",
    "mail:upload_status": "upload",
    "mail:upload_retry": "upload",
    "engagements:message_log_export": "engagement",
    "engagements:saved_view_edit": "saved_view",
    "engagements:saved_view_share": "saved_view",
    "engagements:saved_view_delete": "saved_view",
    "tables:mapping": "table_import",
    "chat:mapping": "chat_upload",
    "chat:status": "chat_upload",
    "chat:retry": "chat_upload",
    "archive:status": "archive",
    "archive:download": "archive",
    "archive:delete": "archive",
    "reports:edit": "report",
    "reports:delete": "report",
    "reports:download": "report",
    "reports:send": "report",
    "reports:sent": "report",
}
# What a route needs after its path to do its work rather than say "not found".
QUERY_OF: dict[str, str] = {"engagements:message_log_export": "?format=csv"}
# The other parameters, by name.
PARAM_OF = {
    "provider_pk": "provider",
    "absence_pk": "absence",
    "document_pk": "document",
    "policy_pk": "policy",
}


@dataclass(frozen=True)
class Route:
    name: str  # "engagements:detail"
    path: str  # the pattern, "w/<slug:ws>/engagements/<int:pk>/"
    module: str  # where its view is defined

    @property
    def params(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.path)

    @property
    def in_workspace(self) -> bool:
        return self.path.startswith("w/<slug:ws>/")


def _walk(patterns: list[Any], prefix: str, namespace: str | None) -> list[Route]:
    found: list[Route] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if namespace and pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}"
            found += _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            module = getattr(pattern.callback, "__module__", "")
            found.append(Route(name=name, path=prefix + str(pattern.pattern), module=module))
    return found


def routes() -> list[Route]:
    """Every named URL of the project's own apps (allauth's, the admin's and Django's are theirs).

    The REST API's own URLs take a token, not a session: schemathesis walks them (tests/api).
    """
    own = ("outsourcing.", "providers.", "engagements.", "api.token_views")
    return [r for r in _walk(get_resolver().url_patterns, "", None) if r.module.startswith(own)]


@dataclass
class Side:
    """One workspace's objects, by the name PK_OF and PARAM_OF use."""

    workspace: Workspace
    objects: dict[str, models.Model] = field(default_factory=dict)
    notifications: dict[int, Notification] = field(default_factory=dict)  # each person's own, by user id


@dataclass
class World:
    """Alice's workspace with one of everything (``mine``), and charlie's with the same (``theirs``)."""

    mine: Side
    theirs: Side
    users: dict[str, User | None]  # by role: owner, manager, member, viewer, outsider, anonymous

    def side(self, foreign: bool) -> Side:
        return self.theirs if foreign else self.mine


ROLES = ["owner", "manager", "member", "viewer", "outsider"]


def _side(workspace: Workspace, owner: User, people: list[User]) -> Side:
    now = timezone.now()
    provider = provider_services.provider_create(
        workspace=workspace, name="Ada Lovelace", emails=["ada@example.net"], country="DE", time_zone="UTC"
    )
    ProviderEmailFactory(provider=provider, workspace=workspace, email=f"office-{workspace.slug}@example.net")
    engagement = Engagement.objects.create(
        workspace=workspace,
        provider=provider,
        owner=owner,
        title="Landing page",
        status=Engagement.Status.REQUESTED,
    )
    brief = SimpleUploadedFile("brief.txt", b"the brief", "text/plain")
    request, reply = (
        engagement_services.message_log(
            engagement=engagement, direction=direction, kind=kind, occurred_at=now - ago, **extra
        )
        for direction, kind, ago, extra in (
            (Message.Direction.OUTBOUND, Message.Kind.REQUEST, timedelta(days=3), {"attachments": [brief]}),
            (Message.Direction.INBOUND, Message.Kind.REPLY, timedelta(days=1), {"body": "Out of office."}),
        )
    )
    # A due date the provider proposed on their answer page, waiting for a decision.
    proposal = DueDateProposal.objects.create(
        workspace=workspace,
        engagement=engagement,
        message=engagement_services.message_log(
            engagement=engagement,
            direction=Message.Direction.INBOUND,
            kind=Message.Kind.REPLY,
            occurred_at=now - timedelta(hours=20),
            body="I propose a later date.",
            source=Message.Source.LINK,
        ),
        proposed_on=now.date() + timedelta(days=20),
        reason="The images came late.",
    )
    flag = Flag.objects.create(
        workspace=workspace,
        engagement=engagement,
        kind=Flag.Kind.DELIVERY_OVERDUE,
        due_at=now - timedelta(hours=2),
        raised_at=now - timedelta(hours=1),
    )
    inbound = InboundMail.objects.create(
        workspace=workspace,
        status=InboundMail.Status.UNSORTED,
        source=InboundMail.Source.UPLOAD,
        from_address="someone@elsewhere.example",
        subject="Hello",
        received_at=now,
    )
    mailbox = Mailbox.objects.create(
        workspace=workspace,
        name="Support",
        host="imap.example.com",
        port=993,
        username="support@example.com",
        password="pa55-w0rd",
    )
    upload = MailUpload.objects.create(
        workspace=workspace,
        uploaded_by=owner,
        original_name="old.mbox",
        status=MailUpload.Status.FAILED,
        error="stopped",
    )
    # Each person's own in-app notification, and the owner's e-mail that failed.
    rows = [(user, Notification.Channel.IN_APP, Notification.Status.SENT) for user in people]
    rows.append((owner, Notification.Channel.EMAIL, Notification.Status.FAILED))
    made = [
        Notification.objects.create(
            workspace=workspace,
            flag=flag,
            recipient=user,
            channel=channel,
            status=status,
            idempotency_key=f"surface-{workspace.pk}-{user.pk}-{channel}",
        )
        for user, channel, status in rows
    ]
    notifications = {n.recipient_id: n for n in made[:-1] if n.recipient_id is not None}
    failed = made[-1]
    absence = provider_services.absence_add(
        provider=provider, starts_on=date(2026, 12, 21), ends_on=date(2026, 12, 22)
    )
    document = provider_services.document_upload(
        provider=provider,
        upload=SimpleUploadedFile("contract.pdf", PDF, content_type="application/pdf"),
        title="Contract",
        uploaded_by=owner,
    )
    policy = provider_services.policy_create(workspace=workspace, name="Fast")
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=f"newbie-{workspace.slug}@example.com",
        role=Role.MEMBER,
        token_hash=f"surface-{workspace.slug}",
        invited_by=owner,
        expires_at=Invitation.default_expiry(),
    )
    table_import = TableImport.objects.create(
        workspace=workspace,
        kind=TableImport.Kind.PROVIDERS,
        filename="providers.csv",
        data=b"Name,E-Mail\nGrace Hopper,grace@example.net\n",
        created_by=owner,
    )
    chat_upload = ChatUpload.objects.create(
        workspace=workspace,
        filename="WhatsApp Chat with Grace.txt",
        data=b"30.12.25, 09:05 - Grace: Hello\n",
        created_by=owner,
    )
    # A finished export with its zip: the page, the download and the delete have something to act on.
    archive = DataArchive.objects.create(
        workspace=workspace,
        kind=DataArchive.Kind.EXPORT,
        requested_by=owner,
        status=DataArchive.Status.DONE,
        percent=100,
        finished_at=now,
        expires_at=now + timedelta(days=7),
    )
    archive.file.save("export.zip", ContentFile(b"PK\x05\x06" + bytes(18)), save=True)
    # The owner's personal API token: its prefix names it in the revoke URL.
    api_token, _key = api_services.token_create(
        membership=Membership.objects.get(workspace=workspace, user=owner), name="Zapier", access="write"
    )
    # A view the owner shared: members see it, only owners and managers (and its creator) change it.
    saved_view = SavedView.objects.create(
        workspace=workspace,
        creator=owner,
        page=SavedView.Page.LIST,
        name="Drafts",
        query="status=draft",
        shared=True,
    )
    # A monthly report to the owner (sending it now, in the matrix, goes to the test outbox).
    report = ReliabilityReport.objects.create(
        workspace=workspace, name="Monthly", time_zone="Europe/Berlin", extra_addresses="client@example.org"
    )
    objects: dict[str, models.Model] = {
        "report": report,
        "provider": provider,
        "engagement": engagement,
        "message": request,
        "reply": reply,
        "proposal": proposal,
        "attachment": request.attachments.get(),
        "flag": flag,
        "inbound": inbound,
        "mailbox": mailbox,
        "upload": upload,
        "failed_notification": failed,
        "absence": absence,
        "document": document,
        "policy": policy,
        "invitation": invitation,
        "table_import": table_import,
        "chat_upload": chat_upload,
        "archive": archive,
        "api_token": api_token,
        "saved_view": saved_view,
        # The membership a member-page URL names: the last person's (never the owner's own).
        "membership": Membership.objects.get(workspace=workspace, user=people[-1]),
    }
    return Side(workspace=workspace, objects=objects, notifications=notifications)


def build_world(team: Any) -> World:
    manager = User.objects.get(
        memberships=MembershipFactory(
            workspace=team.workspace, role=Role.MANAGER, user__email="maria@example.com"
        )
    )
    mine = _side(team.workspace, team.alice, [team.alice, manager, team.bob, team.vera])
    # Charlie's workspace: an owner and a member of his own, so every kind of row exists there too.
    dora = User.objects.get(
        memberships=MembershipFactory(
            workspace=team.other_workspace, role=Role.MEMBER, user__email="dora@example.com"
        )
    )
    theirs = _side(team.other_workspace, team.charlie, [team.charlie, dora])
    users: dict[str, User | None] = {
        "owner": team.alice,
        "manager": manager,
        "member": team.bob,
        "viewer": team.vera,
        "outsider": team.charlie,
        "anonymous": None,
    }
    return World(mine=mine, theirs=theirs, users=users)


def url_for(route: Route, world: World, user: User | None, *, foreign: bool = False) -> str:
    """The route's URL in alice's workspace, its ids from alice's objects (charlie's when ``foreign``)."""
    side = world.side(foreign)
    kwargs: dict[str, Any] = {}
    for param in route.params:
        if param == "ws":
            kwargs["ws"] = world.mine.workspace.slug
        elif param == "prefix":
            kwargs["prefix"] = side.objects["api_token"].prefix  # type: ignore[attr-defined]
        elif param == "token":
            kwargs["token"] = "no-such-token"
        elif param == "pk":
            kind = PK_OF[route.name]
            if kind == "notification":
                notifications = side.notifications
                owner_pk = next(iter(notifications))
                kwargs["pk"] = notifications.get(user.pk if user else owner_pk, notifications[owner_pk]).pk
            else:
                kwargs["pk"] = side.objects[kind].pk
        else:
            kwargs[param] = side.objects[PARAM_OF[param]].pk
    return reverse(route.name, kwargs=kwargs) + QUERY_OF.get(route.name, "")


def counts() -> dict[str, int]:
    """Rows per table of the three apps: what a refused or failed request must leave as it was.

    One query for all of them: the tests that call it do so around every request.
    """
    from django.apps import apps
    from django.db import connection

    tables = sorted(
        {
            model._meta.db_table
            for app in ("outsourcing", "providers", "engagements", "api")
            for model in apps.get_app_config(app).get_models(include_auto_created=True)
        }
    )
    quote = connection.ops.quote_name
    # Table names from the models, nothing typed by anyone.
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables)  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))
