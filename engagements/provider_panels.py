"""The provider page's engagements panel: open tasks and the whole message timeline."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from engagements import deadlines, queries
from providers.models import Provider
from providers.panels import register


@register
def engagements_panel(request: HttpRequest, provider: Provider) -> SafeString:
    """Render the provider's open engagements and latest messages (constant queries)."""
    # One row past the cap tells whether a "show more" link is needed, without a COUNT.
    timeline = list(queries.provider_timeline(provider)[: queries.PROVIDER_TIMELINE_CAP + 1])
    membership = getattr(request, "membership", None)
    open_engagements = list(queries.with_open_request_deadlines(queries.provider_open_engagements(provider)))
    deadlines.mark_whose_turn(open_engagements, timezone.now())
    html = render_to_string(
        "engagements/provider_panel.html",
        {
            "provider": provider,
            "open_engagements": open_engagements,
            "timeline": timeline[: queries.PROVIDER_TIMELINE_CAP],
            "has_more": len(timeline) > queries.PROVIDER_TIMELINE_CAP,
            "can_edit": bool(membership and membership.can_edit),
        },
        request=request,
    )
    # The template has escaped what it shows: the rendered page is safe as a whole.
    return mark_safe(html)  # nosec B308, B703
