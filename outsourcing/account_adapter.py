"""allauth, adapted: failed log-ins count per account *and* client address."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.ratelimit import get_ip
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
