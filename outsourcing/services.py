"""Write actions on workspaces, memberships and invitations."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from outsourcing.models import Invitation, Membership, Role, User, Workspace, hash_token


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug = base
    while Workspace.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: User, slug: str | None = None) -> Workspace:
    """Create a workspace with ``owner`` as its first member."""
    workspace = Workspace.objects.create(name=name, slug=slug or _unique_slug(name))
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace


def workspace_for_new_user(*, user: User) -> Workspace:
    """The workspace every sign-up gets, named after the person."""
    local = user.email.split("@", 1)[0]
    return workspace_create(name=_("%(name)s's workspace") % {"name": local}, owner=user)


def workspace_rename(*, workspace: Workspace, name: str) -> Workspace:
    workspace.name = name
    workspace.save(update_fields=["name"])
    return workspace


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # the only place the clear token exists: it goes into the e-mail

    @property
    def path(self) -> str:
        return reverse("invitation_accept", args=[self.token])


def invitation_create(*, workspace: Workspace, email: str, role: str, invited_by: User) -> IssuedInvitation:
    """Invite ``email`` to ``workspace`` and e-mail the link (after commit)."""
    email = email.strip().lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError(_("%(email)s is already a member.") % {"email": email})
    if role == Role.OWNER:
        raise ValidationError(_("Invite as manager, then make them owner once they joined."))
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # A fresh invitation replaces any still-open one for the same address.
        Invitation.objects.filter(
            workspace=workspace, email__iexact=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            workspace=workspace,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=invited_by,
            expires_at=Invitation.default_expiry(),
        )
    issued = IssuedInvitation(invitation=invitation, token=token)
    language = translation.get_language()
    transaction.on_commit(lambda: _send_invitation(issued, language))
    return issued


def _send_invitation(issued: IssuedInvitation, language: str | None) -> None:
    invitation = issued.invitation
    with translation.override(language):
        context = {
            "invitation": invitation,
            "inviter": invitation.invited_by,
            "workspace": invitation.workspace,
            "url": settings.SITE_URL + issued.path,
        }
        subject = _("You are invited to %(workspace)s on Outsourcing Tracker") % {
            "workspace": invitation.workspace.name
        }
        body = render_to_string("outsourcing/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


def invitation_lookup(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


def invitation_revoke(*, invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, revoked_at=None, accepted_at=None).update(
        revoked_at=timezone.now()
    )


def invitation_accept(*, token: str, user: User) -> Membership:
    """Use the invitation once; a second use, or one after expiry, fails."""
    invitation = invitation_lookup(token)
    if invitation is None:
        raise ValidationError(_("This invitation link is not valid."))
    now = timezone.now()
    with transaction.atomic():
        # The conditional update is the claim: only one request can win it.
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at=None, revoked_at=None, expires_at__gt=now
        ).update(accepted_at=now, accepted_by=user)
        if claimed != 1:
            raise ValidationError(_("This invitation has expired or was already used."))
        membership, _created = Membership.objects.get_or_create(
            workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
        )
    return membership


def _owner_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER).count()


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, by: Membership) -> Membership:
    """Change a member's role. Only owners grant or take away ownership."""
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    if (role == Role.OWNER or membership.role == Role.OWNER) and by.role != Role.OWNER:
        raise ValidationError(_("Only an owner can change who owns the workspace."))
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.workspace) <= 1:
        raise ValidationError(_("A workspace needs at least one owner."))
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by: Membership) -> None:
    if membership.role == Role.OWNER and by.role != Role.OWNER:
        raise ValidationError(_("Only an owner can remove an owner."))
    if membership.role == Role.OWNER and _owner_count(membership.workspace) <= 1:
        raise ValidationError(_("A workspace needs at least one owner."))
    membership.delete()
