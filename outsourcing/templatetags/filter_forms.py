"""``{% filter_form form %}``: a list's filter form as ``{% crispy form %}`` writes it, faster.

``{% form_html form %}`` is the same tag under a name that fits the other form it writes, the
engagement page's log form.
"""

from __future__ import annotations

from functools import cache

from django import forms, template
from django.template.context import Context
from django.utils.safestring import SafeString

from outsourcing.filter_form_html import filter_form_html

register = template.Library()


@cache
def _crispy() -> template.Template:
    return template.Template("{% load crispy_forms_tags %}{% crispy form %}")


@register.simple_tag(takes_context=True)
def filter_form(context: Context, form: forms.BaseForm) -> SafeString:
    """The form written in Python when it has a filter form's plain layout, by crispy otherwise."""
    html = filter_form_html(form)
    if html is not None:
        return html
    with context.push(form=form):
        return _crispy().render(context)


@register.simple_tag(takes_context=True)
def form_html(context: Context, form: forms.BaseForm) -> SafeString:
    """``filter_form`` for a form that filters nothing (the log form): crispy's markup, written in Python."""
    return filter_form(context, form)
