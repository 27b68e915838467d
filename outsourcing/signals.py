"""Every new account gets its own workspace at sign-up."""

from typing import Any

from allauth.account.signals import user_signed_up
from django.dispatch import receiver

from outsourcing.services import workspace_for_new_user


@receiver(user_signed_up)
def create_workspace_on_sign_up(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    workspace_for_new_user(user=user)
