"""The form for adding and editing an IMAP mailbox; ``imap.mailbox_save`` decides."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.mail.imap import MAILBOX_FIELDS, PASSWORD_ENV_PREFIX
from engagements.models import Mailbox


class MailboxForm(forms.ModelForm):
    """The password is write-only: never shown again, and left blank it keeps the stored one."""

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        self.fields["password"].help_text = (
            _("Stored encrypted and never shown again. Leave empty to keep the stored password.")
            if editing and self.instance.password
            else _("Stored encrypted and never shown again.")
        )
        self.fields["password_env"].help_text = _(
            "Instead of storing it: the name of an environment variable of the server that holds "
            "the password, starting with %(prefix)s. It wins over a stored password."
        ) % {"prefix": PASSWORD_ENV_PREFIX}
        self.fields["password_env"].widget.attrs["placeholder"] = "IMAP_PASSWORD_SUPPORT"
        self.fields["folder"].help_text = _("Usually INBOX.")
        self.fields["delete_after_import"].help_text = _(
            "Off: mail stays on the server and is only read. On: each message is deleted from the "
            "server once imported, including those imported before this was switched on."
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "name",
            Fieldset(
                _("Server"),
                Row(Column("host", css_class="col-sm-8"), Column("port", css_class="col-sm-4")),
                "security",
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
