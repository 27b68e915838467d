"""The "API tokens" page: a member's own tokens for the workspace, made (key shown once) and revoked."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api import services
from api.forms import TokenForm
from api.models import ApiToken
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.models import Role


def _tokens(request: WorkspaceRequest) -> list[ApiToken]:
    return list(
        ApiToken.objects.filter(user=request.user, workspace=request.workspace).order_by(
            "revoked", "-created"
        )
    )


# Viewers make tokens too (read only): the token is theirs, not the workspace's.
@workspace_view(write_role=Role.VIEWER)
def token_list(request: WorkspaceRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, membership=request.membership)
    new_key = ""
    if request.method == "POST" and form.is_valid():
        try:
            token, new_key = services.token_create(membership=request.membership, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Token “%(name)s” created.") % {"name": token.name})
            form = TokenForm(membership=request.membership)
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": _tokens(request),
            # Shown in this answer only: only its hash is kept.
            "new_key": new_key,
            "api_root": request.build_absolute_uri("/api/v1/"),
            "docs_url": reverse("api:docs"),
        },
    )


@workspace_view(write_role=Role.VIEWER)
@require_POST
def token_revoke(request: WorkspaceRequest, prefix: str) -> HttpResponse:
    token = get_object_or_404(ApiToken, user=request.user, workspace=request.workspace, prefix=prefix)
    services.token_revoke(token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api_tokens", ws=request.workspace.slug)
