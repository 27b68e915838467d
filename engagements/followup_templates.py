"""A workspace's own follow-up texts: one per flag kind and language, with ``{placeholder}`` fields.

What a user types is never a Django template (that would let them read
whatever the template context reaches): it is plain text whose ``{name}``
fields are replaced by a small substitution that knows only the names in
``PLACEHOLDERS``. ``{{`` and ``}}`` stand for a literal brace.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagements.models import Flag, FollowupTemplate
from outsourcing import formats as date_formats
from outsourcing.models import User, Workspace

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The texts a follow-up is written from: one per flag kind, and a general one
# (engagements/followup/<language>/<kind>.txt ship the defaults).
GENERAL = "general"
KINDS: list[tuple[str, StrOrPromise]] = [
    *((kind.value, kind.label) for kind in Flag.Kind),
    (GENERAL, gettext_lazy("No flag")),
]
KIND_NAMES = {value for value, _label in KINDS}

PLACEHOLDERS: dict[str, StrOrPromise] = {
    "provider": gettext_lazy("the provider's name"),
    "engagement": gettext_lazy("the engagement's title"),
    "request_date": gettext_lazy("the date of the request being chased"),
    "days_waiting": gettext_lazy("days since that request"),
    "due_date": gettext_lazy("the engagement's due date (empty without one)"),
    "sender": gettext_lazy("your name"),
}
BODY_MAX = 5000
# A language code as Django writes them: "fr", "pt-br".
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")


def shipped_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def check_body(body: str) -> None:
    """Raise ValidationError naming what is wrong: an unknown placeholder, a lone brace, a format."""
    if not body.strip():
        raise ValidationError(_("Write the text."), code="required")
    if len(body) > BODY_MAX:
        raise ValidationError(_("At most %(n)d characters.") % {"n": BODY_MAX}, code="max_length")
    try:
        fields = [
            (name, spec, conversion)
            for _lit, name, spec, conversion in string.Formatter().parse(body)
            if name is not None
        ]
    except ValueError:
        raise ValidationError(
            _("A brace is not closed. Write {{ or }} for a brace in the text itself."), code="brace"
        ) from None
    unknown = sorted(
        {name or "{}" for name, spec, conv in fields if name not in PLACEHOLDERS or spec or conv}
    )
    if unknown:
        raise ValidationError(
            _("Unknown placeholder: %(names)s. Use only %(known)s.")
            % {
                "names": ", ".join(f"{{{n}}}" if n != "{}" else n for n in unknown),
                "known": ", ".join(f"{{{n}}}" for n in PLACEHOLDERS),
            },
            code="placeholder",
        )


def render(body: str, values: Mapping[str, str]) -> str:
    """``body`` with each known ``{name}`` replaced; anything else is left as it was written.

    Raises ValueError for a body whose braces do not pair (``check_body`` refuses those).
    """
    out = []
    for literal, name, spec, conversion in string.Formatter().parse(body):
        out.append(literal)
        if name is None:
            continue
        if name in values and not spec and not conversion:
            out.append(values[name])
        else:
            out.append("{" + name + "}")
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip()


def values_for(
    *,
    provider: str,
    engagement: str,
    requested_on: date | None,
    days_waiting: int,
    due_on: date | None,
    sender: str,
    language: str,
) -> dict[str, str]:
    """The placeholders' values, dates written in ``language`` and its usual format (not the sender's)."""
    with translation.override(language), date_formats.override(date_formats.for_language(language)):
        return {
            "provider": provider,
            "engagement": engagement,
            "request_date": formats.date_format(requested_on, "DATE_FORMAT") if requested_on else "",
            "days_waiting": str(days_waiting),
            "due_date": formats.date_format(due_on, "DATE_FORMAT") if due_on else "",
            "sender": sender,
        }


def sample_values(language: str, sender: str) -> dict[str, str]:
    """Made-up values for the edit page's preview."""
    today = timezone.localdate()
    return values_for(
        provider="Jana Novak",
        engagement=str(_("Product photos for the spring catalogue")),
        requested_on=date.fromordinal(today.toordinal() - 9),
        days_waiting=9,
        due_on=date.fromordinal(today.toordinal() + 5),
        sender=sender,
        language=language,
    )


def starter(kind: str, language: str) -> str:
    """A text to start editing from when the workspace has none of its own yet."""
    with translation.override(language):
        if kind == Flag.Kind.BOUNCED:
            return _(
                "Hello {provider},\n\nmy mail of {request_date} about “{engagement}” did not reach you. "
                "Could you confirm that this address works?\n\nKind regards,\n{sender}"
            )
        if kind == Flag.Kind.DELIVERY_OVERDUE:
            return _(
                "Hello {provider},\n\n“{engagement}” was due on {due_date}. "
                "When can I expect it?\n\nKind regards,\n{sender}"
            )
        if kind == GENERAL:
            return _("Hello {provider},\n\nhow is “{engagement}” coming along?\n\nKind regards,\n{sender}")
        return _(
            "Hello {provider},\n\nI have not yet heard from you about my request of {request_date} "
            "about “{engagement}” ({days_waiting} days ago). Could you let me know?\n\nKind regards,\n{sender}"
        )


def language_name(code: str) -> str:
    """The language's name in the reader's language, or its code when Django does not know it."""
    try:
        return str(translation.get_language_info(code)["name_translated"])
    except KeyError:
        return code


def added_languages(workspace_id: int) -> list[str]:
    """The languages the app does not ship that the workspace has texts in (one query)."""
    shipped = shipped_languages()
    found = FollowupTemplate.objects.filter(workspace_id=workspace_id).values_list("language", flat=True)
    return sorted(set(found) - set(shipped))


def custom_bodies(workspace_id: int, kind: str) -> dict[str, str]:
    """The workspace's own texts for ``kind``, by language (one query)."""
    return dict(
        FollowupTemplate.objects.filter(workspace_id=workspace_id, kind=kind).values_list("language", "body")
    )


def workspace_templates(workspace: Workspace) -> list[FollowupTemplate]:
    return list(
        FollowupTemplate.objects.filter(workspace=workspace)
        .select_related("updated_by")
        .order_by("language", "kind")
    )


# --- Writes ------------------------------------------------------------------------------------


def template_save(
    *, workspace: Workspace, kind: str, language: str, body: str, by: User | None
) -> FollowupTemplate:
    """Store the workspace's own text for ``kind`` in ``language`` (replacing one there was)."""
    body = body.replace("\r\n", "\n")
    errors: dict[str, list[str]] = {}
    if kind not in KIND_NAMES:
        errors["kind"] = [_("Choose a kind of follow-up.")]
    if not LANGUAGE_CODE.match(language):
        errors["language"] = [_("Give a language code such as “fr” or “pt-br”.")]
    try:
        check_body(body)
    except ValidationError as exc:
        errors["body"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        template, _created = FollowupTemplate.objects.update_or_create(
            workspace=workspace,
            kind=kind,
            language=language,
            defaults={"body": body, "updated_at": timezone.now(), "updated_by": by},
        )
    return template


def template_reset(*, workspace: Workspace, kind: str, language: str) -> bool:
    """Drop the workspace's own text, so the shipped one is used again. True when there was one."""
    deleted, _rows = FollowupTemplate.objects.filter(
        workspace=workspace, kind=kind, language=language
    ).delete()
    return bool(deleted)
