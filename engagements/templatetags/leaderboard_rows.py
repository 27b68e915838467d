"""The providers leaderboard's table rows, written in Python rather than a template loop.

Fifty rows of ten cells took most of the page's time in the template engine. ``leaderboard_rows``
writes the HTML the loop of ``engagements/reliability/leaderboard.html`` wrote
(tests/engagements/test_table_rows_html.py renders both and compares them, in English and
German); the labels, the kinds' names and the scorecard link's query are made once per page.

Not a template library (no ``register``): ``table_rows`` holds the tags. It lives here because
it uses the reliability tags, and nothing outside this package may import them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from engagements.reliability.pages import Row
from engagements.templatetags.engagement_tags import pk_url
from engagements.templatetags.list_rows import choice_labels, value
from engagements.templatetags.reliability_tags import business_hours, one_decimal, score, share
from outsourcing.escaping import esc
from outsourcing.money import format_money
from outsourcing.sorting import SortColumn
from providers.models import Provider

_NONE = '<span class="text-body-secondary">—</span>'


@dataclass(frozen=True)
class _Page:
    """What every row of one page shares: escaped labels, the kinds' names, the link's query."""

    ws: str
    currency: str
    query: str  # the scorecard link's query string, escaped
    no_rank: str
    score: str
    response_rate: str
    median: str
    within: str
    ghosted: str
    on_time: str
    quality: str
    spend: str
    kinds: Mapping[Any, str]


def _spend(row: Row, currency: str) -> str:
    if not row.m.spend:
        return _NONE
    other = ' class="small text-body-secondary"'
    return "".join(
        f"<div{'' if s.currency == currency else other}>{esc(format_money(s.total, s.currency))}</div>"
        for s in row.m.spend
    )


def _row(row: Row, p: _Page) -> str:
    m, provider = row.m, row.provider
    pk = provider.pk
    rank = value(row.rank) if row.rank else f'<span title="{p.no_rank}">—</span>'
    kind = provider.kind
    median: str = esc(business_hours(m.business.median if m.business is not None else ""))
    if m.business is not None:
        median += f' <span class="small text-body-secondary">(n&nbsp;=&nbsp;{value(m.business.n)})</span>'
    quality = (
        f"{esc(one_decimal(m.quality.value))} "
        f'<span class="small text-body-secondary">(n&nbsp;=&nbsp;{value(m.quality.n)})</span>'
        if m.quality.n
        else _NONE
    )
    return (
        f'\n    <tr data-testid="leaderboard-row" data-provider="{value(pk)}">\n      '
        f'<td class="text-end text-body-secondary" data-label="#" data-testid="rank">{rank}</td>\n      '
        f'<td><a href="{esc(pk_url("reliability:scorecard", p.ws, pk))}{p.query}">'
        f"{esc(provider.name)}</a>"
        f'<div class="small text-body-secondary">{value(p.kinds.get(kind, kind))}</div></td>\n      '
        f'<td data-label="{p.score}">{score(m.score)}</td>\n      '
        f'<td data-label="{p.response_rate}">{share(m.response_rate)}</td>\n      '
        f'<td class="text-nowrap" data-label="{p.median}">{median}</td>\n      '
        f'<td data-label="{p.within}">{share(m.within_policy)}</td>\n      '
        f'<td class="text-end" data-label="{p.ghosted}">{value(m.ghosted)}</td>\n      '
        f'<td data-label="{p.on_time}">{share(m.on_time)}</td>\n      '
        f'<td class="text-nowrap" data-label="{p.quality}">{quality}</td>\n      '
        f'<td class="text-end text-nowrap" data-label="{p.spend}">{_spend(row, p.currency)}</td>\n'
        "    </tr>\n  "
    )


def leaderboard_rows(
    rows: Iterable[Row], *, columns: Mapping[str, SortColumn], ws: str, currency: str, query: str
) -> SafeString:
    """The leaderboard's ``<tr>`` elements; ``currency``: the board's, ``query``: the scorecard links'."""
    page = _Page(
        ws=ws,
        currency=currency,
        query=esc(query),
        no_rank=_("No rank: too little data for a score."),
        score=value(columns["score"].label),
        response_rate=value(columns["response_rate"].label),
        median=value(columns["median"].label),
        within=_("Within the policy"),
        ghosted=_("Ghosted"),
        on_time=value(columns["on_time"].label),
        quality=_("Quality"),
        spend=value(columns["spend"].label),
        kinds=choice_labels(Provider.Kind.choices),
    )
    # Our catalog's labels around values escaped (and localized) above, and the tags' safe HTML.
    return mark_safe("".join([_row(row, page) for row in rows]))  # nosec B308 B703
