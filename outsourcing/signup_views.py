"""allauth's sign-up view, told which invitation the person came from (outsourcing/signup.py's form)."""

from __future__ import annotations

from typing import Any

from allauth.account.views import SignupView
from django.urls import Resolver404, resolve

from outsourcing import services
from outsourcing.models import Invitation


def invitation_of(next_url: str) -> Invitation | None:
    """The usable invitation whose page ``next_url`` is (where sign-up returns to), else None."""
    if not next_url.startswith("/"):
        return None
    try:
        match = resolve(next_url.split("?", 1)[0])
    except Resolver404:
        return None
    if match.url_name != "invitation_accept":
        return None
    invitation = services.invitation_lookup(match.kwargs["token"])
    return invitation if invitation is not None and invitation.is_usable() else None


class InvitationAwareSignupView(SignupView):
    """allauth's sign-up, telling the form the invitation the person is signing up to accept."""

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        next_url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        kwargs["invitation"] = invitation_of(next_url)
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["invitation"] = context["form"].invitation
        return context


signup = InvitationAwareSignupView.as_view()
