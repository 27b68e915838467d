"""Forms for engagements and their message log. They validate input; services decide."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crispy_forms.bootstrap import InlineRadios, StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MinValueValidator
from django.template.loader import select_template
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from engagements import deadlines, followup_templates, queries
from engagements.models import Engagement, Flag, Message, Review
from outsourcing.dates import BoundedDateField, BoundedDateInput
from outsourcing.models import User, Workspace
from outsourcing.money import format_money, grouped_currency_choices
from outsourcing.uploads import check_upload
from outsourcing.widgets import QuickSelect, make_searchable
from outsourcing.zones import zone_label
from providers.models import Category, Provider, ResponsePolicy
from providers.queries import used_currencies

# More than this many files in one message is almost certainly a mistake.
MAX_ATTACHMENTS = 10


def add_service_errors(form: forms.BaseForm, exc: ValidationError, fallback: str | None = None) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(fallback if fallback in form.fields else None, exc.messages)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class EngagementFilterForm(forms.Form):
    """The list's filters and sort (GET); invalid values are dropped, never an error page."""

    AWAITING_CHOICES = [("", _("Either")), ("yes", _("Waiting for a reply")), ("no", _("Not waiting"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.MultipleChoiceField(
        label=_("Status"),
        required=False,
        choices=Engagement.Status.choices,
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    # A workspace may have a thousand providers: their options are written without a template each.
    provider = forms.ModelChoiceField(
        label=_("Provider"), required=False, queryset=Provider.objects.none(), widget=QuickSelect
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    awaiting = forms.ChoiceField(label=_("Awaiting reply"), required=False, choices=AWAITING_CHOICES)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any")), *Category.choices]
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, workspace: Workspace, members: list[User] | None = None, **kwargs: Any
    ) -> None:
        """``members``: the workspace's, by name, when the page read them already (the bulk form's too)."""
        super().__init__(*args, **kwargs)
        provider_field: Any = self.fields["provider"]
        provider_field.queryset = Provider.objects.filter(workspace=workspace).order_by("name", "id")
        provider_field.empty_label = _("Any")
        providers = provider_field.queryset

        def provider_options() -> list[tuple[Any, str]]:
            # Read as (pk, name) pairs (the name is what Provider.__str__ shows), not as a thousand
            # models, and only when the select is drawn (a callable: Django reads it then).
            return [("", str(_("Any"))), *providers.values_list("pk", "name")]

        provider_field.widget.choices = provider_options
        if members is None:
            members = list(queries.workspace_members(workspace))
        owner_field: Any = self.fields["owner"]
        owner_field.choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            *((str(u.pk), u.display_name) for u in members),
        ]
        make_searchable(self, ["status"])
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.form_class = "mb-3"
        self.helper.layout = Layout(
            Row(
                Column("q", css_class="col-md-2"),
                Column("status", css_class="col-md-2"),
                Column("provider", css_class="col-md-2"),
                Column("owner", css_class="col-md-2"),
                Column("awaiting", css_class="col-md-2"),
                Column("category", css_class="col-md-2"),
            ),
            "sort",
            StrictButton(_("Filter"), type="submit", css_class="btn-primary btn-sm"),
        )

    def filters(self) -> dict[str, Any]:
        """The valid filters as keyword arguments for queries.engagement_list."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "statuses": data.get("status") or None,
            "provider": data.get("provider"),
            "owner": data.get("owner") or "",
            "awaiting": data.get("awaiting") or "",
            "category": data.get("category") or "",
            "q": (data.get("q") or "").strip(),
            "sort": data.get("sort") or queries.DEFAULT_SORT,
        }


class ProviderSelect(forms.Select):
    """The provider picker; each option carries the provider's rate currency for app.js."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        provider = getattr(option["value"], "instance", None)
        if isinstance(provider, Provider) and provider.rate_currency:
            option["attrs"]["data-currency"] = provider.rate_currency
        return option


class EngagementForm(forms.ModelForm):
    """Delegate a task, or edit one; saved through engagement_create / engagement_update."""

    provider = forms.ModelChoiceField(
        label=_("Provider"),
        queryset=Provider.objects.none(),
        # app.js puts the chosen provider's rate currency into the fee's, unless one was chosen.
        widget=ProviderSelect(attrs={"data-fills-currency": "id_fee_currency"}),
    )
    owner = MemberChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)

    class Meta:
        model = Engagement
        fields = [
            "title",
            "provider",
            "owner",
            "category",
            "priority",
            "brief",
            "fee_amount",
            "fee_currency",
            "due_on",
            "client_name",
            "response_policy",
        ]
        widgets = {
            # The range itself is checked by the model (Engagement.clean).
            "due_on": BoundedDateInput(),
            "brief": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.provider if self.instance.pk else None
        provider_field: Any = self.fields["provider"]
        provider_field.queryset = queries.assignable_providers(workspace, current)
        owner_field: Any = self.fields["owner"]
        owner_field.queryset = queries.workspace_members(workspace)
        policy_field: Any = self.fields["response_policy"]
        policy_field.queryset = ResponsePolicy.objects.filter(workspace=workspace)
        policy_field.empty_label = _("The provider's policy")
        policy_field.help_text = _(
            "Only for an engagement that needs a different response time than its provider usually gets."
        )
        fee_currency: Any = self.fields["fee_currency"]
        fee_currency.choices = [
            ("", "---------"),
            *grouped_currency_choices(likely=used_currencies(workspace), keep=self.instance.fee_currency),
        ]
        make_searchable(self, ["fee_currency"])
        # The model's check constraint would only give a form-wide error.
        self.fields["fee_amount"].validators.append(MinValueValidator(0))
        self.fields["fee_amount"].widget.attrs["min"] = "0"
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has its own token
        self.helper.layout = Layout(
            "title",
            Row(Column("provider", css_class="col-md-6"), Column("owner", css_class="col-md-6")),
            Row(Column("category", css_class="col-md-6"), Column("priority", css_class="col-md-6")),
            "brief",
            Row(
                Column("fee_amount", css_class="col-md-4"),
                Column("fee_currency", css_class="col-md-4"),
                Column("due_on", css_class="col-md-4"),
            ),
            "client_name",
            "response_policy",
        )

    def preselect_provider(self, value: str) -> None:
        """Start with the provider the address names (if assignable), in their rate currency."""
        provider_field: Any = self.fields["provider"]
        provider = provider_field.queryset.filter(pk=int(value)).first() if value.isdigit() else None
        if provider is not None:
            self.initial["provider"] = provider.pk
            self.initial["fee_currency"] = provider.rate_currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provider = data.get("provider")
        if not data.get("fee_currency") and provider is not None and "fee_currency" not in self.errors:
            # The fee is usually agreed in the currency the provider bills in.
            data["fee_currency"] = provider.rate_currency
        if data.get("fee_amount") is not None and not data.get("fee_currency"):
            self.add_error("fee_currency", _("Choose the currency of the fee."))
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the pattern from Django's "Uploading multiple files")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single_file_clean = super().clean
        if isinstance(data, list | tuple):
            return [single_file_clean(d, initial) for d in data if d]
        return [single_file_clean(data, initial)] if data else []


class WhenWidget(forms.SplitDateTimeWidget):
    """A date and a time input side by side, then the time zone they are read in.

    Two inputs rather than one datetime-local: that one hides its time in a narrow
    column, so a back-dated time could not be checked before saving. Crispy draws them
    as a fieldset named "When"; each input has its own name ("Date", "Time").
    """

    template_name = "engagements/widgets/when.html"

    def __init__(self) -> None:
        date_attrs: dict[str, Any] = {"type": "date", "aria-label": _("Date")}
        time_attrs: dict[str, Any] = {"type": "time", "aria-label": _("Time")}
        super().__init__(
            date_attrs=date_attrs,
            time_attrs=time_attrs,
            date_format="%Y-%m-%d",
            time_format="%H:%M",
        )

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        field_id = context["widget"]["attrs"].get("id") or name
        zone_id = f"{field_id}_zone"
        # Django ties a fieldset's error to the fieldset only: the date and the time, where focus
        # goes, name it too (screen readers, static/js/app.js's "Not saved" announcement).
        invalid = str(context["widget"]["attrs"].get("aria-invalid", "")).lower() == "true"
        described = f"{field_id}_error {zone_id}" if invalid else zone_id
        for subwidget in context["widget"]["subwidgets"]:
            subwidget["attrs"]["aria-describedby"] = described
        context["widget"]["zone"] = zone_label(timezone.get_current_timezone_name())
        context["widget"]["zone_id"] = zone_id
        return context

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        # One "2026-12-04T09:30" value (the former datetime-local input, a script) still reads.
        single = data.get(name)
        if isinstance(single, str) and "T" in single and not any(f"{name}_{i}" in data for i in (0, 1)):
            return single.split("T", 1)
        return super().value_from_datadict(data, files, name)


class MessageForm(forms.ModelForm):
    """Log (or edit) one entry of the message log."""

    occurred_at = forms.SplitDateTimeField(
        label=_("When"),
        widget=WhenWidget(),
        error_messages={"required": _("Enter the date and the time.")},
    )

    class Meta:
        model = Message
        fields = ["direction", "kind", "channel", "occurred_at", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every message has a direction and a kind: no empty "select an option" entry.
        direction: Any = self.fields["direction"]
        direction.choices = Message.Direction.choices
        kind: Any = self.fields["kind"]
        kind.choices = Message.Kind.choices
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has its own token
        self.helper.layout = Layout(
            Row(
                Column("direction", css_class="col-sm-4"),
                Column("kind", css_class="col-sm-4"),
                Column("channel", css_class="col-sm-4"),
            ),
            # A row of its own: the date, the time and the zone stay readable at every width.
            Row(Column("occurred_at", css_class="col-md-8 col-lg-7")),
            "subject",
            "body",
        )

    def clean_occurred_at(self) -> Any:
        value = self.cleaned_data["occurred_at"]
        # The same rule as the service, shown on the field before anything is saved.
        if value is not None and value > timezone.now() + timedelta(minutes=1):
            raise ValidationError(_("A message cannot be logged in the future."))
        return value

    @classmethod
    def initial_for(cls, engagement: Engagement, *, direction: str = "", kind: str = "") -> dict[str, Any]:
        """Sensible defaults: a request first, then follow-ups while one is unanswered.

        ``direction`` and ``kind`` (from a link such as Needs attention's "Log reply") preset
        the form; a value that is no choice is ignored.
        """
        if direction == Message.Direction.INBOUND:
            kind = kind if kind in (Message.Kind.REPLY, Message.Kind.DELIVERY, Message.Kind.OTHER) else ""
            return {
                "direction": Message.Direction.INBOUND,
                "kind": kind or Message.Kind.REPLY,
                "channel": Message.Channel.EMAIL,
                "occurred_at": timezone.now().replace(second=0, microsecond=0),
            }
        if direction == Message.Direction.OUTBOUND and kind in (Message.Kind.REQUEST, Message.Kind.FOLLOW_UP):
            return {**cls.initial_for(engagement), "kind": kind}
        if engagement.last_message_at is None:
            kind = Message.Kind.REQUEST
        elif engagement.awaiting_reply:
            kind = Message.Kind.FOLLOW_UP
        else:
            kind = Message.Kind.REQUEST
        return {
            "direction": Message.Direction.OUTBOUND,
            "kind": kind,
            "channel": Message.Channel.EMAIL,
            "occurred_at": timezone.now().replace(second=0, microsecond=0),
        }


class MessageLogForm(MessageForm):
    """The log form: a message plus its attachments."""

    attachments = MultipleFileField(label=_("Attachments"), required=False)

    def __init__(self, *args: Any, autofocus: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper.layout.append("attachments")
        if autofocus:
            # Opened to log one message (a phone from Needs attention): the text is typed next.
            self.fields["body"].widget.attrs["autofocus"] = True

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_ATTACHMENTS:
            raise ValidationError(
                _("Attach at most %(n)d files to one message."), params={"n": MAX_ATTACHMENTS}
            )
        errors: list[ValidationError] = []
        for upload in files:
            try:
                check_upload(upload)
            except ValidationError as exc:
                errors.extend(ValidationError(f"{upload.name}: {m}") for m in exc.messages)
        if errors:
            raise ValidationError(errors)
        return files


# --- Flags: snooze and dismiss ----------------------------------------------

SNOOZE_PRESETS = [("tomorrow", _("Tomorrow")), ("3days", _("In 3 days")), ("next_week", _("Next week"))]


def snooze_presets(today: date) -> list[tuple[str, str, date]]:
    """The quick snooze choices as (value, label, date): next week means its Monday."""
    days = {
        "tomorrow": today + timedelta(days=1),
        "3days": today + timedelta(days=3),
        "next_week": today + timedelta(days=7 - today.weekday()),
    }
    return [(value, str(label), days[value]) for value, label in SNOOZE_PRESETS]


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in the user's time zone: a snoozed flag is back "on" that date."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class FlagSnoozeForm(forms.Form):
    """Until when to snooze a flag: a quick choice, or a date."""

    preset = forms.ChoiceField(required=False, choices=SNOOZE_PRESETS)
    until = BoundedDateField(label=_("Until"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        presets = {value: day for value, _label, day in snooze_presets(timezone.localdate())}
        day = presets.get(data.get("preset") or "") or data.get("until")
        if day is None:
            if not self.errors:
                raise ValidationError(_("Choose until when to snooze the flag."))
            return data
        data["until_at"] = start_of_day(day)
        return data


class FlagDismissForm(forms.Form):
    """Why a flag is dismissed: required, and kept in its history."""

    reason = forms.CharField(
        label=_("Reason"), max_length=300, error_messages={"required": _("Say why the flag is dismissed.")}
    )


# --- Bulk actions -------------------------------------------------------------


def _selected_ids(values: Any) -> list[int]:
    """The ticked rows' ids; anything that is not one is an error, not a 500."""
    try:
        ids = sorted({int(v) for v in values or []})
    except (TypeError, ValueError):
        raise ValidationError(_("The selection is not valid; reload the page and try again.")) from None
    if not ids:
        raise ValidationError(_("Select at least one row first."))
    if len(ids) > BULK_MAX or any(not 0 < pk < 2**63 for pk in ids):
        raise ValidationError(_("The selection is not valid; reload the page and try again."))
    return ids


# A page shows at most this many rows (the attention sections' cap, a list page):
# more posted ids are not a person's selection.
BULK_MAX = 1000


class SelectedRowsField(forms.Field):
    """The ids of the ticked rows: a list of the checkbox values posted under one name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        return _selected_ids(value)

    def validate(self, value: Any) -> None:
        pass


class FlagBulkForm(forms.Form):
    """What to do with the ticked flags of Needs attention: snooze, dismiss, follow up, or a status move."""

    ACTIONS = [
        ("snooze", _("Snooze")),
        ("dismiss", _("Dismiss")),
        ("follow_up", _("Follow up by e-mail (one per provider)")),
        ("status", _("Change status")),
    ]

    flags = SelectedRowsField()
    action = forms.ChoiceField(
        label=_("Action"), choices=ACTIONS, error_messages={"required": _("Choose an action.")}
    )
    preset = forms.ChoiceField(label=_("Snooze"), required=False, choices=[("", "—"), *SNOOZE_PRESETS])
    until = BoundedDateField(label=_("Or until"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "—"), *Engagement.Status.choices]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "snooze":
            presets = {value: day for value, _label, day in snooze_presets(timezone.localdate())}
            day = presets.get(data.get("preset") or "") or data.get("until")
            if day is None:
                if not self.errors:
                    self.add_error("preset", _("Choose until when to snooze the flags."))
            else:
                data["until_at"] = start_of_day(day)
        elif action == "status" and not data.get("status"):
            self.add_error("status", _("Choose a status."))
        return data


class EngagementBulkForm(forms.Form):
    """What to do with the ticked engagements of the list: a status move or another owner."""

    ACTIONS = [("status", _("Change status")), ("owner", _("Change owner"))]

    engagements = SelectedRowsField()
    action = forms.ChoiceField(
        label=_("Action"), choices=ACTIONS, error_messages={"required": _("Choose an action.")}
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "—"), *Engagement.Status.choices]
    )
    owner = forms.ModelChoiceField(label=_("Owner"), required=False, queryset=User.objects.none())

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = queries.workspace_members(workspace)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "status" and not data.get("status"):
            self.add_error("status", _("Choose a status."))
        elif action == "owner" and not data.get("owner") and "owner" not in self.errors:
            self.add_error("owner", _("Choose the new owner."))
        return data


# --- Follow-ups -------------------------------------------------------------


def followup_language(languages: Sequence[str], current: str | None, extra: Iterable[str] = ()) -> str:
    """The language a follow-up to a provider is written in.

    The user's own language when the provider speaks it; else the first of the
    provider's languages that the app ships (or that ``extra``, the workspace's
    own texts, are written in); else the user's language. (The provider's list
    is no order of preference: the provider form stores it in the order of its
    choices.) Regional codes count as their language: "de-ch" is "de".
    """
    shipped = [code for code, _name in settings.LANGUAGES] + [str(code) for code in extra]
    spoken = [str(code).split("-")[0].lower() for code in languages]
    mine = (current or settings.LANGUAGE_CODE).split("-")[0].lower()
    if mine in spoken and mine in shipped:
        return mine
    chosen = next((code for code in spoken if code in shipped), mine)
    return chosen if chosen in shipped else settings.LANGUAGE_CODE


# The texts a follow-up is written from: one per flag kind, and a general one when no flag
# and nothing in the log says more. Each is a template per language:
# engagements/followup/<language>/<text>.txt.
FOLLOWUP_GENERAL = "general"
# Flags about a request still unanswered: their texts say that no reply came.
REPLY_FLAGS = frozenset({Flag.Kind.REPLY_OVERDUE, Flag.Kind.GHOSTED})


def followup_text(facts: queries.FollowupFacts, *, delivery_late: bool) -> str:
    """Which text a follow-up is written from: the open flag's; without one, what the log shows.

    Only a request still unanswered gets a text that says no reply came, so a
    provider who did reply is never told otherwise.
    """
    flag = facts.flag
    if flag is not None and (flag.kind not in REPLY_FLAGS or facts.waiting is not None):
        return str(flag.kind)
    if facts.waiting is not None:
        return Flag.Kind.REPLY_OVERDUE
    if delivery_late:
        return Flag.Kind.DELIVERY_OVERDUE
    return FOLLOWUP_GENERAL


def followup_initial(
    engagement: Engagement,
    facts: queries.FollowupFacts,
    *,
    sender: str,
    now: datetime | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The log form's values for a follow-up that fits its flag, in the provider's language.

    The workspace's own text for the flag kind and language when it has one
    (``followup_templates``), else the shipped one. ``language`` pins the
    language; without it the provider's decides. Dates are written as the
    provider reads them: in their language and time zone, days counted by
    their calendar. ``facts`` come from ``queries.followup_facts``. Nothing is saved here.
    """
    now = now or timezone.now()
    provider = engagement.provider
    zone = provider.time_zone or "UTC"
    today = timezone.localdate(now, ZoneInfo(zone))  # days count by the provider's calendar
    text = followup_text(facts, delivery_late=deadlines.delivery_overdue(engagement, now))
    customs = followup_templates.custom_bodies(engagement.workspace_id, text)
    if language not in customs and language not in followup_templates.shipped_languages():
        language = None  # no text in it: the provider's language decides
    language = language or followup_language(provider.languages or [], translation.get_language(), customs)
    request = facts.request
    requested_at = request.occurred_at if request is not None else None
    requested_on = timezone.localdate(requested_at, ZoneInfo(zone)) if requested_at else today
    due_on = engagement.due_on
    days_waiting = (today - requested_on).days
    resent = ""
    if text == Flag.Kind.BOUNCED and request is not None:
        resent = request.body.strip() or engagement.brief.strip()
    context = {
        "name": provider.name,
        "title": engagement.title,
        "sender": sender,
        "requested_at": requested_at,
        "days_waiting": days_waiting,
        "followups": facts.waiting.followups if facts.waiting is not None else 0,
        "due_on": due_on,
        "days_late": max((today - due_on).days, 0) if due_on else 0,
        "upcoming_due_on": due_on if due_on and due_on >= today else None,
        "failed": ", ".join(sorted(facts.bounced)),
        "resent_subject": request.subject if resent and request is not None else "",
        "resent_body": resent,
    }
    body = ""
    if language in customs:
        values = followup_templates.values_for(
            provider=provider.name,
            engagement=engagement.title,
            requested_on=requested_on if requested_at else None,
            days_waiting=days_waiting,
            due_on=due_on,
            sender=sender,
            language=language,
        )
        try:
            body = followup_templates.render(customs[language], values)
        except ValueError:  # saved before a check refused it: the shipped text instead
            body = ""
    if not body:
        template = select_template(
            [f"engagements/followup/{language}/{text}.txt", f"engagements/followup/en/{text}.txt"]
        )
        with translation.override(language), timezone.override(zone):
            body = template.render(context)
    base = (request.subject if request is not None else "") or engagement.title
    # A resent mail keeps its subject; a follow-up answers it.
    subject = base if text == Flag.Kind.BOUNCED or base.lower().startswith("re:") else f"Re: {base}"
    channel = request.channel if request is not None else Message.Channel.EMAIL
    return {
        "direction": Message.Direction.OUTBOUND,
        "kind": Message.Kind.FOLLOW_UP,
        "channel": Message.Channel.EMAIL if text == Flag.Kind.BOUNCED else channel,
        "occurred_at": now.replace(second=0, microsecond=0),
        "subject": subject[: Message._meta.get_field("subject").max_length or 300],
        # The templates' optional paragraphs leave blank lines behind when they are empty.
        "body": re.sub(r"\n{3,}", "\n\n", body).strip(),
        "language": language,
    }


# --- Reviews ----------------------------------------------------------------

# Belong with the imports at the top; kept here while that block is being edited elsewhere.


RATING_CHOICES = [
    (1, _("1 – poor")),
    (2, _("2 – fair")),
    (3, _("3 – good")),
    (4, _("4 – very good")),
    (5, _("5 – excellent")),
]
YES_NO = [(True, _("Yes")), (False, _("No"))]


def _yes(value: str) -> bool:
    return value == "True"


class ReviewForm(forms.ModelForm):
    """How a completed engagement went, in a minute; saved through review_save.

    The ratings are radio buttons with words, not a bare 1–5, so two people
    mean the same by a 4. Yes/no are two explicit choices: an unticked box
    would not tell "no" from "not answered".
    """

    quality = forms.TypedChoiceField(
        label=_("Quality of the work"), choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    communication = forms.TypedChoiceField(
        label=_("Communication"), choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    on_time = forms.TypedChoiceField(
        label=_("Delivered on time"), choices=YES_NO, coerce=_yes, widget=forms.RadioSelect
    )
    would_hire_again = forms.TypedChoiceField(
        label=_("Would hire again"), choices=YES_NO, coerce=_yes, widget=forms.RadioSelect
    )

    class Meta:
        model = Review
        fields = ["quality", "communication", "on_time", "would_hire_again", "final_fee_amount", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, engagement: Engagement, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and engagement.delivered_on_time is not None:
            # What the status history already knows; the reviewer may still correct it.
            self.initial["on_time"] = engagement.delivered_on_time
        fee: Any = self.fields["final_fee_amount"]
        if engagement.fee_currency:
            fee.label = _("Fee paid (%(currency)s)") % {"currency": engagement.fee_currency}
            agreed = format_money(engagement.fee_amount, engagement.fee_currency)
            fee.help_text = (
                _("Empty: the agreed fee, %(fee)s.") % {"fee": agreed}
                if agreed
                else _("What the work finally cost.")
            )
        else:
            # A sum without a currency could not be added up on the reliability pages.
            fee.disabled = True
            fee.help_text = _("Set the engagement's currency first to record what the work cost.")
        fee.validators.append(MinValueValidator(0))
        fee.widget.attrs.update({"min": "0", "step": "0.01"})
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has its own token
        self.helper.layout = Layout(
            Row(
                Column(InlineRadios("quality"), css_class="col-md-6"),
                Column(InlineRadios("communication"), css_class="col-md-6"),
            ),
            Row(
                Column(InlineRadios("on_time"), css_class="col-md-6"),
                Column(InlineRadios("would_hire_again"), css_class="col-md-6"),
            ),
            Row(Column("final_fee_amount", css_class="col-md-6")),
            "comment",
        )


class InboundAssignForm(forms.Form):
    """Where an unsorted mail goes: an open engagement, or a new one with a provider."""

    # Offered as one-click buttons (the suggestions); any open engagement of the workspace is valid.
    engagement = forms.ModelChoiceField(
        label=_("Engagement"), queryset=Engagement.objects.none(), required=False
    )
    new_for = forms.ModelChoiceField(
        label=_("or a new engagement with"),
        queryset=Provider.objects.none(),
        required=False,
        empty_label=_("Choose …"),
    )

    def __init__(
        self, *args: Any, workspace: Workspace, suggested: Provider | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        engagement_field: Any = self.fields["engagement"]
        engagement_field.queryset = Engagement.objects.filter(
            workspace=workspace, status__in=Engagement.OPEN_STATUSES
        ).select_related("workspace", "provider")
        provider_field: Any = self.fields["new_for"]
        provider_field.queryset = Provider.objects.filter(workspace=workspace).order_by("name")
        if suggested is not None:
            provider_field.initial = suggested.pk

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("engagement")) == bool(data.get("new_for")):
            raise ValidationError(_("Choose an engagement, or a provider for a new one."))
        return data
