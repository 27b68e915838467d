"""The lists' filter forms written in Python read exactly as ``{% crispy form %}`` wrote them."""

from __future__ import annotations

import pytest
from crispy_forms.layout import Div, Layout
from django import forms
from django.http import QueryDict
from django.template import Context, Template
from django.utils import translation

from engagements.forms import EngagementFilterForm
from engagements.reliability.forms import ReliabilityFilterForm
from outsourcing.filter_form_html import filter_form_html
from tests.factories import EngagementFactory, ProviderFactory

CRISPY = Template("{% load crispy_forms_tags %}{% crispy form %}")
TAG = Template("{% load filter_forms %}{% filter_form form %}")


def list_form(team, query: str) -> forms.Form:
    return EngagementFilterForm(QueryDict(query), workspace=team.workspace)


def leaderboard_form(team, query: str) -> forms.Form:
    return ReliabilityFilterForm(
        QueryDict(query) or None,
        fields=("period", "start", "end", "category", "kind", "client", "sort"),
        workspace=team.workspace,
    )


def dashboard_form(team, query: str) -> forms.Form:
    return ReliabilityFilterForm(
        QueryDict(query) or None,
        fields=("period", "start", "end", "category", "owner"),
        workspace=team.workspace,
    )


def scorecard_form(team, query: str) -> forms.Form:
    return ReliabilityFilterForm(
        QueryDict(query) or None, fields=("period", "start", "end", "client"), workspace=team.workspace
    )


QUERIES = {
    list_form: [
        "",
        "q=x%26<y>&status=zzz&status=draft&sort=-due",
        "provider=999999&owner=me&awaiting=yes&category=zz",
        "q=" + "x" * 300,
    ],
    leaderboard_form: [
        "",
        "period=custom&start=2026-01-01",
        "period=custom&start=2026-02-01&end=2026-01-01&kind=agency&sort=-score",
        "start=garbage&period=xx&client=%3Cb%3E",
    ],
    dashboard_form: [
        "",
        "period=custom&start=2026-01-01&owner=999999",
        "period=365&category=zz&end=garbage",
    ],
    scorecard_form: [
        "",
        "period=custom&start=2026-02-01&end=2026-01-01&client=Smith+%26+Co",
        "period=xx&client=%3Cb%3E",
    ],
}


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("make", [list_form, leaderboard_form, dashboard_form, scorecard_form])
def test_a_filter_form_renders_what_crispy_did(team, language, make):
    provider = ProviderFactory(workspace=team.workspace, name="O'Brien & <Sons>")
    EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, client_name="Smith & Co")
    for query in QUERIES[make]:
        with translation.override(language):
            # Crispy adds classes to the widgets as it draws them: each gets a form of its own.
            before = CRISPY.render(Context({"form": make(team, query)}))
            after = TAG.render(Context({"form": make(team, query)}))
        assert after == before, query
        assert filter_form_html(make(team, query)) is not None


class Other(forms.Form):
    agree = forms.BooleanField(label="Agree <now>", required=True)
    name = forms.CharField(label="Name", help_text="Your <b>name</b>")

    def __init__(self, *args, **kwargs):
        from crispy_forms.helper import FormHelper

        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"


def test_a_form_of_another_shape_is_left_to_crispy(db):
    form = Other({"name": "x"})
    form.helper.layout = Layout("name", "agree")
    assert filter_form_html(form) is None  # a checkbox
    form = Other({"name": "x"})
    form.helper.layout = Layout(Div("name"))
    assert filter_form_html(form) is None  # a layout object it does not write

    def posted() -> Other:
        form = Other({"name": "x"})
        form.helper.layout = Layout("name")
        form.helper.form_method = "post"
        form.helper.disable_csrf = True
        return form

    assert filter_form_html(posted()) is None
    assert TAG.render(Context({"form": posted()})) == CRISPY.render(Context({"form": posted()}))


def test_help_text_and_required_fields_read_as_crispy_writes_them(db):
    def make() -> Other:
        form = Other({"name": ""})
        form.helper.layout = Layout("name")
        return form

    before = CRISPY.render(Context({"form": make()}))
    after = filter_form_html(make())
    assert after == before
    assert 'class="asteriskField"' in after and "Your <b>name</b>" in after and "invalid-feedback" in after
