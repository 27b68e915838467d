"""Forms of the saved views: Needs attention's filter, saving a view, renaming or sharing one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.models import SavedView
from outsourcing.models import Workspace

# Needs attention's orders: the most overdue first (the default, no key), or
# the least likely to be answered first (engagements.reliability.outlook).
ATTENTION_ORDER_NEVER = "never"


class AttentionFilterForm(forms.Form):
    """What Needs attention can be narrowed to (GET): one's own engagements; and its order."""

    mine = forms.ChoiceField(required=False, choices=[("", _("Everyone's")), ("1", _("Only mine"))])
    order = forms.ChoiceField(
        required=False,
        choices=[("", _("Most overdue")), (ATTENTION_ORDER_NEVER, _("Least likely to answer"))],
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class SavedViewForm(forms.Form):
    """A view's name and whether the workspace sees it; the service checks the rest."""

    name = forms.CharField(
        label=_("Name"),
        max_length=SavedView.NAME_MAX,
        error_messages={
            "required": _("Give the view a name."),
            "max_length": _("At most %(limit_value)d characters, please."),
        },
    )
    shared = forms.BooleanField(label=_("Share with the workspace"), required=False)

    def __init__(self, *args: Any, can_share: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_share:
            # A viewer's views stay private: the box is shown off and disabled, what is posted ignored.
            self.fields["shared"].disabled = True
            self.fields["shared"].help_text = _("Viewers keep their views private.")


class SaveViewForm(SavedViewForm):
    """“Save this view”: the name, sharing, and the page and query string it was posted from."""

    page = forms.ChoiceField(choices=SavedView.Page.choices, widget=forms.HiddenInput)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
