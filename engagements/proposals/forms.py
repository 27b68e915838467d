"""The owner's form for declining a proposed due date (accepting needs none)."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.models import DueDateProposal
from engagements.proposals.services import REASON_MAX


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        help_text=_("The provider reads it in the mail telling them."),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @staticmethod
    def prefix_for(proposal_pk: int) -> str:
        # One form per pending proposal on the page: each needs ids of its own.
        return f"decline-{proposal_pk}"


def with_decline_forms(proposals: Sequence[DueDateProposal]) -> Sequence[DueDateProposal]:
    """Give each pending proposal its empty decline form (``decline_form``), for the engagement page."""
    for proposal in proposals:
        if proposal.state == DueDateProposal.State.PENDING:
            proposal.decline_form = DeclineForm(prefix=DeclineForm.prefix_for(proposal.pk))  # type: ignore[attr-defined]
    return proposals
