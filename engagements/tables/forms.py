"""The import pages' forms: the file (or pasted cells) and which header goes into which column."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagements.models import TableImport
from engagements.tables.columns import COLUMNS
from engagements.tables.read import Table, TableError, max_bytes, read_table

# Example values shown under each header while mapping.
SAMPLES = 3
MAX_PASTE = 4 * 1024 * 1024


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the spreadsheet holds"),
        choices=TableImport.Kind.choices,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )
    pasted = forms.CharField(
        label=gettext_lazy("… or paste the cells, header row first"),
        required=False,
        max_length=MAX_PASTE,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.table: Table | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload, pasted = data.get("file"), data.get("pasted") or ""
        if upload is None and not pasted.strip():
            raise forms.ValidationError(_("Choose a file or paste the cells."))
        if upload is not None:
            if (upload.size or 0) > max_bytes():
                self.add_error(
                    "file",
                    _("The file is too large (at most %(size)s).") % {"size": filesizeformat(max_bytes())},
                )
                return data
            data["content"], data["filename"] = upload.read(), upload.name or ""
        else:
            data["content"], data["filename"] = pasted.encode(), ""
        try:
            self.table = read_table(data["content"], data["filename"])
        except TableError as exc:
            self.add_error("file" if upload is not None else "pasted", str(exc))
        return data


class MappingForm(forms.Form):
    """One choice per header of the file: the column it fills, or nothing."""

    def __init__(
        self, *args: Any, kind: str, table: Table, initial_mapping: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = table.headers
        columns = COLUMNS[kind]
        choices = [("", _("— leave out —"))] + [
            (c.key, f"{c.label} *" if c.required else str(c.label)) for c in columns
        ]
        for i, header in enumerate(table.headers):
            samples = [
                # From the first rows only: a 20,000-row sheet needs no full pass per column.
                str(cells[i])
                for _n, cells in table.rows[:50]
                if i < len(cells) and cells[i] not in (None, "")
            ]
            self.fields[f"col_{i}"] = forms.ChoiceField(
                label=header,
                required=False,
                choices=choices,
                initial=initial_mapping.get(header, ""),
                help_text=", ".join(s[:40] for s in samples[:SAMPLES]),
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen: dict[str, str] = {}
        for i, header in enumerate(self.headers):
            key = data.get(f"col_{i}") or ""
            if key and key in chosen.values():
                self.add_error(f"col_{i}", _("Another column already fills this one."))
            chosen[header] = key
        data["mapping"] = chosen
        return data
