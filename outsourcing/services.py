"""Write actions on workspaces, memberships and invitations."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import available_timezones

from allauth.account.internal.flows.email_verification import send_verification_email_to_address
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import ForeignObjectRel, ProtectedError, Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from outsourcing import formats
from outsourcing.mail_headers import header_text
from outsourcing.models import Invitation, Membership, Role, User, Workspace, hash_token
from outsourcing.two_factor import has_two_factor
from outsourcing.webhooks import check_webhook_url

logger = logging.getLogger(__name__)


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


def workspace_for_new_user(*, user: User) -> Workspace | None:
    """The workspace every sign-up gets, unless the sign-up form made it under its chosen name already.

    Without a chosen name it is named after the person (their first name, else their address's local part).
    """
    if Membership.objects.filter(user=user).exists():
        return None
    name = user.first_name.strip() or user.email.split("@", 1)[0]
    return workspace_create(name=_("%(name)s's workspace") % {"name": name}, owner=user)


def workspace_rename(*, workspace: Workspace, name: str) -> Workspace:
    """Give the workspace a new name; its slug (and so every URL) stays."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A workspace needs a name.")})
    workspace.name = name
    workspace.save(update_fields=["name"])
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace, by: Membership) -> None:
    """Delete the workspace and everything in it; only an owner may."""
    if by.workspace_id != workspace.pk or by.role != Role.OWNER:
        raise ValidationError(_("Only an owner can delete the workspace."))
    # Some rows protect others (an engagement protects its provider), so a plain
    # cascade can refuse; delete each kind of row once nothing protects it any more.
    pending = [
        rel.related_model._base_manager.filter(**{rel.field.name: workspace})
        for rel in Workspace._meta.get_fields(include_hidden=True)
        if isinstance(rel, ForeignObjectRel) and rel.one_to_many and rel.related_model is not None
    ]
    while pending:
        blocked = []
        for rows in pending:
            try:
                rows.delete()
            except ProtectedError:
                blocked.append(rows)
        if len(blocked) == len(pending):
            raise ValidationError(_("The workspace could not be deleted; please contact support."))
        pending = blocked
    workspace.delete()


def membership_set_preferences(
    *, membership: Membership, notify_email: bool, email_digest: bool, notify_in_app: bool
) -> Membership:
    """The person's own choice of how flags in this workspace reach them."""
    if email_digest and not notify_email:
        raise ValidationError({"email_digest": _("A daily digest needs e-mail notifications switched on.")})
    membership.notify_email = notify_email
    membership.email_digest = email_digest
    membership.notify_in_app = notify_in_app
    membership.save(update_fields=["notify_email", "email_digest", "notify_in_app"])
    return membership


def _require_manager(workspace: Workspace, by: Membership) -> None:
    if by.workspace_id != workspace.pk or not by.can_manage:
        raise ValidationError(_("Only managers and owners can change the workspace's notifications."))


def _new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def workspace_set_notifications(
    *, workspace: Workspace, webhook_url: str, notify_managers: bool, by: Membership
) -> Workspace:
    """Set the flag webhook and whether owners and managers hear of every flag.

    A URL set for the first time gets a signing secret; removing the URL drops
    the secret, so a URL set again later never reuses an old one.
    """
    _require_manager(workspace, by)
    webhook_url = webhook_url.strip()
    if webhook_url:
        try:
            check_webhook_url(webhook_url)
        except ValidationError as error:
            raise ValidationError({"webhook_url": error.messages}) from None
        if not workspace.webhook_secret:
            workspace.webhook_secret = _new_webhook_secret()
    else:
        workspace.webhook_secret = ""
    workspace.webhook_url = webhook_url
    workspace.notify_managers = notify_managers
    workspace.save(update_fields=["webhook_url", "webhook_secret", "notify_managers"])
    return workspace


def workspace_rotate_webhook_secret(*, workspace: Workspace, by: Membership) -> Workspace:
    """Replace the webhook's signing secret; the receiver needs the new one from now on."""
    _require_manager(workspace, by)
    if not workspace.webhook_url:
        raise ValidationError(_("Save a webhook URL first."))
    workspace.webhook_secret = _new_webhook_secret()
    workspace.save(update_fields=["webhook_secret"])
    return workspace


def workspace_set_security(
    *, workspace: Workspace, by: Membership, require_two_factor: bool, mail_any_recipient: bool
) -> Workspace:
    """Set whether members need two-factor login here, and whether mail may go beyond the known addresses.

    Owners only. An owner requiring two-factor login must have it already, or
    they would shut themselves out of their own workspace.
    """
    if by.workspace_id != workspace.pk or by.role != Role.OWNER:
        raise ValidationError(_("Only an owner can change the workspace's security settings."))
    if require_two_factor and not workspace.require_two_factor and not has_two_factor(by.user):
        raise ValidationError(
            {
                "require_two_factor": _(
                    "Set up two-factor authentication for yourself first, then require it of everyone."
                )
            }
        )
    workspace.require_two_factor = require_two_factor
    workspace.mail_any_recipient = mail_any_recipient
    workspace.save(update_fields=["require_two_factor", "mail_any_recipient"])
    return workspace


def user_set_profile(
    *,
    user: User,
    first_name: str,
    last_name: str,
    time_zone: str,
    language: str | None = None,
    date_format: str | None = None,
) -> User:
    """Update the person's name, the time zone and date format of their pages, and their e-mails' language."""
    if time_zone and time_zone not in available_timezones():
        raise ValidationError({"time_zone": _("Unknown time zone.")})
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the languages offered.")})
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.time_zone = time_zone
    fields = ["first_name", "last_name", "time_zone"]
    if language is not None:
        user.language = language
        fields.append("language")
    if date_format is not None:
        if date_format and date_format not in formats.FORMATS:
            raise ValidationError({"date_format": _("Choose one of the date formats offered.")})
        user.date_format = date_format
        fields.append("date_format")
    user.save(update_fields=fields)
    return user


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # the only place the clear token exists: it goes into the e-mail

    @property
    def path(self) -> str:
        return reverse("invitation_accept", args=[self.token])


class InvitationNotSent(ValidationError):
    """The mail server (or the connection to it) refused the invitation's mail; nothing was saved."""


def invitation_create(*, workspace: Workspace, email: str, role: str, invited_by: User) -> IssuedInvitation:
    """Invite ``email`` to ``workspace`` and e-mail the link, as one unit.

    The mail is sent last, inside the transaction that saves the invitation:
    when it cannot be sent, the invitation (and the revocation of an older
    one) is rolled back and ``InvitationNotSent`` says so, so no invitation
    exists that nobody was told about, and the person can simply try again.
    """
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
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
        try:
            _send_invitation(issued, translation.get_language())
        except Exception as exc:  # any backend's failure: roll back and say so
            logger.warning("invitation to workspace %s not mailed: %r", workspace.pk, exc)
            raise InvitationNotSent(
                _("The invitation could not be mailed, so it was not saved. Please try again later.")
            ) from exc
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
        subject = header_text(
            _("You are invited to %(workspace)s on Outsourcing Tracker")
            % {"workspace": invitation.workspace.name}
        )
        body = render_to_string("outsourcing/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


def invitation_lookup(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


def invitation_revoke(*, invitation: Invitation) -> None:
    """Make an open invitation's link stop working; used or revoked ones stay as they are."""
    Invitation.objects.filter(pk=invitation.pk, revoked_at=None, accepted_at=None).update(
        revoked_at=timezone.now()
    )


class InvitedAddress(StrEnum):
    """How the invited address stands to the person holding the link."""

    CONFIRMED = "confirmed"  # one of their addresses, confirmed: they may join
    UNCONFIRMED = "unconfirmed"  # theirs or free, not confirmed yet: a confirmation mail proves it
    TAKEN = "taken"  # another account's: only that account may join


def invited_address(invitation: Invitation, user: User) -> InvitedAddress:
    """Whether ``user`` has proved they receive mail at the invited address (two queries at most)."""
    email = invitation.email
    mine = EmailAddress.objects.filter(user=user, email__iexact=email).values_list("verified", flat=True)
    if True in mine:
        return InvitedAddress.CONFIRMED
    if mine or user.email.lower() == email.lower():
        return InvitedAddress.UNCONFIRMED
    taken = (
        User.objects.filter(Q(email__iexact=email) | Q(emailaddress__email__iexact=email))
        .exclude(pk=user.pk)
        .exists()
    )
    return InvitedAddress.TAKEN if taken else InvitedAddress.UNCONFIRMED


def invitation_confirm_address(*, invitation: Invitation, user: User, request: HttpRequest) -> bool:
    """Mail a confirmation link to the invited address, adding it to the person's addresses first.

    Once they open it, the address is theirs, confirmed, and the invitation
    can be accepted. False when allauth held the mail back (one was sent a
    moment ago: its link still works).
    """
    if invited_address(invitation, user) != InvitedAddress.UNCONFIRMED:
        raise ValidationError(_("This address cannot be confirmed for your account."))
    address = EmailAddress.objects.filter(user=user, email__iexact=invitation.email).first()
    if address is None:
        address = EmailAddress.objects.add_email(request, user, invitation.email, confirm=False)
    return send_verification_email_to_address(request, address)


def invitation_accept(*, token: str, user: User) -> Membership:
    """Use the invitation once, for the invited address only; a second use, or one after expiry, fails.

    A link forwarded to someone else (or read over a shoulder) is no way in:
    the person must have confirmed that they receive mail at the invited address.
    """
    invitation = invitation_lookup(token)
    if invitation is None:
        raise ValidationError(_("This invitation link is not valid."))
    if invited_address(invitation, user) != InvitedAddress.CONFIRMED:
        raise ValidationError(
            _("This invitation is for %(email)s: confirm that address first.") % {"email": invitation.email},
            code="address",
        )
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
    """Owners of ``workspace``, locked so two owners cannot demote each other at once."""
    return len(
        Membership.objects.select_for_update().filter(workspace=workspace, role=Role.OWNER).values_list("pk")
    )


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, by: Membership) -> Membership:
    """Change a member's role. Only owners grant or take away ownership."""
    if not by.can_manage or by.workspace_id != membership.workspace_id:
        raise ValidationError(_("Only managers and owners can change roles."))
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
    """Remove a member (managers and owners), or leave the workspace (anyone, for themselves)."""
    leaving = membership.pk == by.pk
    if not leaving and (not by.can_manage or by.workspace_id != membership.workspace_id):
        raise ValidationError(_("Only managers and owners can remove members."))
    if membership.role == Role.OWNER and by.role != Role.OWNER:
        raise ValidationError(_("Only an owner can remove an owner."))
    if membership.role == Role.OWNER and _owner_count(membership.workspace) <= 1:
        raise ValidationError(_("A workspace needs at least one owner."))
    membership.delete()
