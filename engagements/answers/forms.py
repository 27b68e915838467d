"""The answer page's forms: plain HTML forms that work without JavaScript."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.answers.services import QUESTION_MAX, REASON_MAX


class ProposeForm(forms.Form):
    proposed_on = forms.DateField(
        label=_("New delivery date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(
        label=_("Why does the date move?"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class QuestionForm(forms.Form):
    question = forms.CharField(
        label=_("Your question"), max_length=QUESTION_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )


class DeliverForm(forms.Form):
    note = forms.CharField(
        label=_("A note (optional)"),
        required=False,
        max_length=QUESTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    file = forms.FileField(label=_("The file (optional)"), required=False)
