"""What every API view shares: the token's workspace, ETags, idempotent POSTs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC
from functools import wraps
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from api.models import ApiToken, IdempotentRequest
from outsourcing.models import Membership, Role, Workspace

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class WorkspaceViewSet(GenericViewSet):  # type: ignore[type-arg]
    """A view of the token's workspace; answers GETs with an ETag and 304s to If-None-Match."""

    read_role = Role.VIEWER
    write_role = Role.MEMBER
    # Any id reaches the view, which answers 404 in JSON (a URL pattern would answer an HTML page).
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the view
            return cast("QuerySet[Any]", self.queryset)
        return self.workspace_queryset()

    def workspace_queryset(self) -> QuerySet[Any]:
        """The view's rows, all of the token's workspace."""
        raise NotImplementedError

    @property
    def workspace(self) -> Workspace:
        return cast(Workspace, self.request.workspace)  # type: ignore[attr-defined]

    @property
    def membership(self) -> Membership:
        return cast(Membership, self.request.membership)  # type: ignore[attr-defined]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Times go out in UTC, whatever zone the reader's pages use.
        timezone.activate(UTC)
        super().initial(request, *args, **kwargs)

    def get_serializer_context(self) -> dict[str, Any]:
        # Related ids are looked up in this workspace (api.serializers.WorkspaceScoped).
        return {**super().get_serializer_context(), "workspace": getattr(self.request, "workspace", None)}

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code == status.HTTP_200_OK:
            response.render()
            response["ETag"] = f'"{hashlib.sha256(response.content).hexdigest()[:40]}"'
            # Whoever reads it, the answer depends on the token: caches must not share it.
            response["Cache-Control"] = "private, no-cache"
            return get_conditional_response(request, etag=response["ETag"], response=response) or response
        return response


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """A POST with an ``Idempotency-Key`` header does its work once; retries get the first answer.

    The key is claimed by inserting its row in the same transaction as the
    work: a concurrent retry waits on the unique index, then finds the answer.
    A request that failed (4xx/5xx raised) leaves no row, so it can be retried.
    """

    @wraps(handler)
    def wrapper(view: WorkspaceViewSet, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError(
                {IDEMPOTENCY_HEADER: [_("At most %(n)d characters.") % {"n": MAX_KEY_LENGTH}]}
            )
        token = cast(ApiToken, request.auth)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = IdempotentRequest.objects.create(token=token, key=key, fingerprint=fingerprint)
            except IntegrityError:
                return _replay(IdempotentRequest.objects.get(token=token, key=key), fingerprint)
            response = handler(view, request, *args, **kwargs)
            row.status_code = response.status_code
            row.body = json.loads(JSONRenderer().render(response.data) or b"null")
            row.location = response.get("Location", "")
            row.save(update_fields=["status_code", "body", "location"])
        return response

    return wrapper


def _replay(row: IdempotentRequest, fingerprint: str) -> Response:
    if row.fingerprint != fingerprint:
        return Response(
            {"detail": _("This Idempotency-Key was already used for a different request.")},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    headers = {REPLAYED_HEADER: "true"}
    if row.location:
        headers["Location"] = row.location
    return Response(row.body, status=row.status_code, headers=headers)
