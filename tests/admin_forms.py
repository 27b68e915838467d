"""What a browser would post back from an admin change page, read from the page's forms."""

from __future__ import annotations

from typing import Any

from django import forms


def _form_data(form: forms.BaseForm) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for bound in form:
        widget, value = bound.field.widget, bound.value()
        if isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, part_widget, part in zip(widget.widgets_names, widget.widgets, parts, strict=True):
                data[bound.html_name + suffix] = part_widget.format_value(part) or ""
        elif isinstance(widget, forms.SelectMultiple):
            data[bound.html_name] = [str(v) for v in value or []]
        else:
            formatted = widget.format_value(value)
            data[bound.html_name] = "" if formatted is None else formatted
    return data


def admin_form_data(response, **changes: Any) -> dict[str, Any]:
    """The change form's current values with its inline formsets, then ``changes`` on top."""
    context = response.context
    data = _form_data(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    data.update(changes)
    return data
