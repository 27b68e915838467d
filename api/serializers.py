"""What the API reads and writes. Serializers only check shapes; the services keep the rules."""

from __future__ import annotations

from typing import Any

from django_countries.serializers import CountryFieldMixin
from rest_framework import serializers

from engagements.models import Engagement, Exchange, Flag, Message, Review
from engagements.services import ENGAGEMENT_FIELDS, MESSAGE_CONTENT_FIELDS
from outsourcing.models import User, Workspace
from providers.models import Absence, Provider, ResponsePolicy
from providers.services import PROVIDER_FIELDS


class WorkspaceScoped(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Related ids are looked up in the request's workspace only: another workspace's id is "not found"."""

    scoped: dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workspace: Workspace | None = self.context.get("workspace")
        for name, queryset_for in self.scoped.items():
            field = self.fields.get(name)
            if field is not None and not field.read_only and workspace is not None:
                field.queryset = queryset_for(workspace)


def _policies(workspace: Workspace) -> Any:
    return ResponsePolicy.objects.filter(workspace=workspace)


def _providers(workspace: Workspace) -> Any:
    return Provider.objects.filter(workspace=workspace)


def _members(workspace: Workspace) -> Any:
    return User.objects.filter(memberships__workspace=workspace)


def _engagements(workspace: Workspace) -> Any:
    return Engagement.objects.filter(workspace=workspace)


# --- Providers -----------------------------------------------------------------------


class RelatedValues(serializers.ListField):  # type: ignore[type-arg]
    """A list of one column of related rows (prefetched by the view: no query per row)."""

    def __init__(self, *, column: str, **kwargs: Any) -> None:
        self.column = column
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> list[Any]:
        return [getattr(row, self.column) for row in getattr(instance, self.field_name).all()]


class ProviderSerializer(CountryFieldMixin, WorkspaceScoped):
    emails = RelatedValues(column="email", child=serializers.EmailField(), required=False, max_length=20)
    skills = RelatedValues(
        column="name", child=serializers.CharField(max_length=60), required=False, max_length=50
    )
    profile_links = serializers.ListField(child=serializers.URLField(max_length=500), required=False)
    languages = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    scoped = {"response_policy": _policies}

    class Meta:
        model = Provider
        # What provider_create and provider_update take, and no more.
        fields = ["id", *PROVIDER_FIELDS, "emails", "skills", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


# --- Engagements -------------------------------------------------------------------------


class EngagementSerializer(WorkspaceScoped):
    scoped = {"provider": _providers, "owner": _members, "response_policy": _policies}

    class Meta:
        model = Engagement
        # What engagement_create and engagement_update take, the status, and what the log derives.
        fields = [
            "id",
            "provider",
            "owner",
            *ENGAGEMENT_FIELDS,
            "status",
            "awaiting_reply",
            "waiting_since",
            "last_message_at",
            "delivered_at",
            "delivered_on_time",
            "completed_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "awaiting_reply",
            "waiting_since",
            "last_message_at",
            "delivered_at",
            "delivered_on_time",
            "completed_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"owner": {"required": False, "allow_null": True}}


# --- The message log ----------------------------------------------------------------------


class MessageSerializer(WorkspaceScoped):
    scoped = {"engagement": _engagements}
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When it happened (ISO 8601 with a zone); now when left out."
    )

    class Meta:
        model = Message
        # The content message_log takes and message_edit may change.
        fields = [
            "id",
            "engagement",
            *MESSAGE_CONTENT_FIELDS,
            "sender",
            "author",
            "source",
            "is_auto_reply",
            "not_an_answer",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "sender",
            "author",
            "source",
            "is_auto_reply",
            "not_an_answer",
            "version",
            "created_at",
            "updated_at",
        ]


class ExchangeSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Exchange
        fields = [
            "id",
            "engagement",
            "request_message",
            "reply_message",
            "requested_at",
            "reply_due_at",
            "replied_at",
            "followups",
            "last_followup_at",
            "reply_seconds",
            "reply_business_seconds",
            "within_policy",
            "ghosted_due_at",
        ]
        read_only_fields = fields


# --- Flags -----------------------------------------------------------------------------------


class FlagSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    resolution = serializers.ChoiceField(
        choices=Flag.Resolution.choices, allow_blank=True, read_only=True, help_text="Empty while open."
    )

    class Meta:
        model = Flag
        fields = [
            "id",
            "engagement",
            "exchange",
            "kind",
            "due_at",
            "raised_at",
            "resolved_at",
            "resolution",
            "resolved_by",
            "reason",
            "snoozed_until",
        ]
        read_only_fields = fields


class FlagSnoozeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    until = serializers.DateTimeField(help_text="ISO 8601 with a zone, in the future, at most a year ahead.")


class FlagDismissSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=300)


# --- Reviews and absences ----------------------------------------------------------------------


class ReviewSerializer(WorkspaceScoped):
    scoped = {"engagement": _engagements}

    class Meta:
        model = Review
        fields = [
            "id",
            "engagement",
            "quality",
            "communication",
            "on_time",
            "would_hire_again",
            "final_fee_amount",
            "comment",
            "reviewer",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["reviewer", "created_at", "updated_at"]
        # review_save decides whether this is the first review or a correction.
        validators: list[Any] = []
        extra_kwargs: dict[str, Any] = {"engagement": {"validators": []}}


class AbsenceSerializer(WorkspaceScoped):
    scoped = {"provider": _providers}

    class Meta:
        model = Absence
        fields = ["id", "provider", "starts_on", "ends_on", "note", "created_at"]
        read_only_fields = ["created_at"]


# --- Reliability -----------------------------------------------------------------------------------


class IntervalSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """An observed share (0–1) with its 95 % Wilson interval and sample size; null without data."""

    point = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()


class ReplyTimesSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Time to reply in seconds: Kaplan–Meier median and 90th percentile, unanswered requests censored."""

    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)
    naive_mean = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    answered = serializers.IntegerField()


class MeanSerializer(serializers.Serializer):  # type: ignore[type-arg]
    value = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()


class SpendSerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    completed = serializers.IntegerField()
    per_completed = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    vs_agreed = serializers.FloatField(allow_null=True)


class ScoreSerializer(serializers.Serializer):  # type: ignore[type-arg]
    value = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    enough = serializers.BooleanField()
    parts = serializers.DictField(child=serializers.FloatField(allow_null=True))


class ReliabilitySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A provider's figures over a period: the scorecard's numbers (docs/metrics.md)."""

    provider = serializers.IntegerField()
    period = serializers.CharField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField()
    requests = serializers.IntegerField()
    replies = serializers.IntegerField()
    unanswered = serializers.IntegerField()
    response_rate = IntervalSerializer()
    within_policy = IntervalSerializer()
    followups = serializers.IntegerField()
    followups_per_request = serializers.FloatField(allow_null=True)
    ghosted = serializers.IntegerField()
    business = ReplyTimesSerializer(allow_null=True, help_text="Reply times in business seconds.")
    calendar = ReplyTimesSerializer(allow_null=True, help_text="Reply times in calendar seconds.")
    on_time = IntervalSerializer()
    quality = MeanSerializer()
    communication = MeanSerializer()
    would_hire_again = IntervalSerializer()
    spend = SpendSerializer(many=True)
    score = ScoreSerializer(allow_null=True)
