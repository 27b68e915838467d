"""One log line and two Prometheus samples per request: what was asked (the route, never the path
or query, which can hold tokens and search words), the answer, the time taken, and whose workspace."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

request_log = logging.getLogger("ops.requests")

# Labelled by view name (a bounded set), never by path.
REQUESTS = Counter(
    "outsourcing_http_requests",
    "Requests answered, by view, method and status.",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    "outsourcing_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by view.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        elapsed = time.monotonic() - started
        match = request.resolver_match
        view = (match.view_name if match else None) or "<unresolved>"
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        LATENCY.labels(view=view).observe(elapsed)
        workspace = getattr(request, "workspace", None)
        # Only a user something already loaded: reading request.user would load the session and
        # the user from the database, which /healthz must not ask for.
        user = getattr(request, "_cached_user", None)
        request_log.info(
            "request %s %s %s %.1f ms",
            method,
            view,
            response.status_code,
            elapsed * 1000,
            extra={
                "method": method,
                "route": match.route if match else None,
                "view": view,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
                "workspace_id": getattr(workspace, "pk", None),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response


# A label value per method a client may invent would let anyone grow the metrics without bound.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# Asked by load balancers and orchestrators, and often with a browser's cookies by a person checking.
PROBES = frozenset({"/healthz", "/readyz"})


class ProbeWithoutSessionMiddleware:
    """The probes never load a session: a session cookie would make /healthz ask the database for
    the session and the user (the time-zone middleware reads request.user), so a database outage
    would fail liveness and restart web hosts that are fine. Before SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in PROBES:
            request.COOKIES.pop(settings.SESSION_COOKIE_NAME, None)
        return self.get_response(request)
