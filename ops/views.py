"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ops import health, metrics
from outsourcing import limits


@never_cache
@require_safe
@limits.limited(limits.HEALTHZ, fail_open=True)
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: this process answers. Touches nothing else, so a database outage restarts no web host."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
@limits.limited(limits.HEALTHZ, fail_open=True)
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: database, migrations, broker and its queue, and a beat seen lately."""
    ready, checks = health.report()
    return JsonResponse({"status": "ok" if ready else "error", **checks}, status=200 if ready else 503)


@never_cache
@require_safe
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """The metrics for Prometheus, behind METRICS_TOKEN (a bearer token); unset, there are none (404)."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
