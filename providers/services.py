"""Write actions on providers, their contacts, skills, absences and documents."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from outsourcing.models import User, Workspace
from outsourcing.uploads import check_upload
from providers.models import Absence, Document, Provider, ProviderEmail, ProviderSkill
from providers.signals import calendar_changed

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
)


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


@transaction.atomic
def provider_create(
    *,
    workspace: Workspace,
    name: str,
    emails: Iterable[str] = (),
    skills: Iterable[str] = (),
    **fields: Any,
) -> Provider:
    """Register a provider with their contact addresses and skills."""
    unknown = set(fields) - set(PROVIDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown provider fields: {sorted(unknown)}")
    provider = Provider(workspace=workspace, name=name, **fields)
    provider.full_clean()
    provider.save()
    _set_emails(provider, _normalise_emails(emails))
    _set_skills(provider, _normalise_skills(skills))
    return provider


@transaction.atomic
def provider_update(
    *,
    provider: Provider,
    emails: Iterable[str] | None = None,
    skills: Iterable[str] | None = None,
    **fields: Any,
) -> Provider:
    unknown = set(fields) - set(PROVIDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown provider fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(provider, name, value)
    provider.full_clean()
    provider.save(update_fields=[*fields, "updated_at"])
    if emails is not None:
        _set_emails(provider, _normalise_emails(emails))
    if skills is not None:
        _set_skills(provider, _normalise_skills(skills))
    return provider


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
