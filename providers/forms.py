"""Forms of the provider registry: list filters, the provider form, absences, documents, policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Fieldset, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from outsourcing import zones
from outsourcing.dates import DOCUMENT_YEARS_AHEAD, BoundedDateField
from outsourcing.money import country_currency, currency_codes, grouped_currency_choices
from outsourcing.widgets import make_searchable
from providers.models import (
    Category,
    Document,
    Provider,
    ResponsePolicy,
    holiday_regions,
    language_choices,
)
from providers.queries import SORTS, ProviderFilters, used_currencies, used_time_zones
from providers.services import POLICY_FIELDS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_LINES = 20
SKILL_MAX_LENGTH = 60


def _choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _checked_lines(
    value: str,
    validate: Callable[[str], None],
    *,
    max_length: int,
    too_many: StrOrPromise,
    invalid: StrOrPromise,
) -> list[str]:
    """One entry per line, each validated; every bad line is named in the error."""
    lines = _lines(value)
    if len(lines) > MAX_LINES:
        raise ValidationError(too_many, params={"n": MAX_LINES})
    bad = []
    for line in lines:
        try:
            validate(line)
        except ValidationError:
            bad.append(line)
        else:
            if len(line) > max_length:
                bad.append(line)
    if bad:
        raise ValidationError(invalid, params={"lines": ", ".join(bad)})
    return lines


class ProviderFilterForm(forms.Form):
    """The list's search and filters (GET); invalid values are dropped, never an error page."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    skill = forms.ChoiceField(label=_("Skill"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)

    def __init__(self, *args: Any, free_tags: list[str], country_codes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Name, company, e-mail, notes")
        _choice_field(self, "kind").choices = [("", _("Any kind")), *Provider.Kind.choices]
        categories = sorted(Category.choices, key=lambda c: str(c[1]))
        skills: list[Any] = [("", _("Any skill")), (_("Categories"), categories)]
        if free_tags:
            skills.append((_("Other skills"), [(t, t) for t in free_tags]))
        _choice_field(self, "skill").choices = skills
        _choice_field(self, "status").choices = [
            ("", _("All but archived")),
            *Provider.Status.choices,
            ("all", _("Any status")),
        ]
        _choice_field(self, "country").choices = [
            ("", _("Any country")),
            *[(code, countries.name(code) or code) for code in country_codes],
        ]
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(
                Column("q", css_class="col-md-4"),
                Column("kind", css_class="col-md-2"),
                Column("skill", css_class="col-md-2"),
                Column("status", css_class="col-md-2"),
                Column("country", css_class="col-md-2"),
            ),
        )

    def filters(self, sort: str) -> ProviderFilters:
        """The valid part of the input; a bad value counts as "any"."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if sort.removeprefix("-") not in SORTS:
            sort = ProviderFilters.sort
        return ProviderFilters(
            q=(data.get("q") or "").strip(),
            kind=data.get("kind") or "",
            skill=data.get("skill") or "",
            status=data.get("status") or "",
            country=data.get("country") or "",
            sort=sort,
        )


# The time zone and currency fields live in a partial that htmx swaps when the country changes.
COUNTRY_DEFAULTS = '{%% include "providers/partials/country_defaults.html#%s" %%}'


def _known_country(value: object) -> str:
    code = str(value or "").upper()
    return code if code in countries else ""


def follow_country(*, previous: str, country: str, time_zone: str, currency: str) -> tuple[str, str]:
    """The time zone and currency once the country changed from ``previous`` to ``country``.

    What came from the previous country follows the new one; what the person chose
    themselves (a zone outside the previous country, another currency) stays.
    Anything unknown (the values come from the browser) counts as empty.
    """
    previous, country = _known_country(previous), _known_country(country)
    time_zone = time_zone if zones.is_known(time_zone) else ""
    currency = currency if currency in currency_codes() else ""
    new_zones = zones.country_zones(country)
    if time_zone not in new_zones and (not time_zone or time_zone in zones.country_zones(previous)):
        time_zone = zones.country_default_zone(country) or ""
    if not currency or currency == country_currency(previous):
        currency = country_currency(country) or currency
    return time_zone, currency


class ProviderForm(forms.ModelForm):
    """Every field of a provider; contacts and skills are saved by the services, not the form."""

    emails = forms.CharField(
        label=_("Contact e-mail addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One address per line."),
    )
    profile_links_text = forms.CharField(
        label=_("Profile links"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Upwork, Fiverr, LinkedIn … one address per line."),
    )
    # Required in clean(): a country with one clock fills it in.
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        required=False,
        choices=language_choices,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    categories = forms.MultipleChoiceField(
        label=_("Skills"),
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    other_skills = forms.CharField(
        label=_("Other skills"),
        required=False,
        max_length=1000,
        help_text=_("Free tags, separated by commas."),
    )
    rate_amount = forms.DecimalField(
        label=_("Rate"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    rate_currency = forms.ChoiceField(label=_("Currency"), required=False)

    class Meta:
        model = Provider
        fields = (
            "kind",
            "name",
            "company",
            "phone",
            "website",
            "country",
            "time_zone",
            "languages",
            "rate_amount",
            "rate_currency",
            "rate_unit",
            "status",
            "notes",
            "response_policy",
        )
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider = self.instance
        self.defaults_country = self._country()
        # The country's currency, then the ones the workspace's providers bill in, then all.
        likely = [country_currency(self.defaults_country), *used_currencies(provider.workspace_id)]
        _choice_field(self, "rate_currency").choices = [
            ("", "---------"),
            *grouped_currency_choices(likely=[c for c in likely if c], keep=provider.rate_currency),
        ]
        self._offer_time_zones(provider)
        self._limit_policies(provider)
        make_searchable(self, ["country", "time_zone", "languages", "rate_currency"])
        if provider.pk and not self.is_bound:
            self.initial["emails"] = "\n".join(e.email for e in provider.emails.all())
            self.initial["profile_links_text"] = "\n".join(provider.profile_links or [])
            skills = [s.name for s in provider.skills.all()]
            self.initial["categories"] = [s for s in skills if s in Category.values]
            self.initial["other_skills"] = ", ".join(s for s in skills if s not in Category.values)
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Fieldset(
                _("Who"),
                Row(Column("kind", css_class="col-md-4"), Column("name", css_class="col-md-8")),
                "company",
                "status",
            ),
            Fieldset(
                _("Contact"),
                "emails",
                Row(Column("phone", css_class="col-md-4"), Column("website", css_class="col-md-8")),
                "profile_links_text",
            ),
            Fieldset(
                _("Where"),
                Row(
                    Column("country", css_class="col-md-6"),
                    Column(HTML(COUNTRY_DEFAULTS % "time_zone"), css_class="col-md-6"),
                ),
                "languages",
            ),
            Fieldset(_("Response clock"), "response_policy"),
            Fieldset(_("Skills"), "categories", "other_skills"),
            Fieldset(
                _("Rate"),
                Row(
                    Column("rate_amount", css_class="col-md-4"),
                    Column(HTML(COUNTRY_DEFAULTS % "rate_currency"), css_class="col-md-4"),
                    Column("rate_unit", css_class="col-md-4"),
                ),
            ),
            "notes",
        )

    def _country(self) -> str:
        """The country the time zone and currency are offered for: as typed, else as stored."""
        if self.is_bound:
            return _known_country(self.data.get(self.add_prefix("country")))
        return _known_country(self.initial.get("country"))

    def _offer_time_zones(self, provider: Provider) -> None:
        """The country's zones first, then the workspace's; the country's clock and currency as defaults."""
        field = _choice_field(self, "time_zone")
        field.choices = [
            ("", _("Choose the time zone")),
            *zones.time_zone_choices(
                country=self.defaults_country,
                likely=used_time_zones(provider.workspace_id),
                keep=provider.time_zone,
            ),
        ]
        name = countries.name(self.defaults_country) if self.defaults_country else ""
        if zones.has_several_zones(self.defaults_country):
            field.help_text = _("%(country)s has several time zones: choose the provider's.") % {
                "country": name
            }
        elif self.defaults_country:
            field.help_text = _(
                "The time zone of %(country)s. Change it if the provider lives elsewhere."
            ) % {"country": name}
        else:
            field.help_text = _("Choosing the country fills it in.")
        if not self.is_bound:
            default_zone = zones.country_default_zone(self.defaults_country) or ""
            self.initial["time_zone"] = self.initial.get("time_zone") or default_zone
            self.initial["rate_currency"] = self.initial.get("rate_currency") or country_currency(
                self.defaults_country
            )

    def _limit_policies(self, provider: Provider) -> None:
        """Only this workspace's policies; the empty choice names the default it stands for."""
        field = cast(forms.ModelChoiceField, self.fields["response_policy"])
        field.queryset = ResponsePolicy.objects.filter(workspace_id=provider.workspace_id)
        default = field.queryset.filter(is_default=True).first()
        field.empty_label = (
            _("Workspace default (%(name)s)") % {"name": default.name} if default else _("Workspace default")
        )
        field.help_text = _("How fast this provider should answer. An engagement can override it.")

    def clean_emails(self) -> list[str]:
        return _checked_lines(
            self.cleaned_data["emails"],
            validate_email,
            max_length=254,
            too_many=_("At most %(n)d addresses."),
            invalid=_("Not a valid e-mail address: %(lines)s"),
        )

    def clean_profile_links_text(self) -> list[str]:
        return _checked_lines(
            self.cleaned_data["profile_links_text"],
            URLValidator(schemes=["http", "https"]),
            max_length=500,
            too_many=_("At most %(n)d links."),
            invalid=_("Not a valid web address (http:// or https://): %(lines)s"),
        )

    def clean_other_skills(self) -> list[str]:
        tags = [t.strip() for t in self.cleaned_data["other_skills"].split(",") if t.strip()]
        too_long = [t for t in tags if len(t) > SKILL_MAX_LENGTH]
        if too_long:
            raise ValidationError(
                _("A skill can have at most %(n)d characters: %(tags)s"),
                params={"n": SKILL_MAX_LENGTH, "tags": ", ".join(too_long)},
            )
        return tags

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        country = str(data.get("country") or "")
        if not data.get("time_zone") and "time_zone" not in self.errors:
            self._default_time_zone(data, country)
        if not data.get("rate_currency") and "rate_currency" not in self.errors:
            data["rate_currency"] = country_currency(country)
        if data.get("rate_amount") is not None and not data.get("rate_currency"):
            self.add_error("rate_currency", _("Choose the currency of the rate."))
        return data

    def _default_time_zone(self, data: dict[str, Any], country: str) -> None:
        """The country's only clock, else an error: a guessed zone would make the response clock wrong."""
        zone = zones.country_default_zone(country)
        if zone:
            data["time_zone"] = zone
        elif zones.has_several_zones(country):
            message = _("%(country)s has several time zones: choose the provider's.")
            self.add_error("time_zone", message % {"country": countries.name(country)})
        else:
            self.add_error("time_zone", _("Choose the provider's time zone, or their country to fill it in."))

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned input as keyword arguments for provider_create / provider_update."""
        data = self.cleaned_data
        fields = {name: data[name] for name in self.Meta.fields}
        fields["profile_links"] = data["profile_links_text"]
        return {
            **fields,
            "emails": data["emails"],
            "skills": [*data["categories"], *data["other_skills"]],
        }


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Provider.Status.choices)


class AbsenceForm(forms.Form):
    starts_on = BoundedDateField(label=_("From"))
    ends_on = BoundedDateField(label=_("Until"))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(
                Column("starts_on", css_class="col-sm-3"),
                Column("ends_on", css_class="col-sm-3"),
                Column("note", css_class="col-sm-6"),
            )
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The absence cannot end before it starts."))
        return data


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Document.Kind.choices)
    title = forms.CharField(
        label=_("Title"), required=False, max_length=200, help_text=_("Empty: the file's name.")
    )
    expires_on = BoundedDateField(label=_("Expires on"), required=False, years_ahead=DOCUMENT_YEARS_AHEAD)
    file = forms.FileField(label=_("File"), max_length=255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(
                Column("kind", css_class="col-sm-3"),
                Column("title", css_class="col-sm-5"),
                Column("expires_on", css_class="col-sm-4"),
            ),
            "file",
        )


def _weekday_choices() -> list[tuple[str, StrOrPromise]]:
    # ISO numbers as the model stores them: "1" = Monday … "7" = Sunday.
    return [(str(number + 1), WEEKDAYS[number]) for number in range(7)]


def holiday_country_choices() -> list[tuple[str, StrOrPromise]]:
    """Countries the holidays package knows, by name; empty = the provider's country."""
    regions = holiday_regions()
    known = [(code, name) for code, name in countries if code in regions]
    return [("", _("The provider's country")), *known]


class PolicyForm(forms.ModelForm):
    """A response policy; the services validate it again (regions, one default, unique name)."""

    # Bounded so the clock never counts years ahead for a typo.
    reply_within = forms.IntegerField(label=_("Reply within"), min_value=1, max_value=1000)
    followup_wait = forms.IntegerField(label=_("Follow-up wait"), min_value=0, max_value=1000)
    followups_before_ghosted = forms.IntegerField(
        label=_("Unanswered follow-ups before ghosted"),
        min_value=0,
        max_value=20,
        help_text=_("0: never mark the provider as ghosted."),
    )
    workdays = forms.MultipleChoiceField(
        label=_("Working days"),
        choices=_weekday_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one working day.")},
    )
    day_start = forms.TimeField(
        label=_("Working day starts"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    day_end = forms.TimeField(
        label=_("Working day ends"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Empty: the provider's time zone."),
    )
    holiday_country = forms.ChoiceField(
        label=_("Public holidays of"),
        required=False,
        help_text=_("Empty: the provider's country."),
    )

    class Meta:
        model = ResponsePolicy
        fields = POLICY_FIELDS
        help_texts = {
            "holiday_subdivision": _("Optional, e.g. BY for Bavaria: regional holidays count too."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy = self.instance
        _choice_field(self, "time_zone").choices = [
            ("", _("The provider's time zone")),
            *zones.time_zone_choices(likely=used_time_zones(policy.workspace_id), keep=policy.time_zone),
        ]
        _choice_field(self, "holiday_country").choices = holiday_country_choices()
        make_searchable(self, ["time_zone", "holiday_country"])
        if not self.is_bound:
            self.initial["workdays"] = list(self.instance.workdays)
        self.helper = FormHelper()
        self.helper.include_media = False  # the page's head and scripts blocks load it
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "name",
            Row(
                Column("reply_within", css_class="col-sm-4"),
                Column("reply_within_unit", css_class="col-sm-8"),
            ),
            Fieldset(
                _("Business calendar"),
                InlineCheckboxes("workdays"),
                Row(Column("day_start", css_class="col-sm-6"), Column("day_end", css_class="col-sm-6")),
                "time_zone",
                Row(
                    Column("holiday_country", css_class="col-sm-8"),
                    Column("holiday_subdivision", css_class="col-sm-4"),
                ),
            ),
            Fieldset(
                _("Follow-ups"),
                Row(
                    Column("followup_wait", css_class="col-sm-4"),
                    Column("followup_wait_unit", css_class="col-sm-8"),
                ),
                "followups_before_ghosted",
            ),
        )

    def clean_workdays(self) -> str:
        return "".join(sorted(set(self.cleaned_data["workdays"])))

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned input as keyword arguments for policy_create / policy_update."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
