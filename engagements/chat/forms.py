"""The chat import pages' forms: the file, then who is who, where it goes and in which zone."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagements.chat.importer import MEMBER_PREFIX, PROVIDER, SKIP
from engagements.chat.parsers import Chat, ChatError, read_export
from engagements.chat.parsers.whatsapp import AUTO, DMY, MDY, YMD
from engagements.models import Engagement
from outsourcing import zones
from outsourcing.models import User
from outsourcing.widgets import QuickSelect, SearchableSelect, make_searchable
from providers.models import Provider

# Date ranges offered for splitting one chat onto several engagements.
RANGES = 3


class _QuickSearchableSelect(QuickSelect, SearchableSelect):
    """A searchable select drawn in Python: a zone select per participant is some 400 options each."""


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class ChatUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Chat export"),
        help_text=gettext_lazy(
            "WhatsApp: the .txt or .zip from “Export chat”. Telegram Desktop: result.json. Slack: the export’s .zip."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.zip,.json"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.CHAT_IMPORT_MAX_BYTES
        if (upload.size or 0) > limit:
            raise forms.ValidationError(
                _("The file is too large (at most %(size)s).") % {"size": filesizeformat(limit)}
            )
        data = upload.read()
        try:
            # Only to say now, not after the next step, that this is no chat export.
            read_export(data, upload.name or "", zone=UTC)
        except ChatError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return {"data": data, "name": upload.name or ""}


class ChatMappingForm(forms.Form):
    """Who each participant is and where they live, which provider and engagement(s), the export's zone."""

    chat = forms.ChoiceField(label=gettext_lazy("Chat"), required=False)
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone of the times in the export"),
        help_text=gettext_lazy(
            "WhatsApp writes the phone’s clock without a zone: the zone that phone was in. "
            "Telegram and Slack exports carry the exact instant and ignore this."
        ),
    )
    date_order = forms.ChoiceField(
        label=gettext_lazy("Dates are written"),
        choices=[
            (
                AUTO,
                gettext_lazy(
                    "as the file shows (day above 12 decides; else 31.12. is day first, 12 h is month first)"
                ),
            ),
            (DMY, gettext_lazy("day/month/year")),
            (MDY, gettext_lazy("month/day/year")),
            (YMD, gettext_lazy("year-month-day")),
        ],
        initial=AUTO,
    )
    provider = forms.ModelChoiceField(label=gettext_lazy("Provider"), queryset=Provider.objects.none())
    engagement = forms.ModelChoiceField(
        label=gettext_lazy("Engagement"),
        queryset=Engagement.objects.none(),
        required=False,
        help_text=gettext_lazy("Messages outside the date ranges below go here."),
    )
    new_title = forms.CharField(
        label=gettext_lazy("… or a new engagement with this title"), required=False, max_length=200
    )

    def __init__(
        self,
        *args: Any,
        chats: list[Chat],
        chat: Chat,
        providers: Any,
        engagements: Any,
        members: list[User],
        guess: dict[str, str],
        guess_zones: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.export = chat
        cast(forms.ChoiceField, self.fields["chat"]).choices = [(c.key, c.title) for c in chats]
        if len(chats) == 1:
            self.fields["chat"].widget = forms.HiddenInput()
        current = self.data.get("time_zone", "") if self.is_bound else self.initial.get("time_zone", "")
        zone_choices = zones.time_zone_choices(keep=str(current))
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = zone_choices
        self.fields["provider"].queryset = providers  # type: ignore[attr-defined]
        self.fields["engagement"].queryset = engagements  # type: ignore[attr-defined]
        self.fields["engagement"].label_from_instance = lambda e: f"{e.title} — {e.provider.name}"  # type: ignore[attr-defined]
        who = [
            (PROVIDER, _("the provider")),
            *[(f"{MEMBER_PREFIX}{u.pk}", _("member: %(name)s") % {"name": u.display_name}) for u in members],
            (SKIP, _("nobody — leave these lines out")),
        ]
        self.participant_fields = []
        # Each participant's own zone, kept on their messages so the log shows their wall-clock time.
        self.zone_fields = []
        offered = zones.choice_values(zone_choices)
        for number, name in enumerate(chat.participants):
            field_name = f"who_{number}"
            self.fields[field_name] = forms.ChoiceField(
                label=name, choices=[("", _("— choose —")), *who], initial=guess.get(name, "")
            )
            self.participant_fields.append((field_name, name))
            zone_name = f"zone_{number}"
            zone = (guess_zones or {}).get(name, "")
            self.fields[zone_name] = forms.ChoiceField(
                label=_("Time zone of %(name)s") % {"name": name},
                choices=[("", _("their usual zone (the provider’s or the member’s)")), *zone_choices],
                initial=zone if zone in offered else "",
                required=False,
            )
            self.zone_fields.append((zone_name, name))
        self.range_fields = []
        for number in range(1, RANGES + 1):
            names = (f"range_{number}_start", f"range_{number}_end", f"range_{number}_engagement")
            self.fields[names[0]] = forms.DateField(
                label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
            self.fields[names[1]] = forms.DateField(
                label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
            self.fields[names[2]] = forms.ModelChoiceField(
                label=_("Engagement"), queryset=engagements, required=False
            )
            self.fields[names[2]].label_from_instance = self.fields["engagement"].label_from_instance  # type: ignore[attr-defined]
            self.range_fields.append(names)
        make_searchable(self, ["provider", "engagement"])
        for name in ["time_zone", *(f for f, _n in self.zone_fields)]:
            field = cast(forms.ChoiceField, self.fields[name])
            field.widget = _QuickSearchableSelect(choices=field.choices)
            field.widget.is_required = field.required
        self.helper = _helper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provider = data.get("provider")
        data["participants"] = {name: data.get(field, "") for field, name in self.participant_fields}
        data["sender_zones"] = {name: data[field] for field, name in self.zone_fields if data.get(field)}
        if provider is None:
            return data
        ranges: list[tuple[Engagement, date | None, date | None]] = []
        for start_name, end_name, engagement_name in self.range_fields:
            start, end, engagement = data.get(start_name), data.get(end_name), data.get(engagement_name)
            if engagement is None:
                if start or end:
                    self.add_error(engagement_name, _("Choose the engagement for these dates."))
                continue
            if start and end and end < start:
                self.add_error(end_name, _("The end comes before the start."))
            ranges.append((engagement, start, end))
        data["ranges"] = ranges
        chosen = [data.get("engagement"), *[r[0] for r in ranges]]
        for engagement in chosen:
            if engagement is not None and engagement.provider_id != provider.pk:
                self.add_error(
                    "engagement",
                    _("“%(title)s” is not an engagement of this provider.") % {"title": engagement.title},
                )
        if data.get("engagement") is None and not data.get("new_title", "").strip() and not ranges:
            self.add_error("engagement", _("Choose an engagement or name a new one."))
        if data.get("engagement") is not None and data.get("new_title", "").strip():
            self.add_error("new_title", _("Choose an engagement or name a new one, not both."))
        return data
