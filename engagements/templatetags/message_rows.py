"""``{% message_rows messages %}``: the log's messages as HTML, written in Python.

An engagement's page shows its whole log, and including ``_message.html`` once per
message cost more than all the rest of the page's body. The markup is the one that
template wrote, byte for byte (tests/engagements/test_message_rows.py compares them):
the same msgids, each value localized and escaped as the template engine would.
What is the same for every row (labels, translated texts, date formats, the
workspace's URLs, the CSRF field) is worked out once per list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import template
from django.db import models
from django.template.base import render_value_in_context
from django.template.context import Context
from django.template.defaultfilters import filesizeformat
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext

from engagements.models import Message
from engagements.templatetags.engagement_tags import mail_html, pk_url, sender_local_time
from outsourcing.escaping import esc

register = template.Library()

_BUTTON = "btn btn-link btn-sm p-0 align-baseline"


def _url_for(name: str, slug: str) -> Callable[[int], str]:
    """A function of a pk giving ``name``'s URL in this workspace (``pk_url``: its pattern is made once)."""
    return lambda pk: pk_url(name, slug, pk)


def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    """What ``get_FOO_display`` gives for each stored value, escaped."""
    return {value: str(esc(str(label))) for value, label in choices.choices}


class MessageRows:
    """Writes ``<li>`` rows of a timeline for one page (one language, one reader, one workspace)."""

    def __init__(self, context: Context, *, show_engagement: bool = False) -> None:
        self.context = context
        self.show_engagement = show_engagement
        membership = context.get("membership")
        self.may_record_absence = bool(membership and membership.can_edit)
        self.actions = bool(context.get("can_edit")) and not show_engagement
        logged = context.get("logged")
        self.logged_pk = logged.pk if logged else None
        token = context.get("csrf_token")
        self.csrf = (
            ""
            if not token or token == "NOTPROVIDED"
            else str(format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token))
        )
        slug = context["workspace"].slug
        self.url = {
            name: _url_for(f"engagements:{name}", slug)
            for name in (
                "message_history",
                "detail",
                "message_absence",
                "attachment",
                "message_restore",
                "message_edit",
                "message_not_an_answer",
                "message_delete",
            )
        }
        self.direction = _labels(Message.Direction)
        self.kind = _labels(Message.Kind)
        self.channel = _labels(Message.Channel)
        self.source = _labels(Message.Source)
        self.datetime_format = str(get_format("DATETIME_FORMAT"))
        self.short_date_format = str(get_format("SHORT_DATE_FORMAT"))
        # Our catalog's texts, written unescaped as {% translate %} writes a literal.
        self.t = {
            msgid: gettext(msgid)
            for msgid in (
                "automatic reply",
                "not an answer",
                "edited",
                "Signature",
                "Record the absence",
                "Show the formatted version",
                "Show the whole mail, with the quoted history",
                "Restore",
                "Edit",
                "It is an answer after all",
                "Not an answer",
                "Off topic, or only “I will look at it”: the request stays open and its clock keeps running.",
                "Delete this message? It stays in the history, struck through, and stops counting.",
                "Delete",
                "someone",
                "%(time)s in %(place)s",
                "Marked by %(who)s on %(when)s",
                "This reply says they are away until %(date)s.",
                "from %(sender)s",
                "logged by %(author)s",
                "Deleted by %(who)s on %(when)s; it does not count.",
            )
        }

    def value(self, v: object) -> str:
        """``{{ v }}``: localized and escaped."""
        return str(render_value_in_context(v, self.context))

    def date(self, v: Any, fmt: str) -> str:
        """``{{ v|date:fmt }}``, with fmt already resolved."""
        if v in (None, ""):
            return ""
        return str(esc(dateformat.format(template_localtime(v, self.context.use_tz), fmt)))

    def who(self, user: Any) -> str:
        """``user.display_name|default:_("someone")``, escaped."""
        name = getattr(user, "display_name", "") if user is not None else ""
        return str(esc(name)) if name else self.t["someone"]

    def render(self, messages: Iterable[Message]) -> SafeString:
        return mark_safe("".join([self.row(m) for m in messages]))  # nosec B308 B703

    def row(self, m: Message) -> str:
        """One message as ``_message.html`` wrote it: one branch here per {% if %} there."""
        t, url, pk = self.t, self.url, self.value(m.pk)
        deleted = m.deleted_at is not None
        direction = m.direction
        out = [
            f'<li id="message-{pk}" class="timeline-item direction-{esc(direction)}',
            " is-deleted" if deleted else "",
            '" data-testid="message"',
            ' tabindex="-1" data-swap-focus' if self.logged_pk is not None and self.logged_pk == m.pk else "",
            '>\n  <div class="d-flex flex-wrap gap-2 align-items-baseline small">\n    <span class="badge ',
            "text-bg-primary"
            if direction == "out"
            else "text-bg-success"
            if direction == "in"
            else "text-bg-warning",
            '">',
            self.direction.get(direction) or self.value(direction),
            '</span>\n    <span class="fw-semibold">',
            self.kind.get(m.kind) or self.value(m.kind),
            "</span>\n    <span>",
            self.channel.get(m.channel) or self.value(m.channel),
            '</span>\n    <time datetime="',
            self.date(m.occurred_at, "c"),
            '">',
            self.date(m.occurred_at, self.datetime_format),
            "</time>\n    ",
        ]
        if m.sender_time_zone:
            theirs = sender_local_time(m)
            if theirs:
                out += [
                    '<span class="text-body-secondary text-nowrap" title="',
                    self.value(theirs["zone"]),
                    '" data-testid="sender-time">(',
                    t["%(time)s in %(place)s"]
                    % {"time": self.value(theirs["time"]), "place": self.value(theirs["place"])},
                    ")</span>",
                ]
        out.append("\n    ")
        if m.is_auto_reply:
            out += ['<span class="badge text-bg-light border">', t["automatic reply"], "</span>"]
        out.append("\n    ")
        if m.not_an_answer:
            out += [
                '<span class="badge text-bg-warning" data-testid="not-an-answer" title="',
                t["Marked by %(who)s on %(when)s"]
                % {
                    "who": self.who(m.not_an_answer_by),
                    "when": self.date(m.not_an_answer_at, self.datetime_format),
                },
                '">',
                t["not an answer"],
                "</span>",
            ]
        out.append("\n    ")
        if m.version > 1:
            out += [
                '<a href="',
                url["message_history"](m.pk),
                '" class="badge text-bg-light border text-decoration-none">',
                t["edited"],
                "</a>",
            ]
        out.append("\n    ")
        if self.show_engagement:
            out += [
                '<a href="',
                url["detail"](m.engagement_id),
                f'#message-{pk}">',
                self.value(m.engagement.title),
                "</a>",
            ]
        out.append("\n  </div>\n  ")
        if m.subject:
            out += ['<div class="fw-semibold mt-1">', self.value(m.subject), "</div>"]
        out.append("\n  ")
        if m.body:
            out += ['<div class="message-body mt-1">', self.value(m.body), "</div>"]
        out.append("\n  ")
        if m.signature:
            out += [
                '<div class="message-body message-signature small text-body-secondary mt-1" data-testid="signature" '
                'title="',
                t["Signature"],
                '">',
                self.value(m.signature),
                "</div>",
            ]
        out.append("\n  ")
        if m.absence_until and not deleted and self.may_record_absence:
            out += [
                '<form method="post" action="',
                url["message_absence"](m.pk),
                '" class="small mt-1" data-testid="absence-offer">',
                self.csrf,
                t["This reply says they are away until %(date)s."]
                % {"date": self.date(m.absence_until, self.short_date_format)},
                f' <button type="submit" class="{_BUTTON}">',
                t["Record the absence"],
                "</button></form>",
            ]
        out.append("\n  ")
        if m.html:
            out += [
                '<details class="small mt-1" data-testid="html-version"><summary class="text-body-secondary">',
                t["Show the formatted version"],
                '</summary><div class="mail-html border rounded p-2 mt-1">',
                mail_html(m.html),
                "</div></details>",
            ]
        out.append("\n  ")
        if m.quoted:
            out += [
                '<details class="small mt-1" data-testid="quoted"><summary class="text-body-secondary">',
                t["Show the whole mail, with the quoted history"],
                '</summary><div class="message-body mt-1 text-body-secondary">',
                self.value(m.quoted),
                "</div></details>",
            ]
        out.append("\n  ")
        attachments = m.attachments.all()
        if attachments:
            out.append('\n  <ul class="list-inline small mt-1 mb-0">\n    ')
            for a in attachments:
                out += [
                    '<li class="list-inline-item"><a href="',
                    url["attachment"](a.pk),
                    '">📎 ',
                    self.value(a.original_name),
                    '</a> <span class="text-body-secondary">(',
                    str(esc(filesizeformat(a.size))),
                    ")</span></li>",
                ]
            out.append("\n  </ul>\n  ")
        out.append('\n  <div class="small text-body-secondary mt-1">\n    ')
        if m.sender:
            out += [t["from %(sender)s"] % {"sender": self.value(m.sender)}, " · "]
        out.append("\n    ")
        if m.author:
            out += [t["logged by %(author)s"] % {"author": self.value(m.author.display_name)}, " · "]
        out += ["\n    ", self.source.get(m.source) or self.value(m.source), "\n  </div>\n  "]
        if deleted:
            out += [
                '\n  <div class="small text-danger mt-1" data-testid="deleted-marker">\n    ',
                t["Deleted by %(who)s on %(when)s; it does not count."]
                % {"who": self.who(m.deleted_by), "when": self.date(m.deleted_at, self.datetime_format)},
                "\n    ",
            ]
            if self.actions:
                out += [
                    '\n    <form method="post" action="',
                    url["message_restore"](m.pk),
                    '" class="d-inline">',
                    self.csrf,
                    f'\n      <button type="submit" class="{_BUTTON}">',
                    t["Restore"],
                    "</button>\n    </form>\n    ",
                ]
            out.append("\n  </div>\n  ")
        elif self.actions:
            out += [
                '\n  <div class="d-flex gap-3 small mt-1">\n    <a href="',
                url["message_edit"](m.pk),
                '">',
                t["Edit"],
                "</a>\n    ",
            ]
            if direction == "in" and not m.is_auto_reply:
                out += [
                    '\n    <form method="post" action="',
                    url["message_not_an_answer"](m.pk),
                    '">',
                    self.csrf,
                ]
                if m.not_an_answer:
                    out += [
                        '\n      <input type="hidden" name="not_an_answer" value="0">\n      '
                        f'<button type="submit" class="{_BUTTON}" data-testid="counts-as-answer">',
                        t["It is an answer after all"],
                        "</button>\n      ",
                    ]
                else:
                    out += [
                        '\n      <input type="hidden" name="not_an_answer" value="1">\n      '
                        f'<button type="submit" class="{_BUTTON}" data-testid="mark-not-an-answer" title="',
                        t[
                            "Off topic, or only “I will look at it”: the request stays open and its clock keeps running."
                        ],
                        '">',
                        t["Not an answer"],
                        "</button>",
                    ]
                out.append("\n    </form>\n    ")
            out += [
                '\n    <form method="post" action="',
                url["message_delete"](m.pk),
                '" data-confirm="',
                t["Delete this message? It stays in the history, struck through, and stops counting."],
                '">',
                self.csrf,
                f'\n      <button type="submit" class="{_BUTTON} text-danger">',
                t["Delete"],
                "</button>\n    </form>\n  </div>\n  ",
            ]
        out.append("\n</li>\n")
        return "".join(out)


@register.simple_tag(takes_context=True)
def message_rows(context: Context, messages: Iterable[Message], show_engagement: bool = False) -> SafeString:
    """Each message as a ``<li>`` of the log, as ``_message.html`` wrote them, with its actions."""
    return MessageRows(context, show_engagement=show_engagement).render(messages)
