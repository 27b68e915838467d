"""A form's HTML as ``{% crispy form %}`` writes it (bootstrap5), without crispy's templates.

The lists' filter forms are a row of columns, one field each, a hidden sort and a button; the
engagement page's log form is rows and fields inside the page's own ``<form>`` (no form tag, no
token), with a date-and-time fieldset (a MultiWidget) and a file input.
Crispy renders each field through a large template (about half a millisecond a field, seven
fields on every list page); this writes the same markup in Python: the same wrapper, label,
widget classes and error and help text, the same whitespace once crispy's ``remove_spaces`` has
run over it (tests/outsourcing/test_filter_form_html.py and tests/engagements/test_log_form_html.py
render both and compare them). The widgets themselves are still Django's.

Only those shapes are written here; a form laid out otherwise (other layout objects, checkboxes,
radio buttons, a file input with a current file) is rendered by crispy itself.
"""

from __future__ import annotations

from typing import Any

from crispy_forms.bootstrap import StrictButton
from crispy_forms.layout import Column, Layout, Row
from crispy_forms.templatetags.crispy_forms_utils import remove_spaces
from django import forms
from django.conf import settings
from django.forms import BoundField
from django.template.defaultfilters import unordered_list
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from outsourcing.escaping import esc

# What crispy's bootstrap5 field template writes differently, or in a fieldset: left to crispy.
_OTHER_WIDGETS = (
    forms.CheckboxInput,
    forms.CheckboxSelectMultiple,
    forms.RadioSelect,
)


class NotPlain(Exception):
    """The form is laid out in a way only crispy's templates write."""


def _add_classes(widget: forms.Widget, names: tuple[str, ...]) -> None:
    """What ``{% crispy_field field 'class' '...' %}`` does to one widget: its own class name, then these."""
    class_name = widget.__class__.__name__.lower()
    converters = getattr(settings, "CRISPY_CLASS_CONVERTERS", {})
    class_name = converters.get(class_name, class_name)
    css_class = widget.attrs.get("class", "")
    if css_class:
        if css_class.find(class_name) == -1:
            css_class += f" {class_name}"
    else:
        css_class = class_name
    for name in names:
        if name not in css_class.split():
            css_class += f" {name}"
    widget.attrs["class"] = css_class


def _help_and_errors(field: BoundField) -> str:
    """``bootstrap5/layout/help_text_and_errors.html`` with inline errors and block help text."""
    html = ""
    if field.errors:
        field_id = esc(str(getattr(field.errors, "field_id", "")))
        html += f'\n    <div id="{field_id}_error" class="invalid-feedback">\n'
        for n, error in enumerate(field.errors, 1):
            html += (
                f'        <span id="error_{n}_{esc(field.auto_id)}">'
                f"<strong>{esc(str(error))}</strong></span>\n    \n"
            )
        html += "    </div>\n"
    if field.help_text:
        help_id = f'id="{esc(field.auto_id)}_helptext" ' if field.auto_id else ""
        html += f'\n        <div {help_id}class="form-text">{field.help_text}</div>\n'
    return html


def _file_input(field: BoundField) -> str:
    """``bootstrap5/layout/field_file.html`` for an input without a current file."""
    html = ""
    for subwidget in field.subwidgets:
        data = subwidget.data
        if data.get("is_initial"):
            raise NotPlain(field.name)
        attrs = data["attrs"]
        own_class = f" {esc(attrs['class'])}" if attrs.get("class") else ""
        invalid = " is-invalid" if field.errors else ""
        rest = "".join(
            f" {name}" if value is True else f' {name}="{escape(str(value))}"'
            for name, value in attrs.items()
            if value is not False and name != "class"
        )
        wrapper = ' class="is-invalid"' if field.errors else ""
        html += (
            f"\n<div{wrapper}>\n"
            f'    <input type="{esc(data["type"])}" name="{esc(data["name"])}" '
            f'class="form-control{own_class}{invalid}"{" disabled" if field.field.disabled else ""}{rest}>\n'
            f"    {_help_and_errors(field)}\n    \n</div>\n"
        )
    return html


def _field(field: BoundField) -> str:
    """``bootstrap5/field.html`` for a field without ``form-horizontal``, wrapper, label or field class."""
    widget = field.field.widget
    if field.is_hidden:
        return f"\n    {field}\n\n"
    errors = field.errors
    is_file = isinstance(widget, forms.FileInput)
    if not is_file:
        # crispy_field: Bootstrap's class on the widget (on each of a MultiWidget's), is-invalid on errors.
        bootstrap = "form-select" if isinstance(widget, forms.Select) else "form-control"
        for each in getattr(widget, "widgets", [widget]):
            _add_classes(each, (bootstrap, "is-invalid") if errors else (bootstrap,))
    required = field.field.required
    css_classes = field.css_classes()
    html = f'\n    <div id="div_{field.auto_id}" class="mb-3{f" {css_classes}" if css_classes else ""}">\n'
    fieldset = field.use_fieldset and bool(field.label)
    if field.label:
        for_label = f'for="{esc(field.id_for_label)}"' if field.id_for_label else ""
        required_class, asterisk = (
            (" requiredField", '<span class="asteriskField">*</span>') if required else ("", "")
        )
        tag = "legend" if fieldset else "label"
        if fieldset:
            described = field.aria_describedby
            described_by = f' aria-describedby="{esc(described)}"' if described else ""
            html += f"            <fieldset{described_by}>"
        html += (
            f"\n            <{tag}\n                {for_label} "
            f'class="form-label{required_class}{" fs-6" if fieldset else ""}">\n'
            f"                {esc(field.label)}{asterisk}\n            </{tag}>\n"
        )
    if is_file:
        html += "\n                    " + _file_input(field)
    else:
        html += f"\n                    {field}\n" + _help_and_errors(field)
    if fieldset:
        html += "\n        </fieldset>"
    return html + "\n    </div>\n    \n"


def _column(form: forms.BaseForm, column: Column) -> str:
    css_id = f'id="{esc(column.css_id)}"' if column.css_id else ""
    css_class = column.css_class or ""
    css = css_class if "col" in css_class else f"col-md {css_class}"
    fields = "".join(_layout_item(form, item) for item in column.fields)
    return f'<div {css_id}\n     class="{esc(css)}" {column.flat_attrs}>\n        {fields}\n</div>\n    \n'


def _row(form: forms.BaseForm, row: Row) -> str:
    css_id = f'id="{esc(row.css_id)}"' if row.css_id else ""
    fields = "".join(
        _column(form, item) if isinstance(item, Column) else _layout_item(form, item) for item in row.fields
    )
    return f'<div {css_id} class="row {esc(row.css_class or "")}" {row.flat_attrs}>\n  {fields}\n</div>\n'


def _layout_item(form: forms.BaseForm, item: object) -> str:
    if isinstance(item, str):
        field = form[item]
        widget = field.field.widget
        if isinstance(widget, _OTHER_WIDGETS) or (
            field.use_fieldset and not isinstance(widget, forms.MultiWidget)
        ):
            raise NotPlain(item)
        return _field(field)
    if isinstance(item, Row) and type(item) is Row:
        return _row(form, item)
    if (
        isinstance(item, StrictButton)
        and type(item) is StrictButton
        and item.template == StrictButton.template
    ):
        return f"<button {item.flat_attrs}>{item.content}</button>\n"
    raise NotPlain(type(item).__name__)


def filter_form_html(form: forms.BaseForm) -> SafeString | None:
    """``{% crispy form %}``'s HTML for a plain layout (a GET filter form, the log form); None when crispy must write it."""
    helper: Any = getattr(form, "helper", None)
    if helper is None or not isinstance(helper.layout, Layout):
        return None
    items = helper.get_attributes(template_pack="bootstrap5")
    if (
        getattr(settings, "CRISPY_TEMPLATE_PACK", "") != "bootstrap5"
        or helper.template
        or items["field_template"] != "bootstrap5/field.html"
        # A form tag only for GET (no token, no enctype); without one, no token either.
        or (items["form_tag"] and (items["form_method"].lower() != "get" or form.is_multipart()))
        or (items["form_method"].lower() != "get" and not items["disable_csrf"])
        or items["form_show_labels"] is not True
        or not items["form_show_errors"]
        or not items["error_text_inline"]
        or items["help_text_inline"]
        or items["label_class"]
        or items["field_class"]
        or items.get("wrapper_class")
        or items.get("inputs")
        or items["form_error_title"]
        or helper.render_unmentioned_fields
        or helper.render_hidden_fields
        or "form-horizontal" in helper.form_class
    ):
        return None
    try:
        body = "".join(_layout_item(form, item) for item in helper.layout.fields)
    except NotPlain:
        return None
    errors = ""
    if form.non_field_errors():
        errors = (
            '\n    <div class="alert alert-block alert-danger">\n        \n        <ul class="m-0">\n'
            f"            {unordered_list(form.non_field_errors(), autoescape=True)}\n        </ul>\n    </div>\n"
        )
    media = str(form.media) if items["include_media"] else ""
    html = f"\n    \n\n    \n    {media}\n    {errors}\n    {body}\n\n\n\n"
    if items["form_tag"]:
        html = f'<form {items["flat_attrs"]} method="{items["form_method"]}" >{html}</form>'
    # Crispy's whitespace rule over all of it (the widgets' own HTML too), and the line breaks
    # around it that its template leaves.
    return mark_safe(f"\n\n{remove_spaces(html.strip())}\n")  # nosec B308 B703
