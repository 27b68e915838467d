"""Mail out: a request or follow-up written in the app, sent, and logged as it was sent.

The mail carries a Reply-To address with the engagement's routing token
(``local+TOKEN@domain``) and a Message-ID kept on the logged message, so the
provider's reply finds its way back through the importer either way: by its
In-Reply-To, or by the token when a mail client dropped the thread headers.
"""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import string
from collections.abc import Collection, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import select_template
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from engagements import queries, services
from engagements.answers.links import link_url, links_issue
from engagements.forms import followup_initial, followup_language
from engagements.mail.tokens import token_once
from engagements.models import Engagement, Flag, Message
from outsourcing import formats as date_formats
from outsourcing.mail_headers import header_text
from outsourcing.models import Membership, User
from outsourcing.money import format_money
from providers.models import Provider, ProviderEmail

logger = logging.getLogger(__name__)

# What can be sent from the app: a first request, or a nudge while it is unanswered.
KINDS = (Message.Kind.REQUEST, Message.Kind.FOLLOW_UP)
# Matches TOKEN in engagements.mail.importer: lower-case letters and digits, 8–24 of them.
TOKEN_ALPHABET = string.ascii_lowercase + string.digits
TOKEN_LENGTH = 16
MAX_CC = 10
# A follow-up's References keep the thread's root and its latest ancestors (as the parser reads them).
MAX_REFERENCES = 20
SUBJECT_MAX = Message._meta.get_field("subject").max_length or 300
FALLBACK_SITE_NAME = "Outsourcing Tracker"


class MailNotSent(ValidationError):
    """The mail server (or the connection to it) refused the mail; nothing was logged."""


# --- Addresses -----------------------------------------------------------------


def routing_domain() -> str:
    """MAIL_ROUTING_DOMAIN, or the domain of DEFAULT_FROM_EMAIL while that is empty."""
    if settings.MAIL_ROUTING_DOMAIN:
        return settings.MAIL_ROUTING_DOMAIN
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return address.rpartition("@")[2].lower() or "localhost"


def routing_address(engagement: Engagement) -> str:
    """The engagement's Reply-To address; it gets its token the first time mail goes out.

    Two sends racing for the first token end up with the same one (``token_once``).
    """
    if not engagement.routing_token:
        engagement.routing_token = token_once(
            Engagement,
            engagement.pk,
            "routing_token",
            lambda: "".join(secrets.choice(TOKEN_ALPHABET) for _i in range(TOKEN_LENGTH)),
        )
    return f"{settings.MAIL_ROUTING_LOCAL}+{engagement.routing_token}@{routing_domain()}"


def provider_addresses(provider: Provider) -> list[str]:
    """The provider's contact addresses, the first one first (one query)."""
    return list(
        ProviderEmail.objects.filter(provider=provider)
        .order_by("position", "id")
        .values_list("email", flat=True)
    )


def member_addresses(engagement: Engagement) -> list[str]:
    """The addresses of the engagement's workspace's members (one query)."""
    return list(
        Membership.objects.filter(workspace_id=engagement.workspace_id).values_list("user__email", flat=True)
    )


def _from_header(by: User | None, language: str) -> tuple[str, str]:
    """The From header and its bare address: DEFAULT_FROM_EMAIL, named after the person sending.

    The address stays the app's own (its domain is the one allowed to send);
    the name tells the provider who wrote.
    """
    site, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    site = site or FALLBACK_SITE_NAME
    if by is None:
        name = site
    else:
        with translation.override(language):
            name = _("%(name)s via %(site)s") % {"name": by.display_name, "site": site}
    # One line, whatever a user typed as their name (a header cannot span lines).
    name = header_text(name)
    username, _at, domain = address.rpartition("@")
    return str(Address(display_name=name, username=username, domain=domain)), address


def _bracketed(ids: Sequence[str]) -> str:
    return " ".join(f"<{i}>" for i in ids)


def _thread_of(engagement: Engagement) -> tuple[str, str]:
    """In-Reply-To and References for a follow-up: the request it chases, when that went by mail."""
    return _thread_to(queries.followup_request(engagement))


def _thread_to(chased: Message | None) -> tuple[str, str]:
    """In-Reply-To and References for a mail that continues ``chased``'s thread (none when it had none)."""
    if chased is None or not chased.message_id:
        return "", ""
    ancestors = [i for i in chased.references.split() if i != chased.message_id]
    chain = [*ancestors, chased.message_id]
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chased.message_id, " ".join(chain)


# --- Checking what was typed -----------------------------------------------------


def _check(
    engagement: Engagement, kind: str, to: Sequence[str], cc: Sequence[str], subject: str, body: str
) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        errors["kind"] = [_("Send a request or a follow-up.")]
    if not to:
        errors["to"] = [_("Choose at least one of the provider's addresses.")]
    known = {a.lower() for a in provider_addresses(engagement.provider)}
    if to:
        strangers = [a for a in to if a.lower() not in known]
        if strangers:
            errors["to"] = [
                _("Not an address of this provider: %(addresses)s") % {"addresses": ", ".join(strangers)}
            ]
    bad_cc = []
    for address in cc:
        try:
            validate_email(address)
        except ValidationError:
            bad_cc.append(address)
    if bad_cc:
        errors["cc"] = [_("Not an e-mail address: %(addresses)s") % {"addresses": ", ".join(bad_cc)}]
    elif len(cc) > MAX_CC:
        errors["cc"] = [_("Copy at most %(n)d addresses.") % {"n": MAX_CC}]
    elif cc and not engagement.workspace.mail_any_recipient:
        # Mail from the app carries its name: unless an owner allows more, it reaches only
        # people the workspace already deals with, so no account can use it to mail strangers.
        known |= {a.lower() for a in member_addresses(engagement)}
        strangers = [a for a in cc if a.lower() not in known]
        if strangers:
            errors["cc"] = [
                _(
                    "Copies go only to the provider's addresses and to this workspace's members "
                    "(an owner can allow others in the workspace settings). Not one of them: %(addresses)s"
                )
                % {"addresses": ", ".join(strangers)}
            ]
    if not subject:
        errors["subject"] = [_("Give the mail a subject.")]
    if not body.strip():
        errors["body"] = [_("Write the message.")]
    if errors:
        raise ValidationError(errors)


def _failure(exc: Exception) -> MailNotSent:
    """What to tell the person whose mail did not go out, in words they can act on."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(str(a) for a in exc.recipients)
        text = _("The mail server refused the recipients: %(addresses)s.") % {"addresses": refused}
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        text = _("The mail server refused the app's login; the mail settings need checking.")
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        text = _("The mail server refused the sender address %(address)s.") % {"address": exc.sender}
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = _("The mail server did not accept the mail (%(code)s).") % {"code": exc.smtp_code}
    elif isinstance(exc, OSError):  # smtplib's other errors too: a dropped connection, a timeout
        text = _("The mail server could not be reached.")
    else:
        text = _("The mail could not be sent.")
    return MailNotSent(
        _("%(reason)s Nothing was sent or logged; please try again.") % {"reason": text}, code="not_sent"
    )


# --- The answer link -----------------------------------------------------------------


def answer_footer(messages: Sequence[Message], language: str) -> str:
    """The lines under a mail that give the provider their answer page, one link per request.

    Made once the messages are logged (a link names its message); only the mail
    carries the links, the logged text stays as it was written.
    """
    with translation.override(language):
        intro = _(
            "Answer in one click, no account needed: confirm you have it, propose a new date, "
            "ask a question or mark it delivered:"
        )
    tokens = links_issue(messages)
    if len(messages) == 1:
        return f"\n\n--\n{intro}\n{link_url(tokens[0])}\n"
    lines = [f"- {m.engagement.title}: {link_url(t)}" for m, t in zip(messages, tokens, strict=True)]
    return "\n\n--\n" + intro + "\n" + "\n".join(lines) + "\n"


# --- Sending ------------------------------------------------------------------------


def mail_send(
    *,
    engagement: Engagement,
    by: User | None,
    kind: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    body: str,
    in_reply_to: str = "",
    references: str = "",
) -> Message:
    """Send a request or follow-up to the provider and log it as sent from the app.

    Logged first, then sent, in one transaction: when the mail server refuses
    it, the log entry (and the status move it caused) is rolled back and
    ``MailNotSent`` says why. A follow-up without thread headers given
    continues the thread of the request it chases, when that went by mail.
    Message-IDs are passed and stored without angle brackets, as the parser
    stores them; ``references`` is space-separated.
    """
    to = list(dict.fromkeys(a.strip() for a in to if a.strip()))
    cc = [a for a in dict.fromkeys(a.strip() for a in cc if a.strip()) if a not in to]
    # A header is one line: pasted line breaks (and other control characters) become spaces.
    subject = header_text(subject, SUBJECT_MAX)
    # As a browser's textarea sends it (CRLF) or not: stored and sent with plain newlines.
    body = body.replace("\r\n", "\n")
    _check(engagement, kind, to, cc, subject, body)
    in_reply_to = in_reply_to.strip().strip("<>")
    if kind == Message.Kind.FOLLOW_UP and not in_reply_to:
        in_reply_to, references = _thread_of(engagement)
    references = " ".join(i.strip("<>") for i in references.split()) or in_reply_to
    return _log_and_send(
        engagement=engagement,
        by=by,
        kind=kind,
        to=to,
        cc=cc,
        subject=subject,
        body=body,
        in_reply_to=in_reply_to,
        references=references,
        language=mail_language(engagement),
    )


def mail_notice(
    *, engagement: Engagement, by: User | None, subject: str, body: str, language: str, about: Message | None
) -> Message | None:
    """Tell the provider something that asks nothing of them (the decision on a date they proposed).

    Sent and logged as ``mail_send`` does (in one transaction; ``MailNotSent``
    when refused), as an outbound message of kind "other": by the clock's rules
    that opens no request, so no reply is expected (while one of ours is open it
    counts among its follow-ups, as any message to the provider does). It goes
    to the provider's first address no bounce reported, in ``about``'s thread
    (the request the provider answered) with a fresh answer link to that
    request, or to this mail when there is none. None, with nothing logged,
    when the provider has no address to write to.
    """
    to = recipients(provider_addresses(engagement.provider), queries.bounced_addresses(engagement))
    if not to:
        return None
    in_reply_to, references = _thread_to(about)
    return _log_and_send(
        engagement=engagement,
        by=by,
        kind=Message.Kind.OTHER,
        to=to,
        cc=[],
        subject=header_text(subject, SUBJECT_MAX),
        body=body.replace("\r\n", "\n"),
        in_reply_to=in_reply_to,
        references=references,
        language=language,
        link_to=about,
    )


def _log_and_send(
    *,
    engagement: Engagement,
    by: User | None,
    kind: str,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    body: str,
    in_reply_to: str,
    references: str,
    language: str,
    link_to: Message | None = None,
) -> Message:
    """Log a mail to the provider as sent from the app, then send it with its answer link.

    One transaction: a refused mail rolls the log entry back (``MailNotSent``).
    The link answers ``link_to``, else the mail itself (a request or follow-up).
    """
    from_header, from_address = _from_header(by, language)
    reply_to = routing_address(engagement)
    message_id = make_msgid(domain=routing_domain()).strip("<>")
    headers = {"Message-ID": f"<{message_id}>"}
    if in_reply_to:
        headers["In-Reply-To"] = f"<{in_reply_to}>"
        headers["References"] = _bracketed(references.split())
    mail = EmailMessage(
        subject=subject,
        body=body,
        from_email=from_header,
        to=list(to),
        cc=list(cc),
        reply_to=[reply_to],
        headers=headers,
    )
    with transaction.atomic():
        message = services.message_log(
            engagement=engagement,
            direction=Message.Direction.OUTBOUND,
            kind=kind,
            channel=Message.Channel.EMAIL,
            occurred_at=timezone.now(),
            subject=subject,
            body=body,
            author=by,
            sender=from_address.lower(),
            source=Message.Source.APP,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
        )
        mail.body = body + answer_footer([link_to or message], language)
        try:
            sent = mail.send()
        except Exception as exc:  # any backend's failure: roll back and say so
            logger.warning("mail for engagement %s not sent: %r", engagement.pk, exc)
            raise _failure(exc) from exc
        if not sent:
            raise _failure(RuntimeError("the backend sent nothing"))
    return message


# --- Prefilled texts ---------------------------------------------------------------------


def shipped_language(code: str | None) -> str | None:
    """``code`` when the app ships it (a template exists for it), else None."""
    code = (code or "").split("-")[0].lower()
    return code if code in {c for c, _name in settings.LANGUAGES} else None


def mail_language(engagement: Engagement, chosen: str | None = None) -> str:
    """The language a mail to the provider is written in: the chosen one, else as for follow-ups."""
    return shipped_language(chosen) or followup_language(
        engagement.provider.languages or [], translation.get_language()
    )


def recipients(addresses: Sequence[str], bounced: Collection[str]) -> list[str]:
    """Whom a mail goes to unless the person chooses otherwise: the first address no bounce reported.

    Nobody when every address bounced: the person chooses, and the page says why.
    """
    return [a for a in addresses if a.lower() not in bounced][:1]


def compose_initial(
    engagement: Engagement,
    kind: str,
    *,
    sender_name: str,
    language: str | None = None,
    flag: Flag | None = None,
    bounced: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The compose form's subject and body for a request or follow-up, and their language.

    The language is the one chosen, else the provider's (as for follow-ups:
    the user's own when the provider speaks it). A follow-up fits ``flag``
    when one is given (``bounced``: the engagement's bounced addresses, when
    read already). Nothing is saved here.
    """
    provider = engagement.provider
    if kind == Message.Kind.FOLLOW_UP:
        facts = queries.followup_facts(engagement, flag, bounced=bounced)
        # The one chosen when there is a text in it (the workspace may have added languages), else
        # the provider's, counting those the workspace has its own texts in.
        chosen = (language or "").strip().lower() or None
        initial = followup_initial(engagement, facts, sender=sender_name, language=chosen)
        return {
            "kind": kind,
            "subject": initial["subject"],
            "body": initial["body"],
            "language": initial["language"],
        }
    language = mail_language(engagement, language)
    template = select_template([f"engagements/request/{language}.txt", "engagements/request/en.txt"])
    # Dates and sums as the provider reads them: in their language and time zone.
    with (
        translation.override(language),
        date_formats.override(date_formats.for_language(language)),
        timezone.override(provider.time_zone or "UTC"),
    ):
        body = template.render(
            {
                "name": provider.name,
                "title": engagement.title,
                "brief": engagement.brief.strip(),
                "due_on": engagement.due_on,
                "fee": format_money(engagement.fee_amount, engagement.fee_currency, language),
                "sender": sender_name,
            }
        )
    # The template's optional paragraphs leave blank lines behind when they are empty.
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return {
        "kind": Message.Kind.REQUEST,
        "subject": header_text(engagement.title, SUBJECT_MAX),
        "body": body,
        "language": language,
    }


# --- One follow-up about several of a provider's overdue items (a bulk follow-up) -----------


def combined_followup(
    chosen: Sequence[Flag], *, sender_name: str, now: datetime | None = None
) -> dict[str, str]:
    """Subject, body and language of one follow-up covering several overdue flags of one provider.

    Load the flags with ``engagement__provider`` and ``exchange``: nothing more is read. Each
    item says what the single follow-up for its flag would say (a request unanswered since,
    or a delivery past its due date), dated as the provider reads dates: in their language,
    time zone and calendar. Nothing is saved here.
    """
    now = now or timezone.now()
    provider = chosen[0].engagement.provider
    zone = provider.time_zone or "UTC"
    today = timezone.localdate(now, ZoneInfo(zone))
    language = mail_language(chosen[0].engagement)
    items = []
    for flag in chosen:
        engagement = flag.engagement
        requested_at = flag.exchange.requested_at if flag.exchange is not None else None
        requested_on = timezone.localdate(requested_at, ZoneInfo(zone)) if requested_at else today
        due_on = engagement.due_on
        items.append(
            {
                "title": engagement.title,
                "kind": "delivery_overdue" if flag.kind == Flag.Kind.DELIVERY_OVERDUE else "reply",
                "requested_at": requested_at,
                "days_waiting": (today - requested_on).days,
                "due_on": due_on,
                "days_late": max((today - due_on).days, 0) if due_on else 0,
            }
        )
    template = select_template(
        [f"engagements/followup/{language}/combined.txt", "engagements/followup/en/combined.txt"]
    )
    with translation.override(language), timezone.override(zone):
        body = template.render({"name": provider.name, "items": items, "sender": sender_name})
        titles = len({flag.engagement_id for flag in chosen})
        subject = ngettext("Following up on %(n)d open item", "Following up on %(n)d open items", titles) % {
            "n": titles
        }
    return {"subject": subject, "body": re.sub(r"\n{3,}", "\n\n", body).strip(), "language": language}


def mail_send_combined(
    *, engagements: Sequence[Engagement], by: User | None, to: Sequence[str], subject: str, body: str
) -> list[Message]:
    """Send one follow-up about several engagements of the same provider; log it on each of them.

    ``mail_send`` for several engagements at once: checked the same way, logged
    first (one INSERT, one recompute for them all), then sent, in one
    transaction, so a refused mail logs nothing (``MailNotSent``). The mail
    starts a thread of its own and keeps no engagement's routing token: its
    Reply-To is the bare routing address, and the logged copies carry no
    Message-ID, so a reply is never threaded into one engagement by mistake:
    the importer files it by its sender or subject, or leaves it to be sorted.
    """
    if not engagements:
        return []
    first = engagements[0]
    if any(e.provider_id != first.provider_id or e.workspace_id != first.workspace_id for e in engagements):
        raise ValueError("one provider's engagements at a time")
    to = list(dict.fromkeys(a.strip() for a in to if a.strip()))
    subject = header_text(subject, SUBJECT_MAX)
    body = body.replace("\r\n", "\n")
    _check(first, Message.Kind.FOLLOW_UP, to, [], subject, body)
    language = mail_language(first)
    from_header, from_address = _from_header(by, language)
    mail = EmailMessage(
        subject=subject,
        body=body,
        from_email=from_header,
        to=to,
        reply_to=[f"{settings.MAIL_ROUTING_LOCAL}@{routing_domain()}"],
        headers={"Message-ID": make_msgid(domain=routing_domain())},
    )
    now = timezone.now()
    items = [
        services.LogItem(
            Message(
                workspace_id=engagement.workspace_id,
                engagement=engagement,
                direction=Message.Direction.OUTBOUND,
                kind=Message.Kind.FOLLOW_UP,
                channel=Message.Channel.EMAIL,
                occurred_at=now,
                subject=subject,
                body=body,
                author=by,
                sender=from_address.lower(),
                source=Message.Source.APP,
            )
        )
        for engagement in engagements
    ]
    with transaction.atomic():
        logged = services.messages_log(items)
        mail.body = body + answer_footer(logged, language)
        try:
            sent = mail.send()
        except Exception as exc:  # any backend's failure: roll back and say so
            logger.warning("combined mail for engagements %s not sent: %r", [e.pk for e in engagements], exc)
            raise _failure(exc) from exc
        if not sent:
            raise _failure(RuntimeError("the backend sent nothing"))
    return logged
