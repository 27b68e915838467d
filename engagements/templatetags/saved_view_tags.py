"""The saved views bar of the engagement list and Needs attention (engagements/_saved_views.html)."""

from __future__ import annotations

from typing import Any

from django import template

from engagements import saved_views
from engagements.models import SavedView

register = template.Library()


@register.simple_tag(takes_context=True)
def saved_views_bar(context: template.Context, page: str = "") -> dict[str, Any]:
    """The page's views the user sees (one query), the one on screen, and what the save form posts.

    ``page`` is "list" or "attention": by default the name of the URL the page answers to.
    """
    request = context["request"]
    page = page or request.resolver_match.url_name
    membership = context["membership"]
    views = saved_views.for_bar(workspace=context["workspace"], user=request.user, page=page)
    current = saved_views.current_query(page=page, params=request.GET)
    active: SavedView | None = next((v for v in views if v.query == current), None)
    return {
        "page": page,
        "shared": [v for v in views if v.shared],
        "private": [v for v in views if not v.shared],
        "active": active,
        "query": request.GET.urlencode(),
        "can_share": saved_views.can_share(membership),
    }
