"""Searchable selects: which fields get Tom Select, and that only their pages load it."""

from __future__ import annotations

import pytest

from engagements.forms import EngagementFilterForm, EngagementForm
from engagements.reliability.forms import CompareForm
from outsourcing.forms import ProfileForm
from providers.forms import PolicyForm, ProviderForm
from providers.models import Provider, ResponsePolicy

TOM_SELECT_JS = "vendor/tom-select/js/tom-select.complete.min.js"


def _searchable(form) -> set[str]:
    return {
        name for name, field in form.fields.items() if field.widget.attrs.get("data-widget") == "tom-select"
    }


@pytest.mark.django_db
def test_every_multi_select_and_long_select_is_searchable(team):
    workspace = team.workspace
    assert _searchable(ProviderForm(instance=Provider(workspace=workspace))) == {
        "country",
        "time_zone",
        "languages",
        "rate_currency",
    }
    assert _searchable(PolicyForm(instance=ResponsePolicy(workspace=workspace))) == {
        "time_zone",
        "holiday_country",
    }
    assert _searchable(EngagementForm(workspace=workspace)) == {"fee_currency"}
    assert _searchable(EngagementFilterForm(workspace=workspace)) == {"status"}
    assert _searchable(CompareForm(workspace=workspace)) == {"providers"}
    assert _searchable(ProfileForm()) == {"time_zone"}


@pytest.mark.django_db
def test_the_searchable_widget_keeps_the_choices_and_loads_tom_select(team):
    form = ProviderForm(instance=Provider(workspace=team.workspace))
    html = str(form["languages"])
    assert 'data-widget="tom-select"' in html
    assert "multiple" in html
    assert '<option value="de">German</option>' in html
    assert TOM_SELECT_JS in str(form.media)
    assert "js/widgets.js" in str(form.media)


def test_pages_without_a_searchable_select_do_not_load_tom_select(team):
    page = (
        team.client_for(team.alice).get(f"/w/{team.workspace.slug}/engagements/attention/").content.decode()
    )
    assert "tom-select" not in page
    page = team.client_for(team.alice).get(f"/w/{team.workspace.slug}/providers/new/").content.decode()
    assert TOM_SELECT_JS in page
    assert "tom-select.bootstrap5.min.css" in page


def test_tom_select_is_loaded_once_per_page(team):
    for path in ("providers/new/", "engagements/", "settings/"):
        page = team.client_for(team.alice).get(f"/w/{team.workspace.slug}/{path}").content.decode()
        assert page.count(TOM_SELECT_JS) == 1, path
        assert page.count("tom-select.bootstrap5.min.css") == 1, path


@pytest.mark.parametrize("value", ["1", "3", None])
def test_the_quick_select_writes_the_markup_djangos_select_writes(value):
    from django import forms

    from outsourcing.widgets import QuickSelect

    choices = [("", "Any"), ("1", "Ada & <Co>"), ("Agencies", [("2", "Bo"), ("3", 'Cy "C"')])]
    attrs = {"class": "form-select", "data-on": True, "data-off": False}

    def drawn(widget_class) -> str:
        html = widget_class(attrs=attrs, choices=choices).render(
            "provider", value, attrs={"id": "id_provider"}
        )
        return "\n".join(line for line in html.splitlines() if line.strip())  # Django's has blank lines

    assert drawn(QuickSelect) == drawn(forms.Select)
