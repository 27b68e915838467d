"""Small helpers for the few statements written in SQL (the flagging pass and its outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def id_in(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``column`` among ``ids``: one array parameter on PostgreSQL, which parses and
    plans far faster than thousands of placeholders; a plain list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)
