"""The compose form: a request or follow-up to the provider, sent by ``outbound.mail_send``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from crispy_forms.bootstrap import InlineCheckboxes, InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from engagements.mail.outbound import KINDS, MAX_CC, SUBJECT_MAX
from engagements.models import Message
from outsourcing.forms import typed_addresses


# Addresses in the Cc field may be separated by commas, semicolons or spaces.
class ComposeForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(kind.value, kind.label) for kind in KINDS],
        widget=forms.RadioSelect,
    )
    to = forms.MultipleChoiceField(
        label=_("To"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one of the provider's addresses.")},
    )
    cc = forms.CharField(
        label=_("Cc"),
        required=False,
        max_length=2000,
        help_text=_("Optional: further addresses, separated by commas."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 14}), strip=False)

    def __init__(
        self,
        *args: Any,
        addresses: Sequence[str],
        bounced: Collection[str] = (),
        any_recipient: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not any_recipient:
            self.fields["cc"].help_text = _(
                "Optional: more of the provider's addresses, or members of this workspace, "
                "separated by commas."
            )
        to: Any = self.fields["to"]
        # An address mail bounced from stays choosable (it may work again), but says so.
        to.choices = [
            (
                address,
                _("%(address)s (mail bounced)") % {"address": address}
                if address.lower() in bounced
                else address,
            )
            for address in addresses
        ]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has its own token
        self.helper.layout = Layout(InlineRadios("kind"), InlineCheckboxes("to"), "cc", "subject", "body")

    def clean_cc(self) -> list[str]:
        addresses, bad = typed_addresses(self.cleaned_data["cc"])
        if bad:
            raise ValidationError(
                _("Not an e-mail address: %(addresses)s"), params={"addresses": ", ".join(bad)}
            )
        if len(addresses) > MAX_CC:
            raise ValidationError(_("Copy at most %(n)d addresses."), params={"n": MAX_CC})
        return addresses

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if not body.strip():
            raise ValidationError(_("Write the message."))
        return body

    @staticmethod
    def kind_or_default(value: str | None, awaiting_reply: bool) -> str:
        """The kind asked for in the query string when valid, else the usual next one."""
        if value in KINDS:
            return str(value)
        return Message.Kind.FOLLOW_UP if awaiting_reply else Message.Kind.REQUEST
