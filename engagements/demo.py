"""Demo data: the "Demo Marketing" workspace, its team, providers and a lived-in message log.

One generator serves every size. Scale 1 is a hand-made cast of 12 providers and
40 engagements (the seed story of docs/design.md among them); ``scale=N`` adds N-1
more units of 40 engagements and providers at 0.4 per unit, so N=2500 gives
about 100,000 engagements and 1,000,000 messages. The workspace, the team, the
cast and its absences go through the services; the generated providers,
engagements, messages, exchanges and status changes are bulk-inserted in chunks
(COPY on PostgreSQL), with exchanges and summary fields computed by the same
functions ``exchanges_recompute`` uses, so the rows are what logging each
message by hand would have produced.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.db import connection, models, transaction
from django.utils import timezone

from engagements import deadlines
from engagements.clock import BusinessCalendar
from engagements.exchanges import DerivedExchange, LogEntry, derive_exchanges, engagement_summary
from engagements.models import Engagement, Exchange, InboundMail, Message, Review, StatusChange
from engagements.policies import calendar_for, default_policy, hold_periods, our_calendar, our_zone
from engagements.reliability.snapshots import snapshots_refresh
from engagements.sql import copy_text
from outsourcing.models import Membership, Role, User, Workspace
from outsourcing.services import workspace_create, workspace_delete
from providers.models import Absence, Category, Provider, ProviderEmail, ProviderSkill
from providers.services import absence_add, provider_create

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Marketing"
DEMO_PASSWORD = "demo"
SEED = 20_26_12_18
PROVIDERS_PER_UNIT = 0.4
CHUNK_UNITS = 25  # 1,000 engagements (~10,000 messages) in memory at a time
BATCH_SIZE = 2_000
OUR_ZONE = ZoneInfo("Europe/Berlin")
HISTORY_DAYS = 90
UNIT_ENGAGEMENTS = 40

Status = Engagement.Status
Dir = Message.Direction
Kind = Message.Kind
Channel = Message.Channel
Source = Message.Source

TEAM = (
    ("demo@example.com", "Julia", "Becker", Role.OWNER),
    ("demo-manager@example.com", "Markus", "Weber", Role.MANAGER),
    ("demo-member@example.com", "Sophie", "Klein", Role.MEMBER),
    ("demo-viewer@example.com", "Lisa", "Wagner", Role.VIEWER),
)


@dataclass
class SeedReport:
    status: str  # "created", "present" or "skipped"
    providers: int = 0
    engagements: int = 0
    messages: int = 0
    exchanges: int = 0
    status_changes: int = 0
    seconds: float = 0.0


# --- the cast ---------------------------------------------------------------


@dataclass(frozen=True)
class ProviderSpec:
    kind: str
    name: str
    company: str
    country: str
    time_zone: str
    languages: tuple[str, ...]
    emails: tuple[str, ...]
    skills: tuple[str, ...]
    rate: str
    currency: str
    unit: str
    speed: str  # prompt, normal, slow or flaky: how they answer
    channel: str = Channel.EMAIL  # how they are usually reached
    status: str = Provider.Status.ACTIVE
    phone: str = ""
    website: str = ""
    profile_links: tuple[str, ...] = ()
    notes: str = ""

    @property
    def german(self) -> bool:
        return "de" in self.languages


F, VA, AG, OT = (
    Provider.Kind.FREELANCER,
    Provider.Kind.VIRTUAL_ASSISTANT,
    Provider.Kind.AGENCY,
    Provider.Kind.OTHER,
)
HOUR, PROJECT = Provider.RateUnit.HOUR, Provider.RateUnit.PROJECT
C = Category

CAST = (
    ProviderSpec(
        F,
        "Anna Schmidt",
        "Schmidt Webdesign",
        "DE",
        "Europe/Berlin",
        ("de", "en"),
        ("anna.schmidt@example.com",),
        (C.WEB_DESIGN, "WordPress", "Elementor"),
        "65",
        "EUR",
        HOUR,
        "prompt",
        phone="+49 30 1234567",
        website="https://schmidt-webdesign.example.com",
        notes="Zuverlässig, schnelle Rückmeldungen. Bevorzugt Briefings mit Beispielseiten.",
    ),
    ProviderSpec(
        F,
        "Lukas Huber",
        "",
        "AT",
        "Europe/Vienna",
        ("de", "en"),
        ("lukas.huber@example.net",),
        (C.SEO, C.CONTENT_WRITING, "Local SEO"),
        "80",
        "EUR",
        HOUR,
        "normal",
        phone="+43 1 2345678",
        website="https://huber-seo.example.net",
        notes="SEO-Audits und Texte für österreichische und deutsche Kunden.",
    ),
    ProviderSpec(
        AG,
        "Reto Brunner",
        "Brunner Medien GmbH",
        "CH",
        "Europe/Zurich",
        ("de", "en", "fr"),
        ("reto@brunner-medien.example.org", "produktion@brunner-medien.example.org"),
        (C.VIDEO, C.WEBINAR, "Erklärvideos"),
        "2400",
        "EUR",
        PROJECT,
        "normal",
        phone="+41 44 123 45 67",
        website="https://brunner-medien.example.org",
        notes="Videoproduktion inkl. Sprecher. Angebote immer pauschal.",
    ),
    ProviderSpec(
        AG,
        "Maria Santos",
        "BrightDesk VA Services",
        "PH",
        "Asia/Manila",
        ("en",),
        ("maria.santos@example.net", "support@brightdesk.example.net"),
        (C.VIRTUAL_ASSISTANCE, C.LIST_BUILDING, C.CUSTOMER_SUPPORT, "LinkedIn research"),
        "12",
        "USD",
        HOUR,
        "flaky",
        website="https://brightdesk.example.net",
        notes="VA agency, team of six. Replies can take a while – follow up after a week.",
    ),
    ProviderSpec(
        VA,
        "Jomar Reyes",
        "",
        "PH",
        "Asia/Manila",
        ("en",),
        ("jomar.reyes@example.com",),
        (C.VIRTUAL_ASSISTANCE, C.EMAIL_MARKETING, "Canva"),
        "450",
        "PHP",
        HOUR,
        "prompt",
        channel=Channel.CHAT,
        profile_links=("https://onlinejobs.example.com/jomar-reyes",),
        notes="Sets up autoresponders in ActiveCampaign and Mailchimp. Prefers chat.",
    ),
    ProviderSpec(
        F,
        "Priya Sharma",
        "",
        "IN",
        "Asia/Kolkata",
        ("en", "hi"),
        ("priya.sharma@example.org",),
        (C.CONTENT_WRITING, C.EBOOK, "Ghostwriting"),
        "25",
        "USD",
        HOUR,
        "normal",
        channel=Channel.PLATFORM,
        profile_links=("https://upwork.example.com/freelancers/priya-sharma",),
        notes="Writes e-books and long-form articles in English.",
    ),
    ProviderSpec(
        F,
        "Oksana Kovalenko",
        "",
        "UA",
        "Europe/Kyiv",
        ("uk", "en", "de"),
        ("oksana.kovalenko@example.com",),
        (C.EMAIL_MARKETING, C.WEB_DESIGN, "Klaviyo", "ActiveCampaign"),
        "45",
        "EUR",
        HOUR,
        "prompt",
        website="https://oksana-design.example.com",
        profile_links=("https://upwork.example.com/freelancers/oksana-k",),
        notes="Funnels und Autoresponder-Strecken. Spricht gut Deutsch.",
    ),
    ProviderSpec(
        AG,
        "Piotr Nowak",
        "Nowak Audio Studio",
        "PL",
        "Europe/Warsaw",
        ("pl", "en"),
        ("studio@nowak-audio.example.net",),
        (C.AUDIO, "Podcast editing", "Voice-over"),
        "300",
        "EUR",
        PROJECT,
        "normal",
        phone="+48 22 123 45 67",
        website="https://nowak-audio.example.net",
    ),
    ProviderSpec(
        F,
        "Emily Carter",
        "",
        "US",
        "America/New_York",
        ("en",),
        ("emily.carter@example.com",),
        (C.CONTENT_WRITING, C.WEBINAR, "Sales copy"),
        "90",
        "USD",
        HOUR,
        "slow",
        status=Provider.Status.PAUSED,
        website="https://emilycarter-copy.example.com",
        notes="Great copy, slow answers. Paused until Q2 – she is fully booked.",
    ),
    ProviderSpec(
        OT,
        "James Whitfield",
        "Whitfield Books & Ledgers Ltd",
        "GB",
        "Europe/London",
        ("en",),
        ("james@whitfield-ledgers.example.org",),
        (C.BOOKKEEPING, "Xero"),
        "55",
        "GBP",
        HOUR,
        "prompt",
        phone="+44 20 7946 0000",
        website="https://whitfield-ledgers.example.org",
    ),
    ProviderSpec(
        F,
        "Ahmed Raza",
        "",
        "PK",
        "Asia/Karachi",
        ("ur", "en"),
        ("ahmed.raza@example.net",),
        (C.BACKLINKS, C.SEO, "Guest posts"),
        "20",
        "USD",
        HOUR,
        "flaky",
        status=Provider.Status.ARCHIVED,
        channel=Channel.PLATFORM,
        profile_links=("https://fiverr.example.com/ahmedraza",),
        notes="Archiviert: zwei Aufträge ohne Lieferung, Links teils von Spam-Seiten.",
    ),
    ProviderSpec(
        OT,
        "Andreea Popescu",
        "Carpathia Fulfilment SRL",
        "RO",
        "Europe/Bucharest",
        ("ro", "en"),
        ("orders@carpathia-fulfilment.example.com",),
        (C.FULFILMENT, "Dropshipping"),
        "1.80",
        "EUR",
        PROJECT,
        "normal",
        phone="+40 21 123 4567",
        website="https://carpathia-fulfilment.example.com",
        notes="Lager und Versand für die Shop-Produkte. Preis pro Sendung.",
    ),
)
STORY_PROVIDER = 3  # BrightDesk: the agency in docs/design.md's story
STORY_TITLE = "Build 500 B2B leads list"
ABSENT_NOW = 1  # Lukas is on holiday right now
ABSENT_SOON = 5  # Priya announced one

# How often a provider of each status is picked for new work (paused and archived: rarely).
PICK_WEIGHTS: dict[str, float] = {Provider.Status.ACTIVE: 1.0, Provider.Status.PAUSED: 0.3}

# Countries for generated providers: code, zone, languages, currencies, first and last names.
COUNTRIES = (
    (
        "DE",
        "Europe/Berlin",
        ("de", "en"),
        ("EUR",),
        "Anna Jonas Lea Felix Laura Paul Katrin Tobias Miriam Jan",
        "Müller Schneider Fischer Hoffmann Koch Bauer Richter Wolf Neumann Krüger",
    ),
    (
        "AT",
        "Europe/Vienna",
        ("de", "en"),
        ("EUR",),
        "Florian Sarah Matthias Julia Stefan Lena",
        "Gruber Wagner Pichler Steiner Moser Mayer",
    ),
    (
        "CH",
        "Europe/Zurich",
        ("de", "fr", "en"),
        ("EUR",),
        "Reto Nadine Urs Corinne Beat Simone",
        "Keller Meier Frei Baumann Graf Zürcher",
    ),
    (
        "PH",
        "Asia/Manila",
        ("en",),
        ("PHP", "USD"),
        "Maria Jomar Angelica Mark Kristine Paolo Joy Rhea",
        "Santos Reyes Cruz Bautista Garcia Mendoza Ramos Aquino",
    ),
    (
        "IN",
        "Asia/Kolkata",
        ("en", "hi"),
        ("USD",),
        "Priya Rahul Ananya Vikram Sneha Arjun",
        "Sharma Mehta Patel Iyer Gupta Nair",
    ),
    (
        "UA",
        "Europe/Kyiv",
        ("uk", "en"),
        ("EUR", "USD"),
        "Oksana Dmytro Iryna Andrii Olena Taras",
        "Kovalenko Shevchenko Bondarenko Melnyk Tkachenko Kravets",
    ),
    (
        "PL",
        "Europe/Warsaw",
        ("pl", "en"),
        ("EUR",),
        "Piotr Agnieszka Tomasz Katarzyna Marek Magda",
        "Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski",
    ),
    (
        "US",
        "America/New_York",
        ("en",),
        ("USD",),
        "Emily Jason Megan Tyler Ashley Brandon",
        "Carter Miller Johnson Brooks Hayes Bennett",
    ),
    (
        "GB",
        "Europe/London",
        ("en",),
        ("GBP",),
        "James Olivia Harry Charlotte Oliver Amelia",
        "Whitfield Clarke Turner Hughes Walsh Fletcher",
    ),
    (
        "PK",
        "Asia/Karachi",
        ("ur", "en"),
        ("USD",),
        "Ahmed Ayesha Usman Fatima Bilal Sana",
        "Raza Khan Malik Qureshi Siddiqui Iqbal",
    ),
    (
        "RO",
        "Europe/Bucharest",
        ("ro", "en"),
        ("EUR",),
        "Andreea Mihai Ioana Radu Elena Vlad",
        "Popescu Ionescu Stan Dumitru Constantin Marin",
    ),
    (
        "AR",
        "America/Argentina/Buenos_Aires",
        ("es", "en"),
        ("USD",),
        "Martín Sofía Lucas Valentina Mateo Camila",
        "Gómez Fernández López Díaz Romero Álvarez",
    ),
)
COMPANY_SUFFIXES = {
    "DE": ("Digital GmbH", "Medien", "Agentur"),
    "AT": ("Marketing KG", "Digital e.U."),
    "CH": ("AG", "Kommunikation GmbH"),
    "PH": ("VA Solutions", "Outsourcing Inc."),
    "IN": ("Digital Pvt Ltd", "Web Solutions"),
    "UA": ("Studio", "Digital"),
    "PL": ("Sp. z o.o.", "Studio"),
    "US": ("Media LLC", "Creative Co."),
    "GB": ("Ltd", "& Partners"),
    "PK": ("Tech Solutions", "SEO Services"),
    "RO": ("SRL", "Logistics SRL"),
    "AR": ("Producciones", "Estudio"),
}
# Typical rate per hour / per project in each currency.
RATES = {
    "EUR": ((35, 95), (250, 3000)),
    "USD": ((8, 90), (200, 2500)),
    "PHP": ((300, 700), (8000, 60000)),
    "GBP": ((30, 80), (250, 2500)),
}
FREE_TAGS = (
    "WordPress",
    "Shopify",
    "Canva",
    "Mailchimp",
    "ActiveCampaign",
    "Klaviyo",
    "Podcast editing",
    "LinkedIn research",
    "Xero",
    "DATEV",
    "Zendesk",
    "Copywriting",
    "Figma",
    "Voice-over",
)

# --- what is delegated --------------------------------------------------------

TITLES: dict[str, tuple[str, ...]] = {
    C.WEB_DESIGN: (
        "Landingpage für Webinar gestalten",
        "Redesign of the pricing page",
        "Opt-in-Seite für Freebie bauen",
        "Mobile version of the sales page",
    ),
    C.LIST_BUILDING: (
        "Build a list of 300 e-commerce shop owners",
        "Leadliste Steuerberater NRW recherchieren",
        "Find 200 podcast hosts in the fitness niche",
    ),
    C.EMAIL_MARKETING: (
        "Autoresponder-Serie für Onboarding einrichten",
        "Set up abandoned cart e-mails",
        "Newsletter-Vorlage in Mailchimp anlegen",
        "Migrate lists from Mailchimp to ActiveCampaign",
    ),
    C.EBOOK: ("E-Book „Social Media für Handwerker“ layouten", "Ghostwrite 30-page lead magnet e-book"),
    C.AUDIO: ("Podcast-Folgen 12–15 schneiden", "Intro and outro jingle for the podcast"),
    C.VIDEO: ("Erklärvideo für neues Produkt (90 s)", "Edit 5 YouTube shorts from webinar recording"),
    C.WEBINAR: ("Webinar-Folien überarbeiten", "Technical setup for live webinar on Zoom"),
    C.CONTENT_WRITING: (
        "4 Blogartikel zum Thema E-Mail-Marketing",
        "Write product descriptions for 40 items",
        "Case study: agency client success story",
    ),
    C.BACKLINKS: ("10 Gastartikel auf Marketing-Blogs platzieren", "Outreach for 20 niche backlinks"),
    C.SEO: (
        "SEO-Audit für den Onlineshop",
        "Keyword research for the new blog category",
        "Local SEO: Google-Unternehmensprofile optimieren",
    ),
    C.FULFILMENT: (
        "Versand der Buchbestellungen im November",
        "Set up dropshipping for the new T-shirt line",
    ),
    C.CUSTOMER_SUPPORT: ("Support-Postfach während der Launch-Woche betreuen", "Write 25 help-desk macros"),
    C.BOOKKEEPING: ("Monatsabschluss Oktober vorbereiten", "Reconcile Q3 Stripe payouts"),
    C.VIRTUAL_ASSISTANCE: (
        "Kalender und Termine für Launch koordinieren",
        "Schedule 3 months of social posts",
        "Research 30 affiliate partners",
    ),
}
BRIEFS_DE = (
    "Ziel: {title}. Bitte bis {due} liefern. Vorlagen und Zugänge liegen im geteilten Ordner. "
    "Bei Fragen gern kurz melden.",
    "Kurzbriefing: {title}. Zielgruppe sind Selbstständige und kleine Agenturen im DACH-Raum. "
    "Budget wie besprochen, Deadline {due}.",
)
BRIEFS_EN = (
    "Goal: {title}. Please deliver by {due}. Templates and logins are in the shared folder; "
    "ask if anything is unclear.",
    "Short brief: {title}. Audience: coaches and small agencies in the US and UK. "
    "Budget as agreed, deadline {due}.",
)
CLIENTS = (
    "Praxis Dr. Hoffmann",
    "Autohaus Meier",
    "Yoga Studio Lotus",
    "Bäckerei Schulze",
    "Kanzlei Roth & Partner",
    "Hotel Seeblick",
    "GreenLeaf Organics",
    "Nordlicht Coaching",
)

# Message texts: (German, English) pairs of (subject, body) lists; {first} is the provider,
# {me} the engagement owner, {title} the task.
TEXTS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {
    "request": (
        (
            (
                "Anfrage: {title}",
                "Hallo {first},\n\nkönntest du das für uns übernehmen: {title}? "
                "Deadline wäre {due}. Briefing im Anhang. Passt das zeitlich?\n\nViele Grüße\n{me}",
            ),
            (
                "Neuer Auftrag: {title}",
                "Hallo {first},\n\nwir haben einen neuen Auftrag: {title}. "
                "Bitte gib mir kurz Bescheid, ob du das bis {due} schaffst.\n\nDanke und Grüße\n{me}",
            ),
        ),
        (
            (
                "Request: {title}",
                "Hi {first},\n\ncould you take this on for us: {title}? We would need it "
                "by {due}. The brief is attached. Does that work for you?\n\nBest regards,\n{me}",
            ),
            (
                "New task: {title}",
                "Hello {first},\n\nwe have a new task for you: {title}. "
                "Please confirm you can deliver by {due}.\n\nThanks,\n{me}",
            ),
        ),
    ),
    "follow_up": (
        (
            (
                "Re: Anfrage: {title}",
                "Hallo {first},\n\nich wollte kurz nachhaken – hast du meine Nachricht "
                "zu „{title}“ gesehen? Eine kurze Rückmeldung würde uns sehr helfen.\n\nDanke!\n{me}",
            ),
        ),
        (
            (
                "Re: Request: {title}",
                "Hi {first},\n\njust a friendly follow-up on „{title}“. Could you let "
                "me know whether this works for you?\n\nThanks,\n{me}",
            ),
            (
                "Following up: {title}",
                "Hello {first},\n\nI haven't heard back about „{title}“ yet. "
                "A short yes or no is perfectly fine.\n\nBest,\n{me}",
            ),
        ),
    ),
    "call": (
        (
            (
                "",
                "Angerufen und nach dem Stand zu „{title}“ gefragt – nicht erreicht, "
                "Nachricht auf der Mailbox hinterlassen.",
            ),
        ),
        (("", "Called {first} about „{title}“ – no answer, left a voicemail."),),
    ),
    "phone_ask": (
        (("", "Telefonat mit {first}: nach dem Stand zu „{title}“ gefragt."),),
        (("", "Phone call with {first}: asked how „{title}“ is going."),),
    ),
    "phone_answer": (
        (("", "{first} am Telefon: läuft, Entwurf kommt Ende der Woche."),),
        (("", "{first} on the phone: on track, draft by the end of the week."),),
    ),
    "accept": (
        (
            (
                "Re: Anfrage: {title}",
                "Hallo {me},\n\ndanke für die Anfrage, das passt. Ich lege diese Woche "
                "los und melde mich mit einem ersten Entwurf.\n\nBeste Grüße\n{first}",
            ),
            (
                "Re: Anfrage: {title}",
                "Hi {me},\n\nklar, mache ich gern. Termin {due} ist realistisch.\n\n{first}",
            ),
        ),
        (
            (
                "Re: Request: {title}",
                "Hi {me},\n\nthanks, happy to help. I'll start tomorrow and send a "
                "first draft in a few days.\n\nKind regards,\n{first}",
            ),
            (
                "Re: Request: {title}",
                "Hello {me},\n\nnoted, we have assigned this to our team. "
                "Deadline {due} is fine.\n\nBest,\n{first}",
            ),
        ),
    ),
    "late": (
        (
            (
                "Re: Anfrage: {title}",
                "Hallo {me},\n\nsorry für die späte Antwort! Anbei schon mal etwas – "
                "ich hoffe, das passt so.\n\n{first}",
            ),
        ),
        (
            (
                "Re: Request: {title}",
                "Hi {me},\n\nsorry for the late reply, it has been a busy month. "
                "Attached are the first 50 contacts we found in Berlin, is this what you need?\n\n{first}",
            ),
        ),
    ),
    "question": (
        (
            (
                "Frage zu {title}",
                "Hallo {first},\n\nkurze Frage: Schaffst du auch eine zweite Variante? "
                "Und brauchst du noch Zugänge von uns?\n\n{me}",
            ),
            (
                "Zwischenstand {title}",
                "Hallo {first},\n\nwie ist der Stand? Kannst du mir bis Freitag "
                "einen Zwischenstand schicken?\n\nDanke\n{me}",
            ),
        ),
        (
            (
                "Question about {title}",
                "Hi {first},\n\nquick question: could you also prepare a second "
                "variant? And do you need any logins from us?\n\n{me}",
            ),
            (
                "Status of {title}",
                "Hi {first},\n\nhow is it going? Could you send a quick status update "
                "by Friday?\n\nThanks,\n{me}",
            ),
        ),
    ),
    "answer": (
        (
            (
                "Re: Frage zu {title}",
                "Hallo {me},\n\nja, das geht. Die Zugänge habe ich, danke. "
                "Zwischenstand kommt morgen.\n\n{first}",
            ),
            ("Re: Zwischenstand {title}", "Hi {me},\n\nbin bei etwa 60 %. Läuft nach Plan.\n\n{first}"),
        ),
        (
            (
                "Re: Question about {title}",
                "Hi {me},\n\nyes, no problem. I have everything I need, update coming tomorrow.\n\n{first}",
            ),
            ("Re: Status of {title}", "Hello {me},\n\nwe are about 60% done and on schedule.\n\n{first}"),
        ),
    ),
    "provider_question": (
        (
            (
                "Rückfrage: {title}",
                "Hallo {me},\n\neine Rückfrage: Sollen die Texte geduzt oder gesiezt werden?\n\n{first}",
            ),
        ),
        (
            (
                "Quick question: {title}",
                "Hi {me},\n\none question: which tone should we use – formal or casual?\n\n{first}",
            ),
        ),
    ),
    "info": (
        (
            (
                "Re: Rückfrage: {title}",
                "Hallo {first},\n\ngerne per Du, locker und freundlich. Danke fürs Nachfragen!\n\n{me}",
            ),
            ("Re: {title}", "Danke dir, sieht gut aus – weiter so!\n\n{me}"),
        ),
        (
            (
                "Re: Quick question: {title}",
                "Hi {first},\n\ncasual but professional, please. Thanks for asking!\n\n{me}",
            ),
            ("Re: {title}", "Thanks, looks good so far – keep going!\n\n{me}"),
        ),
    ),
    "delivery": (
        (
            (
                "Lieferung: {title}",
                "Hallo {me},\n\nanbei die fertigen Dateien für „{title}“. "
                "Sag Bescheid, wenn du Änderungen brauchst.\n\nViele Grüße\n{first}",
            ),
        ),
        (
            (
                "Delivery: {title}",
                "Hi {me},\n\nplease find the final files for „{title}“ attached. "
                "Let me know if you need any changes.\n\nBest,\n{first}",
            ),
        ),
    ),
    "revision": (
        (
            (
                "Korrekturen: {title}",
                "Hallo {first},\n\ndanke! Wir hätten noch drei kleine Änderungen, "
                "siehe Kommentare im Dokument. Bekommst du das bis Mittwoch hin?\n\n{me}",
            ),
        ),
        (
            (
                "Revisions: {title}",
                "Hi {first},\n\nthanks! We have three small changes, see the comments in "
                "the document. Could you get them done by Wednesday?\n\n{me}",
            ),
        ),
    ),
    "revision_ack": (
        (("Re: Korrekturen: {title}", "Hallo {me},\n\nalles klar, mache ich.\n\n{first}"),),
        (("Re: Revisions: {title}", "Hi {me},\n\nsure, on it.\n\n{first}"),),
    ),
    "approve": (
        (
            (
                "Abnahme: {title}",
                "Hallo {first},\n\nsuper, vielen Dank – ist abgenommen. "
                "Schick mir gern die Rechnung.\n\n{me}",
            ),
        ),
        (
            (
                "Approved: {title}",
                "Hi {first},\n\nperfect, thank you – approved. Please send your invoice.\n\n{me}",
            ),
        ),
    ),
    "pause": (
        (
            (
                "Pause: {title}",
                "Hallo {first},\n\nwir müssen „{title}“ leider pausieren, der Kunde hat "
                "das Budget verschoben. Ich melde mich, sobald es weitergeht.\n\n{me}",
            ),
        ),
        (
            (
                "On hold: {title}",
                "Hi {first},\n\nwe need to put „{title}“ on hold, the client moved the "
                "budget. I'll get back to you as soon as it continues.\n\n{me}",
            ),
        ),
    ),
    "cancel": (
        (
            (
                "Absage: {title}",
                "Hallo {first},\n\nwir haben uns anders entschieden und brauchen „{title}“ "
                "nicht mehr. Danke trotzdem!\n\n{me}",
            ),
        ),
        (
            (
                "Cancelled: {title}",
                "Hi {first},\n\nwe decided to go another way and no longer need "
                "„{title}“. Thanks anyway!\n\n{me}",
            ),
        ),
    ),
    "away": (
        (
            (
                "Abwesenheitsnotiz: {title}",
                "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich "
                "{back} nicht im Büro und habe keinen Zugriff auf E-Mails. Ab dann melde ich mich.",
            ),
        ),
        (
            (
                "Out of office: {title}",
                "Thank you for your message. I am out of the office until {back} "
                "with limited access to e-mail and will reply when I am back.",
            ),
        ),
    ),
    "ticket": (
        (
            (
                "Eingangsbestätigung: {title}",
                "Danke für Ihre Nachricht! Wir melden uns innerhalb von 24 Stunden. (Automatische Antwort)",
            ),
        ),
        (
            (
                "We received your message: {title}",
                "Thanks for reaching out! A team member will get back to "
                "you within 24 hours. (This is an automatic reply.)",
            ),
        ),
    ),
}
NOTES = {
    "late": (
        "Antwort geht am Thema vorbei: nur 50 Kontakte aus Berlin statt 500 aus DACH. Nochmal klarstellen.",
    ),
    "ghosted": (
        "Keine Reaktion seit zwei Wochen – Alternative suchen?",
        "Mehrfach nachgefasst, nichts gehört. Beim nächsten Mal früher eskalieren.",
    ),
    "delivered": ("Lieferung prüfen bis Ende der Woche.", "Client review scheduled for Friday."),
    "done": (
        "Rechnung erhalten und an die Buchhaltung weitergegeben.",
        "Qualität gut, gerne wieder beauftragen.",
        "Invoice paid.",
        "Etwas spät, aber Ergebnis top.",
    ),
    "progress": (
        "Telefonat: Zwischenstand besprochen, alles im Plan.",
        "Kunde möchte zusätzlich eine englische Version – ggf. Nachtrag.",
    ),
}

# How each unit of 40 engagements turns out: archetype -> (how many, started this many days ago).
ARCHETYPES = {
    "completed": (12, (30, HISTORY_DAYS)),
    "delivered": (3, (30, 70)),
    "in_progress": (8, (3, 60)),
    "waiting": (4, (0, 6)),
    "ghosted": (3, (22, 80)),
    "late": (3, (22, 75)),
    "on_hold": (2, (35, 85)),
    "cancelled": (2, (25, 80)),
    "draft": (3, (0, 14)),
}
UNIT_ARCHETYPES = tuple(name for name, (count, _days) in ARCHETYPES.items() for _ in range(count))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


# --- time helpers ----------------------------------------------------------------


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, dtime(hour, minute), tzinfo=zone).astimezone(UTC)


def _working_time(moment: datetime, zone: ZoneInfo, rng: random.Random) -> datetime:
    """``moment`` moved forward into Mon–Fri 08:00–18:00 in ``zone`` (people write during work)."""
    local = moment.astimezone(zone)
    if local.weekday() < 5 and 8 <= local.hour < 18:
        return moment
    day = local.date()
    if local.hour >= 18:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return _at(day, 8 + rng.randrange(3), rng.randrange(60), zone)


def _working_time_before(moment: datetime, zone: ZoneInfo, rng: random.Random) -> datetime:
    """``moment`` moved back into Mon–Fri 08:00–18:00 in ``zone``: a time of the working day before.

    Early enough (09:00–15:59) that what follows it within the hour is still that day's work.
    """
    local = moment.astimezone(zone)
    if local.weekday() < 5 and 8 <= local.hour < 18:
        return moment
    day = local.date()
    if local.hour < 8:
        day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return _at(day, 9 + rng.randrange(7), rng.randrange(60), zone)


# --- one engagement's story --------------------------------------------------------


class _Stop(Exception):
    """The story reached the present: whatever happens next has not happened yet."""


@dataclass
class _Provider:
    pk: int
    spec: ProviderSpec
    zone: ZoneInfo
    first: str
    absences: list[tuple[date, date]] = field(default_factory=list)


class _Msg(NamedTuple):
    """A log entry before it has a row id (a Message's fields, lighter to make by the million)."""

    direction: str
    kind: str
    channel: str
    occurred_at: datetime
    subject: str
    body: str
    author_id: int | None
    sender: str
    source: str
    message_id: str
    in_reply_to: str
    references: str
    is_auto_reply: bool


class _Change(NamedTuple):
    from_status: str
    to_status: str
    changed_at: datetime
    changed_by_id: int


@dataclass
class _Plan:
    engagement: dict[str, Any]
    messages: list[_Msg]
    changes: list[_Change]


class _Story:
    """Writes one engagement's log forward in time, stopping at ``limit`` (the present)."""

    def __init__(
        self,
        rng: random.Random,
        provider: _Provider,
        owner: User,
        title: str,
        start: datetime,
        limit: datetime,
        due: date,
        seq: int,
    ) -> None:
        self.rng = rng
        self.p = provider
        self.owner = owner
        self.t = start
        self.limit = limit
        self.messages: list[_Msg] = []
        self.changes: list[_Change] = [_Change("", Status.DRAFT, start, owner.pk)]
        self.status: str = Status.DRAFT
        self.lang = 0 if provider.spec.german else 1
        self.seq = seq
        self.last_id = ""
        self.fmt = {
            "first": provider.first,
            "me": owner.first_name,
            "title": title,
            "due": due.strftime("%d.%m.%Y") if self.lang == 0 else due.strftime("%b %d"),
            "back": "",
        }

    # time -------------------------------------------------------------------

    def _place(self, moment: datetime, zone: ZoneInfo | None) -> datetime:
        if zone is not None:
            moment = _working_time(moment, zone, self.rng)
        # Strictly increasing times keep the log's order independent of row ids.
        moment = max(moment, self.t + timedelta(minutes=1))
        if moment > self.limit:
            raise _Stop
        return moment

    def _hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def absent_until(self, moment: datetime) -> date | None:
        day = moment.astimezone(self.p.zone).date()
        for start, end in self.p.absences:
            if start <= day <= end:
                return end
        return None

    # writing ----------------------------------------------------------------------

    def _set_status(self, status: str, at: datetime) -> None:
        if status == self.status:
            return
        if status not in Engagement.TRANSITIONS[Status(self.status)]:
            raise ValueError(f"demo story moves {self.status} → {status}")
        self.changes.append(_Change(self.status, status, at, self.owner.pk))
        self.status = status

    def _add(
        self,
        direction: str,
        kind: str,
        text: str,
        at: datetime,
        channel: str,
        *,
        auto: bool = False,
        status: str | None = None,
    ) -> None:
        subject, body = self.rng.choice(TEXTS[text][self.lang]) if text in TEXTS else ("", text)
        subject, body = subject.format(**self.fmt), body.format(**self.fmt)
        email = channel == Channel.EMAIL
        source, message_id, in_reply_to, references = Source.MANUAL, "", "", ""
        if email and direction != Dir.NOTE and (auto or self.rng.random() < 0.6):
            # Sent from the app or captured from the mailbox: real headers to thread on.
            source = Source.IMAP if direction == Dir.INBOUND else Source.APP
            domain = "mail.example.net" if direction == Dir.INBOUND else "demo.example.com"
            message_id = f"demo.{self.seq}.{len(self.messages)}@{domain}"  # stored without brackets, as the importer does
            in_reply_to = self.last_id
            references = self.last_id
            self.last_id = message_id
        inbound = direction == Dir.INBOUND
        spec = self.p.spec
        self.messages.append(
            _Msg(
                direction,
                kind,
                channel,
                at,
                subject if channel in (Channel.EMAIL, Channel.PLATFORM) else "",
                body,
                None if inbound else self.owner.pk,
                (f"{spec.name} <{spec.emails[0]}>" if email else spec.name) if inbound else "",
                source,
                message_id,
                in_reply_to,
                references,
                auto,
            )
        )
        self.t = at
        if status is not None:
            self._set_status(status, at)

    def _channel(self) -> str:
        return self.p.spec.channel if self.rng.random() < 0.85 else Channel.EMAIL

    def ours(
        self,
        text: str,
        kind: str,
        *,
        after: tuple[float, float] = (0.5, 30),
        channel: str | None = None,
        status: str | None = None,
    ) -> None:
        at = self._place(self.t + self._hours(*after), OUR_ZONE)
        self._add(Dir.OUTBOUND, kind, text, at, channel or self._channel(), status=status)

    def theirs(
        self, text: str, kind: str, at: datetime, *, channel: str | None = None, status: str | None = None
    ) -> None:
        self._add(
            Dir.INBOUND, kind, text, self._place(at, self.p.zone), channel or self._channel(), status=status
        )

    def note(self, group: str, *, after: tuple[float, float] = (0.2, 6)) -> None:
        at = self._place(self.t + self._hours(*after), OUR_ZONE)
        self._add(Dir.NOTE, Kind.OTHER, self.rng.choice(NOTES[group]), at, Channel.OTHER)

    def _reply_delay(self) -> timedelta | None:
        """How long the provider takes to answer, or None when they never do."""
        r = self.rng.random()
        speed = self.p.spec.speed
        if speed == "prompt":
            return None if r < 0.01 else self._hours(0.3, 8)
        if speed == "normal":
            return None if r < 0.04 else self._hours(2, 36) if r < 0.9 else self._hours(48, 120)
        if speed == "slow":
            return None if r < 0.1 else self._hours(20, 120) if r < 0.8 else self._hours(190, 380)
        return None if r < 0.25 else self._hours(2, 48) if r < 0.65 else self._hours(120, 400)

    def await_reply(
        self, text: str, *, status: str | None = None, kind: str = Kind.REPLY, never: bool = False
    ) -> bool:
        """The provider answers what we just sent; we follow up while they are silent."""
        asked = self.t
        delay = None if never else self._reply_delay()
        back = self.absent_until(asked)
        if back is not None:
            self.fmt["back"] = back.strftime("%d.%m.%Y")
            self._add(
                Dir.INBOUND,
                Kind.OTHER,
                "away",
                self._place(asked + timedelta(minutes=2), None),
                Channel.EMAIL,
                auto=True,
            )
            start_again = _at(back + timedelta(days=1), 9, 0, self.p.zone)
            delay = (start_again - asked) + self._hours(1, 30) if delay is not None else None
        elif self.p.spec.kind == Provider.Kind.AGENCY and self.rng.random() < 0.15:
            self._add(
                Dir.INBOUND,
                Kind.OTHER,
                "ticket",
                self._place(asked + timedelta(minutes=1), None),
                Channel.EMAIL,
                auto=True,
            )
        reply_at = _working_time(asked + delay, self.p.zone, self.rng) if delay is not None else None
        # Polite follow-ups every 4–7 days of silence, two at most.
        wait = asked
        for n in range(2):
            wait = wait + timedelta(days=self.rng.uniform(4, 7))
            candidate = _working_time(wait, OUR_ZONE, self.rng)
            if reply_at is not None and candidate >= reply_at - timedelta(hours=2):
                break
            if candidate > self.limit:
                raise _Stop
            text_ = "call" if n == 1 and self.rng.random() < 0.4 else "follow_up"
            channel = Channel.PHONE if text_ == "call" else self._channel()
            self._add(Dir.OUTBOUND, Kind.FOLLOW_UP, text_, self._place(candidate, None), channel)
        if reply_at is None:
            return False
        self.theirs(text, kind, reply_at, status=status)
        return True

    # the lifecycle ---------------------------------------------------------------

    def request(self, after: tuple[float, float] = (0.1, 20)) -> None:
        self.ours("request", Kind.REQUEST, after=after, status=Status.REQUESTED)

    def work(self, rounds: int) -> None:
        """Questions both ways while the work is going on."""
        for _ in range(rounds):
            roll = self.rng.random()
            if roll < 0.12 and self.p.spec.phone:
                # A quick call: asked and answered on the phone, both logged by hand.
                self.ours("phone_ask", Kind.REQUEST, after=(4, 60), channel=Channel.PHONE)
                self.theirs("phone_answer", Kind.REPLY, self.t + self._hours(0.1, 0.4), channel=Channel.PHONE)
            elif roll < 0.55:
                self.ours("question", Kind.REQUEST, after=(4, 60))
                if not self.await_reply("answer"):
                    return
            else:
                self.theirs("provider_question", Kind.OTHER, self.t + self._hours(6, 72))
                self.ours("info", Kind.OTHER, after=(0.3, 20))
            if self.rng.random() < 0.35:
                self.note("progress")

    def deliver(self) -> None:
        self.theirs("delivery", Kind.DELIVERY, self.t + self._hours(24, 240), status=Status.DELIVERED)

    def ghosted(self) -> None:
        self.note("ghosted", after=(20, 80))
        roll = self.rng.random()
        if roll < 0.45:
            self.ours("cancel", Kind.OTHER, after=(1, 48), status=Status.CANCELLED)
        elif roll < 0.7:
            self.ours("pause", Kind.OTHER, after=(1, 48), status=Status.ON_HOLD)

    def play(self, archetype: str, *, exact: bool = False) -> None:
        """Advance the engagement through ``archetype``'s script until done or until now.

        ``exact`` plays the late reply to the minute (the seed story's 15 days).
        """
        if archetype == "draft":
            return
        rng = self.rng
        self.request(after=(0.05, 0.3) if exact else (0.1, 20))
        if archetype == "waiting":
            self.await_reply("accept", never=True)
            return
        if archetype == "late":
            # The story docs/design.md starts from: follow-up after a week, reply after 15 days.
            asked = self.t
            self._add(
                Dir.OUTBOUND,
                Kind.FOLLOW_UP,
                "follow_up",
                self._place(_working_time(asked + timedelta(days=7), OUR_ZONE, rng), None),
                Channel.EMAIL,
            )
            replied = asked + timedelta(days=15)
            self._add(
                Dir.INBOUND,
                Kind.REPLY,
                "late",
                self._place(replied if exact else _working_time(replied, self.p.zone, rng), None),
                Channel.EMAIL,
                status=Status.IN_PROGRESS,
            )
            self.note("late", after=(0.5, 3))
            self.ours("question", Kind.REQUEST, after=(0.5, 20))
            if not self.await_reply("answer"):
                return
        elif not self.await_reply("accept", status=Status.IN_PROGRESS):
            if archetype == "cancelled":
                self.ours("cancel", Kind.OTHER, after=(24, 96), status=Status.CANCELLED)
            elif archetype == "on_hold":
                self.ours("pause", Kind.OTHER, after=(24, 96), status=Status.ON_HOLD)
            elif self.t < self.limit - timedelta(days=14):
                self.ghosted()
            return
        if archetype == "ghosted":
            self.ours("question", Kind.REQUEST, after=(4, 60))
            if not self.await_reply("answer"):
                self.ghosted()
            return
        # Work that ended (paused, stopped, waiting for review) had fewer rounds before it did.
        short = archetype in ("delivered", "on_hold", "cancelled")
        self.work(rng.choice((1, 2, 2) if short else (3, 4, 5, 5, 6)))
        if archetype == "on_hold":
            self.ours("pause", Kind.OTHER, status=Status.ON_HOLD)
            return
        if archetype == "cancelled":
            self.ours("cancel", Kind.OTHER, status=Status.CANCELLED)
            return
        if archetype == "in_progress":
            if rng.random() < 0.4:
                self.ours("question", Kind.REQUEST, after=(4, 60))
                self.await_reply("answer")
            return
        self.deliver()
        if archetype == "delivered":
            if rng.random() < 0.5:
                self.note("delivered")
            return
        if rng.random() < 0.4:
            self.ours("revision", Kind.REQUEST, status=Status.IN_PROGRESS)
            if not self.await_reply("revision_ack"):
                return
            self.deliver()
        self.ours("approve", Kind.OTHER, after=(2, 72), status=Status.COMPLETED)
        if rng.random() < 0.6:
            self.note("done", after=(1, 96))


# --- bulk writing --------------------------------------------------------------------


class _Writer:
    """Inserts rows (dicts of attnames, ids included) fast: COPY on PostgreSQL, bulk_create elsewhere.

    Ids are reserved first so messages can point at engagements and exchanges
    at messages without reading anything back.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.postgres = connection.vendor == "postgresql"

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        if count == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            # SQLite: the seed runs in one transaction, which holds the database's write lock.
            # A model's table name, quoted; nothing typed by anyone.
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # nosec B608
            top = cursor.fetchone()[0]
        return list(range(top + 1, top + 1 + count))

    def insert(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self.postgres:
            model._default_manager.bulk_create([model(**row) for row in rows], batch_size=BATCH_SIZE)
            return
        # Every column gets a value: what the row says, else the field's default.
        given = rows[0].keys()
        fields = [f for f in model._meta.concrete_fields if f.attname in given or not f.primary_key]
        defaults = {
            f.attname: self.now
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default()
            for f in fields
            if f.attname not in given
        }
        names = [f.attname for f in fields]
        columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
        buffer = io.StringIO()
        for row in rows:
            merged = {**defaults, **row}
            buffer.write("\t".join([copy_text(merged[name]) for name in names]))
            buffer.write("\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(  # type: ignore[attr-defined]
                f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN", buffer
            )


# --- the generator ------------------------------------------------------------------


class _Generator:
    def __init__(self, *, workspace: Workspace, team: list[User], now: datetime, log: Callable[[str], None]):
        self.workspace = workspace
        self.owners = team[:3]  # owner, manager, member delegate; the viewer only watches
        self.now = now
        self.limit = now - timedelta(minutes=5)
        self.today = now.astimezone(OUR_ZONE).date()
        self.log = log
        self.providers: list[_Provider] = []
        self.report = SeedReport(status="created")
        self.writer = _Writer(now)
        self.policy = default_policy(workspace)
        self._provider_rows: dict[int, Provider] = {}
        self._specs: dict[int, ProviderSpec] = {}

    # providers -------------------------------------------------------------------

    def _create_provider(self, spec: ProviderSpec) -> None:
        provider = provider_create(
            workspace=self.workspace,
            name=spec.name,
            emails=spec.emails,
            skills=spec.skills,
            kind=spec.kind,
            company=spec.company,
            phone=spec.phone,
            website=spec.website,
            profile_links=list(spec.profile_links),
            country=spec.country,
            time_zone=spec.time_zone,
            languages=list(spec.languages),
            rate_amount=Decimal(spec.rate),
            rate_currency=spec.currency,
            rate_unit=spec.unit,
            status=spec.status,
            notes=spec.notes,
        )
        self.providers.append(
            _Provider(pk=provider.pk, spec=spec, zone=ZoneInfo(spec.time_zone), first=spec.name.split()[0])
        )

    def _absence(self, index: int, starts: int, ends: int, note: str) -> None:
        p = self.providers[index]
        start, end = self.today + timedelta(days=starts), self.today + timedelta(days=ends)
        absence_add(provider=Provider.objects.get(pk=p.pk), starts_on=start, ends_on=end, note=note)
        p.absences.append((start, end))

    def _generated_spec(self, rng: random.Random, n: int) -> ProviderSpec:
        code, zone, languages, currencies, firsts, lasts = rng.choice(COUNTRIES)
        first, last = rng.choice(firsts.split()), rng.choice(lasts.split())
        kind = rng.choices((F, VA, AG, OT), weights=(50, 25, 20, 5))[0]
        company = f"{last} {rng.choice(COMPANY_SUFFIXES[code])}" if kind in (AG, OT) else ""
        currency = rng.choice(currencies)
        unit = PROJECT if kind in (AG, OT) and rng.random() < 0.6 else HOUR
        low, high = RATES[currency][unit == PROJECT]
        step = 5 if unit == HOUR else 50
        tld = rng.choice(("com", "net", "org"))
        handle = f"{_ascii(first)}.{_ascii(last)}{n}"
        skills = [
            *rng.sample(Category.values, rng.choice((1, 2, 2, 3))),
            *rng.sample(FREE_TAGS, rng.randrange(2)),
        ]
        return ProviderSpec(
            kind,
            f"{first} {last}",
            company,
            code,
            zone,
            languages,
            (f"{handle}@example.{tld}",),
            tuple(skills),
            str(rng.randrange(low, high + 1, step)),
            currency,
            unit,
            rng.choices(("prompt", "normal", "slow", "flaky"), weights=(30, 40, 18, 12))[0],
            channel=rng.choices((Channel.EMAIL, Channel.PLATFORM, Channel.CHAT), weights=(70, 20, 10))[0],
            status=rng.choices(Provider.Status.values, weights=(88, 5, 5, 2))[0],
            website=f"https://{_ascii(last)}{n}.example.{tld}" if company else "",
        )

    def create_providers(self, scale: int) -> None:
        for spec in CAST:
            self._create_provider(spec)
        self._absence(ABSENT_NOW, -4, 5, "Urlaub in Kroatien")
        self._absence(ABSENT_SOON, 12, 19, "Family wedding")
        rng = random.Random(SEED + 1)
        extra = max(len(CAST), round(PROVIDERS_PER_UNIT * scale)) - len(CAST)
        self._bulk_providers([self._generated_spec(rng, n + 1) for n in range(extra)], rng)
        self.report.providers = len(self.providers)

    def _bulk_providers(self, specs: list[ProviderSpec], rng: random.Random) -> None:
        """The generated crowd beyond the cast, inserted in bulk (already valid by construction)."""
        writer, ws = self.writer, self.workspace.pk
        rows: list[dict[str, Any]] = []
        emails: list[dict[str, Any]] = []
        skills: list[dict[str, Any]] = []
        absences: list[dict[str, Any]] = []
        for pk, spec in zip(writer.reserve_ids(Provider, len(specs)), specs, strict=True):
            rows.append(
                {
                    "id": pk,
                    "workspace_id": ws,
                    "kind": spec.kind,
                    "name": spec.name,
                    "company": spec.company,
                    "phone": spec.phone,
                    "website": spec.website,
                    "profile_links": list(spec.profile_links),
                    "country": spec.country,
                    "time_zone": spec.time_zone,
                    "languages": list(spec.languages),
                    "rate_amount": Decimal(spec.rate),
                    "rate_currency": spec.currency,
                    "rate_unit": spec.unit,
                    "status": spec.status,
                    "notes": spec.notes,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
            emails.extend(
                {"workspace_id": ws, "provider_id": pk, "email": e, "position": i}
                for i, e in enumerate(spec.emails)
            )
            skills.extend({"provider_id": pk, "name": name} for name in spec.skills)
            provider = _Provider(pk=pk, spec=spec, zone=ZoneInfo(spec.time_zone), first=spec.name.split()[0])
            if rng.random() < 0.03:
                start = self.today + timedelta(days=rng.randrange(-60, 30))
                end = start + timedelta(days=rng.randrange(3, 15))
                provider.absences.append((start, end))
                absences.append(
                    {
                        "provider_id": pk,
                        "starts_on": start,
                        "ends_on": end,
                        "note": "Urlaub",
                        "created_at": self.now,
                    }
                )
            self.providers.append(provider)
        writer.insert(Provider, rows)
        writer.insert(ProviderEmail, emails)
        writer.insert(ProviderSkill, skills)
        writer.insert(Absence, absences)

    # engagements ----------------------------------------------------------------------

    def _pick_provider(self, rng: random.Random, unit: int, index: int) -> _Provider:
        if unit == 0:
            # The hand-made cast: every provider gets work, the busy ones more.
            return (
                self.providers[index % len(CAST)] if index < 24 else rng.choice(self.providers[: len(CAST)])
            )
        while True:
            p = rng.choice(self.providers)
            weight = PICK_WEIGHTS.get(p.spec.status, 0.15)
            if rng.random() < weight:
                return p

    @staticmethod
    def _archetype(rng: random.Random, p: _Provider, planned: str) -> str:
        # Nobody gives new work to a paused or archived provider: theirs is older.
        status = p.spec.status
        if status in (Provider.Status.ARCHIVED, Provider.Status.BLOCKED):
            return rng.choice(("ghosted", "cancelled", "completed"))
        if status == Provider.Status.PAUSED:
            return rng.choice(("on_hold", "completed", "completed"))
        return planned

    def _plan(
        self,
        rng: random.Random,
        p: _Provider,
        archetype: str,
        seq: int,
        *,
        start: datetime | None = None,
        title: str | None = None,
        category: str | None = None,
        exact: bool = False,
    ) -> _Plan:
        if category is None:
            skills = [s for s in p.spec.skills if s in TITLES]
            category = rng.choice(skills or list(TITLES))
        title = title or rng.choice(TITLES[category])
        if start is None:
            low, high = ARCHETYPES[archetype][1]
            start = self.now - timedelta(days=rng.uniform(low, high))
            start = min(_working_time(start, OUR_ZONE, rng), self.limit - timedelta(minutes=30))
        owner = rng.choices(self.owners, weights=(50, 25, 25)[: len(self.owners)])[0]
        due = start.astimezone(OUR_ZONE).date() + timedelta(days=rng.randrange(7, 36))
        story = _Story(rng, p, owner, title, start, self.limit, due, seq)
        with contextlib.suppress(_Stop):
            story.play(archetype, exact=exact)
        spec = p.spec
        low_high = RATES.get(spec.currency, RATES["EUR"])[spec.unit == PROJECT]
        rate = Decimal(spec.rate)
        fee = rate * rng.randrange(4, 41) if spec.unit == HOUR else rate * rng.choice((1, 1, 2, 3))
        fee = fee.quantize(Decimal("1")) if fee >= low_high[0] else Decimal(low_high[0])
        briefs = BRIEFS_DE if spec.german else BRIEFS_EN
        engagement = {
            "workspace_id": self.workspace.pk,
            "provider_id": p.pk,
            "owner_id": owner.pk,
            "title": title,
            "brief": rng.choice(briefs).format(title=title, due=due.isoformat()),
            "category": category,
            "priority": rng.choices(Engagement.Priority.values, weights=(15, 55, 22, 8))[0],
            "fee_amount": fee,
            "fee_currency": spec.currency,
            "due_on": due,
            "status": story.status,
            "client_name": rng.choice(CLIENTS) if rng.random() < 0.35 else "",
            "created_at": start,
        }
        return _Plan(engagement, story.messages, story.changes)

    def _story_plan(self, rng: random.Random) -> _Plan:
        """docs/design.md's seed story: request on day 0, follow-up on day 7, reply on day 15."""
        day0 = self.today - timedelta(days=40)
        day0 -= timedelta(days=day0.weekday())  # a Monday
        start = _at(day0, 9, 40, OUR_ZONE)
        return self._plan(
            rng,
            self.providers[STORY_PROVIDER],
            "late",
            0,
            start=start,
            title=STORY_TITLE,
            category=C.LIST_BUILDING,
            exact=True,
        )

    def _unit_plans(self, unit: int) -> Iterator[_Plan]:
        rng = random.Random(SEED * 10_000 + unit)
        archetypes = list(UNIT_ARCHETYPES)
        rng.shuffle(archetypes)
        for index, planned in enumerate(archetypes):
            seq = unit * UNIT_ENGAGEMENTS + index
            if unit == 0 and index == 0:
                yield self._story_plan(rng)
                continue
            p = self._pick_provider(rng, unit, index)
            if unit == 0 and index == ABSENT_NOW:
                # Asked while on holiday: the out-of-office reply is all there is so far.
                asked = self.now - timedelta(days=rng.uniform(1, 3))
                start = _working_time(asked, OUR_ZONE, rng)
                if start > self.limit - timedelta(hours=1):
                    # Moved past the present (a weekend or a night just before it): the working
                    # day before instead. Clamped to an hour before the present, the request was
                    # then moved on into the next working morning, after the present: early on a
                    # Monday the engagement stayed a draft, with no out-of-office reply.
                    start = _working_time_before(asked, OUR_ZONE, rng)
                yield self._plan(rng, p, "waiting", seq, start=start, exact=True)
                continue
            yield self._plan(rng, p, self._archetype(rng, p, planned), seq)

    def _calendar(self, provider_id: int, changes: list[_Change]) -> BusinessCalendar:
        """The provider's calendar under the workspace default, with this engagement's holds."""
        provider = self._provider_rows.get(provider_id)
        if provider is None:
            self._provider_rows.update(
                (p.pk, p)
                for p in Provider.objects.filter(workspace=self.workspace).prefetch_related("absences")
            )
            provider = self._provider_rows[provider_id]
        holds = hold_periods(changes)  # type: ignore[arg-type]  # _Change has the fields it reads
        return calendar_for(
            policy=self.policy, provider=provider, absences=provider.absences.all(), holds=holds
        )

    def _exchange_row(
        self, derived: DerivedExchange, calendar: BusinessCalendar, *, is_open: bool
    ) -> dict[str, Any]:
        row = deadlines.exchange_values(derived, policy=self.policy, calendar=calendar)
        # Nothing raised yet: the flagging pass catches up on what is already past due, as it would
        # live; a closed engagement's requests owe it nothing, as closing one leaves them.
        row["escalation"] = deadlines.NOT_RAISED
        row["next_check_at"] = (
            deadlines.next_check(
                deadlines.NOT_RAISED, row["replied_at"], row["reply_due_at"], row["ghosted_due_at"]
            )
            if is_open
            else None
        )
        return row

    def _delivery_check(self, engagement: dict[str, Any]) -> datetime | None:
        return deadlines.delivery_deadline_for(
            engagement.get("due_on"), engagement["status"], self._provider_zone(engagement["provider_id"])
        )

    # How a provider's way of answering tends to go with the work: (quality, communication) ranges.
    REVIEW_RATINGS = {"prompt": ((4, 5), (4, 5)), "normal": ((3, 5), (3, 5)), "slow": ((2, 5), (2, 4))}

    def _review(self, engagement: dict[str, Any]) -> dict[str, Any] | None:
        """Most completed engagements get a review, in line with the provider's habits."""
        if engagement["status"] != Status.COMPLETED:
            return None
        rng = random.Random(engagement["id"])
        if rng.random() < 0.2:
            return None
        if len(self._specs) != len(self.providers):
            self._specs = {p.pk: p.spec for p in self.providers}
        speed = self._specs[engagement["provider_id"]].speed
        quality_range, communication_range = self.REVIEW_RATINGS.get(speed, ((1, 4), (1, 3)))
        quality = rng.randint(*quality_range)
        fee = engagement.get("fee_amount")
        overrun = fee is not None and speed in ("slow", "flaky") and rng.random() < 0.3
        return {
            "workspace_id": engagement["workspace_id"],
            "engagement_id": engagement["id"],
            "quality": quality,
            "communication": rng.randint(*communication_range),
            "on_time": bool(engagement["delivered_on_time"])
            if engagement["delivered_on_time"] is not None
            else True,
            "would_hire_again": quality >= 4 or (quality == 3 and rng.random() < 0.5),
            "final_fee_amount": (fee * Decimal(rng.choice(("1.1", "1.2", "1.3")))).quantize(Decimal("0.01"))
            if overrun and fee is not None
            else None,
            "comment": "",
            "reviewer_id": engagement["owner_id"],
            "created_at": engagement["completed_at"],
            "updated_at": engagement["completed_at"],
        }

    def _delivery_times(self, plan: _Plan) -> dict[str, Any]:
        """What the status service keeps: the last delivery, on time or not, and the completion."""
        last = {c.to_status: c.changed_at for c in plan.changes}
        delivered_at = last.get(Status.DELIVERED)
        zone = self._provider_zone(plan.engagement["provider_id"])
        return {
            "delivered_at": delivered_at,
            "delivered_on_time": None
            if delivered_at is None
            else deadlines.delivered_on_time(plan.engagement.get("due_on"), zone, delivered_at),
            "completed_at": last.get(Status.COMPLETED),
            "closed_at": last.get(plan.engagement["status"])
            if plan.engagement["status"] in Engagement.CLOSED_STATUSES
            else None,
        }

    def _our_answer_due(
        self, summary: dict[str, Any], owner_id: int, calendar: BusinessCalendar
    ) -> datetime | None:
        """When our answer is due, as the services compute it: on the owner's clock."""
        zone = our_zone(next((u.time_zone for u in self.owners if u.pk == owner_id), None))
        return deadlines.our_answer_due(
            summary["our_turn_since"], policy=self.policy, calendar=our_calendar(calendar, zone)
        )

    def _provider_zone(self, provider_id: int) -> str:
        self._calendar(provider_id, [])
        return self._provider_rows[provider_id].time_zone or "UTC"

    def _insert(self, plans: list[_Plan]) -> None:
        """Insert a chunk: engagements with their summary, messages, exchanges, status changes."""
        writer = self.writer
        engagement_ids = writer.reserve_ids(Engagement, len(plans))
        message_ids = iter(writer.reserve_ids(Message, sum(len(p.messages) for p in plans)))
        ws = self.workspace.pk
        engagements: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        exchanges: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        for plan, engagement_id in zip(plans, engagement_ids, strict=True):
            ids = [next(message_ids) for _ in plan.messages]
            # The log's order never depends on ids here: times within one engagement are distinct.
            entries = [
                LogEntry(
                    id=ids[i],
                    direction=m.direction,
                    kind=m.kind,
                    occurred_at=m.occurred_at,
                    is_auto_reply=m.is_auto_reply,
                )
                for i, m in enumerate(plan.messages)
                if m.direction != Dir.NOTE
            ]
            derived = derive_exchanges(entries)
            provider_id = plan.engagement["provider_id"]
            calendar = self._calendar(provider_id, plan.changes)
            summary = engagement_summary(derived, entries)
            engagements.append(
                {
                    "id": engagement_id,
                    **plan.engagement,
                    **summary,
                    "our_answer_due_at": self._our_answer_due(summary, plan.engagement["owner_id"], calendar),
                    "delivery_check_at": self._delivery_check(plan.engagement),
                    **self._delivery_times(plan),
                }
            )
            for message_id, m in zip(ids, plan.messages, strict=True):
                row = m._asdict()
                row.update(
                    id=message_id, workspace_id=ws, engagement_id=engagement_id, created_at=m.occurred_at
                )
                messages.append(row)
            is_open = plan.engagement["status"] in Engagement.OPEN_STATUSES
            exchanges.extend(
                {
                    "workspace_id": ws,
                    "engagement_id": engagement_id,
                    "request_message_id": d.request_id,
                    "engagement_open": is_open,
                    **self._exchange_row(d, calendar, is_open=is_open),
                }
                for d in derived
            )
            changes.extend({"engagement_id": engagement_id, **c._asdict()} for c in plan.changes)
            review = self._review(engagements[-1])
            if review is not None:
                reviews.append(review)
        writer.insert(Engagement, engagements)
        writer.insert(Message, messages)
        writer.insert(Exchange, exchanges)
        writer.insert(StatusChange, changes)
        writer.insert(Review, reviews)
        r = self.report
        r.engagements += len(engagements)
        r.messages += len(messages)
        r.exchanges += len(exchanges)
        r.status_changes += len(changes)

    def create_engagements(self, scale: int, started: float) -> None:
        for first in range(0, scale, CHUNK_UNITS):
            plans = [
                plan
                for unit in range(first, min(first + CHUNK_UNITS, scale))
                for plan in self._unit_plans(unit)
            ]
            self._insert(plans)
            if scale > CHUNK_UNITS:
                r = self.report
                self.log(
                    f"  engagements: {r.engagements}/{scale * UNIT_ENGAGEMENTS}, "
                    f"messages: {r.messages} ({time.monotonic() - started:.0f} s)"
                )


# --- entry point ------------------------------------------------------------------


def _team() -> list[User]:
    """The demo people, created once and kept across --reset (their e-mails are verified)."""
    people = []
    for email, first, last, _role in TEAM:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email, DEMO_PASSWORD, first_name=first, last_name=last, time_zone="Europe/Berlin"
            )
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        people.append(user)
    return people


# Mail nobody could place, so the Unsorted inbox shows what it is for (and a bounce, flagged).
UNSORTED_MAIL = (
    (
        "Jonas Berger <jonas@texterei-berger.example>",
        "Angebot: Blogartikel für Ihren Shop",
        "Guten Tag,\n\nich habe gesehen, dass Sie Texter suchen. Gern schreibe ich vier Blogartikel im Monat "
        "für Ihren Shop, 450 € pauschal.\n\nViele Grüße\nJonas Berger",
    ),
    (
        "Priya Nair <priya.nair@designhub.example>",
        "Re: Banner sizes?",
        "Hi,\n\nwhich banner sizes do you need for the spring campaign? I can start on Monday.\n\nPriya",
    ),
)


def _unsorted_mail(workspace: Workspace, now: datetime) -> None:
    from email.message import EmailMessage
    from email.utils import format_datetime

    from engagements.mail.importer import mail_import_many

    raws = []
    for i, (sender, subject, body) in enumerate(UNSORTED_MAIL):
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = "demo@example.com"
        mail["Subject"] = subject
        mail["Date"] = format_datetime(now - timedelta(hours=5 + 20 * i))
        mail["Message-ID"] = f"<demo-unsorted-{i}@{sender.split('@')[1].rstrip('>')}>"
        mail.set_content(body)
        raws.append(bytes(mail))
    # And one request that bounced: the report quotes the failed mail's Message-ID.
    failed = (
        Message.objects.filter(
            workspace=workspace,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.REQUEST,
            engagement__status__in=Engagement.OPEN_STATUSES,
        )
        .exclude(message_id="")
        .order_by("-occurred_at", "-id")
        .select_related("engagement__provider")
        .first()
    )
    if failed is not None:
        report = EmailMessage()
        report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.demo.example.com>"
        report["To"] = "demo@example.com"
        report["Subject"] = "Undelivered Mail Returned to Sender"
        report["Date"] = format_datetime(min(now, failed.occurred_at + timedelta(minutes=2)))
        report["Message-ID"] = "<demo-bounce@mx.demo.example.com>"
        report.set_content(
            "This is the mail system. Your message could not be delivered: mailbox full.\n\n"
            f"Message-ID: <{failed.message_id}>\nSubject: {failed.subject}\n"
        )
        raws.append(bytes(report))
    mail_import_many(workspace=workspace, raws=raws, source=InboundMail.Source.IMPORT)


def seed_demo(
    *,
    scale: int = 1,
    if_empty: bool = False,
    reset: bool = False,
    now: datetime | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> SeedReport:
    """Create the demo workspace (once); ``scale`` multiplies its volume."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    if if_empty and Workspace.objects.exists():
        return SeedReport(status="skipped")
    existing = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None and not reset:
        return SeedReport(status="present")
    started = time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        if existing is not None:
            log(f"Deleting the existing demo workspace {DEMO_SLUG!r} …")
            owner = Membership.objects.filter(workspace=existing, role=Role.OWNER).first()
            workspace_delete(workspace=existing, by=owner or Membership(workspace=existing, role=Role.OWNER))
        team = _team()
        workspace = workspace_create(name=DEMO_NAME, owner=team[0], slug=DEMO_SLUG)
        Membership.objects.bulk_create(
            Membership(workspace=workspace, user=user, role=role)
            for user, (_e, _f, _l, role) in zip(team[1:], TEAM[1:], strict=True)
        )
        report = fill_workspace(workspace, team=team, now=now, scale=scale, log=log, started=started)
    if connection.vendor == "postgresql":
        # Fresh statistics after a bulk load, or the planner guesses one row per
        # table and picks nested loops over a million messages.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    log("Computing the reliability figures …")
    snapshots_refresh(workspace_id=workspace.pk, now=now)
    report.seconds = time.monotonic() - started
    return report


def fill_workspace(
    workspace: Workspace,
    *,
    team: list[User],
    now: datetime,
    scale: int = 1,
    log: Callable[[str], None] = lambda line: None,
    started: float | None = None,
) -> SeedReport:
    """Fill an empty workspace with the demo's providers, engagements, their logs and some unsorted mail.

    ``team`` delegates the work (its first three people; the first is "me" in the mails).
    The demo and every sample workspace are made by this one function; call it inside a transaction.
    """
    generator = _Generator(workspace=workspace, team=team, now=now, log=log)
    generator.create_providers(scale)
    generator.create_engagements(scale, time.monotonic() if started is None else started)
    _unsorted_mail(workspace, now)
    return generator.report
