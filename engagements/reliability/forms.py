"""The reliability pages' forms: the period and filters in the query string, and the providers to compare."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from engagements import queries
from engagements.reliability import metrics
from outsourcing.dates import BoundedDateField
from outsourcing.models import Workspace
from outsourcing.widgets import make_searchable
from providers.models import Category, Provider

# A custom period may reach back this far (the clock's own horizon is ten years).
MAX_CUSTOM_DAYS = 3660
MAX_COMPARED = 4


def client_choices(workspace: Workspace) -> list[tuple[str, str | Promise]]:
    """Every client name on the workspace's engagements, to filter by exactly that name."""
    return [("", _("All clients")), *((name, name) for name in queries.client_names(workspace))]


class ReliabilityFilterForm(forms.Form):
    """The period, and for the leaderboard the category, kind, client and order, all from the query string.

    Invalid input keeps what was typed, says what is wrong, and the page shows
    the default period meanwhile: a bad URL never breaks the page.
    """

    SORTS = {
        "score": _("Score"),
        "response_rate": _("Response rate"),
        "median": _("Median time to reply"),
        "on_time": _("On-time delivery"),
        "spend": _("Spend"),
        "name": _("Name"),
    }

    period = forms.ChoiceField(
        label=_("Period"),
        choices=[*metrics.PERIODS.items(), (metrics.CUSTOM, _("Custom dates"))],
        required=False,
        initial=metrics.DEFAULT_PERIOD,
    )
    start = BoundedDateField(label=_("From"), required=False)
    end = BoundedDateField(label=_("Until"), required=False)
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", _("All categories")), *Category.choices], required=False
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All kinds")), *Provider.Kind.choices], required=False
    )
    # The workspace's client names, set in __init__ (client_choices).
    client = forms.ChoiceField(label=_("Client"), choices=[("", _("All clients"))], required=False)
    owner = forms.TypedChoiceField(label=_("Owner"), choices=[("", _("Anyone"))], coerce=int, required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        choices=[(f"{sign}{key}", label) for key, label in SORTS.items() for sign in ("", "-")],
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        fields: Sequence[str] = ("period", "start", "end"),
        workspace: Workspace | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in fields and workspace is not None:
            owner_field: Any = self.fields["owner"]
            owner_field.choices = [
                ("", _("Anyone")),
                *((u.pk, u.display_name) for u in queries.workspace_members(workspace)),
            ]
        if "client" in fields and workspace is not None:
            cast(forms.ChoiceField, self.fields["client"]).choices = client_choices(workspace)
        if self.is_bound and not self.data.get("period"):
            # A query string with other filters only: show the period the page uses.
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict or a dict
            data["period"] = metrics.DEFAULT_PERIOD
            self.data = data
        for name in list(self.fields):
            if name not in fields:
                del self.fields[name]
        if "sort" in self.fields:
            # Chosen through the column headers; kept when the filters change.
            self.fields["sort"].widget = forms.HiddenInput()
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.form_class = "mb-3"
        self.helper.layout = Layout(
            Row(*(Column(name, css_class="col-sm-6 col-md") for name in fields if name != "sort")),
            *(["sort"] if "sort" in fields else []),
            StrictButton(_("Show"), type="submit", css_class="btn-primary btn-sm"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == metrics.CUSTOM:
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                if "start" in self.errors or "end" in self.errors:
                    return data  # a date out of range already says what is wrong
                raise ValidationError(_("Custom dates need a start and an end."))
            if end < start:
                raise ValidationError(_("The period ends before it starts."))
            if (end - start).days > MAX_CUSTOM_DAYS:
                raise ValidationError(_("A period can span at most ten years."))
            if start > timezone.localdate():
                raise ValidationError(_("The period starts in the future."))
        return data

    def period_key(self) -> str:
        key = self.cleaned_data.get("period") if self.is_valid() else ""
        return key or metrics.DEFAULT_PERIOD

    def get_period(self, now: datetime | None = None) -> metrics.Period:
        """The chosen period; the default one while the input is invalid."""
        key = self.period_key()
        if key == metrics.CUSTOM:
            return metrics.Period.custom(
                self.cleaned_data["start"], self.cleaned_data["end"], timezone.get_current_timezone()
            )
        return metrics.Period.standard(key, now)

    def value(self, name: str) -> Any:
        return (self.cleaned_data.get(name) or "") if self.is_valid() else ""


class CompareForm(forms.Form):
    """Two to four providers of the workspace, side by side."""

    providers = forms.ModelMultipleChoiceField(
        label=_("Providers"),
        queryset=Provider.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Choose two to four: type a name and press Enter."),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["providers"].queryset = Provider.objects.filter(workspace=workspace).order_by("name")  # type: ignore[attr-defined]
        make_searchable(self, ["providers"])

    def clean_providers(self) -> list[Provider]:
        chosen = list(self.cleaned_data["providers"])
        if not 2 <= len(chosen) <= MAX_COMPARED:
            raise ValidationError(_("Choose between two and four providers."))
        return chosen
