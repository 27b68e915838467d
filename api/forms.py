from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import ApiToken
from outsourcing.models import Membership


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=50,
        help_text=_("Where the token is used, e.g. “Zapier” or “Reporting script”."),
    )
    access = forms.ChoiceField(
        label=_("Access"), choices=ApiToken.Access.choices, initial=ApiToken.Access.READ
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not membership.can_edit:
            # A viewer reads through the API as on the pages.
            cast(forms.ChoiceField, self.fields["access"]).choices = [
                (ApiToken.Access.READ, ApiToken.Access.READ.label)
            ]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
