"""Sortable table columns, one convention on every page: ``key`` ascending, ``-key`` descending.

The header shows ▲ for ascending and ▼ for descending and says so to screen
readers with ``aria-sort``; ``templates/partials/sort_header.html`` draws it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class SortColumn:
    key: str
    label: str | Promise
    direction: str  # the aria-sort value: "ascending", "descending", or "" when not sorted by it
    next: str  # the sort its header link asks for


def sort_columns(
    current: str,
    columns: Iterable[tuple[str, str | Promise]],
    *,
    descending_first: Collection[str] = (),
) -> dict[str, SortColumn]:
    """Per sortable column: its label, its direction in the ``current`` sort and its link's sort.

    A click on the sorted column reverses it; a click on another column sorts
    it in its natural direction: descending for those in ``descending_first``
    (newest, highest, best first), ascending for the rest.
    """
    result = {}
    for key, label in columns:
        if current == key:
            direction, next_sort = "ascending", f"-{key}"
        elif current == f"-{key}":
            direction, next_sort = "descending", key
        else:
            direction, next_sort = "", f"-{key}" if key in descending_first else key
        result[key] = SortColumn(key=key, label=label, direction=direction, next=next_sort)
    return result
