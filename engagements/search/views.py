"""The search page behind the navigation's search box. Thin: queries.py does the work."""

from __future__ import annotations

from typing import Any, cast

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from engagements.search import queries
from outsourcing.access import WorkspaceRequest, workspace_view

PER_PAGE = 20


@workspace_view()
@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """Ranked matches of one kind (messages, engagements or providers), with each kind's count."""
    req = cast(WorkspaceRequest, request)
    text = request.GET.get("q", "")
    too_long = len(text) > queries.MAX_QUERY_LENGTH
    terms = [] if too_long else queries.query_terms(text)
    counts = queries.search_counts(req.workspace.pk, terms) if terms else {}
    kind = request.GET.get("kind", "")
    if kind not in queries.KINDS:
        # The first kind with matches, in the order of the tabs.
        kind = next((k for k in queries.KINDS if counts.get(k)), "messages")
    page: Page[Any] | None = None
    if terms:
        results = queries.Results(queries.KINDS[kind], terms, req.workspace.pk, count=counts[kind])
        page = Paginator(cast(Any, results), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/search/results.html",
        {
            "q": text[: queries.MAX_QUERY_LENGTH],
            "too_long": too_long,
            "max_length": queries.MAX_QUERY_LENGTH,
            "no_words": bool(text.strip()) and not terms and not too_long,
            "terms": terms,
            "kind": kind,
            "tabs": [(k, counts.get(k, 0)) for k in queries.KINDS],
            "count_cap": queries.COUNT_CAP,
            "page_obj": page,
        },
    )
