"""Template filters shared by every app: money and durations in the active locale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from django import forms, template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, npgettext, pgettext

from outsourcing.money import format_money

register = template.Library()


@lru_cache(maxsize=4096)
def resolved_route(prefix: str, urlconf: str | None, name: str, ws: str) -> str:
    return reverse(name, urlconf=urlconf, kwargs={"ws": ws} if ws else None)


@register.simple_tag
def route(name: str, ws: str = "") -> str:
    """``{% url name %}``, or ``{% url name ws=ws %}`` with a workspace's slug, resolved once per process.

    The navigation links every page to some twenty places: resolving each on every page took
    about 1.5 ms of it. Same result as ``reverse`` (the script prefix and urlconf are part of the key).
    """
    return resolved_route(get_script_prefix(), get_urlconf(), name, ws)


@register.simple_tag
def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def duration(value: timedelta | int | float | None, case: str = "") -> str:
    """A span as people say it: "3 days 4 hours", "25 minutes".

    ``|duration:"dative"`` where German needs the dative, after "seit" or "in": "seit 53 Tagen",
    "in weniger als einer Minute" (the translations carry the context "dative"; English is the same).
    """
    if value is None:
        return ""
    dative = case == "dative"
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 60:
        return pgettext("dative", "under a minute") if dative else _("under a minute")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    # Minutes only while under a day: "3 days 4 hours", never "3 days 4 hours 12 minutes".
    amounts = (days, hours, 0 if days else minutes)
    # Only the (at most two) parts shown are looked up: Needs attention formats one per row.
    if dative:
        texts = (
            lambda n: npgettext("dative", "%(n)d day", "%(n)d days", n),
            lambda n: npgettext("dative", "%(n)d hour", "%(n)d hours", n),
            lambda n: npgettext("dative", "%(n)d minute", "%(n)d minutes", n),
        )
    else:
        texts = (
            lambda n: ngettext("%(n)d day", "%(n)d days", n),
            lambda n: ngettext("%(n)d hour", "%(n)d hours", n),
            lambda n: ngettext("%(n)d minute", "%(n)d minutes", n),
        )
    shown = [(n, text) for n, text in zip(amounts, texts, strict=True) if n][:2]
    parts = [text(n) % {"n": n} for n, text in shown]
    return " ".join(parts)


@register.filter
def active_filters(form: forms.Form) -> int:
    """How many of a filter form's visible fields are set to something else than their default.

    Counts what the list applies: a value the form dropped as invalid does not count.
    """
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    return sum(
        1
        for name, field in form.fields.items()
        if not field.widget.is_hidden and data.get(name) not in (None, "", [], (), field.initial)
    )
