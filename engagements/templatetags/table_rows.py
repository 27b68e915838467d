"""Table rows written in Python: the engagement list's and the providers leaderboard's.

``{% engagement_rows %}`` and ``{% leaderboard_rows %}`` write what their pages' row loops
wrote, in a fraction of the time (see ``list_rows`` and ``leaderboard_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django import template
from django.utils.safestring import SafeString

from engagements.models import Engagement
from engagements.reliability.pages import Row
from engagements.templatetags.leaderboard_rows import leaderboard_rows as _leaderboard_rows
from engagements.templatetags.list_rows import engagement_rows as _engagement_rows
from outsourcing.sorting import SortColumn

register = template.Library()


@register.simple_tag
def engagement_rows(
    engagements: Iterable[Engagement], columns: Mapping[str, SortColumn], ws: str, bulk_form: object
) -> SafeString:
    """The engagement list's rows; a checkbox in each when there is a ``bulk_form``."""
    return _engagement_rows(engagements, columns=columns, ws=ws, bulk=bool(bulk_form))


@register.simple_tag
def leaderboard_rows(
    rows: Iterable[Row], columns: Mapping[str, SortColumn], ws: str, currency: str, query: str
) -> SafeString:
    """The leaderboard's rows; ``query``: the scorecard links' query string."""
    return _leaderboard_rows(rows, columns=columns, ws=ws, currency=currency, query=query)
