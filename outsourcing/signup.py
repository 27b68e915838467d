"""The sign-up form's own fields (allauth builds its form on this class: ACCOUNT_SIGNUP_FORM_CLASS).

allauth imports this module while building its own forms: it must not import allauth's views
(outsourcing/signup_views.py does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from outsourcing.models import Invitation, User


class SignupDetailsForm(forms.Form):
    """What allauth's sign-up asks besides e-mail and password: the person's name and their workspace's.

    allauth builds its sign-up form on this class (ACCOUNT_SIGNUP_FORM_CLASS) and
    stores first and last name on the user itself; ``signup`` names the workspace.
    Someone signing up from an invitation (``invitation``) joins that workspace
    instead, so is not asked to name one of their own.
    """

    first_name = forms.CharField(
        label=_("First name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    workspace_name = forms.CharField(
        label=_("Workspace name"),
        max_length=100,
        help_text=_("Your company, team or project: colleagues you invite see it. You can rename it later."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    field_order = ("first_name", "last_name", "email", "password1", "password2", "workspace_name")

    def __init__(self, *args: Any, invitation: Invitation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        if invitation is not None:
            del self.fields["workspace_name"]

    def signup(self, request: HttpRequest, user: User) -> None:
        """Give the new account its first workspace, under the name the person chose.

        None for someone who came from an invitation: they join its workspace on its
        page once their address is confirmed (an invitation is accepted only by the
        address it was sent to).
        """
        from outsourcing import services  # allauth imports this module while building its own forms

        if self.invitation is None:
            services.workspace_create(name=self.cleaned_data["workspace_name"], owner=user)
