"""Rate limits per API token, counted by django-ratelimit in the shared ``ratelimit`` cache.

The rates are outsourcing.limits' ``api_token`` (every call) and
``api_token_write`` (POST, PATCH, DELETE …), so RATE_LIMITS sets them like
every other limit. A refused call is a 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from django_ratelimit.core import get_usage
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from outsourcing import limits


def _by_token(group: str, request: Any) -> str:
    return str(request.auth.prefix)


def _rate(group: str, request: Any) -> str:
    return limits.rate(group)


class PerToken(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.auth is None:
            return True  # refused by the permission check anyway
        groups = ["api_token"] if request.method in SAFE_METHODS else ["api_token", "api_token_write"]
        allowed = True
        for group in groups:
            usage = get_usage(request, group=group, key=_by_token, rate=_rate, increment=True)
            if usage is not None and usage["should_limit"]:
                allowed = False
                # At least a second: at the very end of a window django-ratelimit says 0 seconds
                # left, and DRF writes no Retry-After for a wait of 0.
                self._wait = max(self._wait or 0, usage["time_left"], 1)
        return allowed

    def wait(self) -> float | None:
        return self._wait
