"""Secret tokens stored on a row the first time they are needed (routing and webhook addresses)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import models


def token_once(model: type[models.Model], pk: int, field: str, make: Callable[[], str]) -> str:
    """The row's token, written only where none is stored yet.

    A conditional UPDATE: of two requests racing for the first token, the
    loser reads the winner's, so both hand out the same address.
    """
    model._default_manager.filter(pk=pk, **{field: ""}).update(**{field: make()})
    return model._default_manager.filter(pk=pk).values_list(field, flat=True).get()
