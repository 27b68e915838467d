"""Write actions on providers, their contacts, skills, absences, documents and response policies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_countries import countries

from outsourcing.models import User, Workspace
from outsourcing.uploads import check_upload
from providers.models import Absence, Document, Provider, ProviderEmail, ProviderSkill, ResponsePolicy
from providers.signals import calendar_changed, policy_changed

PROVIDER_FIELDS = (
    "kind",
    "name",
    "company",
    "phone",
    "website",
    "profile_links",
    "country",
    "time_zone",
    "languages",
    "rate_amount",
    "rate_currency",
    "rate_unit",
    "status",
    "notes",
    "response_policy",
)
# Rows per INSERT when many are written at once.
BATCH = 1000
# Provider fields the business calendar is made of: changing one moves due times.
CALENDAR_FIELDS = ("response_policy_id", "time_zone", "country")


def stored_calendar(provider_id: int) -> tuple[Any, ...]:
    """The provider's calendar fields as the database holds them (a bound form may have changed the instance)."""
    policy_id, time_zone, country = (
        Provider.objects.filter(pk=provider_id).values_list(*CALENDAR_FIELDS).get()
    )
    return (policy_id, time_zone, str(country or ""))


def calendar_check(provider: Provider, before: tuple[Any, ...]) -> None:
    """Recompute the provider's open due times if their calendar differs from ``before``."""
    if before != (provider.response_policy_id, provider.time_zone, str(provider.country or "")):
        calendar_changed.send(sender=Provider, provider=provider)


def _normalise_emails(emails: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for email in emails:
        email = email.strip().lower()
        if email:
            seen.setdefault(email, None)
    return list(seen)


def _normalise_skills(skills: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for skill in skills:
        skill = " ".join(skill.split())[:60]
        if skill:
            seen.setdefault(skill.casefold(), skill)
    return list(seen.values())


def _set_emails(provider: Provider, emails: list[str]) -> None:
    ProviderEmail.objects.filter(provider=provider).delete()
    ProviderEmail.objects.bulk_create(
        ProviderEmail(workspace_id=provider.workspace_id, provider=provider, email=email, position=i)
        for i, email in enumerate(emails)
    )


def _set_skills(provider: Provider, skills: list[str]) -> None:
    ProviderSkill.objects.filter(provider=provider).exclude(name__in=skills).delete()
    have = set(ProviderSkill.objects.filter(provider=provider).values_list("name", flat=True))
    ProviderSkill.objects.bulk_create(
        ProviderSkill(provider=provider, name=name) for name in skills if name not in have
    )


@dataclass
class NewProvider:
    """One provider for ``providers_create``: what ``provider_create`` takes."""

    name: str
    emails: Iterable[str] = ()
    skills: Iterable[str] = ()
    fields: dict[str, Any] = field(default_factory=dict)


def provider_create(
    *,
    workspace: Workspace,
    name: str,
    emails: Iterable[str] = (),
    skills: Iterable[str] = (),
    **fields: Any,
) -> Provider:
    """Register a provider with their contact addresses and skills."""
    return providers_create(workspace=workspace, items=[NewProvider(name, emails, skills, fields)])[0]


def _check_rate(provider: Provider) -> None:
    # The table's check constraint, said in the provider's terms (and without a query per provider).
    if provider.rate_amount is not None and provider.rate_amount < 0:
        raise ValidationError({"rate_amount": _("The rate cannot be negative.")})


def _check_country(provider: Provider) -> None:
    code = str(provider.country or "")
    if code and not countries.alpha2(code):
        raise ValidationError({"country": _("Choose a country from the list.")})


@transaction.atomic
def providers_create(*, workspace: Workspace, items: Sequence[NewProvider]) -> list[Provider]:
    """Register several providers at once (a spreadsheet import), each as ``provider_create`` would.

    Every provider is checked before any is written, so a bad one registers
    none; the rows then go in with one INSERT per table.
    """
    providers = []
    for item in items:
        unknown = set(item.fields) - set(PROVIDER_FIELDS)
        if unknown:
            raise TypeError(f"unknown provider fields: {sorted(unknown)}")
        provider = Provider(workspace=workspace, name=item.name, **item.fields)
        _check_policy_workspace(provider)
        # The workspace is the caller's own: no query per provider to confirm it exists. The
        # country is checked by its code: the field's own check translates every country's name.
        provider.full_clean(exclude=["workspace", "country"], validate_constraints=False)
        _check_rate(provider)
        _check_country(provider)
        providers.append(provider)
    Provider.objects.bulk_create(providers, batch_size=BATCH)
    ProviderEmail.objects.bulk_create(
        [
            ProviderEmail(workspace=workspace, provider=provider, email=email, position=i)
            for provider, item in zip(providers, items, strict=True)
            for i, email in enumerate(_normalise_emails(item.emails))
        ],
        batch_size=BATCH,
    )
    ProviderSkill.objects.bulk_create(
        [
            ProviderSkill(provider=provider, name=name)
            for provider, item in zip(providers, items, strict=True)
            for name in _normalise_skills(item.skills)
        ],
        batch_size=BATCH,
    )
    return providers


@transaction.atomic
def provider_update(
    *,
    provider: Provider,
    emails: Iterable[str] | None = None,
    skills: Iterable[str] | None = None,
    **fields: Any,
) -> Provider:
    """Change a provider; a new policy, time zone or country recomputes their open due times."""
    unknown = set(fields) - set(PROVIDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown provider fields: {sorted(unknown)}")
    stored = stored_calendar(provider.pk)
    for name, value in fields.items():
        setattr(provider, name, value)
    _check_policy_workspace(provider)
    provider.full_clean()
    provider.save(update_fields=[*fields, "updated_at"])
    if emails is not None:
        _set_emails(provider, _normalise_emails(emails))
    if skills is not None:
        _set_skills(provider, _normalise_skills(skills))
    calendar_check(provider, stored)
    return provider


def _check_policy_workspace(provider: Provider) -> None:
    policy = provider.response_policy
    if policy is not None and policy.workspace_id != provider.workspace_id:
        raise ValidationError({"response_policy": _("Choose a policy of this workspace.")})


def provider_set_status(*, provider: Provider, status: str) -> Provider:
    """Archive, pause, block or reactivate. Archiving keeps every engagement and message."""
    if status not in Provider.Status.values:
        raise ValidationError(_("Unknown status."))
    provider.status = status
    provider.save(update_fields=["status", "updated_at"])
    return provider


def absence_add(*, provider: Provider, starts_on: date, ends_on: date, note: str = "") -> Absence:
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The absence cannot end before it starts.")})
    absence = Absence(provider=provider, starts_on=starts_on, ends_on=ends_on, note=note)
    absence.full_clean()
    absence.save()
    calendar_changed.send(sender=Provider, provider=provider)
    return absence


def absence_delete(*, absence: Absence) -> None:
    provider = absence.provider
    absence.delete()
    calendar_changed.send(sender=Provider, provider=provider)


def document_upload(
    *,
    provider: Provider,
    upload: UploadedFile,
    title: str,
    kind: str = Document.Kind.CONTRACT,
    expires_on: date | None = None,
    uploaded_by: User | None = None,
) -> Document:
    """Store a contract, NDA or other file after checking its size and real type."""
    content_type = check_upload(upload)
    document = Document(
        provider=provider,
        kind=kind,
        title=title or (upload.name or "")[:200],
        file=upload,
        original_name=(upload.name or "file")[:255],
        content_type=content_type,
        size=upload.size or 0,
        expires_on=expires_on,
        uploaded_by=uploaded_by,
    )
    # The file was checked above; uploaded_by may be None (imports, commands).
    document.full_clean(exclude=["file", "uploaded_by"])
    document.save()
    return document


def document_delete(*, document: Document) -> None:
    document.file.delete(save=False)
    document.delete()


POLICY_FIELDS = (
    "name",
    "reply_within",
    "reply_within_unit",
    "workdays",
    "day_start",
    "day_end",
    "time_zone",
    "holiday_country",
    "holiday_subdivision",
    "followup_wait",
    "followup_wait_unit",
    "followups_before_ghosted",
)
# All but the name move due times or the ghosted ladder.
POLICY_CLOCK_FIELDS = tuple(name for name in POLICY_FIELDS if name != "name")


def _check_policy_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")


def _check_policy_name(policy: ResponsePolicy) -> None:
    # Providers and engagements pick a policy by its name: two alike could not be told apart.
    taken = (
        ResponsePolicy.objects.filter(workspace_id=policy.workspace_id, name__iexact=policy.name.strip())
        .exclude(pk=policy.pk)
        .exists()
    )
    if taken:
        raise ValidationError({"name": _("A response policy with this name already exists.")})


def policy_default(*, workspace: Workspace) -> ResponsePolicy:
    """The workspace default, created on first use so that every workspace has one.

    2 business days, Mon–Fri 09:00–17:00, the provider's time zone and holidays.
    """
    policy = ResponsePolicy.objects.filter(workspace=workspace, is_default=True).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return ResponsePolicy.objects.create(
                workspace=workspace, name=_("Standard (2 business days)"), is_default=True
            )
    except IntegrityError:
        # Another request created it first: the partial unique index allows one.
        return ResponsePolicy.objects.get(workspace=workspace, is_default=True)


@transaction.atomic
def policy_create(*, workspace: Workspace, name: str, **fields: Any) -> ResponsePolicy:
    """Add a response policy; nobody uses it yet, so no due time moves."""
    _check_policy_fields(fields)
    policy = ResponsePolicy(workspace=workspace, name=name, **fields)
    policy.full_clean()
    _check_policy_name(policy)
    policy.save()
    return policy


@transaction.atomic
def policy_update(*, policy: ResponsePolicy, **fields: Any) -> ResponsePolicy:
    """Change a policy; if its clock changed, everyone using it has their open due times recomputed."""
    _check_policy_fields(fields)
    rows = ResponsePolicy.objects.filter(pk=policy.pk).values_list(*POLICY_CLOCK_FIELDS)
    # Compared row to row: a bound ModelForm has already written into the instance.
    before = rows.get()
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.full_clean()
    _check_policy_name(policy)
    policy.save(update_fields=list(fields))
    if rows.get() != before:
        policy_changed.send(sender=ResponsePolicy, policy=policy)
    return policy


@transaction.atomic
def policy_delete(*, policy: ResponsePolicy) -> None:
    """Delete a policy that is not the default; whoever used it falls back (FKs are SET_NULL)."""
    # Locked so that it cannot become the default between the check and the delete.
    current = ResponsePolicy.objects.select_for_update().get(pk=policy.pk)
    if current.is_default:
        raise ValidationError(
            _("The workspace default cannot be deleted. Make another policy the default first.")
        )
    # Before the delete: afterwards nothing points at the policy, and its users cannot be found.
    policy_changed.send(sender=ResponsePolicy, policy=current, deleted=True)
    current.delete()


@transaction.atomic
def policy_make_default(*, policy: ResponsePolicy) -> ResponsePolicy:
    """Make ``policy`` the workspace default, in one swap."""
    # Locking every policy of the workspace makes concurrent swaps take turns.
    defaults = dict(
        ResponsePolicy.objects.select_for_update()
        .filter(workspace_id=policy.workspace_id)
        .values_list("pk", "is_default")
    )
    if policy.pk not in defaults:
        raise ResponsePolicy.DoesNotExist
    if defaults[policy.pk]:
        policy.is_default = True
        return policy
    # The old default goes first: the partial unique index allows one default at any instant.
    ResponsePolicy.objects.filter(workspace_id=policy.workspace_id, is_default=True).update(is_default=False)
    ResponsePolicy.objects.filter(pk=policy.pk).update(is_default=True)
    policy.is_default = True
    # Whoever fell back on the old default now falls back on this one.
    policy_changed.send(sender=ResponsePolicy, policy=policy)
    return policy
