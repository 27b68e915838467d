"""Searchable selects: Tom Select (npm, served from static/vendor) on long and multiple selects.

The widgets are plain ``<select>`` elements marked ``data-widget="tom-select"``; their Media
loads Tom Select and ``js/widgets.js``, which turns every marked select into a searchable one
(on page load and after each htmx swap). Without JavaScript the native select still works.
Pages render ``{{ form.media.css }}`` in the head block and ``{{ form.media.js }}`` in the
scripts block, so only pages with such a select load the library.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape  # Django's escape() is this, behind a lazy-string wrapper that costs more
from typing import Any

from django import forms
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from outsourcing.form_renderer import attributes

MEDIA = forms.Media(
    css={"all": ["vendor/tom-select/css/tom-select.bootstrap5.min.css"]},
    js=["vendor/tom-select/js/tom-select.complete.min.js", "js/widgets.js"],
)


def _searchable_attrs(attrs: dict[str, Any] | None) -> dict[str, Any]:
    return {
        **(attrs or {}),
        "data-widget": "tom-select",
        # Read by widgets.js: Tom Select's own texts are English only.
        "data-no-results": _("Nothing matches."),
        "data-remove-label": _("Remove"),
    }


class SearchableSelect(forms.Select):
    """A single select one can type into to find an option (time zone, currency, country)."""

    def __init__(self, attrs: dict[str, Any] | None = None, choices: Any = ()) -> None:
        super().__init__(_searchable_attrs(attrs), choices)

    @property
    def media(self) -> forms.Media:
        return MEDIA


class SearchableSelectMultiple(forms.SelectMultiple):
    """Several values picked by typing and Enter (or clicking), no Ctrl-click needed."""

    def __init__(self, attrs: dict[str, Any] | None = None, choices: Any = ()) -> None:
        super().__init__(_searchable_attrs(attrs), choices)

    @property
    def media(self) -> forms.Media:
        return MEDIA


def make_searchable(form: forms.BaseForm, names: Iterable[str]) -> None:
    """Give the form's select fields ``names`` a searchable widget, keeping their choices and attributes."""
    for name in names:
        field = form.fields[name]
        old = field.widget
        widget_class = SearchableSelectMultiple if isinstance(old, forms.SelectMultiple) else SearchableSelect
        widget = widget_class(attrs=old.attrs)
        widget.choices = getattr(field, "choices", getattr(old, "choices", []))
        widget.is_required = old.is_required
        field.widget = widget


class QuickSelect(forms.Select):
    """A select whose options are written in Python, not one template each: the same markup.

    Django draws every option through two templates, and builds a dict of attributes per
    option before that; a workspace's thousand providers in a filter made that most of a list
    page's time. Here each option is one escaped string. Optgroups are kept; attributes as
    Django's ``attrs.html`` writes them (``True`` as a bare name, ``False`` left out).
    """

    def use_required_attribute(self, initial: Any) -> bool:
        # Django reads the first option to decide, which for lazy choices reads them all once
        # more; the answer only counts for a required field (BoundField.build_widget_attrs).
        return self.is_required and super().use_required_attribute(initial)

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = set(self.format_value(value))
        has_selected = False
        parts: list[str] = [
            f'<select name="{escape(str(name))}"{attributes(self.build_attrs(self.attrs, attrs))}>'
        ]
        # As Select.optgroups: a None value is "", and a single select selects its first match only.
        for option_value, option_label in self.choices:
            grouped = isinstance(option_label, (list, tuple))
            if grouped:
                parts.append(f'\n  <optgroup label="{escape(str(option_value))}">')
            for value_, label in option_label if grouped else [(option_value, option_label)]:
                text = str("" if value_ is None else value_)
                selected = (not has_selected or self.allow_multiple_selected) and text in chosen
                has_selected |= selected
                parts.append(
                    f'\n  <option value="{escape(text)}"{" selected" if selected else ""}>{escape(str(label))}</option>'
                )
            if grouped:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # nosec B308 B703  # every value and label escaped above
