"""Helpers for the complete export tests: a lived-in workspace, and running an export or import."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from engagements import demo, flags, services
from engagements.archive import services as archives
from engagements.models import DataArchive, DueDateProposal, Engagement, Flag, Message
from outsourcing.models import Membership, Role, User, Workspace
from outsourcing.services import workspace_create
from providers.models import Provider
from providers.services import absence_add, document_upload
from tests.providers.conftest import pdf_upload

NOW = datetime(2026, 3, 11, 14, 30, tzinfo=UTC)


def lived_in_workspace() -> Workspace:
    """The demo workspace (back-dated logs, flags, reviews, absences), plus files, an edit and a snooze."""
    with time_machine.travel(NOW, tick=False):
        return _lived_in_workspace()


def _lived_in_workspace() -> Workspace:
    demo.seed_demo(now=NOW)
    workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    owner = Membership.objects.get(workspace=workspace, role=Role.OWNER).user
    provider = Provider.objects.filter(workspace=workspace).order_by("pk").first()
    document_upload(provider=provider, upload=pdf_upload(), title="Contract", uploaded_by=owner)
    absence_add(
        provider=provider, starts_on=NOW.date() + timedelta(days=30), ends_on=NOW.date() + timedelta(days=33)
    )
    engagement = Engagement.objects.filter(workspace=workspace, status="in_progress").order_by("pk").first()
    message = services.message_log(
        engagement=engagement,
        direction="in",
        kind="reply",
        occurred_at=NOW - timedelta(days=1),
        body="Draft attached.",
        author=owner,
        attachments=[SimpleUploadedFile("draft.txt", b"first draft\n", "text/plain")],
    )
    services.message_edit(message=message, by=owner, body="Draft attached (v2).")
    # A date the provider proposed on their answer page, and the owner's decision.
    DueDateProposal.objects.create(
        workspace=workspace,
        engagement=engagement,
        message=message,
        proposed_on=NOW.date() + timedelta(days=9),
        previous_due_on=engagement.due_on,
        reason="The images came late.",
        state=DueDateProposal.State.ACCEPTED,
        decided_by=owner,
        decided_at=NOW,
    )
    flag = Flag.objects.filter(workspace=workspace, resolved_at=None).order_by("pk").first()
    if flag is not None:
        flags.flag_snooze(flag=flag, until=NOW + timedelta(days=2), by=owner)
    assert Message.objects.filter(workspace=workspace, versions__isnull=False).exists()
    return workspace


def fresh_workspace_for(source: Workspace, slug: str = "fresh") -> Workspace:
    """An empty workspace with the same people (matched by e-mail address on import)."""
    members = Membership.objects.filter(workspace=source).select_related("user").order_by("pk")
    owner = next(m.user for m in members if m.role == Role.OWNER)
    target = workspace_create(name="Fresh", owner=owner, slug=slug)
    Membership.objects.bulk_create(
        Membership(workspace=target, user=m.user, role=m.role) for m in members if m.user != owner
    )
    return target


def owner_of(workspace: Workspace) -> User:
    return Membership.objects.get(workspace=workspace, role=Role.OWNER).user


def export_now(workspace: Workspace) -> DataArchive:
    """Export ``workspace`` (the task's body run here) and return the finished row."""
    archive = DataArchive.objects.create(workspace=workspace, kind=DataArchive.Kind.EXPORT)
    assert archives.archive_export_run(archive.pk) == "done"
    archive.refresh_from_db()
    return archive


def zip_bytes(archive: DataArchive) -> bytes:
    with archive.file.open("rb") as handle:
        return handle.read()


def import_now(workspace: Workspace, data: bytes, name: str = "export.zip") -> DataArchive:
    """Upload ``data`` into ``workspace`` and run the import here; returns the finished row."""
    archive = archives.archive_import_create(
        workspace=workspace, by=owner_of(workspace), file=SimpleUploadedFile(name, data, "application/zip")
    )
    archives.archive_import_run(archive.pk)
    archive.refresh_from_db()
    return archive


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
