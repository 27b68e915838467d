"""Any reply, quoted the way a mail client quotes, comes back out of the extractor as it was written."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagements.mail.html import html_to_text
from engagements.mail.reply import extract_reply

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüßÄÖÜéèàçñøåæđơư0123456789"
word = st.text(alphabet=LETTERS, min_size=1, max_size=12).map(lambda w: w) | st.tuples(
    st.text(alphabet=LETTERS, min_size=1, max_size=12), st.sampled_from(",.!?")
).map("".join)
line = st.lists(word, min_size=1, max_size=8).map(" ".join)
paragraph = st.lists(line, min_size=1, max_size=3).map("\n".join)
# What a person writes: a few paragraphs of words (no quote marks, headers or addresses of its own).
reply_text = st.lists(paragraph, min_size=1, max_size=4).map("\n\n".join)

ALICE = "Alice Owner <alice@example.com>"


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _outlook(separator: str, fields: tuple[str, str, str, str]) -> Callable[[str, str], str]:
    sender, sent, to, subject = fields

    def quote(reply: str, original: str) -> str:
        return (
            f"{reply}\n\n{separator}\n{sender}: {ALICE}\n{sent}: 14.12.2026 10:00\n"
            f"{to}: Vanessa <vanessa@va-agency.example>\n{subject}: Landing page\n\n{original}"
        )

    return quote


def _above(attribution: str) -> Callable[[str, str], str]:
    return lambda reply, original: f"{reply}\n\n{attribution}\n\n{_quoted(original)}\n"


def _html_gmail(reply: str, original: str) -> str:
    # An HTML-only client: paragraphs as <div>, the quote in a <blockquote>, read back as text.
    def divs(text: str) -> str:
        return "".join(
            f"<div>{escape(line)}</div>" if line else "<div><br></div>" for line in text.split("\n")
        )

    html = (
        f'<div dir="ltr">{divs(reply)}</div><div class="gmail_quote"><div class="gmail_attr">'
        f"On Mon, Dec 14, 2026 at 10:00 AM {escape(ALICE)} wrote:<br></div>"
        f'<blockquote class="gmail_quote">{divs(original)}</blockquote></div>'
    )
    return html_to_text(html)


CLIENTS: dict[str, Callable[[str, str], str]] = {
    "gmail_en": _above(f"On Mon, Dec 14, 2026 at 10:00 AM {ALICE} wrote:"),
    "gmail_de": _above(f"Am Mo., 14. Dez. 2026 um 10:00 Uhr schrieb {ALICE}:"),
    "gmail_fr": _above(f"Le lun. 14 déc. 2026 à 10:00, {ALICE} a écrit :"),
    "gmail_es": _above(f"El lun, 14 dic 2026 a las 10:00, {ALICE} escribió:"),
    "gmail_it": _above(f"Il giorno lun 14 dic 2026 alle ore 10:00 {ALICE} ha scritto:"),
    "gmail_pt": _above(f"Em seg., 14 de dez. de 2026 às 10:00, {ALICE} escreveu:"),
    "gmail_nl": _above(f"Op ma 14 dec 2026 om 10:00 schreef {ALICE}:"),
    "gmail_pl": _above(f"pon., 14 gru 2026 o 10:00 {ALICE} napisał(a):"),
    "gmail_sv": _above(f"Den mån 14 dec. 2026 kl 10:00 skrev {ALICE}:"),
    "gmail_da": _above(f"Den man. 14. dec. 2026 kl. 10.00 skrev {ALICE}:"),
    "gmail_no": _above(f"man. 14. des. 2026 kl. 10:00 skrev {ALICE}:"),
    "gmail_vi": _above(f"Vào Th 2, 14 thg 12, 2026 vào lúc 10:00 {ALICE} đã viết:"),
    "gmail_wrapped": _above("On Mon, Dec 14, 2026 at 10:00 AM Alice Owner <\nalice@example.com> wrote:"),
    "apple_mail": lambda reply, original: (
        f"{reply}\n\n> On 14 Dec 2026, at 10:00, {ALICE} wrote:\n>\n{_quoted(original)}\n"
    ),
    "thunderbird": lambda reply, original: (
        f"{reply}\n\nOn 14/12/2026 10:00, Alice Owner wrote:\n{_quoted(original)}\n"
    ),
    "thunderbird_de": lambda reply, original: f"{reply}\n\nAlice Owner schrieb:\n{_quoted(original)}\n",
    "thunderbird_bottom_post": lambda reply, original: (
        f"On 14/12/2026 10:00, Alice Owner wrote:\n{_quoted(original)}\n\n{reply}\n"
    ),
    "outlook_en": _outlook("________________________________", ("From", "Sent", "To", "Subject")),
    "outlook_de": _outlook("-----Ursprüngliche Nachricht-----", ("Von", "Gesendet", "An", "Betreff")),
    "outlook_fr": _outlook("", ("De ", "Envoyé ", "À ", "Objet ")),
    "outlook_es": _outlook("", ("De", "Enviado", "Para", "Asunto")),
    "outlook_nl": _outlook("", ("Van", "Verzonden", "Aan", "Onderwerp")),
    "outlook_sv": _outlook("", ("Från", "Skickat", "Till", "Ämne")),
    "outlook_pl": _outlook("", ("Od", "Wysłano", "Do", "Temat")),
    "outlook_vi": _outlook("", ("Từ", "Đã gửi", "Đến", "Chủ đề")),
    "original_message": _outlook("-----Original Message-----", ("From", "Sent", "To", "Subject")),
    "antwort_nachricht": _outlook("----- Antwort Nachricht -----", ("Von", "Datum", "An", "Betreff")),
    "gmx": lambda reply, original: (
        f"{reply}\n\nGesendet: Montag, 14. Dezember 2026 um 10:00 Uhr\nVon: {ALICE}\n"
        f"An: vanessa@va-agency.example\nBetreff: Landingpage\n\n{original}"
    ),
    "yahoo": lambda reply, original: (
        f"{reply}\n\n    On Monday, December 14, 2026, 10:00:00 AM GMT+1, {ALICE} wrote:\n\n{original}"
    ),
    "dashed_wrote": lambda reply, original: (
        f"{reply}\n\n------On 14/12/2026 10:00 AM, Alice Owner wrote-----\n\n{original}"
    ),
    "zoho": lambda reply, original: (
        f"{reply}\n\n---- On Mon, 14 Dec 2026 10:00:00 +0100 {ALICE} wrote ----\n\n{original}"
    ),
    "html_only_gmail": _html_gmail,
}


def _normalised(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("client", sorted(CLIENTS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=reply_text, original=reply_text)
def test_a_reply_survives_being_quoted_by_a_client_and_extracted_back(client, reply, original):
    quoted = CLIENTS[client](reply, original)

    assert _normalised(extract_reply(quoted).text) == _normalised(reply)


@pytest.mark.parametrize(
    "line",
    [
        "bla -- On " * 15_000 + "wrote:",
        "On " + "x wrote " * 20_000 + ":",
        "> " * 50_000,
        "From: " * 30_000 + ":",
        "a" * 150_000 + " schrieb:",
    ],
    ids=["glued", "long-attribution", "quote-marks", "fields", "long-line"],
)
def test_a_hostile_line_is_read_without_losing_it(line):
    # Each pattern runs on bounded input: these finish at once (pytest-timeout guards a regression).
    text = f"Hello\n\n{line}\n\nbye"

    assert "Hello" in extract_reply(text).text
