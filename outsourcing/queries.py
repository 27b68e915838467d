"""Reads the workspace pages share: members and open invitations."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from outsourcing.models import ROLE_RANK, Invitation, Membership, User, Workspace
from outsourcing.statements import Statement
from outsourcing.two_factor import member_has_two_factor


def member_list(workspace: Workspace) -> QuerySet[Membership]:
    """The workspace's members, highest role first, then by who joined first, and whether each has two-factor login."""
    rank = Case(
        *[When(role=role, then=Value(-value)) for role, value in ROLE_RANK.items()],
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .annotate(rank=rank, has_two_factor=member_has_two_factor())
        .order_by("rank", "joined_at", "pk")
    )


def open_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    """Invitations whose link still works, newest first."""
    return (
        Invitation.objects.filter(
            workspace=workspace, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
        )
        .select_related("invited_by")
        .order_by("-created_at", "-pk")
    )


def user_memberships(user: User) -> QuerySet[Membership]:
    """The user's memberships with their workspaces, by workspace name."""
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def _memberships_of(user_id: int) -> QuerySet[Membership]:
    return user_memberships(User(pk=user_id))


# Every workspace page reads them (the access check, the switcher): compiled once per process.
USER_MEMBERSHIPS: Statement[Membership] = Statement(Membership, _memberships_of, user_id=int)


def user_membership_list(user: User) -> list[Membership]:
    """``user_memberships(user)`` as a list, without building its SQL again."""
    return USER_MEMBERSHIPS(user_id=user.pk)
