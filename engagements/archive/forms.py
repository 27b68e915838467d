"""The import form: one zip made by a complete export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ArchiveImportForm(forms.Form):
    archive = forms.FileField(label=_("Export archive (.zip)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["archive"].help_text = gettext(
            "A zip made by “Export everything” in another workspace, up to %(limit)s."
        ) % {"limit": filesizeformat(settings.ARCHIVE_UPLOAD_MAX_BYTES)}
