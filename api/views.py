"""The REST API, /api/v1/: thin views over the same services and queries as the web pages.

Every write calls the service function its web form calls (so the clock,
exchanges, flags and figures follow); every queryset starts from the token's
workspace, so another workspace's object is a 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api import filters, serializers
from api.base import WorkspaceViewSet, idempotent
from engagements import flags as flag_services
from engagements import services as engagement_services
from engagements.models import Engagement, Exchange, Flag, Message, Review
from engagements.reliability import metrics
from engagements.reliability import pages as reliability
from outsourcing.models import Role
from providers import services as provider_services
from providers.models import Absence, Provider, ProviderEmail

# PUT would replace every field; PATCH changes what it names. Only PATCH is offered.
METHODS = ["get", "post", "patch", "delete", "head", "options"]


class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """List (filtered, ordered, by cursor) and read one."""


class ReadCreateViewSet(mixins.CreateModelMixin, ReadViewSet):
    """… and POST, which calls the service and answers 201 with the new object and its Location."""

    def validated(self, request: Request, instance: Any = None) -> dict[str, Any]:
        """The request's fields, checked for shape (PATCH: only those sent)."""
        serializer = self.get_serializer(instance, data=request.data, partial=instance is not None)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def created(self, instance: Any) -> Response:
        data = self.get_serializer(instance).data
        location = self.request.build_absolute_uri(f"{self.request.path.rstrip('/')}/{instance.pk}/")
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


# --- Providers ---------------------------------------------------------------------------


class ProviderViewSet(ReadCreateViewSet):
    queryset = Provider.objects.none()
    serializer_class = serializers.ProviderSerializer
    filterset_class = filters.ProviderFilter
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name", "id"]
    http_method_names = METHODS

    def workspace_queryset(self) -> QuerySet[Provider]:
        return Provider.objects.filter(workspace=self.workspace).prefetch_related(
            Prefetch("emails", queryset=ProviderEmail.objects.order_by("position", "id")), "skills"
        )

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        provider = provider_services.provider_create(workspace=self.workspace, **self.validated(request))
        return self.created(self.workspace_queryset().get(pk=provider.pk))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        provider = self.get_object()
        provider_services.provider_update(provider=provider, **self.validated(request, provider))
        return Response(self.get_serializer(self.workspace_queryset().get(pk=provider.pk)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period",
                OpenApiTypes.STR,
                enum=list(metrics.PERIODS),
                description="Days back from now, or all time (default 90).",
            )
        ],
        responses=serializers.ReliabilitySerializer,
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def reliability(self, request: Request, pk: str) -> Response:
        """The provider's reliability figures: the scorecard's numbers, with intervals and n."""
        provider = self.get_object()
        key = request.query_params.get("period", metrics.DEFAULT_PERIOD)
        if key not in metrics.PERIODS:
            raise ValidationError(
                {"period": [_("Choose one of: %(periods)s.") % {"periods": ", ".join(metrics.PERIODS)}]}
            )
        now = timezone.now()
        period = metrics.Period.standard(key, now)
        card = reliability.scorecard(
            self.workspace, provider, period, now=now, zone=timezone.get_current_timezone()
        )
        m = card.m
        data = {
            "provider": provider.pk,
            "period": period.key,
            "period_start": period.start,
            "period_end": period.end,
            "requests": m.requests,
            "replies": m.replies,
            "unanswered": m.unanswered,
            "response_rate": m.response_rate,
            "within_policy": m.within_policy,
            "followups": m.followups,
            "followups_per_request": m.followups_per_request,
            "ghosted": m.ghosted,
            "business": m.business,
            "calendar": m.calendar,
            "on_time": m.on_time,
            "quality": m.quality,
            "communication": m.communication,
            "would_hire_again": m.would_hire_again,
            "spend": m.spend,
            "score": m.score,
        }
        return Response(serializers.ReliabilitySerializer(data).data)


# --- Engagements -----------------------------------------------------------------------------


class EngagementViewSet(ReadCreateViewSet):
    queryset = Engagement.objects.none()
    serializer_class = serializers.EngagementSerializer
    filterset_class = filters.EngagementFilter
    ordering_fields = ["created_at", "updated_at", "title", "priority"]
    ordering = ["-created_at", "-id"]
    http_method_names = METHODS

    def workspace_queryset(self) -> QuerySet[Engagement]:
        return Engagement.objects.filter(workspace=self.workspace)

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(request)
        engagement = engagement_services.engagement_create(
            workspace=self.workspace,
            provider=data.pop("provider"),
            owner=data.pop("owner", None),
            title=data.pop("title"),
            created_by=request.user,
            **data,
        )
        return self.created(engagement)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        engagement = self.get_object()
        data = self.validated(request, engagement)
        status_ = data.pop("status", None)
        provider = data.pop("provider", engagement.provider)
        owner = data.pop("owner", engagement.owner)
        if data or provider != engagement.provider or owner != engagement.owner:
            engagement_services.engagement_update(
                engagement=engagement, by=request.user, provider=provider, owner=owner, **data
            )
        if status_ and status_ != engagement.status:
            engagement_services.engagement_set_status(engagement=engagement, status=status_, by=request.user)
        return Response(self.get_serializer(self.workspace_queryset().get(pk=engagement.pk)).data)


# --- The message log -----------------------------------------------------------------------------


class MessageViewSet(mixins.DestroyModelMixin, ReadCreateViewSet):
    """The log; deleted entries are left out. Logging one runs the same service as the log form."""

    queryset = Message.objects.none()
    serializer_class = serializers.MessageSerializer
    filterset_class = filters.MessageFilter
    ordering_fields = ["occurred_at", "created_at"]
    ordering = ["-occurred_at", "-id"]
    http_method_names = METHODS

    def workspace_queryset(self) -> QuerySet[Message]:
        return Message.objects.filter(workspace=self.workspace, deleted_at=None)

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(request)
        message = engagement_services.message_log(**data, author=request.user, source=Message.Source.API)
        return self.created(message)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct an entry: the previous content is kept as a version, the exchanges follow."""
        message = self.get_object()
        data = self.validated(request, message)
        if "engagement" in data and data.pop("engagement") != message.engagement:
            raise ValidationError({"engagement": [_("A message cannot move to another engagement.")]})
        engagement_services.message_edit(message=message, by=request.user, **data)
        return Response(self.get_serializer(self.workspace_queryset().get(pk=message.pk)).data)

    def perform_destroy(self, instance: Message) -> None:
        # Soft: the entry stays in the history, marked, and stops counting.
        engagement_services.message_delete(message=instance, by=self.request.user)


class ExchangeViewSet(ReadViewSet):
    """Requests and the replies that answered them, as the log derives them (read only)."""

    queryset = Exchange.objects.none()
    serializer_class = serializers.ExchangeSerializer
    filterset_class = filters.ExchangeFilter
    ordering_fields = ["requested_at", "reply_due_at"]
    ordering = ["-requested_at", "-id"]

    def workspace_queryset(self) -> QuerySet[Exchange]:
        return Exchange.objects.filter(workspace=self.workspace)


# --- Flags ---------------------------------------------------------------------------------------------


class FlagViewSet(ReadViewSet):
    queryset = Flag.objects.none()
    serializer_class = serializers.FlagSerializer
    filterset_class = filters.FlagFilter
    ordering_fields = ["raised_at", "due_at"]
    ordering = ["-raised_at", "-id"]

    def workspace_queryset(self) -> QuerySet[Flag]:
        # The engagement's workspace too: Flag.workspace is a copy without a database constraint.
        return Flag.objects.filter(workspace=self.workspace, engagement__workspace=self.workspace)

    def _done(self, flag: Flag) -> Response:
        return Response(self.get_serializer(self.workspace_queryset().get(pk=flag.pk)).data)

    @extend_schema(request=serializers.FlagSnoozeSerializer, responses=serializers.FlagSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def snooze(self, request: Request, pk: str) -> Response:
        """Hide an open flag from the attention list until a moment (at most a year ahead)."""
        flag = self.get_object()
        form = serializers.FlagSnoozeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        flag_services.flag_snooze(flag=flag, until=form.validated_data["until"], by=request.user)
        return self._done(flag)

    @extend_schema(request=None, responses=serializers.FlagSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def unsnooze(self, request: Request, pk: str) -> Response:
        """Put a snoozed flag back on the attention list now."""
        flag = self.get_object()
        flag_services.flag_unsnooze(flag=flag, by=request.user)
        return self._done(flag)

    @extend_schema(request=serializers.FlagDismissSerializer, responses=serializers.FlagSerializer)
    @action(detail=True, methods=["post"], filterset_class=None, write_role=Role.MANAGER)
    @idempotent
    def withdraw(self, request: Request, pk: str) -> Response:
        """Take back a flag that was wrong: unlike a dismissal it stops counting in the figures (managers)."""
        flag = self.get_object()
        form = serializers.FlagDismissSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        flag_services.flag_withdraw(flag=flag, reason=form.validated_data["reason"], by=request.user)
        return self._done(flag)

    @extend_schema(request=serializers.FlagDismissSerializer, responses=serializers.FlagSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def dismiss(self, request: Request, pk: str) -> Response:
        """Resolve an open flag by hand; the reason is kept in its history."""
        flag = self.get_object()
        form = serializers.FlagDismissSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        flag_services.flag_dismiss(flag=flag, reason=form.validated_data["reason"], by=request.user)
        return self._done(flag)


# --- Reviews and absences -----------------------------------------------------------------------


class ReviewViewSet(ReadCreateViewSet):
    """Reviews of completed engagements; POST records one, or corrects the engagement's review."""

    queryset = Review.objects.none()
    serializer_class = serializers.ReviewSerializer
    filterset_class = filters.ReviewFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at", "-id"]

    def workspace_queryset(self) -> QuerySet[Review]:
        return Review.objects.filter(workspace=self.workspace, engagement__workspace=self.workspace)

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(request)
        review = engagement_services.review_save(**data, by=request.user)
        return self.created(review)


class AbsenceViewSet(mixins.DestroyModelMixin, ReadCreateViewSet):
    """Providers' announced absences: they pause the response clock."""

    queryset = Absence.objects.none()
    serializer_class = serializers.AbsenceSerializer
    filterset_class = filters.AbsenceFilter
    ordering_fields = ["starts_on", "created_at"]
    ordering = ["-starts_on", "-id"]

    def workspace_queryset(self) -> QuerySet[Absence]:
        return Absence.objects.filter(provider__workspace=self.workspace)

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(request)
        absence = provider_services.absence_add(**data)
        return self.created(absence)

    def perform_destroy(self, instance: Absence) -> None:
        provider_services.absence_delete(absence=instance)
