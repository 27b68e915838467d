"""Two-factor login (allauth.mfa) as workspaces use it: who has it, and the owners' requirement."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.db.models import Exists, OuterRef

from outsourcing.models import User, Workspace


def has_two_factor(user: User) -> bool:
    """True when the person logs in with a second factor (an authenticator app; recovery codes come with it)."""
    return is_mfa_enabled(user)


def member_has_two_factor() -> Exists:
    """For a Membership queryset: whether the member has a second factor (one subquery, no N+1)."""
    return Exists(
        Authenticator.objects.filter(user=OuterRef("user")).exclude(type=Authenticator.Type.RECOVERY_CODES)
    )


def blocks(workspace: Workspace, user: User) -> bool:
    """True when the workspace requires a second factor the person has not set up yet."""
    return workspace.require_two_factor and not has_two_factor(user)
