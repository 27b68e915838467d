"""The report settings form: what, for whom, how often, in which language and zone."""

from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from engagements import queries
from engagements.models import ReliabilityReport
from outsourcing import zones
from outsourcing.forms import typed_addresses
from outsourcing.models import User, Workspace
from outsourcing.widgets import make_searchable

# Addresses outside the workspace a report may go to (a list, not a mailing list).
MAX_EXTRA_ADDRESSES = 20


class ReportForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        label=_("Members who receive it"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"), help_text=ReliabilityReport._meta.get_field("time_zone").help_text
    )

    class Meta:
        model = ReliabilityReport
        fields = (
            "name",
            "frequency",
            "client_name",
            "language",
            "time_zone",
            "members",
            "extra_addresses",
            "enabled",
        )
        widgets = {"extra_addresses": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = queries.workspace_members(workspace)  # type: ignore[attr-defined]
        self.fields["members"].label_from_instance = lambda user: user.display_name  # type: ignore[attr-defined]
        current = self.data.get("time_zone", "") if self.is_bound else self.initial.get("time_zone", "")
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = zones.time_zone_choices(keep=str(current))
        # The workspace's client names as suggestions: the filter matches them exactly.
        self.fields["client_name"].widget.attrs["list"] = "report-client-names"
        self.client_names = queries.client_names(workspace)
        make_searchable(self, ["time_zone"])
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Save")))

    def clean_time_zone(self) -> str:
        value = str(self.cleaned_data.get("time_zone") or "")
        if not zones.is_known(value):
            raise ValidationError(_("Choose a time zone from the list."))
        return value

    def clean_extra_addresses(self) -> str:
        """One address per line (commas and semicolons too); every bad one named, nothing dropped."""
        addresses, bad = typed_addresses(self.cleaned_data.get("extra_addresses", ""))
        if bad:
            raise ValidationError(
                _("Not an e-mail address: %(addresses)s. Write one address per line."),
                params={"addresses": ", ".join(bad)},
            )
        if len(addresses) > MAX_EXTRA_ADDRESSES:
            raise ValidationError(_("At most %(n)d other addresses."), params={"n": MAX_EXTRA_ADDRESSES})
        return "\n".join(addresses)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            not self.errors
            and not data.get("members")
            and not data.get("extra_addresses")
            and data.get("enabled")
        ):
            raise ValidationError(_("Choose at least one member or write an address to send it to."))
        return data
