"""Reads of the provider registry that pages share, always scoped to one workspace."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from outsourcing.models import Workspace
from providers.models import Absence, Category, Document, Provider, ProviderEmail, ProviderSkill

# URL value -> order_by fields; the name and id keep equal keys in a stable order.
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "id"),
    "kind": ("kind", "name", "id"),
    "country": ("country", "name", "id"),
    "status": ("status", "name", "id"),
    "created": ("created_at", "id"),
}
DEFAULT_SORT = "name"


@dataclass(frozen=True)
class ProviderFilters:
    """What the list is narrowed to; empty values mean "any"."""

    q: str = ""
    kind: str = ""
    skill: str = ""
    status: str = ""  # "" = everything but archived, "all" = everything
    country: str = ""
    sort: str = DEFAULT_SORT  # a key of SORTS, "-" in front for descending


def provider_list(workspace: Workspace, filters: ProviderFilters | None = None) -> QuerySet[Provider]:
    """The workspace's providers, filtered and sorted, with their skills prefetched."""
    filters = filters or ProviderFilters()
    qs = Provider.objects.filter(workspace=workspace).prefetch_related("skills")
    if filters.q:
        # Exists instead of a join: a provider with two matching addresses is one row.
        email_match = ProviderEmail.objects.filter(provider=OuterRef("pk"), email__icontains=filters.q)
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(company__icontains=filters.q)
            | Q(notes__icontains=filters.q)
            | Exists(email_match)
        )
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.skill:
        qs = qs.filter(
            Exists(ProviderSkill.objects.filter(provider=OuterRef("pk"), name__iexact=filters.skill))
        )
    if filters.status == "all":
        pass
    elif filters.status:
        qs = qs.filter(status=filters.status)
    else:
        qs = qs.exclude(status=Provider.Status.ARCHIVED)
    if filters.country:
        qs = qs.filter(country=filters.country)
    key = filters.sort.removeprefix("-")
    fields = SORTS.get(key, SORTS[DEFAULT_SORT])
    if filters.sort.startswith("-") and key in SORTS:
        # Only the chosen column turns around; ties stay in name order.
        fields = (f"-{fields[0]}", *fields[1:])
    return qs.order_by(*fields)


def provider_get(workspace: Workspace, pk: int) -> Provider:
    """One provider of ``workspace``, or 404 (another workspace's id included)."""
    return get_object_or_404(Provider, workspace=workspace, pk=pk)


def provider_for_page(workspace: Workspace, pk: int) -> Provider:
    """A provider with everything its page shows prefetched, or 404."""
    qs = Provider.objects.filter(workspace=workspace).prefetch_related(
        "emails",
        "skills",
        Prefetch("absences", queryset=Absence.objects.order_by("-starts_on", "-id")),
        Prefetch("documents", queryset=Document.objects.select_related("uploaded_by")),
    )
    return get_object_or_404(qs, pk=pk)


def provider_absences(provider: Provider) -> list[Absence]:
    """The provider's absences, latest first."""
    return list(Absence.objects.filter(provider=provider).order_by("-starts_on", "-id"))


def free_skill_tags(workspace: Workspace) -> list[str]:
    """The free tags (not seeded categories) used in the workspace, for the skill filter."""
    names = (
        ProviderSkill.objects.filter(provider__workspace=workspace)
        .exclude(name__in=Category.values)
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )
    return list(names)


def used_countries(workspace: Workspace) -> list[str]:
    """Country codes the workspace's providers are in, for the country filter."""
    codes = (
        Provider.objects.filter(workspace=workspace)
        .exclude(country="")
        .values_list("country", flat=True)
        .distinct()
        .order_by("country")
    )
    return list(codes)


def used_currencies(workspace: Workspace | int, limit: int = 4) -> list[str]:
    """The currencies the workspace's providers bill in, the most used first (offered early in pickers)."""
    rows = (
        Provider.objects.filter(workspace=workspace)
        .exclude(rate_currency="")
        .values("rate_currency")
        .annotate(n=Count("id"))
        .order_by("-n", "rate_currency")
        .values_list("rate_currency", flat=True)
    )
    return list(rows[:limit])


def used_time_zones(workspace: Workspace | int, limit: int = 8) -> list[str]:
    """The time zones the workspace's providers are in, the most used first (offered early in pickers)."""
    rows = (
        Provider.objects.filter(workspace=workspace)
        .values("time_zone")
        .annotate(n=Count("id"))
        .order_by("-n", "time_zone")
        .values_list("time_zone", flat=True)
    )
    return list(rows[:limit])
