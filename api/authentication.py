"""``Authorization: Bearer <token>``: a personal API token, checked by djangorestframework-api-key."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from api.models import ApiToken
from api.services import token_touch

KEYWORD = "Bearer"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Sets ``request.user`` to the token's owner and ``request.auth`` to the token."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != KEYWORD.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        key = header[1]
        prefix, _dot, _secret = key.partition(".")
        token = (
            ApiToken.objects.select_related("user", "workspace").filter(prefix=prefix, revoked=False).first()
        )
        if token is None or token.has_expired or not token.is_valid(key) or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This token is not valid, or it was revoked."))
        token_touch(token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
