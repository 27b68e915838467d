"""Show times in the user's zone (everything is stored in UTC); a brief Redis outage is a 503 page."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

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


class BackendAwayMiddleware:
    """Redis (cache, rate-limit counts, broker) away and nothing else could be done: a 503 page
    that says to try again in a moment, with Retry-After for machines (a mail service's webhook
    posts again), instead of a 500. Most of the app never gets here: the cache reads as empty and
    tasks fall back (outsourcing/redis_guard.py); what does is an anonymous form whose rate limit
    cannot be counted, such as logging in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RedisError | BrokerError):
            return None
        response = render(request, "503.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


RETRY_AFTER_SECONDS = 30
