"""The form renderer writes its widgets as Django's templates do, byte for byte, and leaves the rest to them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from hypothesis import given, settings
from hypothesis import strategies as st

from outsourcing.form_renderer import WRITERS, NotWritten, WidgetRenderer
from outsourcing.widgets import SearchableSelect, SearchableSelectMultiple

TEMPLATES = DjangoTemplates()


def _both(
    widget: forms.Widget, name: str, value: Any, attrs: dict[str, Any] | None = None
) -> tuple[str, str]:
    """The widget as Django's templates write it, and as the writer for its template does."""
    template_name = widget.template_name
    assert template_name is not None
    context = widget.get_context(name, value, attrs)
    expected = TEMPLATES.render(template_name, context)
    return expected, WRITERS[template_name](context["widget"])


AWKWARD = "Tom & <Jerry> \"quoted\" 'single' ü ß € \u00a0 {{ x }}"

CASES: list[tuple[str, forms.Widget, Any, dict[str, Any] | None]] = [
    ("text, empty", forms.TextInput(), None, None),
    ("text, empty string", forms.TextInput(), "", None),
    ("text, awkward value", forms.TextInput(attrs={"placeholder": AWKWARD}), AWKWARD, {"id": "id_q"}),
    ("text, boolean attributes", forms.TextInput(attrs={"required": True, "disabled": False}), "x", None),
    ("text, None and number attributes", forms.TextInput(attrs={"data-x": None, "maxlength": 200}), 0, None),
    ("text, lazy attribute", forms.TextInput(attrs={"placeholder": _("Search")}), None, None),
    ("text, safe value", forms.TextInput(), mark_safe("<b>&amp;</b>"), None),
    ("hidden", forms.HiddenInput(), "-title", None),
    ("number", forms.NumberInput(attrs={"step": "0.01", "min": 0}), 12.5, None),
    ("email", forms.EmailInput(), "a@example.com", {"autocomplete": "email"}),
    ("password", forms.PasswordInput(render_value=True), "secret", None),
    ("url", forms.URLInput(), "https://example.com/?a=1&b=2", None),
    ("date", forms.DateInput(attrs={"type": "date"}), datetime.date(2026, 12, 6), None),
    ("time", forms.TimeInput(), datetime.time(9, 30), None),
    (
        "datetime-local",
        forms.DateTimeInput(attrs={"type": "datetime-local"}),
        datetime.datetime(2026, 1, 2, 3, 4),
        None,
    ),
    ("checkbox, checked", forms.CheckboxInput(), True, {"id": "id_c"}),
    ("checkbox, unchecked", forms.CheckboxInput(), False, None),
    ("file", forms.FileInput(attrs={"accept": ".eml,.msg"}), None, None),
    ("textarea, empty", forms.Textarea(), None, None),
    ("textarea, awkward", forms.Textarea(attrs={"rows": 3}), AWKWARD + "\n\nsecond line  ", None),
    ("textarea, safe", forms.Textarea(), mark_safe("<i>x</i>"), None),
    (
        "select, plain",
        forms.Select(choices=[("", "Any"), ("a", "Alpha"), ("b", AWKWARD)]),
        "b",
        {"id": "id_s", "class": "form-select"},
    ),
    ("select, nothing chosen", forms.Select(choices=[("x", _("Anyone")), ("me", _("Me"))]), None, None),
    (
        "select, groups",
        forms.Select(
            choices=[("", "—"), ("Fruit & veg", [("1", "Apple"), ("2", "Kale")]), ("Other", [(3, "Tea")])]
        ),
        "2",
        None,
    ),
    (
        "select multiple",
        forms.SelectMultiple(
            attrs={"size": 3}, choices=[("draft", _("Draft")), ("done", "Done"), ("x", "<x>")]
        ),
        ["draft", "x"],
        {"required": True},
    ),
    ("searchable select", SearchableSelect(choices=[("EUR", "Euro"), ("USD", "US-Dollar")]), "EUR", None),
    ("searchable multiple", SearchableSelectMultiple(choices=[(1, "One"), (2, "Two")]), [2], None),
    ("null boolean", forms.NullBooleanSelect(), True, None),
    (
        "split date and time",
        forms.SplitDateTimeWidget(),
        datetime.datetime(2026, 12, 6, 15, 4),
        {"id": "id_at"},
    ),
    (
        "split date and time, typed inputs",
        forms.SplitDateTimeWidget(date_attrs={"type": "date"}, time_attrs={"type": "time"}),
        None,
        None,
    ),
    ("split hidden date and time", forms.SplitHiddenDateTimeWidget(), datetime.datetime(2026, 1, 1), None),
    ("multiple hidden", forms.MultipleHiddenInput(), ["a", "b&c"], {"id": "id_h"}),
]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(("case", "widget", "value", "attrs"), CASES, ids=[c[0] for c in CASES])
def test_each_widget_is_written_as_djangos_templates_write_it(language, case, widget, value, attrs):
    with translation.override(language):
        expected, written = _both(widget, "field", value, attrs)
    assert written == expected


def test_a_model_choice_select_writes_its_options_values_as_the_template_does(db, team):
    from providers.models import Provider
    from tests.factories import ProviderFactory

    chosen = ProviderFactory(workspace=team.workspace, name="Ada & Co <Ltd>")
    ProviderFactory(workspace=team.workspace, name="Bea")
    field = forms.ModelChoiceField(
        queryset=Provider.objects.filter(workspace=team.workspace).order_by("name")
    )
    expected, written = _both(field.widget, "provider", chosen.pk)
    assert f'value="{chosen.pk}" selected' in written
    assert written == expected


@settings(max_examples=150, deadline=None)
@given(
    value=st.text(max_size=30),
    attribute=st.text(max_size=20),
    labels=st.lists(st.text(max_size=15), min_size=1, max_size=5),
)
def test_any_text_is_written_as_the_templates_write_it(value, attribute, labels):
    choices = [(str(i), label) for i, label in enumerate(labels)]
    for widget, shown in (
        (forms.TextInput(attrs={"title": attribute}), value),
        (forms.Textarea(attrs={"title": attribute}), value),
        (forms.Select(attrs={"title": attribute}, choices=choices), "0"),
        (forms.Select(choices=[(value, [*choices])]), "0"),
    ):
        expected, written = _both(widget, "name", shown)
        assert written == expected


def test_what_it_does_not_write_the_same_way_goes_to_the_templates():
    number_labels = forms.Select(choices=[(1, 1), (2, 2)])
    context = number_labels.get_context("n", 1, None)
    with pytest.raises(NotWritten):
        WRITERS[number_labels.template_name](context["widget"])
    # The renderer then renders the template: the same HTML all the same.
    assert WidgetRenderer().render(number_labels.template_name, context) == TEMPLATES.render(
        number_labels.template_name, context
    )
    radios = forms.RadioSelect(choices=[("a", "A")])
    assert radios.template_name not in WRITERS
    assert radios.render("r", "a", renderer=WidgetRenderer()) == radios.render("r", "a", renderer=TEMPLATES)


def test_forms_render_with_the_widget_renderer():
    assert isinstance(get_default_renderer(), WidgetRenderer)
    assert isinstance(forms.Form().renderer, WidgetRenderer)
