"""The form for adding and editing an IMAP mailbox; ``imap.mailbox_save`` decides."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Fieldset, Layout, Row
from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.mail.imap import DESTINATION_FIELDS, MAILBOX_FIELDS, OWNER_FIELDS
from engagements.models import Mailbox


class MailboxForm(forms.ModelForm):
    """The password is write-only: never shown again, and left blank it keeps the stored one.

    What only an owner may change is shown to others disabled (Django then
    ignores what is posted for it); the service refuses it too.
    """

    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=255,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=993)

    class Meta:
        model = Mailbox
        fields = list(MAILBOX_FIELDS)

    def __init__(self, *args: Any, owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        self.fields["password"].help_text = (
            _("Stored encrypted and never shown again. Leave empty to keep the stored password.")
            if editing and self.instance.password
            else _("Stored encrypted and never shown again.")
        )
        prefix = self.instance.password_env_prefix
        self.fields["password_env"].help_text = _(
            "Instead of storing it: the name of an environment variable of the server that holds the "
            "password, starting with %(prefix)s (this workspace's number), for example %(example)s. The "
            "server's operator sets it. It wins over a stored password. Only owners can change it."
        ) % {"prefix": prefix, "example": f"{prefix}SUPPORT"}
        self.fields["password_env"].widget.attrs["placeholder"] = f"{prefix}SUPPORT"
        self.fields["allow_unencrypted_login"].help_text = _(
            "Warning: with security “None” the user name and password cross the network unencrypted, "
            "readable by anyone on the way. Allow it only for a server on a network you trust. Only "
            "owners can change this."
        )
        self.fields["folder"].help_text = _("Usually INBOX.")
        self.fields["delete_after_import"].help_text = _(
            "Off: mail stays on the server and is only read. On: each message is deleted from the "
            "server once imported, including those imported before this was switched on."
        )
        if not owner:
            locked = list(OWNER_FIELDS)
            if any(getattr(self.instance, name) for name in OWNER_FIELDS):
                # An owner decided about this password: where it goes is theirs to change too.
                locked += DESTINATION_FIELDS
                for name in DESTINATION_FIELDS:
                    self.fields[name].help_text = _(
                        "Only an owner can change this while the password comes from an environment "
                        "variable or may be sent unencrypted."
                    )
            for name in locked:
                self.fields[name].disabled = True
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "name",
            Fieldset(
                _("Server"),
                Row(Column("host", css_class="col-sm-8"), Column("port", css_class="col-sm-4")),
                "security",
                Div("allow_unencrypted_login", css_class="alert alert-warning pb-0"),
            ),
            Fieldset(
                _("Account"),
                "username",
                Row(Column("password", css_class="col-sm-6"), Column("password_env", css_class="col-sm-6")),
                "folder",
            ),
            Fieldset(_("Polling"), "is_active", "delete_after_import"),
        )

    def service_kwargs(self) -> dict[str, Any]:
        """What ``imap.mailbox_save`` takes."""
        return {
            "password": self.cleaned_data["password"],
            **{name: self.cleaned_data[name] for name in MAILBOX_FIELDS},
        }
