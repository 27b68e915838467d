"""Message notifications of freelance platforms (Upwork, Fiverr, Freelancer.com): recognised and read.

A platform sends an e-mail for each message a freelancer writes there. Such a
mail is not an e-mail from the provider: it comes from the platform's no-reply
address and wraps the freelancer's words in the platform's text. This module
holds one rule per platform, as data:

- the sender domains (the domain itself or a subdomain of it; a look-alike
  domain such as ``upwork.com.example`` or ``upwork-mail.com`` is not one);
- the subject lines of a message notification (anything else from the same
  sender, a newsletter or a job alert, is ordinary mail);
- the layouts of the body, one regular expression each over the plain text
  (which for an HTML-only mail is the text read from its HTML), naming the
  freelancer (``name``, ``handle``), their words (``words``), what the
  conversation is about (``topic``) and when it was written (``time``);
- how a profile link names a user on the platform (on a provider, and in the
  links of the mail), so a notification is matched to the provider whose
  profile link it names, or else whose name it shows.

``recognise`` turns a parsed mail into a ``PlatformNotice`` or None; it is a
pure function. ``match_providers`` picks the providers a notice belongs to. To
add a platform or a layout, add a rule or a pattern: nothing else changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engagements.mail.common import BLANK_LINES, collapse
from engagements.mail.parse import ParsedMail

# How much of a body is searched for a layout, and the longest name a notification can show.
MAX_SCAN = 64 * 1024
MAX_NAME = 120
# A time the notification shows is believed when it lies at most this long before the mail was sent.
MAX_TIME_LAG = timedelta(days=7)


@dataclass(frozen=True)
class PlatformRule:
    """How one platform's message notifications look."""

    key: str  # stored on unsorted mail
    label: str  # shown
    domains: tuple[str, ...]
    subjects: tuple[re.Pattern[str], ...]
    layouts: tuple[re.Pattern[str], ...]
    # A link that names a user on the platform: group "handle".
    profile_link: re.Pattern[str]
    # A link to the conversation, shown with the message.
    conversation_link: re.Pattern[str]
    # How the time a layout shows is written (always in UTC where it is read at all).
    time_formats: tuple[str, ...] = ()
    # Path words that are the platform's own pages, never a user name.
    reserved: frozenset[str] = frozenset()
    # A user's profile address, for a user name the notification shows ({handle}); and what a user name
    # must look like to make one (Upwork's names that are profile ids start with "~").
    profile_url: str = ""
    profile_handle: re.Pattern[str] = re.compile(r"^[\w.-]+$")


@dataclass(frozen=True)
class PlatformNotice:
    """What a recognised notification says: who wrote what, where, and when."""

    platform: str  # PlatformRule.key
    label: str
    name: str  # the display name the notification shows ("" when it shows only the user name)
    handle: str  # the user name on the platform, lower-case ("" when not shown)
    words: str  # the freelancer's words, without the platform's text
    topic: str  # the job, gig or project it is about ("" when not shown)
    link: str  # the platform's link to the conversation ("" when none)
    sent_at: datetime | None  # when the freelancer wrote it, if shown and believable

    @property
    def sender(self) -> str:
        """Who wrote it, as the log shows it: the display name, else the user name."""
        return self.name or self.handle


def _lines(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE | re.DOTALL)


def _subject(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Pieces of the layouts. A name is one line; the words run to the line where the platform's text resumes.
_NAME = r"(?P<name>[^\n]{1,120}?)"
_WORDS = r"\n\n(?P<words>.{1,20000}?)\n\n"

UPWORK = PlatformRule(
    key="upwork",
    label="Upwork",
    domains=("upwork.com",),
    subjects=(
        _subject(r"^you have unread messages? about the (?:job|contract) "),
        _subject(r"^new message from .{1,120}$"),
    ),
    layouts=(
        # "You have unread messages about the job …", then the name, the time, the words, the button.
        _lines(
            r"^You have unread messages? about the (?:job|contract) (?P<topic>[^\n]{1,200})\n\n"
            rf"{_NAME}\n(?P<time>[^\n]{{1,60}}\d:\d\d[^\n]{{0,20}})" + _WORDS + r"(?:View messages?|Reply)\b"
        ),
        _lines(
            rf"^You have a new message from {_NAME}(?: about (?P<topic>[^\n]{{1,200}}?))?[.:]?"
            + _WORDS
            + r"(?:View messages?|Reply)\b"
        ),
    ),
    profile_link=re.compile(
        r"upwork\.com/(?:freelancers|fl|o/profiles/users)/(?P<handle>~?[0-9a-z][\w.-]{1,80})", re.I
    ),
    conversation_link=re.compile(r"https://www\.upwork\.com/ab/messages/rooms/[\w-]{1,100}", re.I),
    time_formats=("%b %d, %Y, %I:%M %p UTC", "%b %d, %Y %I:%M %p UTC"),
    profile_url="https://www.upwork.com/freelancers/{handle}",
    profile_handle=re.compile(r"^~[0-9a-z]+$"),
)

FIVERR = PlatformRule(
    key="fiverr",
    label="Fiverr",
    domains=("fiverr.com",),
    subjects=(
        _subject(r"^you(?:'|’)ve received a new message from \S{1,60}$"),
        _subject(r"^du hast eine neue nachricht von \S{1,60} erhalten$"),
    ),
    layouts=(
        _lines(r"^You(?:'|’)ve received a new message from (?P<handle>[\w.-]{1,60}):" + _WORDS + r"Reply\b"),
        _lines(
            r"^Du hast eine neue Nachricht von (?P<handle>[\w.-]{1,60}) erhalten:" + _WORDS + r"Antworten\b"
        ),
    ),
    profile_link=re.compile(
        r"(?<![\w.-])(?:[a-z]{2}\.|www\.)?fiverr\.com/(?P<handle>[a-z0-9][\w.-]{1,60})", re.I
    ),
    conversation_link=re.compile(r"https://(?:[a-z]{2}\.|www\.)?fiverr\.com/inbox/[\w.-]{1,60}", re.I),
    profile_url="https://www.fiverr.com/{handle}",
    reserved=frozenset(
        {
            "inbox",
            "users",
            "gigs",
            "categories",
            "support",
            "pages",
            "cp",
            "resources",
            "search",
            "login",
            "settings",
        }
    ),
)

FREELANCER = PlatformRule(
    key="freelancer",
    label="Freelancer.com",
    domains=("freelancer.com", "freelancer.de", "freelancer.co.uk"),
    subjects=(
        _subject(r"^\S{1,60} sent you a message$"),
        _subject(r"^\S{1,60} hat ihnen eine nachricht gesendet$"),
    ),
    layouts=(
        _lines(
            rf"^{_NAME} \(@(?P<handle>[\w.-]{{1,60}})\) sent you a message"
            r"(?: regarding the project \"(?P<topic>[^\"\n]{1,200})\")?:" + _WORDS + r"View conversation\b"
        ),
        _lines(
            rf"^{_NAME} \(@(?P<handle>[\w.-]{{1,60}})\) hat Ihnen eine Nachricht"
            r"(?: zum Projekt [\"„](?P<topic>[^\"“\n]{1,200})[\"“])? gesendet:"
            + _WORDS
            + r"Unterhaltung ansehen\b"
        ),
    ),
    profile_link=re.compile(r"freelancer\.(?:com|de|co\.uk)/u/(?P<handle>[\w.-]{1,60})", re.I),
    conversation_link=re.compile(
        r"https://www\.freelancer\.(?:com|de|co\.uk)/messages/thread/\d{1,20}", re.I
    ),
    profile_url="https://www.freelancer.com/u/{handle}",
)

RULES: tuple[PlatformRule, ...] = (UPWORK, FIVERR, FREELANCER)
RULE_BY_KEY = {rule.key: rule for rule in RULES}


def rule_for_sender(address: str) -> PlatformRule | None:
    """The platform whose notification domain an address is on (the domain or a subdomain), or None."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    for rule in RULES:
        if any(domain == d or domain.endswith("." + d) for d in rule.domains):
            return rule
    return None


def is_platform_sender(address: str) -> bool:
    """Whether an address is a platform's: mail from it never names a provider by its address."""
    return rule_for_sender(address) is not None


def _normalise(text: str) -> str:
    lines = (line.rstrip() for line in text[:MAX_SCAN].replace("\r\n", "\n").split("\n"))
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n\n"


_QUOTES = (('"', '"'), ("“", "”"), ("„", "“"), ("„", "”"), ("«", "»"))


def _words(text: str) -> str:
    """The freelancer's words: the quote marks and ``>`` the platform put around them taken off, lines kept."""
    lines = text.strip().split("\n")
    if all(line.startswith(">") for line in lines):
        lines = [line[1:].removeprefix(" ") for line in lines]
    words = "\n".join(lines).strip()
    for opening, closing in _QUOTES:
        if len(words) > 1 and words.startswith(opening) and words.endswith(closing):
            words = words[len(opening) : -len(closing)].strip()
            break
    return words


def _time(rule: PlatformRule, shown: str, sent: datetime | None) -> datetime | None:
    for fmt in rule.time_formats:
        try:
            when = datetime.strptime(collapse(shown), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        if sent is None or sent - MAX_TIME_LAG <= when <= sent:
            return when
    return None


def _handles(rule: PlatformRule, text: str) -> list[str]:
    """The user names the profile links in a text name, lower-case, in order."""
    found = []
    for match in rule.profile_link.finditer(text):
        handle = match.group("handle").lower().rstrip(".")
        if handle not in rule.reserved and handle not in found:
            found.append(handle)
    return found


def recognise(mail: ParsedMail) -> PlatformNotice | None:
    """The notice a platform's message notification holds, or None for any other mail.

    It takes all three: a sender on the platform's domain, a notification
    subject, and a body in one of the platform's layouts with words in it.
    """
    rule = rule_for_sender(mail.from_address)
    if rule is None or mail.is_bounce or not any(p.search(mail.subject) for p in rule.subjects):
        return None
    text = _normalise(mail.text)
    for layout in rule.layouts:
        match = layout.search(text)
        if match is None:
            continue
        groups = {k: (v or "") for k, v in match.groupdict().items()}
        words = _words(groups["words"])
        name = collapse(groups.get("name", ""))[:MAX_NAME]
        handle = groups.get("handle", "").lower()
        if not words or not (name or handle):
            continue
        links = rule.conversation_link.search(mail.html) or rule.conversation_link.search(mail.text)
        return PlatformNotice(
            platform=rule.key,
            label=rule.label,
            name=name,
            handle=handle,
            words=words,
            topic=collapse(groups.get("topic", "")),
            link=links.group(0) if links else "",
            sent_at=_time(rule, groups.get("time", ""), mail.date),
        )
    return None


def mail_handles(notice: PlatformNotice, mail: ParsedMail) -> set[str]:
    """The user names a notification names: the one it shows, and those of the profile links in it."""
    rule = RULE_BY_KEY[notice.platform]
    found = set(_handles(rule, mail.text) + _handles(rule, mail.html))
    if notice.handle:
        found.add(notice.handle)
    return found


def profile_links(platform: str, handles: Iterable[str]) -> list[str]:
    """Profile addresses for the user names a notification showed (to prefill a new provider)."""
    rule = RULE_BY_KEY.get(platform)
    if rule is None or not rule.profile_url:
        return []
    return [rule.profile_url.format(handle=h) for h in sorted(handles) if rule.profile_handle.match(h)]


def label(platform: str) -> str:
    """The platform's name as shown, for a stored key ("" for none)."""
    rule = RULE_BY_KEY.get(platform)
    return rule.label if rule else ""


@dataclass(frozen=True)
class ProviderIdentity:
    """What matching needs to know of a provider."""

    pk: int
    name: str
    company: str
    profile_links: tuple[str, ...]


def _name_key(name: str) -> str:
    return collapse(name).casefold()


_SHORTENED = re.compile(r"^(?P<first>\S+)\s+(?P<initial>\w)\.?$")


def _name_matches(shown: str, provider: ProviderIdentity) -> bool:
    """Whether a shown name is the provider's: the same name or company, or "First L." for "First Last"."""
    key = _name_key(shown)
    if not key:
        return False
    if key in (_name_key(provider.name), _name_key(provider.company)):
        return True
    shortened = _SHORTENED.match(key)
    parts = _name_key(provider.name).split()
    return bool(
        shortened
        and len(parts) >= 2
        and parts[0] == shortened.group("first")
        and parts[-1].startswith(shortened.group("initial"))
    )


def match_providers(
    notice: PlatformNotice, handles: set[str], providers: Iterable[ProviderIdentity]
) -> list[int]:
    """The providers a notice is from: those whose profile link on the platform names one of ``handles``,
    else those whose name the notice shows (as display name or user name). Several means: not sure."""
    rule = RULE_BY_KEY[notice.platform]
    providers = list(providers)
    by_link = [
        p.pk
        for p in providers
        if handles and any(h in handles for link in p.profile_links for h in _handles(rule, link))
    ]
    if by_link:
        return by_link
    shown = [n for n in (notice.name, notice.handle) if n]
    return [p.pk for p in providers if any(_name_matches(n, p) for n in shown)]
