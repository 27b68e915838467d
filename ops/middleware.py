"""One log line per request: what was asked (the route, never the path or query, which can hold
tokens and search words), the answer, the time taken, and whose workspace."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

request_log = logging.getLogger("ops.requests")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        match = request.resolver_match
        workspace = getattr(request, "workspace", None)
        user = getattr(request, "user", None)
        request_log.info(
            "request",
            extra={
                "method": request.method,
                "route": match.route if match else None,
                "view": match.view_name if match else None,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "workspace_id": getattr(workspace, "pk", None),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response
