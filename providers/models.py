"""The provider registry: who we outsource to, how to reach them, when they are away."""

from __future__ import annotations

import zoneinfo
from datetime import date, time
from functools import cache

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import CountryField

from outsourcing import dates
from outsourcing.files import stored_name
from outsourcing.models import Workspace
from outsourcing.money import CurrencyField


class Category(models.TextChoices):
    """The outsourcing categories every workspace starts with (skills and engagements)."""

    WEB_DESIGN = "web_design", _("Web design")
    LIST_BUILDING = "list_building", _("List building")
    EMAIL_MARKETING = "email_marketing", _("Autoresponder and e-mail marketing setup")
    EBOOK = "ebook", _("E-book production")
    AUDIO = "audio", _("Audio production")
    VIDEO = "video", _("Video production")
    WEBINAR = "webinar", _("Webinar production")
    CONTENT_WRITING = "content_writing", _("Content writing")
    BACKLINKS = "backlinks", _("Guest posts and backlinks")
    SEO = "seo", _("SEO")
    FULFILMENT = "fulfilment", _("Fulfilment and shipping")
    CUSTOMER_SUPPORT = "customer_support", _("Customer support")
    BOOKKEEPING = "bookkeeping", _("Bookkeeping")
    VIRTUAL_ASSISTANCE = "virtual_assistance", _("Virtual assistance")


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    names = sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")
    return [(name, name.replace("_", " ")) for name in names]


def validate_time_zone(value: str) -> None:
    if value not in dict(time_zone_choices()):
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


@cache
@cache
def holiday_regions() -> dict[str, tuple[str, ...]]:
    """Country code -> the subdivisions the ``holidays`` package has public holidays for."""
    return {country: tuple(subdivs) for country, subdivs in holidays.list_supported_countries().items()}


def holiday_subdivision(country: str, subdivision: str) -> str | None:
    """The package's spelling of ``subdivision`` in ``country`` ("by" -> "BY"), None if unknown."""
    wanted = subdivision.strip().casefold()
    return next((s for s in holiday_regions().get(country, ()) if s.casefold() == wanted), None)


# Django's list lacks Filipino, which many virtual assistants speak ("fil" in BCP 47).
EXTRA_LANGUAGES = (("fil", _("Filipino (Tagalog)")),)


def language_choices() -> list[tuple[str, str]]:
    """The languages a provider may speak, named in the active language and sorted by that name."""
    from django.conf import global_settings

    # Django's own catalog translates its language names ("German" -> "Deutsch").
    named = [(code, gettext(name)) for code, name in global_settings.LANGUAGES]
    named += [(code, str(name)) for code, name in EXTRA_LANGUAGES]
    return sorted(named, key=lambda choice: choice[1].casefold())


class ResponsePolicy(models.Model):
    """How fast a provider should answer, counted on a business calendar.

    Precedence: the engagement's policy, else the provider's, else the
    workspace default. Empty time zone / holiday country mean "the provider's".
    """

    class Unit(models.TextChoices):
        HOURS = "hours", _("business hours")
        DAYS = "days", _("business days")

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="response_policies", verbose_name=_("workspace")
    )
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("workspace default"), default=False)
    reply_within = models.PositiveIntegerField(_("reply within"), default=2)
    reply_within_unit = models.CharField(_("unit"), max_length=5, choices=Unit.choices, default=Unit.DAYS)
    workdays = models.CharField(
        _("working days"),
        max_length=7,
        default="12345",
        help_text=_("ISO weekday numbers: 1 = Monday … 7 = Sunday."),
    )
    day_start = models.TimeField(_("working day starts"), default=time(9, 0))
    day_end = models.TimeField(_("working day ends"), default=time(17, 0))
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Empty: the provider's time zone."),
    )
    holiday_country = CountryField(
        _("public holidays of"), blank=True, help_text=_("Empty: the provider's country.")
    )
    holiday_subdivision = models.CharField(
        _("region"), max_length=10, blank=True, help_text=_("e.g. BY for Bavaria.")
    )
    followup_wait = models.PositiveIntegerField(_("follow-up wait"), default=2)
    followup_wait_unit = models.CharField(_("unit"), max_length=5, choices=Unit.choices, default=Unit.DAYS)
    followups_before_ghosted = models.PositiveSmallIntegerField(
        _("unanswered follow-ups before ghosted"), default=2
    )

    class Meta:
        verbose_name = _("response policy")
        verbose_name_plural = _("response policies")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(is_default=True), name="policy_one_default"
            ),
            models.CheckConstraint(
                condition=Q(day_end__gt=models.F("day_start")), name="policy_day_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(reply_within__gt=0), name="policy_reply_within_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        days = set(self.workdays)
        if not days or not days <= set("1234567") or len(days) != len(self.workdays):
            raise ValidationError({"workdays": _("Choose at least one working day.")})
        if self.day_start and self.day_end and self.day_end <= self.day_start:
            raise ValidationError({"day_end": _("The working day must end after it starts.")})
        self._clean_holidays()

    def _clean_holidays(self) -> None:
        # Checked here, not only in the form: every entry point saves through full_clean.
        country = str(self.holiday_country or "")
        if not self.holiday_subdivision:
            return
        if not country:
            raise ValidationError(
                {"holiday_subdivision": _("Choose the country of the region, or leave the region empty.")}
            )
        known = holiday_subdivision(country, self.holiday_subdivision)
        if known is None:
            message = _("Not a region with its own public holidays. Known regions: %(regions)s.")
            regions = ", ".join(holiday_regions().get(country, ())) or "—"
            raise ValidationError(
                {"holiday_subdivision": ValidationError(message, params={"regions": regions})}
            )
        self.holiday_subdivision = known

    @property
    def workday_numbers(self) -> frozenset[int]:
        return frozenset(int(d) for d in self.workdays)

    def _seconds(self, value: int, unit: str) -> int:
        if unit == self.Unit.HOURS:
            return value * 3600
        start = self.day_start.hour * 3600 + self.day_start.minute * 60
        end = self.day_end.hour * 3600 + self.day_end.minute * 60
        return value * (end - start)

    @property
    def reply_within_seconds(self) -> int:
        """Business seconds allowed for a reply (a business day is one working day's hours)."""
        return self._seconds(self.reply_within, self.reply_within_unit)

    @property
    def followup_wait_seconds(self) -> int:
        return self._seconds(self.followup_wait, self.followup_wait_unit)

    @staticmethod
    def duration_text(value: int, unit: str) -> str:
        if unit == ResponsePolicy.Unit.HOURS:
            return ngettext("%(n)d business hour", "%(n)d business hours", value) % {"n": value}
        return ngettext("%(n)d business day", "%(n)d business days", value) % {"n": value}

    @property
    def workdays_text(self) -> str:
        """ "Mon–Fri" for a run of days, else "Mon, Wed, Fri"."""
        days = sorted(self.workday_numbers)
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            return f"{WEEKDAYS_ABBR[days[0] - 1]}–{WEEKDAYS_ABBR[days[-1] - 1]}"
        return ", ".join(str(WEEKDAYS_ABBR[d - 1]) for d in days)

    @property
    def calendar_text(self) -> str:
        """Whose time zone and holidays the clock uses, in words."""
        if not self.time_zone and not self.holiday_country:
            return gettext("provider's time zone and holidays")
        zone = self.time_zone.replace("_", " ") if self.time_zone else gettext("provider's time zone")
        if self.holiday_country:
            region = str(countries.name(str(self.holiday_country)) or self.holiday_country)
            if self.holiday_subdivision:
                region = f"{region} ({self.holiday_subdivision})"
            public_holidays = gettext("holidays of %(region)s") % {"region": region}
        else:
            public_holidays = gettext("provider's holidays")
        return f"{zone}, {public_holidays}"

    @property
    def rule_text(self) -> str:
        """The rule in words: "2 business days, Mon–Fri 09:00–17:00, provider's time zone and holidays"."""
        hours = f"{self.day_start:%H:%M}–{self.day_end:%H:%M}"
        return ", ".join(
            [
                self.duration_text(self.reply_within, self.reply_within_unit),
                f"{self.workdays_text} {hours}",
                self.calendar_text,
            ]
        )

    @property
    def followup_text(self) -> str:
        """The escalation ladder in words."""
        wait = self.duration_text(self.followup_wait, self.followup_wait_unit)
        if not self.followups_before_ghosted:
            return gettext("follow up after %(wait)s; never marked ghosted") % {"wait": wait}
        return ngettext(
            "follow up after %(wait)s; ghosted after %(n)d unanswered follow-up",
            "follow up after %(wait)s; ghosted after %(n)d unanswered follow-ups",
            self.followups_before_ghosted,
        ) % {"wait": wait, "n": self.followups_before_ghosted}


class Provider(models.Model):
    class Kind(models.TextChoices):
        FREELANCER = "freelancer", _("Freelancer")
        VIRTUAL_ASSISTANT = "virtual_assistant", _("Virtual assistant")
        AGENCY = "agency", _("Agency")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Archived")
        BLOCKED = "blocked", _("Blocked")

    class RateUnit(models.TextChoices):
        HOUR = "hour", _("per hour")
        PROJECT = "project", _("per project")

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="providers", verbose_name=_("workspace")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FREELANCER)
    name = models.CharField(_("name"), max_length=200)
    company = models.CharField(_("company"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    website = models.URLField(_("website"), max_length=500, blank=True)
    profile_links = models.JSONField(
        _("profile links"),
        default=list,
        blank=True,
        help_text=_("Upwork, Fiverr, LinkedIn … one address per line."),
    )
    country = CountryField(_("country"), blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    rate_amount = models.DecimalField(_("rate"), max_digits=12, decimal_places=2, null=True, blank=True)
    rate_currency = CurrencyField(_("currency"), blank=True)
    rate_unit = models.CharField(
        _("rate unit"), max_length=10, choices=RateUnit.choices, default=RateUnit.HOUR
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    notes = models.TextField(_("notes"), blank=True)
    response_policy = models.ForeignKey(
        ResponsePolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("response policy"),
        help_text=_("Empty: the workspace default."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["workspace", "name"], name="provider_ws_name"),
            models.Index(fields=["workspace", "status", "name"], name="provider_ws_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_amount__isnull=True) | Q(rate_amount__gte=0),
                name="provider_rate_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        if self.company and self.company != self.name:
            return f"{self.name} ({self.company})"
        return self.name


class ProviderEmail(models.Model):
    """A contact address; indexed per workspace so incoming mail finds its provider."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="emails", verbose_name=_("provider")
    )
    email = models.EmailField(_("e-mail address"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("contact e-mail")
        verbose_name_plural = _("contact e-mails")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "email"], name="provider_email_unique"),
        ]
        indexes = [models.Index(fields=["workspace", "email"], name="provider_email_lookup")]

    def __str__(self) -> str:
        return self.email


class ProviderSkill(models.Model):
    """A skill: one of the seeded categories (stored by its code) or a free tag."""

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="skills", verbose_name=_("provider")
    )
    name = models.CharField(_("skill"), max_length=60)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="provider_skill_unique"),
        ]
        indexes = [models.Index(fields=["name", "provider"], name="provider_skill_name")]

    def __str__(self) -> str:
        return self.label

    @property
    def is_category(self) -> bool:
        return self.name in Category.values

    @property
    def label(self) -> str:
        return str(Category(self.name).label) if self.is_category else self.name


class Absence(models.Model):
    """An announced absence (vacation, sick leave): the response clock pauses."""

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="absences", verbose_name=_("provider")
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["starts_on"]
        indexes = [models.Index(fields=["provider", "ends_on"], name="absence_provider_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="absence_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.starts_on} – {self.ends_on}"

    def clean(self) -> None:
        # Here, not only in the form: the admin, the importers and the services all run full_clean.
        errors = dates.check_dates({"starts_on": self.starts_on, "ends_on": self.ends_on})
        if not errors and self.starts_on and self.ends_on:
            if self.ends_on < self.starts_on:
                errors["ends_on"] = ValidationError(_("The absence cannot end before it starts."))
            elif (self.ends_on - self.starts_on).days >= dates.MAX_ABSENCE_DAYS:
                errors["ends_on"] = ValidationError(_("An absence can last at most two years."))
        if errors:
            raise ValidationError(errors)

    def is_current(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.starts_on <= today <= self.ends_on


def document_upload_to(instance: Document, filename: str) -> str:
    return stored_name("documents", instance.provider.workspace_id, filename)


class Document(models.Model):
    class Kind(models.TextChoices):
        CONTRACT = "contract", _("Contract")
        NDA = "nda", _("NDA")
        INVOICE = "invoice", _("Invoice")
        OTHER = "other", _("Other")

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="documents", verbose_name=_("provider")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CONTRACT)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    # Shown as "expiring soon" this many days ahead.
    EXPIRY_WARNING_DAYS = 30

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = dates.check_dates({"expires_on": self.expires_on}, dates.DOCUMENT_YEARS_AHEAD)
        if errors:
            raise ValidationError(errors)

    def expiry_state(self, today: date | None = None) -> str:
        """ "expired", "expiring" (within the warning window) or "" (fine or no expiry)."""
        if self.expires_on is None:
            return ""
        today = today or timezone.localdate()
        if self.expires_on < today:
            return "expired"
        if (self.expires_on - today).days <= self.EXPIRY_WARNING_DAYS:
            return "expiring"
        return ""
