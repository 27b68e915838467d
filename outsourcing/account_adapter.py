"""allauth, adapted: failed log-ins count per account *and* client address; a short
X-Forwarded-For never fails a request."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.httpkit import clean_client_ip, get_client_ip
from allauth.core.internal.ratelimit import get_ip
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """The default adapter, but a stranger's failed log-ins never lock the account's owner out."""

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth counts the "key" part of ACCOUNT_RATE_LIMITS["login_failed"] per account
        # alone: anyone failing five times every five minutes would keep its owner out for
        # good. Per account and address, the stranger locks out only themselves. The address
        # is the one allauth limits by (IPv6 cut to its /64), so hopping inside a network
        # does not buy new tries; the per-address part of the limit still slows guessing.
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{get_ip(request)}"

    def get_client_ip(self, request: HttpRequest) -> str:
        """The client's address, behind TRUSTED_PROXY_COUNT proxies; the peer's when that cannot be read.

        allauth raises ImproperlyConfigured (a 500 on every log-in) when X-Forwarded-For
        has fewer entries than there are proxies, and PermissionDenied when the entry is
        not an address. Neither is the operator's mistake: a request that did not pass
        through every proxy (or carries a mangled header) is simply counted by the
        address that connected to us.
        """
        try:
            ip = get_client_ip(request)
        except ImproperlyConfigured:
            ip = None
        ip = ip or clean_client_ip(request.META.get("REMOTE_ADDR", ""))
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip
