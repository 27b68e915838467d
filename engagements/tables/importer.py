"""Import a spreadsheet of providers, engagements or messages: plan every row, then write all or nothing.

``table_import`` is the one entry point; the import pages and
``manage.py import_table`` both call it. It first reads every row into a
plan — create, update (with what changes), skip (unchanged or a duplicate) or
an error — without writing. A dry run (the preview) stops there. Otherwise,
if no row has an error, one transaction writes every row through the same
service functions the forms use; an error on any row rolls back them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from engagements import services
from engagements.models import Engagement, ImportMapping, Message, TableImport
from engagements.tables.columns import COLUMNS, Column
from engagements.tables.read import Table
from engagements.tables.values import choice_lookup
from outsourcing.models import Membership, User, Workspace
from providers import services as provider_services
from providers.models import Category, Provider, ProviderEmail

CREATE, UPDATE, SKIP, ERROR = "create", "update", "skip", "error"


@dataclass
class RowResult:
    """What the import does (or would do) with one spreadsheet row."""

    number: int
    label: str = ""
    action: str = CREATE
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    note: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    target: Any = None

    def fail(self, message: str) -> None:
        self.errors.append(message)
        self.action = ERROR


@dataclass
class ImportReport:
    kind: str
    rows: list[RowResult] = field(default_factory=list)
    # Problems with the file as a whole (a required column not mapped).
    problems: list[str] = field(default_factory=list)
    dry_run: bool = True
    applied: bool = False

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action: self.count(action) for action in (CREATE, UPDATE, SKIP, ERROR)}

    @property
    def ok(self) -> bool:
        return not self.problems and not self.count(ERROR)


class _RolledBack(Exception):
    """A service refused a row while writing: undo every row written so far."""


def _shown(value: Any) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _error_text(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{name}: {message}" if name != "__all__" else message
            for name, errs in exc.message_dict.items()
            for message in errs
        ]
    return list(exc.messages)


def _clean_row(
    row: RowResult, cells: dict[str, Any], columns: Iterable[Column], model: type[models.Model]
) -> None:
    """Each mapped, non-empty cell as a value; a cell that cannot be one is an error of the row."""
    for column in columns:
        raw = cells.get(column.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if column.required:
                row.fail(_("%(column)s is empty.") % {"column": column.label})
            continue
        try:
            value = column.clean(raw)
            if column.model_field:
                # The field's own checks (length, choices, validators), without touching the database.
                model_field = model._meta.get_field(column.model_field)
                assert isinstance(model_field, models.Field)
                value = model_field.clean(value, None)
        except ValidationError as exc:
            row.fail(f"{column.label}: {' '.join(exc.messages)}")
            continue
        row.values[column.key] = value


def _duplicate(row: RowResult, earlier: RowResult) -> None:
    row.action = SKIP
    row.note = _("Same as row %(number)d.") % {"number": earlier.number}


def _conflict(row: RowResult, earlier: RowResult) -> None:
    row.fail(_("Row %(number)d has the same key but different values.") % {"number": earlier.number})


def _in_file(row: RowResult, key: Any, seen: dict[Any, RowResult]) -> bool:
    """True if an earlier row has the same key: identical rows are skipped, different ones are an error."""
    earlier = seen.get(key)
    if earlier is None:
        seen[key] = row
        return False
    if earlier.values == row.values:
        _duplicate(row, earlier)
    else:
        _conflict(row, earlier)
    return True


def _same(old: Any, new: Any) -> bool:
    if isinstance(new, Decimal | int) and not isinstance(new, bool):
        return old is not None and Decimal(old) == Decimal(new)
    # Countries, choices and text compare by what they store ("" and None alike).
    return str(old or "") == str(new or "")


def _diff(row: RowResult, instance: Any, columns: Iterable[Column], fields: Iterable[str]) -> dict[str, Any]:
    """The fields of ``instance`` the row changes; each change is listed on the row."""
    labels = {c.key: c.label for c in columns}
    changed = {}
    for name in fields:
        if name not in row.values:
            continue
        new, old = row.values[name], getattr(instance, name)
        if not _same(old, new):
            changed[name] = new
            row.changes.append(f"{labels[name]}: {_shown(old)} → {_shown(new)}")
    return changed


# --- Providers ---------------------------------------------------------------------------------

PROVIDER_DIRECT = tuple(
    c.key for c in COLUMNS[TableImport.Kind.PROVIDERS] if c.key not in ("emails", "skills")
)


def _skill_code(lookup: dict[str, str], skill: str) -> str:
    """A seeded category named in any language is stored by its code, like the form does."""
    return lookup.get(" ".join(skill.replace("_", " ").split()).casefold(), skill)


def _plan_providers(workspace: Workspace, rows: list[RowResult]) -> None:
    owner_of = dict(ProviderEmail.objects.filter(workspace=workspace).values_list("email", "provider_id"))
    categories = choice_lookup(Category.choices)
    seen_email: dict[str, RowResult] = {}
    seen_row: dict[Any, RowResult] = {}
    matched: dict[int, list[RowResult]] = defaultdict(list)
    for row in rows:
        if row.action == ERROR:
            continue
        row.label = row.values.get("name", row.label)
        if "skills" in row.values:
            row.values["skills"] = [_skill_code(categories, s) for s in row.values["skills"]]
        emails = row.values.get("emails", [])
        earlier = next((seen_email[e] for e in emails if e in seen_email), None)
        if earlier is not None:
            (_duplicate if earlier.values == row.values else _conflict)(row, earlier)
            continue
        if not emails and _in_file(row, tuple(sorted((k, str(v)) for k, v in row.values.items())), seen_row):
            continue
        seen_email.update(dict.fromkeys(emails, row))
        ids = {owner_of[e] for e in emails if e in owner_of}
        if len(ids) > 1:
            row.fail(_("These e-mail addresses belong to different providers."))
        elif ids:
            matched[ids.pop()].append(row)
        elif "name" not in row.values:
            row.fail(_("%(column)s is empty.") % {"column": _("Name")})
    providers = Provider.objects.filter(workspace=workspace, pk__in=matched).prefetch_related(
        "emails", "skills"
    )
    for provider in providers:
        first, *others = matched[provider.pk]
        first.target = provider
        first.label = provider.name
        _plan_provider_update(first, provider)
        for row in others:
            row.fail(_("Row %(number)d already updates this provider.") % {"number": first.number})


def _plan_provider_update(row: RowResult, provider: Provider) -> None:
    changed = _diff(row, provider, COLUMNS[TableImport.Kind.PROVIDERS], PROVIDER_DIRECT)
    have_emails = [e.email for e in provider.emails.all()]
    new_emails = [e for e in row.values.get("emails", []) if e not in have_emails]
    have_skills = [s.name for s in provider.skills.all()]
    known = {s.casefold() for s in have_skills}
    new_skills = [s for s in row.values.get("skills", []) if s.casefold() not in known]
    if new_emails:
        changed["emails"] = have_emails + new_emails
        row.changes.append(_("E-mail addresses: + %(added)s") % {"added": ", ".join(new_emails)})
    if new_skills:
        # Skills and addresses are added to, never taken away: a sheet lists what it knows.
        changed["skills"] = have_skills + new_skills
        row.changes.append(_("Skills: + %(added)s") % {"added": ", ".join(new_skills)})
    row.values = changed
    if not changed:
        row.action = SKIP
        row.note = _("Unchanged.")
    else:
        row.action = UPDATE


def _write_providers(workspace: Workspace, rows: list[RowResult]) -> None:
    new = []
    for row in rows:
        fields = dict(row.values)
        if row.action == CREATE:
            new.append(
                provider_services.NewProvider(
                    name=fields.pop("name"),
                    emails=fields.pop("emails", ()),
                    skills=fields.pop("skills", ()),
                    fields=fields,
                )
            )
        else:
            with _blamed(row):
                provider_services.provider_update(
                    provider=row.target,
                    emails=fields.pop("emails", None),
                    skills=fields.pop("skills", None),
                    **fields,
                )
    provider_services.providers_create(workspace=workspace, items=new)


# --- Engagements and messages: finding the provider and the engagement -------------------------


class _Providers:
    """Finds a workspace's provider by e-mail address or (unambiguous) name, from two queries."""

    def __init__(self, workspace: Workspace) -> None:
        self.by_email = dict(
            ProviderEmail.objects.filter(workspace=workspace).values_list("email", "provider_id")
        )
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for pk, name in Provider.objects.filter(workspace=workspace).values_list("pk", "name"):
            self.by_name[name.strip().casefold()].append(pk)

    def find(self, row: RowResult, ref: str) -> int | None:
        if "@" in ref:
            pk = self.by_email.get(ref.strip().lower())
        else:
            ids = self.by_name.get(ref.strip().casefold(), [])
            if len(ids) > 1:
                row.fail(
                    _("Several providers are called “%(name)s”: use their e-mail address.") % {"name": ref}
                )
                return None
            pk = ids[0] if ids else None
        if pk is None:
            row.fail(_("No provider “%(ref)s” in this workspace.") % {"ref": ref})
        return pk


def _engagements_by_key(
    workspace: Workspace, provider_ids: Iterable[int]
) -> dict[tuple[int, str], list[Engagement]]:
    found: dict[tuple[int, str], list[Engagement]] = defaultdict(list)
    rows = Engagement.objects.filter(workspace=workspace, provider_id__in=set(provider_ids)).select_related(
        "provider", "owner"
    )
    for engagement in rows:
        found[(engagement.provider_id, engagement.title.strip().casefold())].append(engagement)
    return found


# What a row may change on an engagement it matched (its title and provider are how it matched).
ENGAGEMENT_DIRECT = tuple(f for f in services.ENGAGEMENT_FIELDS if f not in ("title", "response_policy"))


def _plan_engagements(workspace: Workspace, rows: list[RowResult]) -> None:
    providers = _Providers(workspace)
    members = {
        user.email.lower(): user
        for user in User.objects.filter(
            pk__in=Membership.objects.filter(workspace=workspace).values("user_id")
        )
    }
    keyed: list[tuple[RowResult, tuple[int, str]]] = []
    for row in rows:
        if row.action == ERROR:
            continue
        row.label = row.values.get("title", row.label)
        provider_id = providers.find(row, row.values["provider"])
        owner_ref = row.values.get("owner")
        if owner_ref is not None:
            row.values["owner"] = members.get(owner_ref.strip().lower())
            if row.values["owner"] is None:
                row.fail(_("“%(ref)s” is not a member of this workspace.") % {"ref": owner_ref})
        if provider_id is not None and row.action != ERROR:
            row.values["provider"] = provider_id
            keyed.append((row, (provider_id, row.values["title"].strip().casefold())))
    existing = _engagements_by_key(workspace, (key[0] for _row, key in keyed))
    seen: dict[Any, RowResult] = {}
    for row, key in keyed:
        if _in_file(row, key, seen):
            continue
        matches = existing.get(key, [])
        if len(matches) > 1:
            row.fail(_("Several engagements of this provider have this title."))
        elif matches:
            _plan_engagement_update(row, matches[0])


def _plan_engagement_update(row: RowResult, engagement: Engagement) -> None:
    row.target = engagement
    columns = COLUMNS[TableImport.Kind.ENGAGEMENTS]
    changed = _diff(row, engagement, columns, ENGAGEMENT_DIRECT)
    owner = row.values.get("owner")
    if owner is not None and owner.pk != engagement.owner_id:
        changed["owner"] = owner
        row.changes.append(
            f"{_('Owner')}: {_shown(engagement.owner.display_name if engagement.owner else '')} → {owner.display_name}"
        )
    status = row.values.get("status")
    if status is not None and status != engagement.status:
        if not engagement.can_transition_to(status):
            row.fail(
                _("An engagement cannot go from %(old)s to %(new)s.")
                % {"old": engagement.get_status_display(), "new": Engagement.Status(status).label}
            )
            return
        changed["status"] = status
        row.changes.append(
            f"{_('Status')}: {engagement.get_status_display()} → {Engagement.Status(status).label}"
        )
    row.values = changed
    row.action = UPDATE if changed else SKIP
    if not changed:
        row.note = _("Unchanged.")


def _write_engagements(workspace: Workspace, rows: list[RowResult], by: User | None) -> None:
    providers = Provider.objects.filter(workspace=workspace).in_bulk(
        {row.values["provider"] for row in rows if row.action == CREATE}
    )
    new = []
    for row in rows:
        fields = dict(row.values)
        status = fields.pop("status", None)
        if row.action == CREATE:
            fields["provider"] = providers[fields["provider"]]
            new.append(Engagement(**fields, status=status or Engagement.Status.DRAFT))
            continue
        engagement: Engagement = row.target
        owner = fields.pop("owner", engagement.owner)
        with _blamed(row):
            if fields or owner != engagement.owner:
                services.engagement_update(engagement=engagement, by=by, owner=owner, **fields)
            if status is not None:
                services.engagement_set_status(engagement=engagement, status=status, by=by)
    services.engagements_create(workspace=workspace, engagements=new, created_by=by)


# --- Messages ---------------------------------------------------------------------------------

DEFAULT_KIND = {
    Message.Direction.OUTBOUND: Message.Kind.REQUEST,
    Message.Direction.INBOUND: Message.Kind.REPLY,
    Message.Direction.NOTE: Message.Kind.OTHER,
}


def _message_key(message: Message) -> tuple[Any, ...]:
    return (
        message.engagement_id,
        message.occurred_at,
        message.direction,
        message.kind,
        message.subject.strip(),
        message.body.strip(),
    )


def _plan_messages(workspace: Workspace, rows: list[RowResult], by: User | None) -> None:
    providers = _Providers(workspace)
    wanted: list[tuple[RowResult, tuple[int, str]]] = []
    for row in rows:
        if row.action == ERROR:
            continue
        provider_id = providers.find(row, row.values["provider"])
        if provider_id is not None:
            wanted.append((row, (provider_id, row.values["engagement"].strip().casefold())))
    engagements = _engagements_by_key(workspace, (key[0] for _row, key in wanted))
    planned: list[tuple[RowResult, Message]] = []
    now = timezone.now()
    for row, key in wanted:
        matches = engagements.get(key, [])
        row.label = row.values["engagement"]
        if len(matches) != 1:
            row.fail(
                _("Several engagements of this provider have this title.")
                if matches
                else _("No engagement “%(title)s” with this provider: import the engagements first.")
                % {"title": row.values["engagement"]}
            )
            continue
        message = _message(workspace, row, matches[0], by)
        try:
            services.message_check(message, now)
        except ValidationError as exc:
            for text in _error_text(exc):
                row.fail(text)
            continue
        planned.append((row, message))
    stored = Message.objects.filter(
        engagement_id__in={m.engagement_id for _row, m in planned}, deleted_at=None
    ).values_list("engagement_id", "occurred_at", "direction", "kind", "subject", "body")
    logged = {(*found[:4], found[4].strip(), found[5].strip()) for found in stored}
    seen: dict[tuple[Any, ...], RowResult] = {}
    for row, message in planned:
        message_key = _message_key(message)
        if message_key in logged:
            row.action = SKIP
            row.note = _("Already in the log.")
        elif message_key in seen:
            _duplicate(row, seen[message_key])
        else:
            seen[message_key] = row
            row.target = message


def _message(workspace: Workspace, row: RowResult, engagement: Engagement, by: User | None) -> Message:
    values = row.values
    direction = values["direction"]
    return Message(
        workspace_id=workspace.pk,
        engagement=engagement,
        direction=direction,
        kind=values.get("kind") or DEFAULT_KIND[direction],
        channel=values.get("channel") or Message.Channel.EMAIL,
        occurred_at=values["occurred_at"],
        subject=values.get("subject", ""),
        body=values.get("body", ""),
        sender=values.get("sender", ""),
        # Our own side's entries are the importer's; the provider's are theirs.
        author=by if direction != Message.Direction.INBOUND else None,
        source=Message.Source.IMPORT,
    )


# --- The service -------------------------------------------------------------------------------


def _cells(table: Table, mapping: dict[str, str]) -> list[tuple[int, dict[str, Any]]]:
    positions = [(i, mapping.get(header, "")) for i, header in enumerate(table.headers)]
    used = [(i, key) for i, key in positions if key]
    return [
        (number, {key: cells[i] if i < len(cells) else None for i, key in used})
        for number, cells in table.rows
    ]


def table_plan(
    *, workspace: Workspace, kind: str, table: Table, mapping: dict[str, str], by: User | None = None
) -> ImportReport:
    """What importing ``table`` with ``mapping`` (header → column key) would do, row by row; writes nothing."""
    report = ImportReport(kind=kind)
    columns = COLUMNS[kind]
    mapped = set(mapping.values())
    for column in columns:
        if column.required and column.key not in mapped:
            report.problems.append(_("Choose the column that holds “%(column)s”.") % {"column": column.label})
    if report.problems:
        return report
    model: type[models.Model] = {
        TableImport.Kind.PROVIDERS: Provider,
        TableImport.Kind.ENGAGEMENTS: Engagement,
        TableImport.Kind.MESSAGES: Message,
    }[TableImport.Kind(kind)]
    for number, cells in _cells(table, mapping):
        # What the row is called in the preview, even if its cells cannot be read.
        row = RowResult(number=number, label=str(cells.get(columns[0].key) or ""))
        _clean_row(row, cells, columns, model)
        report.rows.append(row)
    if kind == TableImport.Kind.PROVIDERS:
        _plan_providers(workspace, report.rows)
    elif kind == TableImport.Kind.ENGAGEMENTS:
        _plan_engagements(workspace, report.rows)
    else:
        _plan_messages(workspace, report.rows, by)
    return report


@contextmanager
def _blamed(row: RowResult) -> Iterator[None]:
    """A service's refusal becomes the row's error, and undoes the whole import."""
    try:
        yield
    except ValidationError as exc:
        for text in _error_text(exc):
            row.fail(text)
        raise _RolledBack from exc


def _apply(workspace: Workspace, report: ImportReport, by: User | None) -> None:
    rows = [row for row in report.rows if row.action in (CREATE, UPDATE)]
    try:
        if report.kind == TableImport.Kind.PROVIDERS:
            _write_providers(workspace, rows)
        elif report.kind == TableImport.Kind.ENGAGEMENTS:
            _write_engagements(workspace, rows, by)
        else:
            # One batch through the log's own service: one recompute per engagement, not per message.
            services.messages_log([services.LogItem(row.target) for row in rows], checked=True)
    except ValidationError as exc:
        # The new rows go in as one batch, which names no row: the file as a whole is refused.
        report.problems.extend(_error_text(exc))
        raise _RolledBack from exc


def table_import(
    *,
    workspace: Workspace,
    kind: str,
    table: Table,
    mapping: dict[str, str],
    by: User | None = None,
    dry_run: bool = False,
    upload: TableImport | None = None,
) -> ImportReport:
    """Import ``table``: every row or, if any row has an error, none. ``dry_run`` only plans."""
    report = table_plan(workspace=workspace, kind=kind, table=table, mapping=mapping, by=by)
    report.dry_run = dry_run
    if dry_run or not report.ok:
        return report
    try:
        with transaction.atomic():
            _apply(workspace, report, by)
            if upload is not None:
                upload.imported_at = timezone.now()
                upload.result = {k: v for k, v in report.counts.items() if k != ERROR}
                upload.save(update_fields=["imported_at", "result"])
    except _RolledBack:
        return report
    report.applied = True
    return report


def mapping_remembered(*, workspace: Workspace, kind: str) -> dict[str, str]:
    stored = (
        ImportMapping.objects.filter(workspace=workspace, kind=kind).values_list("columns", flat=True).first()
    )
    return dict(stored or {})


def mapping_remember(*, workspace: Workspace, kind: str, mapping: dict[str, str]) -> None:
    """Keep the choice for each header, added to what earlier files taught (other headers stay known)."""
    with transaction.atomic():
        row, _created = ImportMapping.objects.select_for_update().get_or_create(
            workspace=workspace, kind=kind
        )
        row.columns = {**row.columns, **mapping}
        row.save(update_fields=["columns", "updated_at"])


def upload_store(
    *, workspace: Workspace, kind: str, data: bytes, filename: str, by: User | None
) -> TableImport:
    """Keep an uploaded or pasted spreadsheet for the mapping, preview and import steps."""
    return TableImport.objects.create(
        workspace=workspace, kind=kind, data=data, filename=filename[:255], created_by=by
    )
