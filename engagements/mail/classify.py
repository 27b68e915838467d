"""Classifying a message: sent by a machine (auto-reply, bounce), and what an out-of-office reply says.

Pure functions of the headers and text; ``parse_message`` calls them once a message is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta

from engagements.mail.common import (
    MAX_ID_LENGTH,
    MAX_REFERENCES,
    unique,
    valid_address,
)

# How far into a bounce's body its returned headers are looked for; and how much of a bounce
# written in prose is read for the addresses that failed.
MAX_RETURNED_SCAN = 256 * 1024
MAX_BOUNCE_TEXT = 8 * 1024


# Subjects that announce an automatic reply on their own (Outlook, Exchange, Gmail, GMX, web.de …).
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:"
    r"out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto[\s-]?reply|autoresponse|auto[\s-]?response"
    r"|abwesenheitsnotiz|abwesenheitsmeldung|automatische\s+antwort|abwesend"
    r"|ich\s+bin\s+nicht\s+im\s+b(?:ü|ue)ro|nicht\s+im\s+b(?:ü|ue)ro"
    r")\b",
    re.IGNORECASE,
)
# Words that suggest an absence anywhere in a subject: enough only together with a bulk/suppress header.
_ABSENCE_SUBJECT_WORDS = re.compile(
    r"\b(?:out\s+of\s+(?:the\s+)?office|away|vacation|holiday|holidays|on\s+leave|ooo"
    r"|abwesen\w*|urlaub|nicht\s+im\s+b(?:ü|ue)ro|au(?:ß|ss)er\s+haus|automatische\s+antwort"
    r"|automatic\s+reply|auto[\s-]?reply)\b",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undelivered\s+mail|undeliverable|delivery\s+status\s+notification\s*\(failure\)"
    r"|delivery\s+(?:has\s+)?failed|delivery\s+failure|mail\s+delivery\s+failed|returned\s+mail"
    r"|failure\s+notice|unzustellbar|nicht\s+zustellbar|zustellung\s+fehlgeschlagen",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_DELIVERY_REPORT = re.compile(
    r"^\s*multipart/report\s*;.*\breport-type\s*=\s*\"?delivery-status\b", re.IGNORECASE | re.DOTALL
)


def is_auto_reply(headers: Mapping[str, str], subject: str) -> bool:
    """Whether a message was sent by a machine on someone's behalf (out of office, autoresponder).

    ``headers`` maps lower-case header names to their first value. A bounce is checked separately
    (``looks_like_bounce``) and wins: ``parse_message`` never calls a bounce an auto-reply.
    """
    submitted = headers.get("auto-submitted", "").split(";", 1)[0].strip().lower()
    if submitted and submitted != "no":
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    precedence = headers.get("precedence", "").strip().lower()
    if precedence == "auto_reply":
        return True
    if _AUTO_REPLY_SUBJECT.search(subject):
        return True
    # Outlook puts X-Auto-Response-Suppress on many ordinary messages too, and mailing lists say
    # "bulk": only together with a subject about being away do they mean an out-of-office reply.
    if "x-auto-response-suppress" in headers or precedence in ("bulk", "junk"):
        return bool(_ABSENCE_SUBJECT_WORDS.search(subject))
    return False


def looks_like_bounce(headers: Mapping[str, str], subject: str, from_address: str) -> bool:
    """Whether a message reports that earlier mail could not be delivered.

    A delivery-status report is a bounce by its type; otherwise it takes a mail system sender
    (MAILER-DAEMON, postmaster, or the empty Return-Path of an RFC 5321 notification) and a subject
    about failed delivery, so a person called "postmaster" can still write to us.
    """
    if _DELIVERY_REPORT.match(headers.get("content-type", "")):
        return True
    local_part = from_address.split("@", 1)[0]
    null_sender = headers.get("return-path", "").strip() == "<>"
    from_system = local_part in _BOUNCE_SENDERS or null_sender
    return from_system and bool(_BOUNCE_SUBJECT.search(subject))


# --- return dates in out-of-office replies -------------------------------------------------------------

_MONTHS = {
    "january": 1,
    "jan": 1,
    "januar": 1,
    "jänner": 1,
    "jaenner": 1,
    "february": 2,
    "feb": 2,
    "februar": 2,
    "march": 3,
    "mar": 3,
    "märz": 3,
    "maerz": 3,
    "mär": 3,
    "mrz": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "mai": 5,
    "june": 6,
    "jun": 6,
    "juni": 6,
    "july": 7,
    "jul": 7,
    "juli": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
    "dezember": 12,
    "dez": 12,
}
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|mittwoch|donnerstag"
    r"|freitag|samstag|sonnabend|sonntag|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|mo|di|mi|do|fr|sa|so)"
    r"\b\.?"
)
_DATE = re.compile(
    r"(?<![\w.])(?:"
    r"(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2})(?!\d)"
    r"|(?P<num_d>\d{1,2})\.\s?(?P<num_m>\d{1,2})\.(?:\s?(?P<num_y>\d{4}|\d{2})(?!\d|\.\d))?"
    r"|(?P<sl_a>\d{1,2})/(?P<sl_b>\d{1,2})/(?P<sl_y>\d{4}|\d{2})(?![\d/])"
    rf"|(?P<dm_d>\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?(?P<dm_m>{_MONTH})(?:,?\s+(?P<dm_y>\d{{4}})(?!\d))?"
    rf"|(?P<md_m>{_MONTH})\s+(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?(?!\d|[.:]\d)(?:,?\s+(?P<md_y>\d{{4}})(?!\d))?"
    r")",
    re.IGNORECASE,
)
_BEFORE_DATE = rf"\s*,?\s*(?:{_WEEKDAY},?\s*)?(?:(?:den|dem|the)\s+)?$"
# "until 3 January", "bis zum 3. Januar", "bis einschließlich 2.1.": the date is the last day away.
_UNTIL_BEFORE = re.compile(
    r"\b(?:until|till|til|through|thru|to|bis)\b"
    r"(?:\s+(?:and\s+including|including|incl\.|zum|zur|einschließlich|einschliesslich|einschl\."
    r"|inkl\.|inklusive|am|dem|den|the|on))*" + _BEFORE_DATE,
    re.IGNORECASE,
)
# "back on 4 January", "wieder im Büro am 4.1.": the date is the first day back.
_RETURN_BEFORE = re.compile(
    r"\b(?:back|return|returning|returns|zurück|zurueck|wieder)\b[^.!?\d\n]{0,40}?" + _BEFORE_DATE,
    re.IGNORECASE,
)
# "ab dem 04.01.2027 wieder erreichbar", "from January 4 I will be back": first day back as well.
_START_BEFORE = re.compile(
    r"\b(?:ab|am|from|on|as\s+of|starting(?:\s+on)?)\b(?:\s+(?:dem|den|the))?" + _BEFORE_DATE,
    re.IGNORECASE,
)
_RETURN_AFTER = re.compile(
    r"^[^.!?\d\n]{0,40}?\b(?:wieder|zurück|zurueck|back|return|returning|available\s+again|reachable\s+again)\b",
    re.IGNORECASE,
)
# A return date further out than this is more likely a misreading than an absence.
_ABSENCE_HORIZON = timedelta(days=366)


def read_absence_until(text: str, *, today: date) -> date | None:
    """The last day of an absence an out-of-office text announces, or None when it is not clear.

    English and German: "until 3 January 2027", "bis zum 3. Januar", "bis einschließlich 2.1." give that
    day; "back on 03.01.2027", "ab dem 04.01.2027 wieder erreichbar" give the day before it, so the value
    fits a provider absence's inclusive end date. A date without a year is the next one on or after
    ``today``. Dates that disagree, lie before ``today`` or more than a year ahead mean None.
    """
    found: set[date] = set()
    for match in _DATE.finditer(text):
        before = text[max(0, match.start() - 80) : match.start()].rsplit("\n", 1)[-1]
        after = text[match.end() : match.end() + 60]
        if _RETURN_BEFORE.search(before) or (_START_BEFORE.search(before) and _RETURN_AFTER.search(after)):
            back_on = _resolve_date(match, today)
            last_day = back_on - timedelta(days=1) if back_on else None
        elif _UNTIL_BEFORE.search(before):
            last_day = _resolve_date(match, today)
        else:
            continue
        if last_day is None or not today <= last_day <= today + _ABSENCE_HORIZON:
            return None
        found.add(last_day)
    return found.pop() if len(found) == 1 else None


def _resolve_date(match: re.Match[str], today: date) -> date | None:
    """The calendar date a ``_DATE`` match names, the year filled in from ``today`` when left out."""
    groups = match.groupdict()
    year: str | None
    if groups["iso_y"]:
        year, month, day = groups["iso_y"], int(groups["iso_m"]), int(groups["iso_d"])
    elif groups["num_d"]:
        year, month, day = groups["num_y"], int(groups["num_m"]), int(groups["num_d"])
    elif groups["sl_a"]:
        first, second = int(groups["sl_a"]), int(groups["sl_b"])
        if first <= 12 and second <= 12 and first != second:
            return None  # 03/01 is March 1st in the US and January 3rd elsewhere
        month, day = (second, first) if first > 12 else (first, second)
        year = groups["sl_y"]
    elif groups["dm_d"]:
        year, month, day = groups["dm_y"], _MONTHS[groups["dm_m"].rstrip(".").lower()], int(groups["dm_d"])
    else:
        year, month, day = groups["md_y"], _MONTHS[groups["md_m"].rstrip(".").lower()], int(groups["md_d"])
    if year:
        full_year = int(year) + 2000 if len(year) == 2 else int(year)
        try:
            return date(full_year, month, day)
        except ValueError:
            return None
    for candidate_year in range(today.year, today.year + 9):  # 29 February waits up to eight years
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            if not 1 <= month <= 12 or not 1 <= day <= 31:
                return None
            continue
        if candidate >= today:
            return candidate
    return None


_RETURNED_ID = re.compile(rb"^message-id:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)


# A delivery report's recipient fields (RFC 3464): "Final-Recipient: rfc822; someone@example.com".
_REPORTED_RECIPIENT = re.compile(
    rb"^(?:final|original)-recipient:[ \t]*rfc822[ \t]*;[ \t]*<?([^<>\s;@]{1,64}@[^<>\s;@]{1,255})>?",
    re.IGNORECASE | re.MULTILINE,
)


def _bounce_body(raw: bytes) -> bytes:
    """The start of a bounce's body, where the report and the returned headers are."""
    _head, sep, body = raw.partition(b"\n\n")
    if not sep:
        _head, sep, body = raw.partition(b"\r\n\r\n")
    return body[:MAX_RETURNED_SCAN]


def returned_ids(raw: bytes) -> tuple[str, ...]:
    """The Message-IDs quoted in a bounce's body (the returned mail's headers), in order."""
    found = (m.decode("ascii", "replace") for m in _RETURNED_ID.findall(_bounce_body(raw)))
    return unique(i for i in found if len(i) <= MAX_ID_LENGTH)[:MAX_REFERENCES]


def reported_recipients(raw: bytes) -> tuple[str, ...]:
    """The addresses a delivery report says failed (its Final-/Original-Recipient fields), lower-cased."""
    found = (m.decode("ascii", "replace").lower() for m in _REPORTED_RECIPIENT.findall(_bounce_body(raw)))
    return unique(a for a in found if valid_address(a))
