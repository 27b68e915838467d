"""What each kind of import can read: its columns, how a cell becomes a value, the headers it recognises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from engagements.models import Engagement, Message, TableImport
from engagements.tables import values
from outsourcing import zones
from providers.models import Category, Provider

Kind = TableImport.Kind


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    clean: Callable[[Any], Any]
    required: bool = False
    # Header spellings (English and German, any case) that map to this column on their own.
    aliases: tuple[str, ...] = ()
    # The model field whose own checks (length, choices, validators) the value must pass.
    model_field: str = ""
    help: str | Promise = field(default="")


def _choice(choices: Any, *extra: tuple[str, Any]) -> Callable[[Any], Any]:
    lookup = values.choice_lookup(choices, *extra)
    return partial(values.choose, lookup=lookup)


def _lazy_choice(build: Callable[[], Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """Labels are translated, so the lookup is built on first use (after the apps are ready)."""
    cache: list[Callable[[Any], Any]] = []

    def clean(value: Any) -> Any:
        if not cache:
            cache.append(build())
        return cache[0](value)

    return clean


def country(value: Any) -> str:
    """An ISO code, or a country's English or German name."""
    raw = values.text(value)
    code = _country_code(raw)
    if not code:
        raise ValidationError(_("“%(value)s” is not a country.") % {"value": raw})
    return code


@lru_cache(maxsize=1024)
def _country_code(raw: str) -> str:
    # Cached: a name is looked up by translating every country's name, and a sheet repeats a few.
    if countries.alpha2(raw.upper()):
        return raw.upper()
    return countries.by_name(raw) or countries.by_name(raw, language="de") or ""


def time_zone(value: Any) -> str:
    raw = values.text(value)
    if not zones.is_known(raw):
        raise ValidationError(_("“%(value)s” is not a time zone such as Europe/Berlin.") % {"value": raw})
    return raw


def website(value: Any) -> str:
    """www.example.com as sheets hold it becomes https://www.example.com."""
    raw = values.text(value)
    return raw if "://" in raw else f"https://{raw}"


def currency(value: Any) -> str:
    return values.text(value).upper().replace("€", "EUR").replace("$", "USD").replace("£", "GBP")


def languages(value: Any) -> list[str]:
    return [code.lower() for code in values.text_list(value)]


def priority(value: Any) -> int:
    raw = values.text(value)
    if raw.isdigit():
        return int(raw)
    return int(_priority(value))


_priority = _lazy_choice(lambda: _choice(Engagement.Priority.choices))

PROVIDERS = (
    Column("name", _("Name"), values.text, True, ("name", "provider", "anbieter", "dienstleister"), "name"),
    Column(
        "emails",
        _("E-mail addresses"),
        values.emails,
        aliases=("email", "e-mail", "emails", "e-mail addresses", "mail", "e-mail-adresse"),
        help=_("Existing providers are found by e-mail address."),
    ),
    Column(
        "company",
        _("Company"),
        values.text,
        aliases=("company", "firma", "unternehmen"),
        model_field="company",
    ),
    Column(
        "kind",
        _("Kind"),
        _lazy_choice(lambda: _choice(Provider.Kind.choices, ("va", "virtual_assistant"))),
        aliases=("kind", "type", "art", "typ"),
        model_field="kind",
    ),
    Column("phone", _("Phone"), values.text, aliases=("phone", "telefon", "tel"), model_field="phone"),
    Column("website", _("Website"), website, aliases=("website", "web", "url"), model_field="website"),
    # The cleaner returns only real codes: the field's own check walks every country's name.
    Column("country", _("Country"), country, aliases=("country", "land")),
    Column(
        "time_zone",
        _("Time zone"),
        time_zone,
        aliases=("time zone", "timezone", "zeitzone"),
        model_field="time_zone",
    ),
    Column("languages", _("Languages"), languages, aliases=("languages", "sprachen")),
    Column("skills", _("Skills"), values.text_list, aliases=("skills", "fähigkeiten", "kenntnisse", "tags")),
    Column(
        "rate_amount",
        _("Rate"),
        values.decimal,
        aliases=("rate", "satz", "stundensatz", "honorar"),
        model_field="rate_amount",
    ),
    Column(
        "rate_currency", _("Currency"), currency, aliases=("currency", "währung"), model_field="rate_currency"
    ),
    Column(
        "rate_unit",
        _("Rate unit"),
        _lazy_choice(
            lambda: _choice(
                Provider.RateUnit.choices, ("hour", "hour"), ("stunde", "hour"), ("projekt", "project")
            )
        ),
        aliases=("rate unit", "per", "einheit"),
        model_field="rate_unit",
    ),
    Column(
        "status",
        _("Status"),
        _lazy_choice(lambda: _choice(Provider.Status.choices)),
        aliases=("status",),
        model_field="status",
    ),
    Column(
        "notes",
        _("Notes"),
        values.long_text,
        aliases=("notes", "notizen", "bemerkungen", "comment"),
        model_field="notes",
    ),
)

PROVIDER_REF = Column(
    "provider",
    _("Provider"),
    values.text,
    True,
    ("provider", "anbieter", "dienstleister", "provider e-mail", "freelancer"),
    help=_("The provider's e-mail address or name."),
)

ENGAGEMENTS = (
    Column(
        "title", _("Title"), values.text, True, ("title", "task", "titel", "aufgabe", "engagement"), "title"
    ),
    PROVIDER_REF,
    Column(
        "owner",
        _("Owner"),
        values.text,
        aliases=("owner", "verantwortlich", "zuständig"),
        help=_("A member's e-mail address."),
    ),
    Column(
        "brief",
        _("Brief"),
        values.long_text,
        aliases=("brief", "description", "beschreibung", "briefing"),
        model_field="brief",
    ),
    Column(
        "category",
        _("Category"),
        _lazy_choice(lambda: _choice(Category.choices)),
        aliases=("category", "kategorie"),
        model_field="category",
    ),
    Column("priority", _("Priority"), priority, aliases=("priority", "priorität"), model_field="priority"),
    Column(
        "fee_amount",
        _("Agreed fee"),
        values.decimal,
        aliases=("fee", "agreed fee", "honorar", "preis", "betrag"),
        model_field="fee_amount",
    ),
    Column(
        "fee_currency", _("Currency"), currency, aliases=("currency", "währung"), model_field="fee_currency"
    ),
    Column(
        "due_on",
        _("Due date"),
        values.day,
        aliases=("due", "due date", "due on", "fällig", "fälligkeit", "deadline", "frist"),
        model_field="due_on",
    ),
    Column("client_name", _("Client"), values.text, aliases=("client", "kunde"), model_field="client_name"),
    Column(
        "status",
        _("Status"),
        _lazy_choice(lambda: _choice(Engagement.Status.choices)),
        aliases=("status",),
        model_field="status",
    ),
)

MESSAGES = (
    Column(
        "engagement", _("Engagement"), values.text, True, ("engagement", "task", "title", "aufgabe", "titel")
    ),
    PROVIDER_REF,
    Column(
        "occurred_at",
        _("When"),
        values.moment,
        True,
        ("when", "date", "datum", "wann", "sent", "occurred at", "zeit"),
        "occurred_at",
    ),
    Column(
        "direction",
        _("Direction"),
        _lazy_choice(
            lambda: _choice(
                Message.Direction.choices,
                ("outbound", "out"),
                ("sent", "out"),
                ("to provider", "out"),
                ("gesendet", "out"),
                ("ausgehend", "out"),
                ("inbound", "in"),
                ("received", "in"),
                ("from provider", "in"),
                ("empfangen", "in"),
                ("eingehend", "in"),
                ("internal", "note"),
                ("notiz", "note"),
            )
        ),
        True,
        ("direction", "richtung"),
        "direction",
    ),
    Column(
        "kind",
        _("Kind"),
        _lazy_choice(
            lambda: _choice(Message.Kind.choices, ("follow up", "follow_up"), ("nachfrage", "follow_up"))
        ),
        aliases=("kind", "type", "art"),
        model_field="kind",
    ),
    Column(
        "channel",
        _("Channel"),
        _lazy_choice(lambda: _choice(Message.Channel.choices, ("mail", "email"), ("telefon", "phone"))),
        aliases=("channel", "kanal", "medium"),
        model_field="channel",
    ),
    Column("subject", _("Subject"), values.text, aliases=("subject", "betreff"), model_field="subject"),
    Column(
        "body",
        _("Message"),
        values.long_text,
        aliases=("body", "message", "text", "nachricht", "inhalt"),
        model_field="body",
    ),
    Column(
        "sender",
        _("Sender"),
        values.text,
        aliases=("sender", "from", "von", "absender"),
        model_field="sender",
    ),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    Kind.PROVIDERS: PROVIDERS,
    Kind.ENGAGEMENTS: ENGAGEMENTS,
    Kind.MESSAGES: MESSAGES,
}


def _header_key(header: str) -> str:
    return " ".join(header.replace("_", " ").split()).casefold()


def guess_mapping(kind: str, headers: list[str], remembered: dict[str, str] | None = None) -> dict[str, str]:
    """Header → column key: what was chosen for this header last time, else a header that names a column.

    Each column is taken at most once (the first header naming it wins); other headers are ignored ("").
    """
    columns = COLUMNS[kind]
    keys = {c.key for c in columns}
    by_alias: dict[str, str] = {}
    for column in columns:
        for spelling in (column.key, str(column.label), *column.aliases):
            by_alias.setdefault(_header_key(spelling), column.key)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        choice = (remembered or {}).get(header)
        if choice is None:
            choice = by_alias.get(_header_key(header), "")
        if choice not in keys or choice in taken:
            choice = ""
        mapping[header] = choice
        if choice:
            taken.add(choice)
    return mapping
