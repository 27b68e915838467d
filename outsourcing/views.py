"""Home, health, workspaces, members and invitations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django.views.i18n import JavaScriptCatalog

from outsourcing import formats, limits, queries, services, two_factor
from outsourcing.access import SESSION_KEY, WorkspaceRequest, get_membership, require_role, workspace_view
from outsourcing.forms import (
    InvitationForm,
    MemberRoleForm,
    NotificationPreferencesForm,
    ProfileForm,
    WorkspaceDeleteForm,
    WorkspaceForm,
    WorkspaceNotificationsForm,
    WorkspaceSecurityForm,
)
from outsourcing.models import Invitation, Membership, Role, User

PER_PAGE = 25


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def home(request: HttpRequest) -> HttpResponse:
    """What the product does, for visitors; for people logged in, the last workspace used, or the
    first one; without any, an offer to create one or to explore a sample."""
    if not request.user.is_authenticated:
        return render(request, "outsourcing/landing.html")
    memberships = Membership.objects.filter(user=request.user).select_related("workspace")
    last = request.session.get(SESSION_KEY)
    chosen = memberships.filter(workspace__slug=last).first() if last else None
    chosen = chosen or memberships.order_by("joined_at").first()
    if chosen is None:
        return render(request, "outsourcing/no_workspace.html", {"form": WorkspaceForm()})
    return redirect("workspace_home", ws=chosen.workspace.slug)


# The colour of the app's bar on a phone: Bootstrap's primary blue, as in static/img/favicon.svg.
THEME_COLOR = "#0d6efd"


@require_safe
def web_manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest, so the app can be added to a phone's home screen.

    Public (browsers fetch it without cookies); its names follow the request's language.
    """
    manifest = {
        "name": _("Outsourcing Tracker"),
        "short_name": _("Outsourcing"),
        "description": _("Delegate work to freelancers and notice when a reply is overdue."),
        "lang": get_language(),
        "start_url": reverse("home"),
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": "#ffffff",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": static("img/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
    }
    response = JsonResponse(manifest, content_type="application/manifest+json")
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


@workspace_view()
def workspace_home(request: WorkspaceRequest) -> HttpResponse:
    """The engagement list; the dashboard with its first-run checklist until the person is past it."""
    if not request.membership.first_run_done:
        return redirect("reliability:dashboard", ws=request.workspace.slug)
    return redirect("engagements:list", ws=request.workspace.slug)


@login_required
def workspace_new(request: HttpRequest) -> HttpResponse:
    """Create another workspace, owned by the person creating it."""
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = services.workspace_create(name=form.cleaned_data["name"], owner=cast(User, request.user))
        messages.success(request, _("Workspace %(name)s was created.") % {"name": workspace.name})
        return redirect("workspace_home", ws=workspace.slug)
    return render(request, "outsourcing/workspace_new.html", {"form": form})


# Anyone may keep their own profile and notification choices here; each workspace action checks its own role.
@workspace_view(write_role=Role.VIEWER)
def workspace_settings(request: WorkspaceRequest) -> HttpResponse:
    """Rename (managers), delete (owners), notifications and the person's own profile."""
    workspace, membership, user = request.workspace, request.membership, request.user
    action = request.POST.get("action") if request.method == "POST" else None
    rename_form = WorkspaceForm(
        request.POST if action == "rename" else None, initial={"name": workspace.name}
    )
    delete_form = WorkspaceDeleteForm(request.POST if action == "delete" else None, workspace=workspace)
    profile_form = ProfileForm(
        request.POST if action == "profile" else None,
        initial={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "time_zone": user.time_zone,
            "date_format": user.date_format,
            "language": user.language,
        },
    )
    prefs_form = NotificationPreferencesForm(
        request.POST if action == "preferences" else None,
        initial={
            "notify_email": membership.notify_email,
            "email_digest": membership.email_digest,
            "notify_in_app": membership.notify_in_app,
        },
    )
    webhook_form = WorkspaceNotificationsForm(
        request.POST if action == "notifications" else None,
        initial={"webhook_url": workspace.webhook_url, "notify_managers": workspace.notify_managers},
    )
    security_form = WorkspaceSecurityForm(
        request.POST if action == "security" else None,
        initial={
            "require_two_factor": workspace.require_two_factor,
            "mail_any_recipient": workspace.mail_any_recipient,
        },
    )
    if action == "rename":
        require_role(request, Role.MANAGER)
        if rename_form.is_valid():
            try:
                services.workspace_rename(workspace=workspace, name=rename_form.cleaned_data["name"])
            except ValidationError as error:
                rename_form.add_error("name", error.messages)
            else:
                messages.success(request, _("The workspace was renamed."))
                return redirect("workspace_settings", ws=workspace.slug)
    elif action == "delete":
        if membership.role != Role.OWNER:
            raise PermissionDenied
        if delete_form.is_valid():
            name = workspace.name
            try:
                services.workspace_delete(workspace=workspace, by=membership)
            except ValidationError as error:
                messages.error(request, _error_text(error))
            else:
                request.session.pop(SESSION_KEY, None)
                messages.success(request, _("Workspace %(name)s was deleted.") % {"name": name})
                return redirect("home")
    elif action == "profile":
        if profile_form.is_valid():
            try:
                services.user_set_profile(user=user, **profile_form.cleaned_data)
            except ValidationError as error:
                profile_form.add_error(None, error)
            else:
                messages.success(request, _("Your profile was saved."))
                return redirect("workspace_settings", ws=workspace.slug)
    elif action == "security":
        if membership.role != Role.OWNER:
            raise PermissionDenied
        if security_form.is_valid():
            try:
                services.workspace_set_security(
                    workspace=workspace, by=membership, **security_form.cleaned_data
                )
            except ValidationError as error:
                security_form.add_error(None, error)
            else:
                messages.success(request, _("The workspace's security settings were saved."))
                return redirect("workspace_settings", ws=workspace.slug)
    elif action in NOTIFICATION_ACTIONS:
        done = _notification_action(request, action, prefs_form, webhook_form)
        if done:
            return redirect("workspace_settings", ws=workspace.slug)
    elif action is not None:
        return HttpResponseBadRequest()
    context: dict[str, Any] = {
        "rename_form": rename_form,
        "delete_form": delete_form,
        "profile_form": profile_form,
        "prefs_form": prefs_form,
        "webhook_form": webhook_form,
        "security_form": security_form,
        "has_two_factor": two_factor.has_two_factor(user),
    }
    return render(request, "outsourcing/workspace_settings.html", context)


# "Send a test" and the failed deliveries' Retry post to the notifications' own views.
NOTIFICATION_ACTIONS = ("preferences", "notifications", "rotate_secret")


def _notification_action(
    request: WorkspaceRequest,
    action: str,
    prefs_form: NotificationPreferencesForm,
    webhook_form: WorkspaceNotificationsForm,
) -> bool:
    """Carry out one of the settings page's notification actions; False re-shows the page with errors."""
    workspace, membership = request.workspace, request.membership
    if action == "preferences":
        if not prefs_form.is_valid():
            return False
        try:
            services.membership_set_preferences(membership=membership, **prefs_form.cleaned_data)
        except ValidationError as error:
            prefs_form.add_error(None, error)
            return False
        messages.success(request, _("Your notification settings were saved."))
        return True
    require_role(request, Role.MANAGER)
    if action == "notifications":
        if not webhook_form.is_valid():
            return False
        had_secret = bool(workspace.webhook_secret)
        try:
            services.workspace_set_notifications(
                workspace=workspace, by=membership, **webhook_form.cleaned_data
            )
        except ValidationError as error:
            webhook_form.add_error(None, error)  # lands on the URL field; what was typed stays
            return False
        if workspace.webhook_secret and not had_secret:
            messages.success(
                request,
                _("The workspace's notifications were saved. Copy the new signing secret into the receiver."),
            )
        else:
            messages.success(request, _("The workspace's notifications were saved."))
        return True
    try:
        services.workspace_rotate_webhook_secret(workspace=workspace, by=membership)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request, _("A new signing secret was generated. The receiver needs it to accept flags.")
        )
    return True


@dataclass(frozen=True)
class MemberRow:
    """One line of the members table and what the viewing member may do with it."""

    membership: Membership
    is_me: bool
    role_form: MemberRoleForm | None
    can_remove: bool


def _member_row(member: Membership, me: Membership) -> MemberRow:
    is_owner = me.role == Role.OWNER
    # Managers handle everyone but owners; only owners touch ownership.
    can_change = me.can_manage and (is_owner or member.role != Role.OWNER)
    form = MemberRoleForm(initial={"role": member.role}, pk=member.pk, allow_owner=is_owner)
    return MemberRow(
        membership=member,
        is_me=member.pk == me.pk,
        role_form=form if can_change else None,
        can_remove=can_change or member.pk == me.pk,
    )


@workspace_view(write_role=Role.MANAGER)
def members(request: WorkspaceRequest) -> HttpResponse:
    """Who is in the workspace; managers also invite, change roles and remove people here."""
    workspace, me = request.workspace, request.membership
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and limits.exceeded(request, limits.INVITE):
        form.add_error(
            "email", _("Too many invitations were sent in a short time. Please try again in an hour.")
        )
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            services.invitation_create(
                workspace=workspace, email=email, role=form.cleaned_data["role"], invited_by=request.user
            )
        except ValidationError as error:
            form.add_error("email", error.messages)
        else:
            messages.success(request, _("An invitation was sent to %(email)s.") % {"email": email})
            return redirect("members", ws=workspace.slug)
    page = Paginator(queries.member_list(workspace), PER_PAGE).get_page(request.GET.get("page"))
    rows = [_member_row(member, me) for member in page.object_list]
    invitations = list(queries.open_invitations(workspace)) if me.can_manage else []
    return render(
        request,
        "outsourcing/members.html",
        {
            "page_obj": page,
            "rows": rows,
            "invitations": invitations,
            "invite_form": form,
            # Only owners decide whether two-factor login is required, so they see who has it.
            "show_two_factor": me.role == Role.OWNER,
        },
    )


@workspace_view(write_role=Role.MANAGER)
@require_POST
def member_role(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Change one member's role."""
    target = get_object_or_404(Membership.objects.select_related("user"), workspace=request.workspace, pk=pk)
    form = MemberRoleForm(request.POST, pk=target.pk, allow_owner=True)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
    else:
        try:
            services.membership_set_role(
                membership=target, role=form.cleaned_data["role"], by=request.membership
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(
                request,
                _("%(name)s is now %(role)s.")
                % {"name": target.user.display_name, "role": target.get_role_display()},
            )
    return redirect("members", ws=request.workspace.slug)


# A viewer may leave a workspace too; removing anyone else needs a manager.
@workspace_view(write_role=Role.VIEWER)
@require_POST
def member_remove(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Remove a member, or leave the workspace when it is one's own membership."""
    workspace = request.workspace
    target = get_object_or_404(Membership.objects.select_related("user"), workspace=workspace, pk=pk)
    leaving = target.pk == request.membership.pk
    if not leaving:
        require_role(request, Role.MANAGER)
    try:
        services.membership_remove(membership=target, by=request.membership)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("members", ws=workspace.slug)
    if leaving:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, _("You left %(workspace)s.") % {"workspace": workspace.name})
        return redirect("home")
    messages.success(
        request, _("%(name)s was removed from the workspace.") % {"name": target.user.display_name}
    )
    return redirect("members", ws=workspace.slug)


@workspace_view(write_role=Role.MANAGER)
@require_POST
def invitation_revoke(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Stop an invitation's link from working."""
    invitation = get_object_or_404(Invitation, workspace=request.workspace, pk=pk)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, _("The invitation to %(email)s was revoked.") % {"email": invitation.email})
    return redirect("members", ws=request.workspace.slug)


def _invitation_gone(request: HttpRequest, invitation: Invitation | None) -> HttpResponse:
    """A clear page for a link that does not work: 404 when unknown, 410 when it did once."""
    if invitation is None:
        reason, status = _("This invitation link is not valid. Check that it was copied completely."), 404
    elif invitation.accepted_at is not None:
        reason, status = _("This invitation was already used."), 410
    elif invitation.revoked_at is not None:
        reason, status = _("This invitation was withdrawn."), 410
    else:
        reason, status = _("This invitation has expired."), 410
    return render(request, "outsourcing/invitation_invalid.html", {"reason": reason}, status=status)


@limits.limited(limits.INVITATION_PAGE)
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation and, on POST, join its workspace with the role it offers.

    Only someone who has confirmed the invited address may join; anyone else
    logged in is offered a confirmation mail to that address (the link alone
    proves nothing: it may have been forwarded). ``action=confirm`` sends it.
    """
    invitation = services.invitation_lookup(token)
    if invitation is None or not invitation.is_usable():
        return _invitation_gone(request, invitation)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.path)
        return render(request, "outsourcing/invitation_accept.html", {"invitation": invitation})
    user = request.user
    existing = Membership.objects.filter(workspace=invitation.workspace, user=user).first()
    address = services.invited_address(invitation, user)
    status = 200
    if request.method == "POST" and request.POST.get("action") == "confirm":
        try:
            sent = services.invitation_confirm_address(invitation=invitation, user=user, request=request)
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            if not sent:
                messages.info(
                    request,
                    _("A confirmation link was sent to %(email)s a moment ago; it still works.")
                    % {"email": invitation.email},
                )
        return redirect("invitation_accept", token=token)
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=user)
        except ValidationError as error:
            if error.code != "address":
                return _invitation_gone(request, services.invitation_lookup(token))
            status = 403
        else:
            request.session[SESSION_KEY] = invitation.workspace.slug
            messages.success(
                request, _("Welcome to %(workspace)s.") % {"workspace": invitation.workspace.name}
            )
            return redirect("workspace_home", ws=membership.workspace.slug)
    return render(
        request,
        "outsourcing/invitation_accept.html",
        {"invitation": invitation, "existing": existing, "address": address},
        status=status,
    )


@login_required
def two_factor_required(request: HttpRequest, ws: str) -> HttpResponse:
    """Where a workspace that requires two-factor login sends members who have not set it up."""
    membership = get_membership(request, ws)
    if not two_factor.blocks(membership.workspace, membership.user):
        return redirect("workspace_home", ws=ws)
    return render(request, "outsourcing/two_factor_required.html", {"required_by": membership.workspace})


class AdminJavaScriptCatalog(JavaScriptCatalog):
    """The admin's catalog; the date formats follow the person's choice, so they are read out for JSON."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["formats"] = formats.plain(context["formats"])
        return context
