"""Every new account gets its own workspace at sign-up, but one made to accept an invitation."""

from typing import Any

from allauth.account.signals import user_signed_up
from django.conf import settings
from django.dispatch import receiver
from django.utils import translation

from outsourcing.services import workspace_for_new_user


@receiver(user_signed_up)
def create_workspace_on_sign_up(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from outsourcing.signup_views import invitation_of  # allauth's views, loaded once apps are

    if request is not None and invitation_of(request.POST.get("next", "")):
        return  # they join the invitation's workspace instead, once their address is confirmed
    workspace_for_new_user(user=user)


@receiver(user_signed_up)
def remember_the_language(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Whoever signs up on the German site gets German e-mails, until they choose otherwise."""
    language = translation.get_language_from_request(request) if request is not None else ""
    if language in dict(settings.LANGUAGES) and not user.language:
        user.language = language
        user.save(update_fields=["language"])
