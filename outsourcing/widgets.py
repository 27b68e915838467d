"""Searchable selects: Tom Select (npm, served from static/vendor) on long and multiple selects.

The widgets are plain ``<select>`` elements marked ``data-widget="tom-select"``; their Media
loads Tom Select and ``js/widgets.js``, which turns every marked select into a searchable one
(on page load and after each htmx swap). Without JavaScript the native select still works.
Pages render ``{{ form.media.css }}`` in the head block and ``{{ form.media.js }}`` in the
scripts block, so only pages with such a select load the library.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

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
