"""Query-string filters of the list endpoints (django-filter: validated, and described in the schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters

from engagements.models import Engagement, Exchange, Flag, Message, Review
from providers.models import Absence, Category, Provider, ProviderEmail, ProviderSkill


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 moment, compared in UTC (PostgreSQL refuses offsets beyond ±16 h, Python does not)."""

    def filter(self, qs: QuerySet[Any], value: datetime | None) -> QuerySet[Any]:
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                raise ValidationError({self.field_name: _("This moment is out of range.")}) from None
        return super().filter(qs, value)


class ProviderFilter(filters.FilterSet):
    q = filters.CharFilter(
        method="search", help_text="Part of the name, company, notes or an e-mail address."
    )
    skill = filters.CharFilter(method="with_skill", help_text="A category or free tag (any case).")

    class Meta:
        model = Provider
        fields = ["kind", "status", "country"]

    def search(self, queryset: QuerySet[Provider], name: str, value: str) -> QuerySet[Provider]:
        # As the provider list page searches (providers.queries.provider_list).
        email_match = ProviderEmail.objects.filter(provider=OuterRef("pk"), email__icontains=value)
        return queryset.filter(
            Q(name__icontains=value)
            | Q(company__icontains=value)
            | Q(notes__icontains=value)
            | Exists(email_match)
        )

    def with_skill(self, queryset: QuerySet[Provider], name: str, value: str) -> QuerySet[Provider]:
        return queryset.filter(
            Exists(ProviderSkill.objects.filter(provider=OuterRef("pk"), name__iexact=value))
        )


class EngagementFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Engagement.Status.choices)
    category = filters.ChoiceFilter(choices=Category.choices)
    awaiting_reply = filters.BooleanFilter()
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lte")
    due_after = filters.DateFilter(field_name="due_on", lookup_expr="gte")
    provider = filters.NumberFilter()
    owner = filters.NumberFilter()
    q = filters.CharFilter(method="search", help_text="Part of the title or client name.")

    class Meta:
        model = Engagement
        fields = ["provider", "owner", "status", "category", "priority"]

    def search(self, queryset: QuerySet[Engagement], name: str, value: str) -> QuerySet[Engagement]:
        return queryset.filter(Q(title__icontains=value) | Q(client_name__icontains=value))


class MessageFilter(filters.FilterSet):
    occurred_after = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    engagement = filters.NumberFilter()

    class Meta:
        model = Message
        fields = ["engagement", "direction", "kind", "channel", "source"]


class ExchangeFilter(filters.FilterSet):
    open = filters.BooleanFilter(field_name="replied_at", lookup_expr="isnull", help_text="Still unanswered.")
    requested_after = UtcDateTimeFilter(field_name="requested_at", lookup_expr="gte")
    requested_before = UtcDateTimeFilter(field_name="requested_at", lookup_expr="lt")
    provider = filters.NumberFilter(field_name="engagement__provider")
    engagement = filters.NumberFilter()

    class Meta:
        model = Exchange
        fields = ["engagement", "within_policy"]


class FlagFilter(filters.FilterSet):
    open = filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", help_text="Not resolved yet."
    )
    provider = filters.NumberFilter(field_name="engagement__provider")
    engagement = filters.NumberFilter()

    class Meta:
        model = Flag
        fields = ["engagement", "kind", "resolution"]


class ReviewFilter(filters.FilterSet):
    provider = filters.NumberFilter(field_name="engagement__provider")
    engagement = filters.NumberFilter()

    class Meta:
        model = Review
        fields = ["engagement"]


class AbsenceFilter(filters.FilterSet):
    current_on = filters.DateFilter(method="current", help_text="Absences that include this day.")
    provider = filters.NumberFilter()

    class Meta:
        model = Absence
        fields = ["provider"]

    def current(self, queryset: QuerySet[Absence], name: str, value: object) -> QuerySet[Absence]:
        return queryset.filter(starts_on__lte=value, ends_on__gte=value)
