"""Forms for workspaces, the profile, invitations and member roles."""

from __future__ import annotations

import re
from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from outsourcing import formats, zones
from outsourcing.models import Role, User, Workspace
from outsourcing.widgets import make_searchable

# Between the addresses typed into one field: commas, semicolons, spaces or line breaks.
ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


def typed_addresses(text: str) -> tuple[list[str], list[str]]:
    """The addresses typed into ``text``, each once in the order typed, and those that are not addresses."""
    addresses = list(dict.fromkeys(a for a in ADDRESS_SEPARATORS.split(text) if a))
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    return addresses, bad


def _helper() -> FormHelper:
    """Crispy helper for forms whose <form> tag and buttons live in the template."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    helper.include_media = False  # the page's head and scripts blocks load it (outsourcing.widgets)
    return helper


class WorkspaceForm(forms.Form):
    # A plain form: a ModelForm would rename the page's workspace even when invalid.
    name = forms.CharField(label=_("Name"), max_length=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autofocus"] = True
        self.helper = _helper()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("A workspace needs a name."))
        return name


class WorkspaceDeleteForm(forms.Form):
    """Deleting needs the workspace's name typed in, so it never happens by a slip."""

    confirm_name = forms.CharField(label=_("Type the workspace's name to confirm"), max_length=100)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "delete")
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["confirm_name"].widget.attrs["autocomplete"] = "off"
        self.helper = _helper()

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.workspace.name:
            raise forms.ValidationError(_("That is not the workspace's name."))
        return typed


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    date_format = forms.ChoiceField(
        label=_("Date format"),
        choices=[("", _("From your browser's language")), *formats.CHOICES],
        required=False,
        help_text=User._meta.get_field("date_format").help_text,
    )
    language = forms.ChoiceField(
        label=_("Language for e-mails"),
        choices=[("", _("The site's default")), *settings.LANGUAGES],
        required=False,
        help_text=User._meta.get_field("language").help_text,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "profile")
        super().__init__(*args, **kwargs)
        # By country and city with their offsets; a zone set before (say "US/Pacific") stays selectable.
        if self.is_bound:
            current = self.data.get(self.add_prefix("time_zone"), "")
        else:
            current = self.initial.get("time_zone", "")
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = [
            ("", _("The site's default")),
            *zones.time_zone_choices(keep=str(current)),
        ]
        self.fields["time_zone"].help_text = User._meta.get_field("time_zone").help_text
        make_searchable(self, ["time_zone"])
        self.helper = _helper()


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    # Ownership is given to people who already joined, never by e-mail.
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(r.value, r.label) for r in Role if r != Role.OWNER],
        initial=Role.MEMBER,
        help_text=_("Viewers only read; members log and delegate; managers also invite and manage members."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "invite")
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class MemberRoleForm(forms.Form):
    """One member's role, as a compact select in their row of the members table."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args: Any, pk: int, allow_owner: bool, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_member_{pk}_%s")
        super().__init__(*args, **kwargs)
        if not allow_owner:
            cast(forms.ChoiceField, self.fields["role"]).choices = [
                (r.value, r.label) for r in Role if r != Role.OWNER
            ]
        # The label is hidden in the table row, so screen readers get it from here.
        self.fields["role"].widget.attrs.update({"class": "form-select-sm", "aria-label": _("Role")})
        self.helper = _helper()
        self.helper.form_show_labels = False


class NotificationPreferencesForm(forms.Form):
    """How flags in this workspace reach the person; each member sets their own."""

    notify_email = forms.BooleanField(label=_("E-mail me about flags"), required=False)
    email_digest = forms.BooleanField(
        label=_("One daily digest instead of an e-mail per flag"),
        required=False,
        help_text=_("Needs e-mail switched on: the flags then arrive together, once a day."),
    )
    notify_in_app = forms.BooleanField(
        label=_("Show flags in the app"),
        required=False,
        help_text=_("They appear under Notifications, with a count of the unread ones."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "prefs")
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class WorkspaceNotificationsForm(forms.Form):
    """Where the workspace's flags go besides their owners: a webhook, and owners and managers."""

    webhook_url = forms.URLField(
        label=_("Webhook URL"),
        max_length=500,
        required=False,
        help_text=_(
            'Each flag is POSTed here as JSON with a Slack-compatible "text" field, '
            "signed in the X-Tracker-Signature header. Leave empty for none."
        ),
    )
    notify_managers = forms.BooleanField(
        label=_("Also notify owners and managers"),
        required=False,
        help_text=_(
            "Owners and managers hear of every flag in the workspace, not only of their own engagements."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "webhook")
        super().__init__(*args, **kwargs)
        self.fields["webhook_url"].widget.attrs.update({"placeholder": "https://", "autocomplete": "off"})
        self.helper = _helper()


class WorkspaceSecurityForm(forms.Form):
    """The owners' choices: two-factor login for everyone, and where mail from the app may go."""

    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication"),
        required=False,
        help_text=Workspace._meta.get_field("require_two_factor").help_text,
    )
    mail_any_recipient = forms.BooleanField(
        label=_("Allow sending to other addresses"),
        required=False,
        help_text=_(
            "Off: mail sent from the app goes only to the provider's addresses, with copies to them "
            "and to this workspace's members. On: copies may go to any address."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "security")
        super().__init__(*args, **kwargs)
        self.helper = _helper()
