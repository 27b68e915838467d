"""The mail upload form: one or more .eml or .mbox files."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from engagements.forms import MultipleFileField
from engagements.mail import upload


class MailUploadForm(forms.Form):
    mail_files = MultipleFileField(label=_("Mail files"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mail_files"].help_text = gettext(
            "Single messages (.eml) or whole folders (.mbox, as Thunderbird, Apple Mail or Google "
            "Takeout export them), up to %(limit)s each."
        ) % {"limit": filesizeformat(settings.MAIL_UPLOAD_MAX_BYTES)}

    def clean_mail_files(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("mail_files") or []
        if not files:
            raise ValidationError(_("Choose one or more files."))
        errors: list[str] = []
        for file in files:
            try:
                upload.mail_file_check(file)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return files
