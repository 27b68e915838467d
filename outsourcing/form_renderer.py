"""Django's form renderer, with its commonest widget templates written in Python.

Every ``{{ field }}`` renders its widget through a template: an input is two templates
(``text.html`` includes ``input.html``, which includes ``attrs.html``), a select one more per
option. The lists' filter forms and the log form draw a dozen widgets on every page; under load
their templates took about a tenth of the web workers' time. ``WidgetRenderer`` writes the same
HTML for the input family, ``<select>`` and ``<textarea>``, byte for byte as Django's templates
do (tests/outsourcing/test_form_renderer.py renders both and compares them), and hands every
other template, and any value it does not write the same way, to Django's templates.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape  # Django's escape() is this, behind a lazy-string wrapper that costs more
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.html import strip_spaces_between_tags
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
# Templates that are only {% include "django/forms/widgets/input.html" %} (and a newline).
INPUTS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "input",
        "text",
        "hidden",
        "email",
        "number",
        "password",
        "search",
        "tel",
        "url",
        "date",
        "datetime",
        "time",
        "color",
        "checkbox",
        "file",
    )
)
OPTION = f"{WIDGETS}select_option.html"


class NotWritten(Exception):
    """A value the templates would write in a way this module does not: they write it instead."""


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: str() of anything, escaped unless it is marked safe."""
    if callable(value):  # the template would call it
        raise NotWritten
    text = str(value)
    return text if isinstance(value, SafeData) else escape(text)


def _text(value: Any) -> str:
    """``{{ value }}`` of a string: escaped unless safe (other types the templates localize)."""
    if isinstance(value, SafeData):
        return str(value)
    if isinstance(value, str | Promise):
        return escape(str(value))
    raise NotWritten


def attributes(attrs: dict[str, Any]) -> str:
    """``attrs.html``: each attribute escaped, ``True`` as a bare name, ``False`` left out."""
    html = ""
    for name, value in attrs.items():
        if value is False:
            continue
        html += f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
    return html


def _input(widget: dict[str, Any]) -> str:
    """``input.html``."""
    value = widget["value"]
    shown = f' value="{_formatted(value)}"' if value is not None else ""
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}{attributes(widget["attrs"])}>'


def _select(widget: dict[str, Any]) -> str:
    """``select.html`` with ``select_option.html`` for each option (each include keeps its newline)."""
    html = f'<select name="{_text(widget["name"])}"{attributes(widget["attrs"])}>'
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            html += f'\n  <optgroup label="{_text(group_name)}">'
        for option in group_choices:
            if option["template_name"] != OPTION:
                raise NotWritten
            html += (
                f'\n  <option value="{_formatted(option["value"])}"{attributes(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group_name:
            html += "\n  </optgroup>"
    return html + "\n</select>"


def _textarea(widget: dict[str, Any]) -> str:
    """``textarea.html``."""
    value = widget["value"]
    return f'<textarea name="{_text(widget["name"])}"{attributes(widget["attrs"])}>\n{_text(value) if value else ""}</textarea>'


def _multiwidget(widget: dict[str, Any]) -> str:
    """``multiwidget.html``: its subwidgets' templates, each with its newlines, inside ``{% spaceless %}``."""
    parts = []
    for sub in widget["subwidgets"]:
        if sub["template_name"] not in INPUTS:
            raise NotWritten
        # input.html's newline, and the including template's (unless it is input.html itself).
        parts.append(_input(sub) + ("\n" if sub["template_name"] == f"{WIDGETS}input.html" else "\n\n"))
    return strip_spaces_between_tags("".join(parts).strip())


WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    **dict.fromkeys(INPUTS, _input),
    f"{WIDGETS}select.html": _select,
    f"{WIDGETS}textarea.html": _textarea,
    f"{WIDGETS}multiwidget.html": _multiwidget,
    f"{WIDGETS}splitdatetime.html": _multiwidget,
    f"{WIDGETS}splithiddendatetime.html": _multiwidget,
    f"{WIDGETS}multiple_hidden.html": _multiwidget,
}


class WidgetRenderer(DjangoTemplates):
    """``FORM_RENDERER``: Django's templates, with the commonest widgets written by ``WRITERS``."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        writer = WRITERS.get(template_name)
        if writer is not None and "widget" in context:
            try:
                return writer(context["widget"])
            except NotWritten:
                pass
        return super().render(template_name, context, request)
