"""What a complete export holds: every table a workspace owns, in the order an import loads them.

Each table lists the columns that point at another table of the archive
(the import gives every row a new id and follows these), and its file
columns (stored in the zip under ``files/``). Users are not the workspace's:
a column pointing at a person points into ``people`` (their e-mail address),
and the import finds the member with that address in the new workspace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db import models

from engagements.models import (
    Attachment,
    DueDateProposal,
    Engagement,
    Exchange,
    Flag,
    InboundMail,
    Mailbox,
    Message,
    MessageVersion,
    Notification,
    Review,
    StatusChange,
)
from outsourcing.models import Workspace
from providers.models import Absence, Document, Provider, ProviderEmail, ProviderSkill, ResponsePolicy

FORMAT = "outsourcing-tracker-export"
VERSION = 1
PEOPLE = "people"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Table:
    name: str
    model: type[models.Model]
    # The lookup from a row to its workspace.
    scope: str
    # Column -> the table it points into.
    refs: Mapping[str, str] = field(default_factory=dict)
    # File columns -> the storage folder an import puts them in.
    files: Mapping[str, str] = field(default_factory=dict)
    # Not exported at all: secrets, workers' leases, what the rows themselves derive.
    skip: frozenset[str] = frozenset()
    # Exported, but an import sets these instead (tokens unique across workspaces, a paused mailbox).
    on_import: Mapping[str, Any] = field(default_factory=dict)
    # Read by people, not loaded again (the outbox: its alerts went out already).
    restore: bool = True

    def fields(self) -> list[models.Field]:
        return [
            f
            for f in self.model._meta.concrete_fields
            if not f.primary_key and f.name != "workspace" and f.name not in self.skip
        ]

    def columns(self) -> list[str]:
        return ["id", *(f.attname for f in self.fields())]


TABLES: tuple[Table, ...] = (
    Table("response_policies", ResponsePolicy, "workspace"),
    Table("providers", Provider, "workspace", {"response_policy_id": "response_policies"}),
    Table("provider_emails", ProviderEmail, "workspace", {"provider_id": "providers"}),
    Table("provider_skills", ProviderSkill, "provider__workspace", {"provider_id": "providers"}),
    Table("absences", Absence, "provider__workspace", {"provider_id": "providers"}),
    Table(
        "documents",
        Document,
        "provider__workspace",
        {"provider_id": "providers", "uploaded_by_id": PEOPLE},
        files={"file": "documents"},
    ),
    Table(
        "engagements",
        Engagement,
        "workspace",
        {"provider_id": "providers", "owner_id": PEOPLE, "response_policy_id": "response_policies"},
        on_import={"routing_token": ""},
    ),
    Table(
        "status_changes",
        StatusChange,
        "engagement__workspace",
        {"engagement_id": "engagements", "changed_by_id": PEOPLE},
    ),
    Table(
        "messages",
        Message,
        "workspace",
        {
            "engagement_id": "engagements",
            "author_id": PEOPLE,
            "not_an_answer_by_id": PEOPLE,
            "deleted_by_id": PEOPLE,
        },
    ),
    Table(
        "message_versions",
        MessageVersion,
        "message__workspace",
        {"message_id": "messages", "replaced_by_id": PEOPLE},
    ),
    Table(
        "attachments",
        Attachment,
        "message__workspace",
        {"message_id": "messages"},
        files={"file": "attachments"},
    ),
    Table(
        "exchanges",
        Exchange,
        "workspace",
        {"engagement_id": "engagements", "request_message_id": "messages", "reply_message_id": "messages"},
        # Derived from the flags and the engagements: an import sets them afresh from what it loads.
        skip=frozenset({"flag_open", "engagement_open"}),
    ),
    Table(
        "flags",
        Flag,
        "workspace",
        {"engagement_id": "engagements", "exchange_id": "exchanges", "resolved_by_id": PEOPLE},
    ),
    Table("reviews", Review, "workspace", {"engagement_id": "engagements", "reviewer_id": PEOPLE}),
    # Dates the provider proposed on their answer page (the links themselves stay behind: a link
    # names the old workspace's message, so none would work after an import).
    Table(
        "due_date_proposals",
        DueDateProposal,
        "workspace",
        {"engagement_id": "engagements", "message_id": "messages", "decided_by_id": PEOPLE},
    ),
    Table(
        "notifications",
        Notification,
        "workspace",
        {"flag_id": "flags", "recipient_id": PEOPLE},
        skip=frozenset({"lease_until"}),
        restore=False,
    ),
    Table(
        "inbound_mail",
        InboundMail,
        "workspace",
        {"logged_message_id": "messages"},
        files={"raw": "mail"},
    ),
    Table(
        "mailboxes",
        Mailbox,
        "workspace",
        skip=frozenset({"password", "lease_until"}),
        # The password stays behind, and an environment variable's name carries the old
        # workspace's number: the mailbox comes back paused until someone sets one.
        on_import={"is_active": False, "password_env": ""},
    ),
)
BY_NAME = {table.name: table for table in TABLES}
# The workspace's own settings that an import carries over (not its name, address or secrets).
WORKSPACE_FIELDS = ("name", "notify_managers", "mail_any_recipient", "require_two_factor", "webhook_url")
RESTORED_WORKSPACE_FIELDS = ("notify_managers", "mail_any_recipient")
PEOPLE_COLUMNS = ["id", "email", "first_name", "last_name", "role"]


def rows_of(table: Table, workspace: Workspace) -> models.QuerySet:
    """The table's rows of ``workspace``, oldest id first."""
    manager = table.model._base_manager  # type: ignore[attr-defined]
    return manager.filter(**{table.scope: workspace}).order_by("pk")


Convert = Callable[[Any], Any] | None


def _iso(value: datetime | date | time) -> str:
    return value.isoformat()


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def json_converters(fields: Iterable[models.Field | None]) -> list[Convert]:
    """Per column, how a value becomes JSON: ISO 8601 times (UTC, with offset), decimals as strings.

    Worked out once per table rather than asked of every value: a million rows go through.
    None: the value is JSON as it is.
    """
    converters: list[Convert] = []
    for column in fields:
        if isinstance(column, models.DateTimeField | models.DateField | models.TimeField):
            converters.append(_iso)
        elif isinstance(column, models.DecimalField):
            converters.append(str)
        else:
            converters.append(None)
    return converters


def csv_converters(fields: Iterable[models.Field | None]) -> list[Convert]:
    """Per column, how a JSON value becomes a CSV cell: true/false, JSON for lists (None: as it is)."""
    converters: list[Convert] = []
    for column in fields:
        if isinstance(column, models.BooleanField):
            converters.append(_bool_text)
        elif isinstance(column, models.JSONField):
            converters.append(_json_text)
        else:
            converters.append(None)
    return converters


def person_columns(people: Iterable[Any]) -> list[list[Any]]:
    return [[p.id, p.email, p.first_name, p.last_name, getattr(p, "role", "")] for p in people]
