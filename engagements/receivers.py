"""Listeners for other apps' signals."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from providers.signals import calendar_changed


@receiver(calendar_changed)
def recompute_waiting_engagements(sender: Any, provider: Any, **kwargs: Any) -> None:
    from engagements.services import provider_calendar_changed

    # After the change is committed, so the recompute reads it.
    transaction.on_commit(lambda: provider_calendar_changed(provider=provider))
