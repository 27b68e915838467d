"""How reliability figures read: durations, shares with their intervals, scores."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeGuard

from django import template
from django.template.base import render_value_in_context
from django.template.context import Context
from django.template.defaultfilters import stringformat
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from engagements.reliability.charts import duration_text
from engagements.reliability.statistics import Interval, Score
from outsourcing import formats as format_locales

if TYPE_CHECKING:
    from engagements.reliability.outlook import ReplyOutlook

register = template.Library()


def _is_time(seconds: object) -> TypeGuard[float]:
    # "m.business.median" with no reply times at all reaches a filter as "" (the template's invalid value).
    return isinstance(seconds, int | float) and not isinstance(seconds, bool)


@register.filter
def span(seconds: object) -> str:
    """A span in the unit that reads best: 45 min, 3.5 h, 2.1 d, 3 w; an em dash for none."""
    return duration_text(seconds) if _is_time(seconds) else "—"


@register.filter
def business_hours(seconds: object) -> str:
    """Business time in hours (a working day is not 24 hours): 45 min, 32 h; an em dash for none."""
    return duration_text(seconds, hours_only=True) if _is_time(seconds) else "—"


@register.filter
def percent(share: float | None) -> str:
    """0.723 → 72 %; an em dash for no data."""
    if share is None:
        return "—"
    return _("%(n)s %%") % {"n": format_locales.whole_number(round(share * 100))}


@register.filter
def interval_range(interval: Interval | None) -> str:
    """The 95 % interval of a share as "61–80 %" (empty without data)."""
    if interval is None or interval.low is None or interval.high is None:
        return ""
    return _("%(low)s–%(high)s %%") % {
        "low": format_locales.whole_number(round(interval.low * 100)),
        "high": format_locales.whole_number(round(interval.high * 100)),
    }


@register.filter
def one_decimal(value: float | None) -> str:
    return "—" if value is None else number_format(value, 1)


# A share and a score are written in Python, not included templates: the leaderboard shows
# four per row and the dashboard's trend three per month, and an include costs more than its text.


@register.simple_tag
def share(interval: Interval | None, title: str = "") -> SafeString:
    """A share with its interval and n, e.g. "72 % (61–80 %, n = 45)"; "no data" without any."""
    n = getattr(interval, "n", 0)
    if not n:
        return format_html('<span class="text-body-secondary">{}</span>', _("no data"))
    return format_html(
        '<span class="fw-semibold"{}>{}</span> <span class="small text-body-secondary text-nowrap">'
        "({}, n&nbsp;=&nbsp;{})</span>",
        format_html(' title="{}"', title) if title else "",
        percent(interval.point),  # type: ignore[union-attr]
        interval_range(interval),
        format_locales.whole_number(n, grouping=True),
    )


@register.simple_tag
def score(value: Score | None) -> SafeString:
    """A reliability score with its data points, or why there is none yet."""
    points = (
        format_html(
            '<span class="small text-body-secondary text-nowrap">(n&nbsp;=&nbsp;{})</span>',
            format_locales.whole_number(value.n, grouping=True),
        )
        if value
        else ""
    )
    if value and value.enough:
        return format_html(
            '<span class="fw-semibold" data-testid="score">{}</span> {}', one_decimal(value.value), points
        )
    return format_html(
        '<span class="text-body-secondary" data-testid="score" title="{}">{}</span>{}{}',
        _(
            "A score needs at least five data points (requests with a decided reply, deliveries "
            "and reviews together)."
        ),
        _("not enough data"),
        " " if value else "",
        points,
    )


@register.filter
def older_than_a_minute(moment: datetime | None) -> bool:
    """Whether figures computed at ``moment`` are old enough for a page to say when they are from."""
    return moment is not None and timezone.now() - moment > timedelta(minutes=1)


# Where a page's ``_OutlookTexts`` are kept while it renders.
_OUTLOOK_KEY = "engagements.reply_outlook"


class _OutlookTexts:
    """What the outlooks of one page share, each text made once: Needs attention shows one per row.

    The catalog's two sentences for each number of hours (``ngettext`` picks by that number), and
    each value as ``render_value_in_context`` writes it (localized, escaped): a provider's name,
    a count, a share as ``percent`` and an interval as ``interval_range`` write it (both read only
    the rounded percentages). Valid for one language, format and context's settings: ``_texts``
    makes them anew when one changes.
    """

    def __init__(self) -> None:
        self.values: dict[tuple[type, object], str] = {}
        self.silent: dict[int, str] = {}
        self.history: dict[int, str] = {}
        self.shares: dict[int | None, str] = {}
        self.ranges: dict[tuple[int, int] | None, str] = {}


def _texts(context: Context) -> _OutlookTexts:
    key = (get_language(), format_locales.current(), context.autoescape, context.use_l10n, context.use_tz)
    kept = context.render_context.get(_OUTLOOK_KEY)
    if kept is None or kept[0] != key:
        kept = (key, _OutlookTexts())
        context.render_context[_OUTLOOK_KEY] = kept
    return kept[1]


@register.simple_tag(takes_context=True)
def reply_outlook(context: Context, outlook: ReplyOutlook, name: str) -> SafeString:
    """Is a reply still coming? One open request's outlook (``engagements.reliability.outlook``).

    Written in Python, not an included template: Needs attention shows one per
    row, and the two plural sentences cost most of each row's rendering. Each
    value is rendered as a template would (localized, escaped), and each text the
    page's outlooks share is made once (``_OutlookTexts``).
    """
    texts = _texts(context)
    values = texts.values

    def value(v: object) -> str:
        key = (type(v), v)
        text = values.get(key)
        if text is None:
            text = values[key] = render_value_in_context(v, context)
        return text

    def share(point: float | None) -> str:
        key = None if point is None else round(point * 100)
        text = texts.shares.get(key)
        if text is None:
            text = texts.shares[key] = value(percent(point))
        return text

    hours = outlook.silent_hours
    next_day = outlook.answered_next_day
    low, high = next_day.low, next_day.high
    bounds = None if low is None or high is None else (round(low * 100), round(high * 100))
    range_text = texts.ranges.get(bounds)
    if range_text is None:
        range_text = texts.ranges[bounds] = value(interval_range(next_day))
    silent = texts.silent.get(hours)
    if silent is None:
        silent = texts.silent[hours] = ngettext(
            "%(name)s has been silent %(hours)s business hour.",
            "%(name)s has been silent %(hours)s business hours.",
            hours,
        )
    history = texts.history.get(hours)
    if history is None:
        history = texts.history[hours] = ngettext(
            "Of their past requests still unanswered at %(hours)s hour, %(answered)s (%(range)s, "
            "n = %(n)s) were answered within the next business day; %(never)s never were.",
            "Of their past requests still unanswered at %(hours)s hours, %(answered)s (%(range)s, "
            "n = %(n)s) were answered within the next business day; %(never)s never were.",
            hours,
        )
    hours_text = value(hours)
    # Our catalog's sentences around values value() escaped (and localized) already.
    said = silent % {"name": value(name), "hours": hours_text}
    told = history % {
        "hours": hours_text,
        "answered": share(next_day.point),
        "range": range_text,
        "n": value(next_day.n),
        "never": share(outlook.never),
    }
    return mark_safe(  # nosec B308 B703: every value is escaped above or here
        '<div class="small text-body-secondary" data-testid="reply-outlook" '
        f'data-exchange="{value(outlook.exchange_id)}" '
        f'data-answered="{escape(stringformat(outlook.figures.answered_within, ".9f"))}" '
        f'data-never="{escape(stringformat(outlook.never, ".9f"))}" '
        f'data-n="{value(outlook.figures.n)}">{said} {told}</div>'
    )
