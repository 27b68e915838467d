"""Rate limits: how often one person, workspace or address may do what costs others something.

Counted by django-ratelimit in the ``ratelimit`` cache (Redis with REDIS_URL,
else files under ``var/``: shared by every web process either way). A refusal
is a 429 page, or a form error where a page keeps what was typed. allauth's
own limits (failed logins per account, confirmation mails, two-factor codes)
stay on beside these, in the default cache.

Each limit has a name; its rate is ``DEFAULT_RATES[name]`` unless the
``RATE_LIMITS`` setting names another ("30/h": 30 an hour, "5/10m": 5 in ten
minutes; see django-ratelimit's rate syntax).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core import checks
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited
from redis.exceptions import RedisError

V = TypeVar("V", bound=Callable[..., Any])
logger = logging.getLogger(__name__)

DEFAULT_RATES: dict[str, str] = {
    # Mail to providers, from the compose page.
    "mail_send_user": "30/h",
    "mail_send_workspace": "200/d",
    # Invitations (each one is a mail to an address anyone can type).
    "invite_user": "20/h",
    "invite_workspace": "50/d",
    # "Send a test" to the workspace's flag webhook.
    "webhook_test_workspace": "10/h",
    # A reliability report's "Send now" (each click mails every recipient a PDF).
    "report_send_workspace": "10/h",
    # A mailbox's "Test connection" (a login to a server anyone may name, from the web process)
    # and "Poll now" (the same from a worker).
    "mailbox_test_user": "10/10m",
    "mailbox_test_workspace": "30/h",
    "mailbox_poll_workspace": "30/h",
    # The inbound mail webhook: per workspace address, and per sender (all of an e-mail
    # service's customers post from its few addresses, so that one is generous).
    "mail_webhook_workspace": "600/h",
    "mail_webhook_ip": "3000/h",
    # "Explore a sample workspace": a second click opens the one made before; this only
    # bounds making, deleting and making again (each fills a workspace with sample data).
    "sample_workspace_user": "10/h",
    # Accounts: sign-ups, logins (also the admin's), password resets.
    "signup_ip": "10/h",
    "login_ip": "100/h",
    # Per address and account together: a stranger elsewhere cannot lock anyone out.
    "login_ip_account": "20/h",
    "password_reset_ip": "10/h",
    "password_reset_address": "5/h",
    # Pages anyone may open: an invitation link, the health check.
    "invitation_ip": "60/h",
    "healthz_ip": "120/m",
    # A provider's answer page (no account): what is sent through one link, and from one address.
    "answer_link": "10/h",
    "answer_ip": "30/h",
    # The REST API, per personal token: every call, and the writes among them (api/throttling.py).
    "api_token": "600/m",
    "api_token_write": "120/m",
}


@checks.register
def check_rate_limit_names(**kwargs: Any) -> list[checks.CheckMessage]:
    """RATE_LIMITS may only name limits there are: a typo would otherwise change nothing, silently."""
    unknown = sorted(set(getattr(settings, "RATE_LIMITS", {})) - set(DEFAULT_RATES))
    if not unknown:
        return []
    return [
        checks.Error(
            f"RATE_LIMITS names no such limit: {', '.join(unknown)}",
            hint=f"Known limits: {', '.join(DEFAULT_RATES)}",
            id="outsourcing.E001",
        )
    ]


def rate(name: str) -> str:
    """The rate of the limit ``name``: the RATE_LIMITS setting's, else the default."""
    return {**DEFAULT_RATES, **getattr(settings, "RATE_LIMITS", {})}[name]


def _rate(group: str, request: HttpRequest) -> str:
    # django-ratelimit asks for the rate by the limit's group, which is its name here.
    return rate(group)


# --- Whom a limit counts ------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The client's address: behind TRUSTED_PROXY_COUNT proxies, from X-Forwarded-For (as allauth reads it)."""
    try:
        # Falls back to REMOTE_ADDR when X-Forwarded-For is short or mangled (account_adapter.py).
        ip = get_adapter(request).get_client_ip(request)
    except PermissionDenied:  # no address at all
        ip = None
    try:
        return str(ipaddress.ip_address(ip or ""))
    except ValueError:
        # django-ratelimit needs an address; all requests without one share a counter.
        return "0.0.0.0"  # nosec B104  # a counter's key, not an address to bind


def by_ip(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def by_user(group: str, request: HttpRequest) -> str:
    return str(request.user.pk)


def by_workspace(group: str, request: HttpRequest) -> str:
    return str(request.workspace.pk)  # type: ignore[attr-defined]


def by_url_token(group: str, request: HttpRequest) -> str:
    """The secret in the URL (the inbound webhook's workspace address)."""
    match = request.resolver_match
    return str(match.kwargs.get("token", "")) if match else ""


def _posted_address(request: HttpRequest, field: str) -> str:
    return request.POST.get(field, "").strip().lower()


def by_ip_and_login(group: str, request: HttpRequest) -> str:
    return f"{client_ip(request)} {_posted_address(request, 'login')}"


def by_posted_email(group: str, request: HttpRequest) -> str:
    return _posted_address(request, "email")


@dataclass(frozen=True)
class Limit:
    """A named rate, counted per what ``key`` returns for a request."""

    name: str
    key: Callable[[str, HttpRequest], str]


MAIL_SEND = (Limit("mail_send_user", by_user), Limit("mail_send_workspace", by_workspace))
INVITE = (Limit("invite_user", by_user), Limit("invite_workspace", by_workspace))
WEBHOOK_TEST = (Limit("webhook_test_workspace", by_workspace),)
REPORT_SEND = (Limit("report_send_workspace", by_workspace),)
MAILBOX_TEST = (Limit("mailbox_test_user", by_user), Limit("mailbox_test_workspace", by_workspace))
MAILBOX_POLL = (Limit("mailbox_poll_workspace", by_workspace),)
MAIL_WEBHOOK = (Limit("mail_webhook_workspace", by_url_token), Limit("mail_webhook_ip", by_ip))
SAMPLE_WORKSPACE = (Limit("sample_workspace_user", by_user),)
SIGNUP = (Limit("signup_ip", by_ip),)
LOGIN = (Limit("login_ip", by_ip), Limit("login_ip_account", by_ip_and_login))
PASSWORD_RESET = (Limit("password_reset_ip", by_ip), Limit("password_reset_address", by_posted_email))
INVITATION_PAGE = (Limit("invitation_ip", by_ip),)
HEALTHZ = (Limit("healthz_ip", by_ip),)
ANSWER = (Limit("answer_link", by_url_token), Limit("answer_ip", by_ip))


# --- Counting -----------------------------------------------------------------------


def exceeded(request: HttpRequest, limits: tuple[Limit, ...]) -> bool:
    """Count this request against each limit; True when any of them is used up.

    For views that answer a refusal themselves (a form error keeps what was typed): a
    member's actions. While the counting cache (Redis) is away they go through uncounted,
    rather than losing what was typed to an error page; the limits guard against misuse
    over hours, and an outage lasts moments.
    """
    over = False
    try:
        for limit in limits:
            over |= is_ratelimited(
                request, group=limit.name, key=limit.key, rate=_rate, method=ratelimit.ALL, increment=True
            )
    except RedisError:
        if not request.user.is_authenticated:
            raise
        logger.warning("The rate-limit cache is unreachable: %s answered without counting", request.path)
        return False
    return over


def limited(
    limits: tuple[Limit, ...], *, method: Any = ratelimit.ALL, fail_open: bool = False
) -> Callable[[V], V]:
    """Decorate a view: requests (of ``method``) over any of ``limits`` get the 429 page.

    ``fail_open``: when the counting cache (Redis) cannot be reached, let the request through
    instead of failing it: for liveness and readiness, which must not turn a Redis outage into
    restarted web hosts (make cluster-test cuts Redis off). Every request counts then, whatever
    its method.
    """

    def decorator(view: V) -> V:
        if fail_open:
            return _limited_or_open(view, limits)
        for limit in limits:
            view = ratelimit(group=limit.name, key=limit.key, rate=_rate, method=method)(view)
        return view

    return decorator


def _limited_or_open[F: Callable[..., Any]](view: F, limits: tuple[Limit, ...]) -> F:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            over = exceeded(request, limits)
        except (RedisError, OSError):
            logger.warning("The rate-limit cache is unreachable: %s answered without counting", request.path)
            over = False
        if over:
            raise Ratelimited()
        return view(request, *args, **kwargs)

    return cast(F, wrapper)


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 429 page: for django-ratelimit's refusals (RATELIMIT_VIEW) and allauth's (handler429)."""
    return render(request, "429.html", status=429)
