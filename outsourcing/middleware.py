"""Show times in the user's zone; everything is stored in UTC."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from outsourcing import formats


class TimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = getattr(request.user, "time_zone", "") or settings.DISPLAY_TIME_ZONE
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(settings.DISPLAY_TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class FormatLocaleMiddleware:
    """Dates in the person's chosen format (outsourcing.formats), the page in its own language.

    Without a choice: the browser's preferred languages, else the page's language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = getattr(request.user, "date_format", "") or formats.from_accept_language(
            request.headers.get("Accept-Language", "")
        )
        token = formats.activate(chosen)
        try:
            return self.get_response(request)
        finally:
            formats.deactivate(token)
