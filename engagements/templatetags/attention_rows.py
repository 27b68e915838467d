"""Needs attention's rows, written in Python: a flag, a provider's overdue flags, a request, our answer.

Needs attention shows a hundred rows and more (flags, snoozed flags, our answers, requests
due soon and awaited), and as included templates they cost most of the page's rendering. Each function here writes
what its template wrote, byte for byte (tests/engagements/test_attention_rows_html.py keeps
the templates and compares, in English and German): the same catalog sentences, each value
localized and escaped as the template engine did it. A sentence from the catalog goes in as
it is, as ``{% translate %}`` and ``{% blocktranslate %}`` put it; every value is escaped.

What every row of a page shares (fixed texts, the choices' labels, date formats, the
pattern of each link) is worked out once per page, in ``_Shared``. What a page may set
differently around a row (``can_edit``, ``bulk_form``, ``show_engagement``, ``now``,
``back``) is read from the context at each row, as the templates did.

The renderers live beside their tags: a module outside ``templatetags`` importing the
tags they call (``pk_url``, ``reply_outlook``) would make an import cycle between the
app's modules, which ``lint-imports`` refuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.template.context import Context
from django.utils import dateformat
from django.utils.formats import get_format, localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from engagements import queries
from engagements.models import Engagement, Exchange, Flag
from engagements.templatetags.engagement_tags import pk_pattern, silent_for
from engagements.templatetags.reliability_tags import reply_outlook
from outsourcing import formats as format_locales
from outsourcing.escaping import esc
from outsourcing.templatetags.tracker import duration, route

register = template.Library()

# Where a page's shared part is kept while the page renders.
_SHARED_KEY = "engagements.attention_rows"

DANGER_KINDS = (Flag.Kind.GHOSTED, Flag.Kind.BOUNCED)


def _number(value: int) -> str:
    """A count as ``{{ n }}`` writes it: localized, escaped."""
    return esc(localize(value))


class _Shared:
    """What every row of one page shares, in the page's language and date format."""

    def __init__(self, ws: str) -> None:
        self.ws = ws
        self._links: dict[str, tuple[str, str]] = {}
        self.short_datetime = str(get_format("SHORT_DATETIME_FORMAT"))
        self.date = str(get_format("DATE_FORMAT"))
        self.kinds = {str(value): esc(label) for value, label in Flag.Kind.choices}
        self.resolutions = {str(value): esc(label) for value, label in Flag.Resolution.choices}
        # {% translate %}: the catalog's text as it is.
        self.no_owner = _("no owner")
        self.not_followed_up = _("Not followed up yet")
        self.log_request = _("Log request")
        self.log_delivery = _("Log delivery")
        self.log_reply = _("Log reply")
        self.show_again = _("Show again now")
        self.follow_up = _("Follow up")
        self.resend_by_mail = _("Resend by e-mail")
        self.by_mail = _("By e-mail")
        self.snooze = _("Snooze")
        self.dismiss = _("Dismiss")
        self.log_answer = _("Log your answer")
        # {% blocktranslate %} without a count: the catalog's sentence, its values filled in per row.
        self.resolved_on = _("%(resolution)s on %(at)s")
        self.not_delivered = _("Mail not delivered (%(at)s)")
        self.overdue_by = _("overdue by %(span)s")
        self.deadline = _("deadline %(at)s")
        self.last_followed_up = _("Last followed up %(at)s")
        self.snoozed_until = _("Snoozed: back on %(day)s")
        self.select = _("Select %(kind)s: %(title)s")
        self.requested = _("Requested %(at)s")
        self.due_in = _("reply due in %(span)s (%(at)s)")
        self.was_due = _("reply was due %(at)s")
        self.our_answer_waiting = _("Your answer · waiting %(span)s (overdue)")
        self.provider_wrote = _("The provider wrote last: %(at)s")
        self.our_answer_due = _("your answer was due %(at)s")
        self.oldest_overdue_by = _("oldest overdue by %(span)s")
        self._bulk_url: str | None = None
        self._dates: dict[str, _DateWriter] = {}

    def link(self, name: str, pk: int) -> str:
        """``{% pk_url name workspace.slug pk %}``, escaped as a tag's output is, from a pattern made once."""
        pattern = self._links.get(name)
        if pattern is None:
            before, after = pk_pattern(name, self.ws)
            pattern = self._links[name] = (esc(before), esc(after))
        return f"{pattern[0]}{int(pk)}{pattern[1]}"

    @property
    def bulk_url(self) -> str:
        """``{% url 'engagements:flag_bulk' ws=workspace.slug %}``."""
        if self._bulk_url is None:
            self._bulk_url = esc(route("engagements:flag_bulk", self.ws))
        return self._bulk_url

    def at(self, moment: datetime | None, format: str | None = None) -> str:
        """``moment|date:"SHORT_DATETIME_FORMAT"`` (or ``format``) in the reader's zone, escaped."""
        if moment is None:
            return ""
        format = format or self.short_datetime
        writer = self._dates.get(format)
        if writer is None:
            writer = self._dates[format] = _DateWriter(format)
        return esc(writer.format(template_localtime(moment)))


# Format characters whose text depends only on the calendar day, or only on the hour and minute.
_BY_DAY = frozenset("bdDEFjlLmMnNSwWyYz")
_BY_MINUTE = frozenset("aAfgGhHiP")


class _DateWriter:
    """``dateformat.format(moment, format)`` for many moments of one page, each piece written once.

    Django's ``DateFormat`` splits the format and looks up month names and "p.m." anew for
    every date; a page's dates share their days and their format. Each piece still comes from
    ``DateFormat``'s own method, kept by what it depends on (the day, or the hour and minute).
    """

    def __init__(self, format: str) -> None:
        self.pieces: list[tuple[str, str]] = []
        for i, piece in enumerate(dateformat.re_formatchars.split(format)):
            if i % 2:
                kind = "day" if piece in _BY_DAY else "minute" if piece in _BY_MINUTE else "other"
                self.pieces.append((kind, piece))
            elif piece:
                self.pieces.append(("text", dateformat.re_escaped.sub(r"\1", piece)))
        self._known: dict[tuple[Any, ...], str] = {}

    def format(self, moment: datetime) -> str:
        out = []
        known = self._known
        for kind, piece in self.pieces:
            if kind == "text":
                out.append(piece)
                continue
            if kind == "day":
                key: tuple[Any, ...] = (piece, moment.year, moment.month, moment.day)
            elif kind == "minute":
                key = (piece, moment.hour, moment.minute)
            else:
                out.append(str(getattr(dateformat.DateFormat(moment), piece)()))
                continue
            text = known.get(key)
            if text is None:
                text = known[key] = str(getattr(dateformat.DateFormat(moment), piece)())
            out.append(text)
        return "".join(out)


def _shared(context: Context) -> _Shared:
    """The page's ``_Shared``, made at its first row (again if the language or workspace changes)."""
    workspace = context.get("workspace")
    ws = workspace.slug if workspace is not None else ""
    key = (get_language(), format_locales.current(), ws)
    kept = context.render_context.get(_SHARED_KEY)
    if kept is None or kept[0] != key:
        kept = (key, _Shared(ws))
        context.render_context[_SHARED_KEY] = kept
    return kept[1]


def _csrf_input(context: Context) -> str:
    """What ``{% csrf_token %}`` writes."""
    token = context.get("csrf_token")
    if not token:
        return ""
    if token == "NOTPROVIDED":
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'


def _owner(shared: _Shared, engagement: Engagement) -> str:
    owner = engagement.owner
    return esc(owner.display_name) if owner else shared.no_owner


def _snoozed(flag: Flag, now: object) -> bool:
    """``flag.snoozed_until and flag.snoozed_until > now`` (false without ``now``, as in a template)."""
    return bool(flag.snoozed_until and isinstance(now, datetime) and flag.snoozed_until > now)


def flag_row(context: Context, flag: Flag, show_engagement: object = None) -> SafeString:
    """One flag with what can be done about it (was engagements/_flag.html); htmx swaps it whole."""
    s = _shared(context)
    can_edit = context.get("can_edit")
    bulk_form = context.get("bulk_form")
    show = context.get("show_engagement") if show_engagement is None else show_engagement
    now = context.get("now")
    pk = int(flag.pk)
    kind = str(flag.kind)
    engagement = flag.engagement
    resolved = bool(flag.resolved_at)
    kind_label = s.kinds.get(kind) or esc(flag.get_kind_display())
    exchange = "" if flag.exchange_id is None else int(flag.exchange_id)
    out = [
        f'\n<li class="list-group-item" id="flag-{pk}" data-testid="flag-row" data-kind="{esc(kind)}" '
        f'data-exchange="{exchange}">\n'
        '  <div class="d-flex flex-wrap justify-content-between align-items-start gap-2">\n    <div>\n      '
    ]
    if bulk_form and can_edit and not resolved:
        label = s.select % {"title": esc(engagement.title), "kind": kind_label}
        out.append(
            f'<input type="checkbox" class="form-check-input me-1" name="flags" value="{pk}" '
            f'form="{esc(bulk_form)}" aria-label="{label}" data-testid="flag-select">'
        )
    badge = "text-bg-danger" if kind in DANGER_KINDS else "text-bg-warning"
    out.append(f'\n      <span class="badge {badge}" data-testid="flag-kind">{kind_label}</span>\n      ')
    if show:
        out.append(
            f'\n      <a class="fw-semibold" href="{s.link("engagements:detail", flag.engagement_id)}">'
            f"{esc(engagement.title)}</a>\n"
            '      <div class="small text-body-secondary">\n'
            f"        {esc(engagement.provider.name)} ·\n"
            f"        {_owner(s, engagement)}\n"
            "      </div>\n      "
        )
    out.append('\n      <div class="small">\n        ')
    if resolved:
        resolution = s.resolutions.get(str(flag.resolution))
        if resolution is None:
            resolution = esc(flag.get_resolution_display())
        done = s.resolved_on % {"resolution": resolution, "at": s.at(flag.resolved_at)}
        reason = f" · {esc(flag.reason)}" if flag.reason else ""
        out.append(f"\n        {done}{reason}\n        ")
    elif kind == Flag.Kind.BOUNCED:
        bounced = s.not_delivered % {"at": s.at(flag.due_at)}
        reason = f' <span class="text-body-secondary">· {esc(flag.reason)}</span>' if flag.reason else ""
        out.append(
            f'\n        <span class="text-danger fw-semibold" data-testid="bounced">{bounced}</span>{reason}\n        '
        )
    else:
        overdue = s.overdue_by % {"span": esc(duration(silent_for(flag.due_at), "dative"))}
        out.append(
            f'\n        <span class="text-danger fw-semibold" data-testid="overdue-by">{overdue}</span>\n'
            f'        <span class="text-body-secondary">· {s.deadline % {"at": s.at(flag.due_at)}}</span>\n        '
        )
    out.append("\n        ")
    snoozed = _snoozed(flag, now)
    if not resolved:
        followed_up = queries.flag_followed_up_at(flag)
        chased = s.last_followed_up % {"at": s.at(followed_up)} if followed_up else s.not_followed_up
        outlook = getattr(flag, "reply_outlook", None)
        out.append(
            f'\n        \n        <div class="text-body-secondary" data-testid="followed-up">{chased}</div>\n'
            "        \n        "
            f"{reply_outlook(context, outlook, engagement.provider.name) if outlook else ''}\n        "
        )
        if snoozed:
            back_on = s.snoozed_until % {"day": s.at(flag.snoozed_until, s.date)}
            out.append(
                f'\n        <div class="text-body-secondary" data-testid="snoozed-until">{back_on}</div>\n        '
            )
        out.append("\n        ")
    out.append("\n      </div>\n    </div>\n    ")
    if can_edit and not resolved:
        out.append(_flag_actions(context, s, flag, pk, kind, snoozed))
    out.append("\n  </div>\n</li>\n")
    return mark_safe("".join(out))  # nosec B308 B703


def _flag_actions(context: Context, s: _Shared, flag: Flag, pk: int, kind: str, snoozed: bool) -> str:
    """The flag's buttons: log what it waits for, follow up, snooze (or show again), dismiss."""
    log_url = s.link("engagements:message_create", flag.engagement_id)
    if kind == Flag.Kind.BOUNCED:
        log = (
            f'<a class="btn btn-sm btn-outline-primary" href="{log_url}?direction=out&amp;kind=request" '
            f'data-testid="log-request">{s.log_request}</a>\n      '
        )
    elif kind == Flag.Kind.DELIVERY_OVERDUE:
        log = (
            f'<a class="btn btn-sm btn-outline-primary" href="{log_url}?direction=in&amp;kind=delivery" '
            f'data-testid="log-delivery">{s.log_delivery}</a>\n      '
        )
    else:
        log = (
            f'<a class="btn btn-sm btn-outline-primary" href="{log_url}?direction=in" '
            f'data-testid="log-reply">{s.log_reply}</a>'
        )
    target = f'hx-target="#flag-{pk}" hx-swap="outerHTML"'
    if snoozed:
        unsnooze_url = s.link("engagements:flag_unsnooze", pk)
        middle = (
            f'\n      <form method="post" action="{unsnooze_url}" hx-post="{unsnooze_url}" {target}>\n'
            f'        {_csrf_input(context)}<input type="hidden" name="next" value="{esc(context.get("back", ""))}">\n'
            f'        <button type="submit" class="btn btn-sm btn-outline-secondary">{s.show_again}</button>\n'
            "      </form>\n      "
        )
    else:
        snooze_url = s.link("engagements:flag_snooze", pk)
        compose_url = s.link("mail:compose", flag.engagement_id)
        middle = (
            "\n      \n"
            f'      <a class="btn btn-sm btn-primary" href="{log_url}?followup=1&amp;flag={pk}#log-heading">'
            f"{s.follow_up}</a>\n"
            f'      <a class="btn btn-sm btn-outline-primary" href="{compose_url}?kind=follow_up&amp;flag={pk}" '
            f'data-testid="flag-mail">{s.resend_by_mail if kind == Flag.Kind.BOUNCED else s.by_mail}</a>\n'
            '      <div class="dropdown">\n'
            '        <button type="button" class="btn btn-sm btn-outline-secondary dropdown-toggle" '
            'data-bs-toggle="dropdown" data-bs-auto-close="outside" aria-expanded="false">'
            f"{s.snooze}</button>\n"
            f'        <form method="post" action="{snooze_url}" hx-post="{snooze_url}" {target} '
            'class="dropdown-menu dropdown-menu-end p-3">\n'
            f"          {esc(context.get('flag_snooze_fields', ''))}\n"
            "        </form>\n      </div>\n      "
        )
    dismiss_url = s.link("engagements:flag_dismiss", pk)
    return (
        '\n    <div class="d-flex flex-wrap gap-1" data-testid="flag-actions">\n      '
        f"\n      {log}\n      \n      \n      \n      {middle}\n"
        '      <div class="dropdown">\n'
        '        <button type="button" class="btn btn-sm btn-outline-danger dropdown-toggle" '
        'data-bs-toggle="dropdown" data-bs-auto-close="outside" aria-expanded="false">'
        f"{s.dismiss}</button>\n"
        f'        <form method="post" action="{dismiss_url}" hx-post="{dismiss_url}" {target} '
        'class="dropdown-menu dropdown-menu-end p-3">\n'
        f"          {esc(context.get('flag_dismiss_fields', ''))}\n"
        "        </form>\n      </div>\n    </div>\n    "
    )


def provider_flags(context: Context, group: queries.ProviderFlags) -> SafeString:
    """One provider's overdue flags, with one follow-up mail for all of them (was _provider_flags.html)."""
    s = _shared(context)
    provider = group.provider
    name = esc(provider.name)
    followable = group.followable
    n = len(followable)
    oldest = s.oldest_overdue_by % {"span": esc(duration(silent_for(group.oldest_due_at), "dative"))}
    out = [
        f'\n<div class="mb-3" data-testid="provider-group" data-provider="{int(provider.pk)}">\n'
        '  <div class="d-flex flex-wrap justify-content-between align-items-center gap-2 mb-1">\n'
        '    <h3 class="h6 mb-0" data-testid="provider-heading">\n'
        f'      <a href="{s.link("providers:detail", provider.pk)}">{name}</a>\n'
        f'      <span class="badge text-bg-danger" data-testid="provider-count">{_number(len(group.flags))}</span>\n'
        f'      <span class="small fw-normal text-body-secondary">· {oldest}</span>\n'
        "    </h3>\n    "
    ]
    if context.get("can_edit") and n:
        count = _number(n)
        confirm = ngettext(
            "Send %(provider)s one e-mail about this item?",
            "Send %(provider)s one e-mail about these %(n)s items?",
            n,
        ) % {"provider": name, "n": count}
        button = ngettext("Follow up on this one", "Follow up on all %(n)s", n) % {"n": count}
        flags = "".join(f'<input type="hidden" name="flags" value="{int(pk)}">' for pk in followable)
        out.append(
            f'\n    <form method="post" action="{s.bulk_url}" data-confirm="{confirm}">\n'
            f'      {_csrf_input(context)}<input type="hidden" name="next" value="{esc(context.get("back", ""))}">'
            '<input type="hidden" name="action" value="follow_up">\n'
            f"      {flags}\n"
            f'      <button type="submit" class="btn btn-sm btn-primary" data-testid="follow-up-all">{button}</button>\n'
            "    </form>\n    "
        )
    out.append('\n  </div>\n  <ul class="list-group">\n    ')
    out.extend(flag_row(context, flag) for flag in group.flags)
    out.append("\n  </ul>\n</div>\n")
    return mark_safe("".join(out))  # nosec B308 B703


def exchange_row(context: Context, x: Exchange) -> SafeString:
    """One unanswered request on Needs attention (was _attention_exchange.html)."""
    s = _shared(context)
    engagement = x.engagement
    state = getattr(x, "state", "")
    out = [
        f'\n<li class="list-group-item" data-testid="exchange-row" data-exchange="{int(x.pk)}" '
        f'data-state="{esc(state)}">\n'
        '  <div class="d-flex flex-wrap justify-content-between align-items-start gap-2">\n    <div>\n'
        f'      <a class="fw-semibold" href="{s.link("engagements:detail", x.engagement_id)}">'
        f"{esc(engagement.title)}</a>\n"
        '      <div class="small text-body-secondary">\n'
        f"        {esc(engagement.provider.name)} ·\n"
        f"        {_owner(s, engagement)}\n"
        '      </div>\n      <div class="small">\n'
        f"        {s.requested % {'at': s.at(x.requested_at)}}\n        "
    ]
    if x.reply_due_at:
        if state == "not_due":
            span = esc(duration(getattr(x, "due_in", None), "dative"))
            due = s.due_in % {"span": span, "at": s.at(x.reply_due_at)}
            out.append(f'·\n        \n        <span data-testid="due-in">{due}</span>\n        \n        ')
        else:
            due = s.was_due % {"at": s.at(x.reply_due_at)}
            out.append(
                f'·\n        \n        <span class="text-danger" data-testid="due-in">{due}</span>\n        \n        '
            )
    out.append("\n        ")
    if x.followups:
        count = ngettext("%(n)s follow-up", "%(n)s follow-ups", x.followups) % {"n": _number(x.followups)}
        out.append(f"· {count}")
    outlook = getattr(x, "reply_outlook", None)
    chased = (
        s.last_followed_up % {"at": s.at(x.last_followup_at)} if x.last_followup_at else s.not_followed_up
    )
    out.append(
        "\n      </div>\n      "
        f"{reply_outlook(context, outlook, engagement.provider.name) if outlook else ''}\n"
        f'      <div class="small text-body-secondary" data-testid="followed-up">{chased}</div>\n'
        "    </div>\n    "
    )
    if context.get("can_edit"):
        log_url = s.link("engagements:message_create", x.engagement_id)
        out.append(
            '\n    <div class="d-flex flex-wrap gap-1">\n'
            f'      <a class="btn btn-sm btn-outline-primary" href="{log_url}?direction=in" data-testid="log-reply">'
            f"{s.log_reply}</a>\n"
            f'      <a class="btn btn-sm btn-outline-primary" href="{log_url}?followup=1#log-heading">'
            f"{s.follow_up}</a>\n"
            "    </div>\n    "
        )
    out.append("\n  </div>\n</li>\n")
    return mark_safe("".join(out))  # nosec B308 B703


def our_answer_row(context: Context, e: Engagement) -> SafeString:
    """An engagement whose answer we owe past our allowance (was _attention_our_answer.html).

    ``e.turn`` is set by ``deadlines.mark_whose_turn``.
    """
    s = _shared(context)
    turn: Any = getattr(e, "turn", None)
    o = turn.ours if turn is not None else None
    waited = s.our_answer_waiting % {"span": esc(duration(o.waited if o else None, "dative"))}
    wrote = s.provider_wrote % {"at": s.at(o.since if o else None)}
    due = s.our_answer_due % {"at": s.at(o.due_at if o else None)}
    out = [
        '\n<li class="list-group-item" data-testid="our-answer-row">\n'
        '  <div class="d-flex flex-wrap justify-content-between align-items-start gap-2">\n    <div>\n'
        f'      <a class="fw-semibold" href="{s.link("engagements:detail", e.pk)}">{esc(e.title)}</a>\n'
        '      <div class="small text-body-secondary">\n'
        f"        {esc(e.provider.name)} ·\n"
        f"        {_owner(s, e)}\n"
        '      </div>\n      <div class="small">\n'
        f'        <span class="text-danger fw-semibold" data-testid="our-answer-waiting">{waited}</span>\n'
        f'        <span class="text-body-secondary">· {wrote} · {due}</span>\n'
        "      </div>\n    </div>\n    "
    ]
    if context.get("can_edit"):
        out.append(
            f'\n    <a class="btn btn-sm btn-outline-primary" href="{s.link("engagements:message_create", e.pk)}'
            f'?direction=out" data-testid="log-answer">{s.log_answer}</a>\n    '
        )
    out.append("\n  </div>\n</li>\n")
    return mark_safe("".join(out))  # nosec B308 B703


# The tags: {% load attention_rows %}{% flag_row flag %} and so on.
register.simple_tag(takes_context=True, name="flag_row")(flag_row)
register.simple_tag(takes_context=True, name="provider_flags")(provider_flags)
register.simple_tag(takes_context=True, name="exchange_row")(exchange_row)
register.simple_tag(takes_context=True, name="our_answer_row")(our_answer_row)
