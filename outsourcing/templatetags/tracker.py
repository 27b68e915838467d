"""Template filters shared by every app: money and durations in the active locale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import forms, template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, npgettext, pgettext

from outsourcing.money import format_money

register = template.Library()


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
    if dative:
        texts = (
            npgettext("dative", "%(n)d day", "%(n)d days", days),
            npgettext("dative", "%(n)d hour", "%(n)d hours", hours),
            npgettext("dative", "%(n)d minute", "%(n)d minutes", minutes),
        )
    else:
        texts = (
            ngettext("%(n)d day", "%(n)d days", days),
            ngettext("%(n)d hour", "%(n)d hours", hours),
            ngettext("%(n)d minute", "%(n)d minutes", minutes),
        )
    # Minutes only while under a day: "3 days 4 hours", never "3 days 4 hours 12 minutes".
    amounts = (days, hours, 0 if days else minutes)
    parts = [text % {"n": n} for n, text in zip(amounts, texts, strict=True) if n]
    return " ".join(parts[:2])


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
