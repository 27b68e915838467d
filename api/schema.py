"""The OpenAPI schema (drf-spectacular): the token scheme, the headers, and every error answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from api.base import IDEMPOTENCY_HEADER


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (workspace settings → API tokens).",
        }


class AutoSchema(SpectacularAutoSchema):
    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="Any unique string (up to 255 characters). A retry with the same key "
                    "gets the first answer and does nothing twice.",
                )
            )
        if self.method == "GET":
            params.append(
                OpenApiParameter(
                    "If-None-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="The ETag of an earlier answer: 304 while it is unchanged.",
                )
            )
        return params


ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
    "description": "What went wrong: `detail`, or a list of messages per field name.",
}
ERRORS = {
    "400": "The request is not valid: the messages say why, per field.",
    "401": "No token, or a token that is not valid.",
    "403": "The token or the role does not allow this.",
    "404": "No such object in the token's workspace.",
    "422": "The Idempotency-Key was used for a different request.",
    "429": "Too many requests for this token: wait as long as Retry-After says.",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every operation says which errors it may answer, so clients (and schemathesis) can rely on them."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code, text in ERRORS.items():
                if code == "422" and method != "post":
                    continue
                responses.setdefault(
                    code, {"description": text, "content": {"application/json": {"schema": ref}}}
                )
            if method == "get":
                responses.setdefault(
                    "304", {"description": "Unchanged since the ETag sent in If-None-Match."}
                )
    return result
