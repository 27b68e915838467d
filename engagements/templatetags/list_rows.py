"""The engagement list's table rows, written in Python rather than a template loop.

A page of 25 rows spent more time in the template engine (the loop, two includes per row, a
dozen filters) than in everything else it does. These functions write the same HTML the loop
did (tests/engagements/test_table_rows_html.py renders both and compares them, in English and
German): every value localized and escaped as the template engine does, our own catalog's
sentences around them. What is the same for every row — labels, the link's pattern, formats —
is made once per page.

Not a template library (no ``register``): ``table_rows`` holds the tags. It lives here because
it uses the engagement tags' helpers, and nothing outside this package may import them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import dateformat
from django.utils.formats import get_format, localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext as _

from engagements.deadlines import Obligation, Turn
from engagements.models import Engagement
from engagements.templatetags.engagement_tags import pk_url, status_badge
from outsourcing.escaping import esc
from outsourcing.money import format_money
from outsourcing.sorting import SortColumn
from outsourcing.templatetags.tracker import duration


def value(v: object) -> str:
    """``{{ v }}``: localized, then escaped (user text is never trusted)."""
    if isinstance(v, str):
        return esc(v)
    return esc(str(localize(template_localtime(v))))


def short_date(moment: date | datetime | None, fmt: str) -> str:
    """``{{ moment|date:"SHORT_DATE_FORMAT" }}`` with the format looked up once (``fmt``)."""
    if moment in (None, ""):
        return ""
    return esc(dateformat.format(template_localtime(moment), fmt))


# --- Whose turn, short (engagements/_whose_turn_short.html) ---------------------------------


def _obligation(o: Obligation, datetime_format: str) -> str:
    if o.is_overdue:
        css = "text-danger fw-semibold"
    elif o.state == "paused":
        css = "text-body-secondary"
    elif o.debtor == "us":
        css = "text-primary fw-semibold"
    else:
        css = "text-warning-emphasis"
    title = ""
    if o.since:
        since = esc(dateformat.format(template_localtime(o.since), datetime_format))
        title = f' title="{_("since %(since)s") % {"since": since}}"'
    if o.what == "reply":
        text = _("provider owes a reply · silent for %(silence)s") % {
            "silence": esc(duration(o.waited, "dative"))
        }
    elif o.what == "delivery":
        if o.state == "overdue":
            text = _("provider owes the delivery · %(span)s overdue") % {
                "span": esc(duration(o.overdue_by, "dative"))
            }
        else:
            text = _("provider owes the delivery · due %(day)s") % {
                "day": short_date(o.due_on, get_format("SHORT_DATE_FORMAT"))
            }
    else:
        text = _("your answer · waiting %(span)s") % {"span": esc(duration(o.waited, "dative"))}
    if o.state == "overdue" and o.what != "delivery":
        text += f" ({_('overdue')})"
    elif o.state == "ghosted":
        text += f" ({_('ghosted')})"
    elif o.state == "paused":
        text += f" ({_('paused')})"
    return (
        f'<span data-testid="obligation" data-what="{esc(o.what)}" '
        f'data-state="{esc(o.state)}" class="{css}"{title}>{text}</span>'
    )


def whose_turn_short(turn: Turn) -> SafeString:
    """What ``engagements/_whose_turn_short.html`` writes for an engagement's ``turn``."""
    if turn.situation == "closed":
        html = f'<span class="text-body-secondary">{_("closed · nobody owes anything")}</span>'
    elif turn.situation == "draft":
        html = f'<span class="text-body-secondary">{_("draft · nothing owed yet")}</span>'
    elif turn.obligations:
        datetime_format = get_format("DATETIME_FORMAT")
        html = "<br>".join(_obligation(o, datetime_format) for o in turn.obligations)
    else:
        html = '<span class="text-body-secondary">—</span>'
    # Our catalog's sentences around values escaped (and localized) above.
    return mark_safe(html)  # nosec B308 B703


# --- Priority (engagements/_priority.html) ---------------------------------------------------


def choice_labels(choices: Iterable[tuple[Any, Any]]) -> dict[Any, str]:
    """Choice labels in the active language, as ``get_FOO_display`` gives them, made once per page."""
    return {key: str(label) for key, label in choices}


def _priority(priority: int, label: str) -> str:
    if priority is not None and priority >= 4:
        return f'<span class="badge text-bg-danger">{label}</span>'
    if priority == 3:
        return f'<span class="badge text-bg-warning">{label}</span>'
    return f'<span class="text-body-secondary">{label}</span>'


# --- The rows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    """What every row of one page shares: escaped labels, formats, choice labels."""

    ws: str
    bulk: bool
    provider: str
    owner: str
    status: str
    priority: str
    due: str
    silent: str
    fee: str
    created: str
    select: str  # "Select %(title)s"
    overdue: str
    short_date: str
    statuses: Mapping[Any, str]
    priorities: Mapping[Any, str]


def _row(e: Engagement, p: _Page) -> str:
    title = esc(e.title)
    pk = e.pk
    bulk = (
        '<td class="card-select"><input type="checkbox" class="form-check-input" name="engagements" '
        f'value="{value(pk)}" form="bulk-engagements" aria-label="{p.select % {"title": title}}" '
        'data-testid="engagement-select"></td>'
        if p.bulk
        else ""
    )
    client = f'<div class="small text-body-secondary">{esc(e.client_name)}</div>' if e.client_name else ""
    owner = e.owner
    owner_cell = esc(owner.display_name) if owner else '<span class="text-body-secondary">—</span>'
    due = ""
    if e.due_on:
        overdue = getattr(e, "delivery_is_overdue", False)
        day = short_date(e.due_on, p.short_date)
        due = (
            f'<span class="text-danger fw-semibold">{day}</span> <span class="visually-hidden">{p.overdue}</span>'
            if overdue
            else f'<span class="">{day}</span>'
        )
    status = e.status
    priority = e.priority
    # The line breaks after the priority and the turn are those the included partials ended with.
    return (
        '\n    <tr data-testid="engagement-row">\n      '
        f"{bulk}\n      "
        f'<td data-testid="cell-title"><a href="{esc(pk_url("engagements:detail", p.ws, pk))}">'
        f"{title}</a>{client}</td>\n      "
        f'<td data-label="{p.provider}">{esc(e.provider.name)}</td>\n      '
        f'<td data-label="{p.owner}">{owner_cell}</td>\n      '
        f'<td data-label="{p.status}" data-testid="cell-status"><span class="badge '
        f'{esc(status_badge(status))}">{value(p.statuses.get(status, status))}</span></td>\n      '
        f'<td data-label="{p.priority}">{_priority(priority, value(p.priorities.get(priority, priority)))}\n</td>\n      '
        f'<td data-label="{p.due}" data-testid="cell-due">{due}</td>\n      '
        f'<td class="small" data-label="{p.silent}" data-testid="cell-turn">{whose_turn_short(e.turn)}\n</td>\n      '  # type: ignore[attr-defined]
        f'<td class="text-end text-nowrap" data-label="{p.fee}">'
        f"{esc(format_money(e.fee_amount, e.fee_currency))}</td>\n      "
        f'<td class="small text-nowrap" data-label="{p.created}">{short_date(e.created_at, p.short_date)}</td>\n'
        "    </tr>\n  "
    )


def engagement_rows(
    engagements: Iterable[Engagement], *, columns: Mapping[str, SortColumn], ws: str, bulk: bool
) -> SafeString:
    """The list's ``<tr>`` elements, as the loop of ``engagements/list.html`` wrote them.

    ``engagements``: loaded as the list view loads them, with ``turn`` and
    ``delivery_is_overdue`` set (``deadlines.mark_whose_turn`` and ``mark_delivery_overdue``).
    """
    page = _Page(
        ws=ws,
        bulk=bulk,
        provider=value(columns["provider"].label),
        owner=_("Owner"),
        status=value(columns["status"].label),
        priority=value(columns["priority"].label),
        due=value(columns["due"].label),
        silent=value(columns["silent"].label),
        fee=_("Fee"),
        created=value(columns["created"].label),
        select=_("Select %(title)s"),
        overdue=_("overdue"),
        short_date=get_format("SHORT_DATE_FORMAT"),
        statuses=choice_labels(Engagement.Status.choices),
        priorities=choice_labels(Engagement.Priority.choices),
    )
    # Our catalog's sentences and labels around values escaped (and localized) above.
    return mark_safe("".join([_row(e, page) for e in engagements]))  # nosec B308 B703
