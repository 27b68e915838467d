"""The new text of a reply: what the sender wrote, without the quoted history, footers or disclaimers.

A reply is read line by line. Quoted lines ("> …") are dropped wherever they are, with the
attribution line that introduces them ("On … wrote:" in a dozen languages), so an answer written
below the quote (bottom-posting) or between quoted lines (inline) is kept. A quote header that is
*not* followed by "> " lines (Outlook's "From:/Sent:" block, "-----Original Message-----", Gmail's
attribution above an unmarked quote) starts the history: everything from there on is dropped. A
forwarded message keeps everything, since the forwarded text is what the sender meant to show.
Mailing-list footers, legal disclaimers and leftover separator lines are removed. The signature is
kept but returned apart (``Reply.signature``), so a page can show the answer first.

mail-parser-reply's per-language quote-header patterns are one of the detectors; the rest is here
because that library keeps only the text above the first header and folds signatures away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mailparser_reply.constants import MAIL_LANGUAGES

from engagements.mail.common import BLANK_LINES

# The splitter's patterns get slow on very long texts; longer bodies are kept whole.
MAX_REPLY_SPLIT_CHARS = 200_000
# The languages whose quote headers mail-parser-reply knows (it has more than we list ourselves).
REPLY_LANGUAGES = sorted(MAIL_LANGUAGES)
# A quoted line this long was probably wrapped; the unmarked line under it is its end.
_WRAPPED = 60
# How many lines one attribution ("On …, X <x@example.com> wrote:") may be wrapped over.
_ATTRIBUTION_LINES = 6
_MAX_ATTRIBUTION_CHARS = 400
# Longer lines are not searched for an attribution glued to their end (the pattern is not linear).
_MAX_GLUED_CHARS = 1_000

# The verbs of an attribution line, in the languages providers write in.
_WROTE = (
    r"wrote|sent|schrieb|geschrieben|a\s+écrit|a\s+ecrit|écrit|escribió|escribio|ha\s+scritto|scrisse"
    r"|escreveu|schreef|het\s+volgende\s+geschreven|skrev|skrevet|napisał\(a\)|napisała|napisał|napisal"
    r"|đã\s+viết|viết|kirjoitti|написал\(а\)|написала|написал|napsal\(a\)|napsal|írta|yazdı"
)
_WROTE_AT_END = re.compile(rf"(?:{_WROTE})(?:\s+[^:]{{0,160}})?\s*:\s*-*\s*$", re.IGNORECASE)
_WROTE_BARE_END = re.compile(rf"\b(?:{_WROTE})\s*:\s*-*\s*$", re.IGNORECASE)
# Without its colon only with an address: "On 3 May the files were sent" is the sender's sentence.
_WROTE_NO_COLON = re.compile(
    r"@\S*\s.*\b(?:wrote|schrieb|a\s+écrit|escribió|ha\s+scritto|escreveu|schreef|skrev)\s*$", re.IGNORECASE
)
# Polymail wraps the verb onto a line of its own that looks quoted: "> wrote:".
_WROTE_ONLY = re.compile(rf"^>\s*(?:(?:{_WROTE})\s*)?:\s*$", re.IGNORECASE)
# "11:00 AM, November 17, 2021, "John" <john@example.com>:" — a dated line ending in an address and a colon.
_ADDRESS_COLON_END = re.compile(r"(?:<[^<>\s]+@[^<>\s]+>|[^\s<>]+@[^\s<>]+)\s*:\s*$")
# How an attribution starts: "On", "Am", "Le", "El", "Il", "Em", "Op", "Den", "På", "W dniu", "Vào" …
_ATTRIBUTION_START = re.compile(
    r"^-*\s*(?:On|Am|Le|El|Il|Em|Op|Den|På|Pa|W\s+dniu|Dnia|Vào|Vao|Dne|Dana|Ngày|Le\s+\w+)\b",
    re.IGNORECASE,
)
# "2014-10-17 11:28 GMT+03:00 Someone <someone@example.com>:" (Gmail in some locales).
_DATED_ADDRESS = re.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}\b.*(?:@[^\s>]+>?|>)\s*:?\s*$")
# "---- John Smith wrote ----", "------On 12/29/1987 17:32 PM, Julius Caesar wrote-----".
_DASHED_ATTRIBUTION = re.compile(rf"^-{{2,}}.*\b(?:{_WROTE})\b\s*:?\s*-{{2,}}$", re.IGNORECASE)
# An attribution glued to the end of the reply's last line: "bla--- On … wrote:".
_GLUED_ATTRIBUTION = re.compile(rf"^(?P<keep>.*?[^\s-])\s*-{{2,}}\s*(?P<quote>On\s.*(?:{_WROTE})\s*:)\s*$")

_SEPARATOR_WORDS = (
    r"Original\s+Message|Original[\s-]+Nachricht|Ursprüngliche\s+Nachricht|Ursprungliche\s+Nachricht"
    r"|Originalnachricht|Antwort\s+Nachricht|Reply\s+Message|Message\s+d['’]origine|Message\s+original"
    r"|Mensaje\s+original|Messaggio\s+originale|Mensagem\s+original|Oorspronkelijk\s+bericht"
    r"|Origineel\s+bericht|Originalmeddelelse|Oprindelig\s+meddelelse|Originalmeddelande"
    r"|Ursprungligt\s+meddelande|Opprinnelig\s+melding|Originalmelding|Wiadomość\s+oryginalna"
    r"|Oryginalna\s+wiadomość|Původní\s+zpráva|Tin\s+nhắn\s+gốc|Thư\s+gốc|Alkuperäinen\s+viesti"
    r"|Original\s+Message\s+processed\s+by\s+\S+|Исходное\s+сообщение|Oprindelig\s+besked|Opprinnelig\s+e-?post|Ursprungligt\s+e-?postmeddelande"
)
_SEPARATOR = re.compile(rf"^[-_=*\s]*(?:{_SEPARATOR_WORDS})\s*[-_=*\s]*:?$", re.IGNORECASE)
_FORWARD = re.compile(
    r"^[-_=*\s]*(?:Forwarded\s+message|Begin\s+forwarded\s+message|Weitergeleitete\s+Nachricht"
    r"|Anfang\s+der\s+weitergeleiteten\s+(?:Nachricht|E-Mail)|Message\s+transféré|Début\s+du\s+message\s+réexpédié"
    r"|Mensaje\s+reenviado|Inicio\s+del\s+mensaje\s+reenviado|Messaggio\s+inoltrato|Inizio\s+messaggio\s+inoltrato"
    r"|Mensagem\s+encaminhada|Início\s+da\s+mensagem\s+reencaminhada|Doorgestuurd\s+bericht"
    r"|Begin\s+doorgestuurd\s+bericht|Wiadomość\s+przekazana\s+dalej|Przekazana\s+wiadomość"
    r"|Vidarebefordrat\s+meddelande|Videresendt\s+meddelelse|Videresendt\s+melding|Thư\s+chuyển\s+tiếp"
    r"|Tin\s+nhắn\s+đã\s+chuyển\s+tiếp|Välitetty\s+viesti)\s*[-_=*\s]*:?$",
    re.IGNORECASE,
)
# A subject that says the message is a forward.
FORWARD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:fwd?|wg|tr|rv|enc|doorst|vs|vb|pd|i|fs|fw)\s*:", re.IGNORECASE
)

_FROM_FIELDS = (
    r"From|Von|De|Da|Van|Från|Fra|Od|Từ|Lähettäjä|От|Від|Feladó|Kimden|Afzender|Remitente|Expéditeur"
    r"|Mittente|Remetente|Nadawca|Avsändare|Afsender|Avsender"
)
_OTHER_FIELDS = (
    r"Sent|Date|To|Subject|Cc|Reply-To|Gesendet|Datum|An|Betreff|Kopie|Envoyé|Envoyé\s+le|À|A|Objet"
    r"|Enviado|Enviado\s+el|Enviada|Fecha|Para|Asunto|Inviato|Data|Oggetto|Verzonden|Aan|Onderwerp"
    r"|Skickat|Till|Ämne|Sendt|Til|Emne|Wysłane|Wysłano|Do|Temat|DW|Gửi|Đã\s+gửi|Đến|Chủ\s+đề|Ngày"
    r"|Assunto|Dato|Message\s+du|Sujet|Copie\s+à|Lähetetty|Vastaanottaja|Aihe|Отправлено|Кому|Тема|Dátum|Tárgy|Címzett|Konu|Tarih|Kime"
)
_FIELD = re.compile(rf"^[>\s]*\*?\s*(?P<name>{_FROM_FIELDS}|{_OTHER_FIELDS})\s*\*?\s*:", re.IGNORECASE)
_WHEN_FIELD = re.compile(
    r"^\*?\s*(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Fecha|Data|Inviato|Verzonden|Skickat|Sendt|Dato"
    r"|Wysłano|Wysłane|Ngày|Đã\s+gửi|Lähetetty)\s*\*?\s*:",
    re.IGNORECASE,
)
_FROM_FIELD = re.compile(rf"^\*?\s*(?:{_FROM_FIELDS})\s*\*?\s*:", re.IGNORECASE)
_RULE = re.compile(r"^\s*(?:[-_=*~]\s*){3,}$")
_SHORT_RULE = re.compile(r"^\s*(?:[-_=*~]\s*){2,}$")
_QUOTED = re.compile(r"^\s*>")
_LINK_TAIL = re.compile(r"^\s*<?(?:https?://|mailto:)\S*>?\s*$|^\s*<\S+>\s*$", re.IGNORECASE)

# Footers a mailing list or a notification service adds under every message.
_FOOTER_START = re.compile(
    r"^(?:You\s+received\s+this\s+(?:message|email)\s+because\s+you\s+are\s+subscribed"
    r"|To\s+unsubscribe\s+from\s+this\s+group|Reply\s+to\s+this\s+email\s+directly"
    r"|You\s+are\s+receiving\s+this\s+because|To\s+view\s+this\s+discussion\s+on\s+the\s+web"
    r"|Sie\s+erhalten\s+diese\s+Nachricht,\s+weil\s+Sie)",
    re.IGNORECASE,
)
_LIST_FOOTER_LINE = re.compile(r"mailing\s+list|listinfo|mailman|unsubscribe|abmelden", re.IGNORECASE)
# Legal notices and banners: dropped paragraph by paragraph.
_DISCLAIMER_START = re.compile(
    r"^\W{0,3}(?:CONFIDENTIALITY|CONFIDENTIAL|DISCLAIMER|LEGAL\s+NOTICE|PRIVILEGED|NOTICE\s*:"
    r"|IMPORTANT\s*:|CAUTION\s*:|WARNING\s*:|EXTERNAL\s+(?:EMAIL|SENDER)"
    r"|This\s+(?:e-?mail|message|communication|transmission)\b[^.]{0,120}?\b(?:is|are|contains?|may\s+contain|"
    r"and\s+any)\b[^.]{0,200}?\b(?:confidential|privileged|intended\s+(?:solely|only))"
    r"|The\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message|communication)"
    r"|Please\s+consider\s+the\s+environment|Bitte\s+denken\s+Sie\s+an\s+die\s+Umwelt"
    r"|Diese\s+(?:E-?Mail|Nachricht)\s+(?:enthält|ist|kann|und)\b[^.]{0,200}?\bvertraulich"
    r"|Dieses?\s+E-?Mail\b[^.]{0,200}?\bvertraulich|Wichtiger\s+Hinweis\s*:|Haftungsausschluss"
    r"|Ce\s+(?:message|courriel|e-?mail)\b[^.]{0,200}?\bconfidenti|Avertissement\s*:"
    r"|Este\s+(?:mensaje|correo)\b[^.]{0,200}?\bconfidencial|Aviso\s+legal"
    r"|Questo\s+messaggio\b[^.]{0,200}?\b(?:riservat|confidenzial)"
    r"|Esta\s+mensagem\b[^.]{0,200}?\bconfidencia|Deze\s+e-?mail\b[^.]{0,200}?\bvertrouwelijk"
    r"|Dit\s+bericht\b[^.]{0,200}?\bvertrouwelijk|Ta\s+wiadomość\b[^.]{0,200}?\bpoufn"
    r"|Detta\s+(?:e-?post|e-?mail|meddelande)\b[^.]{0,200}?\bkonfidentiell"
    r"|Denne\s+(?:e-?mail|e-?post|meddelelse|melding)\b[^.]{0,200}?\bfortrolig"
    r"|Le\s+informazioni\s+contenute|Il\s+presente\s+messaggio|Las?\s+informaci[óo]n\s+contenida"
    r"|Les\s+informations\s+contenues|As\s+informa[çc][õo]es\s+contidas|De\s+informatie\s+(?:in|opgenomen)"
    r"|Die\s+in\s+dieser\s+(?:E-?Mail|Nachricht)\s+enthaltenen|Informacje\s+zawarte)",
    re.IGNORECASE,
)

# Where a signature begins: the "-- " line, a mobile client's tag line, or a closing.
_SIGNATURE_RULE = re.compile(r"^(?:--|-- |—+|–+|__)\s*$")
_SENT_FROM = re.compile(
    r"^(?:Sent\s+from\s+\S+|Sent\s+with\s+|Get\s+Outlook\s+for"
    r"|Sent\s+via\s+|Von\s+meinem\s+\S+(?:\s+\S+){0,3}\s+gesendet|Gesendet\s+(?:von|mit|vom)\s"
    r"|Envoyé\s+à\s+partir\s+de\s|Obtenir\s+Outlook\s+pour|Outlook\s+für\s+\S+\s+beziehen"
    r"|Envoyé\s+(?:de|depuis)\s+(?:mon|mi)|Enviado\s+(?:desde|do|de)\s+(?:mi|meu|o)\s"
    r"|Inviato\s+da\s|Verzonden\s+(?:vanaf|met)\s|Skickat\s+från\s|Sendt\s+fra\s|Wysłane\s+z\s"
    r"|Gửi\s+từ\s|Lähetetty\s+(?:iPhonesta|puhelimesta))",
    re.IGNORECASE,
)
# The tag lines mobile clients put under what was typed: nothing below them is the sender's.
_DEVICE_TAG = re.compile(
    r"^(?:Sent\s+from\s+my\s|Get\s+Outlook\s+for\s|Gesendet\s+von\s+(?:Outlook|meinem|Mail\s+für)\s|Von\s+meinem\s+\S+(?:\s+\S+){0,3}\s+gesendet"
    r"|Envoyé\s+(?:de|depuis)\s+mon\s|Enviado\s+(?:desde|do)\s+(?:mi|meu)\s|Inviato\s+da(?:l)?\s+(?:mio|iPhone)"
    r"|Verzonden\s+vanaf\s+mijn\s|Skickat\s+från\s+min\s|Sendt\s+fra\s+min\s|Wysłane\s+z\s+mojego\s)",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^(?:best(?:\s+(?:regards|wishes))?|kind(?:est)?\s+regards|warm(?:est)?\s+regards|regards|cheers"
    r"|thanks(?:\s+(?:again|a\s+lot|and\s+regards))?|thank\s+you(?:\s+very\s+much)?|many\s+thanks|thx"
    r"|sincerely|yours(?:\s+(?:sincerely|truly))?|all\s+the\s+best|talk\s+soon|br"
    r"|mit\s+freundlichen\s+grü(?:ß|ss)en|freundliche\s+grü(?:ß|ss)e|(?:viele|beste|liebe|herzliche)\s+grü(?:ß|ss)e"
    r"|grü(?:ß|ss)e|gru(?:ß|ss)|lg|vg|mfg|danke|vielen\s+dank|beste\s+grüße"
    r"|cordialement|bien\s+(?:à|a)\s+vous|bien\s+cordialement|salutations|merci(?:\s+beaucoup)?|amicalement"
    r"|(?:un\s+)?saludos?(?:\s+cordiales)?|atentamente|gracias|un\s+abrazo"
    r"|cordiali\s+saluti|distinti\s+saluti|saluti|grazie(?:\s+mille)?|a\s+presto"
    r"|atenciosamente|cumprimentos|abraços|obrigad[oa]|melhores\s+cumprimentos"
    r"|met\s+vriendelijke\s+groet(?:en)?|vriendelijke\s+groet(?:en)?|groet(?:en|jes)?|bedankt|dank\s+je(?:wel)?"
    r"|pozdrawiam|z\s+poważaniem|dziękuję|pozdrowienia"
    r"|med\s+vänliga\s+hälsningar|vänliga\s+hälsningar|hälsningar|mvh|tack|vh"
    r"|med\s+venlig\s+hilsen|venlig\s+hilsen|de\s+bedste\s+hilsner|hilsen|tak"
    r"|med\s+vennlig\s+hilsen|vennlig\s+hilsen|takk"
    r"|trân\s+trọng|thân\s+ái|cảm\s+ơn|xin\s+cảm\s+ơn|ystävällisin\s+terveisin|terveisin|kh|kærlig\s+hilsen"
    r")\s*[,.!]?(?-i:\s+[A-ZÀ-Ý][\w.'-]*(?:\s+[A-ZÀ-Ýa-z][\w.'-]*){0,3}[,.]?)?\s*$",
    re.IGNORECASE,
)
_DASH_NAME = re.compile(r"^[-–~]\s?[A-ZÀ-Ý][\w.'-]*(?:\s+[\w.'-]+){0,3}$")
# A signature is short: a closing with more than this many lines under it is still the answer.
_MAX_SIGNATURE_LINES = 12
# How many of the last non-blank lines may start a signature ("-- " with a long card, a disclaimer).
_SIGNATURE_WINDOW = 40


@dataclass(frozen=True)
class Reply:
    """What a reply adds: the answer, and the signature under it (both "" when absent)."""

    answer: str
    signature: str

    @property
    def text(self) -> str:
        return "\n\n".join(part for part in (self.answer, self.signature) if part)


def split_new_text(text: str, subject: str = "") -> str:
    """The text a reply adds (answer and signature), or ``text`` itself if nothing else is found."""
    return extract_reply(text, subject).text or text


def extract_reply(text: str, subject: str = "") -> Reply:
    """Split ``text`` into the sender's answer and signature, without quotes, footers and disclaimers.

    ``subject`` tells a forward ("Fwd: …") apart: a forward keeps the message it forwards.
    """
    if not text.strip():
        return Reply("", "")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(text) > MAX_REPLY_SPLIT_CHARS:
        return Reply(text.strip(), "")
    kept = _without_history(lines, forward=bool(FORWARD_SUBJECT.match(subject)))
    kept = _without_footers(kept)
    kept = _trimmed(kept)
    if not any(line.strip() for line in kept):
        # Nothing but quotes (a mail that only forwards or only quotes): the whole text is the message.
        kept = _trimmed([line.rstrip() for line in lines])
    return _with_signature(kept)


def _without_history(lines: list[str], *, forward: bool) -> list[str]:
    stripped = [line.strip() for line in lines]
    headers = _library_headers(stripped)
    kept: list[str] = []
    index = 0
    count = len(lines)
    while index < count:
        line = stripped[index]
        if forward or _FORWARD.match(line):
            kept.extend(raw.rstrip() for raw in lines[index:])  # a forward shows what it forwards
            break
        if _QUOTED.match(line) and not _is_lone_marker(stripped, index):
            index += 1
            continue
        glued = _GLUED_ATTRIBUTION.match(line) if len(line) <= _MAX_GLUED_CHARS else None
        if glued and _quote_follows(stripped, index + 1):
            kept.append(glued.group("keep"))
            index = _skip_quote(stripped, index + 1)
            continue
        if glued:
            kept.append(glued.group("keep"))
            break
        end = _attribution_end(stripped, index)
        if end is None and index in headers:
            end = _colon_line(stripped, index)
        if end is not None:
            if _quote_follows(stripped, end + 1):
                index = _skip_quote(stripped, end + 1)  # the answer may go on below the quote
                continue
            break
        if _header_block(stripped, index):
            if any(part.strip() for part in kept):
                break
            index = _skip_header_block(stripped, index)  # headers pasted above the message itself
            continue
        if _SEPARATOR.match(line):
            if _quote_follows(stripped, index + 1):
                index = _skip_quote(stripped, index + 1)
                continue
            break
        if _RULE.match(line) and _header_follows(stripped, index + 1):
            break
        kept.append(lines[index].rstrip())
        if _DEVICE_TAG.match(line) and _tag_line(line) and any(part.strip() for part in kept[:-1]):
            break  # "Sent from my phone" ends what the sender wrote; below it is the message answered
        index += 1
    return kept


def _is_lone_marker(lines: list[str], index: int) -> bool:
    """A "> " line between two unquoted lines of text is a decoration ("> > > see below"), not a quote."""
    before = lines[index - 1] if index else ""
    after = lines[index + 1] if index + 1 < len(lines) else ""
    return bool(before and after and not _QUOTED.match(before) and not _QUOTED.match(after))


def _quote_follows(lines: list[str], index: int) -> bool:
    """Whether the next non-blank line starts a "> " quote."""
    while index < len(lines) and not lines[index]:
        index += 1
    return index < len(lines) and bool(_QUOTED.match(lines[index]))


def _skip_quote(lines: list[str], index: int) -> int:
    """The index after the "> " quote starting at or after ``index`` (a link wrapped out of it counts)."""
    while index < len(lines) and not lines[index]:
        index += 1
    while index < len(lines):
        line = lines[index]
        if _QUOTED.match(line):
            index += 1
        elif (
            line
            and index + 1 < len(lines)
            and _QUOTED.match(lines[index + 1])
            and (_LINK_TAIL.match(line) or " " not in line or len(lines[index - 1]) >= _WRAPPED)
        ):
            # A line the quoting client wrapped without its "> " (a long line or a link cut in two).
            index += 1
        else:
            break
    return index


def _attribution_end(lines: list[str], index: int) -> int | None:
    """The last line of an attribution starting at ``index`` ("On …, X wrote:"), or None."""
    line = lines[index]
    if not line or len(line) > _MAX_ATTRIBUTION_CHARS:
        return None
    if _WROTE_BARE_END.search(line) and (_ATTRIBUTION_START.match(line) or _has_date_or_address(line)):
        return index
    if _DATED_ADDRESS.match(line) or _DASHED_ATTRIBUTION.match(line):
        return index
    if _WROTE_BARE_END.search(line) and len(line) < 200 and _quote_follows(lines, index + 1):
        return index  # Thunderbird: "Alice schrieb:" over the quote
    if _ADDRESS_COLON_END.search(line) and _DIGIT.search(line):
        return index
    if _WROTE_NO_COLON.search(line) and _ATTRIBUTION_START.match(line) and _has_date_or_address(line):
        return index
    if line.endswith((".", "!", "?")):
        return None
    if not _DIGIT.search(line):
        return None  # an attribution wrapped over lines starts with its date
    # Without a start word ("pe 20. lokakuuta 2017 klo 17.50 John" / "<john@…> kirjoitti:"), 3 lines at most.
    started = _ATTRIBUTION_START.match(line) or _DATED_START.match(line)
    limit = _ATTRIBUTION_LINES if started else 3
    if _WROTE_AT_END.search(line) and line.endswith(":") and _has_date_or_address(line):
        return index
    joined = line
    for end in range(index + 1, min(index + limit, len(lines))):
        if (limit == 3 and not lines[end]) or _ATTRIBUTION_START.match(lines[end]):
            return None  # a blank, or the attribution proper starts on a later line
        if not lines[end - 1] and _WROTE_AT_END.search(lines[end]) and _has_date_or_address(lines[end]):
            return None  # past a blank line, a whole attribution of its own: this line is the answer
        if _QUOTED.match(lines[end]) and not _WROTE_ONLY.match(lines[end]):
            return None
        piece = lines[end].lstrip("> ")
        # A quoted-printable soft break ("w=" / "rote:") left in a text that was never decoded.
        joined = f"{joined[:-1]}{piece}" if joined.endswith("=") else f"{joined} {piece}".strip()
        if len(joined) > _MAX_ATTRIBUTION_CHARS:
            return None
        if lines[end].rstrip().endswith(":") and (
            _WROTE_AT_END.search(joined) or _DATED_ADDRESS.match(joined)
        ):
            return end if _has_date_or_address(joined) else None
    if _WROTE_AT_END.search(line) and line.endswith(":") and _has_date_or_address(line):
        return index
    return None


_DATED_START = re.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}\b")
_DATE_OR_ADDRESS = re.compile(r"\d|@")
_DIGIT = re.compile(r"\d")


def _colon_line(lines: list[str], index: int) -> int:
    """The first line from ``index`` that ends with a colon: where a wrapped attribution ends."""
    for end in range(index, min(index + 3, len(lines))):
        if lines[end].endswith(":"):
            return end
    return index


def _has_date_or_address(text: str) -> bool:
    return bool(_DATE_OR_ADDRESS.search(text))


def _header_block(lines: list[str], index: int) -> bool:
    """Whether an Outlook-style header block ("From: … / Sent: … / To: …") starts at ``index``."""
    first = _FIELD.match(lines[index])
    if not first:
        return False
    names = {first.group("name").lower()}
    end = min(index + 7, len(lines))
    for line in lines[index + 1 : end]:
        if not line:
            if len(names) >= 2:
                break
            continue
        field = _FIELD.match(line)
        if field:
            names.add(field.group("name").lower())
    if len(names) < 2:
        return False
    # Two fields of a header block, one of them naming the sender or the time it was sent.
    return (
        bool(_FROM_FIELD.match(lines[index].lstrip("> ")) or _WHEN_FIELD.match(lines[index]))
        or len(names) >= 3
    )


def _skip_header_block(lines: list[str], index: int) -> int:
    while index < len(lines) and lines[index]:
        index += 1
    return index


def _header_follows(lines: list[str], index: int) -> bool:
    while index < len(lines) and not lines[index]:
        index += 1
    return index < len(lines) and (
        _header_block(lines, index)
        or bool(_SEPARATOR.match(lines[index]))
        or _attribution_end(lines, index) is not None
    )


@lru_cache(maxsize=1)
def _library_pattern() -> re.Pattern[str]:
    """mail-parser-reply's "On … wrote:" patterns of every language it knows, as one expression.

    Its Outlook-block patterns are left out: they backtrack heavily on long texts, and the header
    blocks are found line by line here.
    """
    patterns = [
        language["wrote_header"] for language in MAIL_LANGUAGES.values() if "wrote_header" in language
    ]
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.MULTILINE | re.IGNORECASE)


def _library_headers(lines: list[str]) -> set[int]:
    """The lines where one of mail-parser-reply's attributions starts (it may be wrapped over 3 lines).

    Only the few lines that end with a colon can end one, so only the lines just above them are tried.
    """
    starts: set[int] = set()
    for end, line in enumerate(lines):
        if not line.endswith(":"):
            continue
        first = end
        while first > max(0, end - 2) and lines[first - 1]:
            first -= 1  # an attribution is wrapped over consecutive lines, never over a blank one
        window = "\n".join(lines[first : end + 1])
        if len(window) > _MAX_ATTRIBUTION_CHARS * 2:
            continue  # no attribution is that long, and the library's patterns are not linear
        match = _library_pattern().search(window)
        if match:
            starts.add(first + window.count("\n", 0, match.start()))
    return starts


def _without_footers(lines: list[str]) -> list[str]:
    stripped = [line.strip() for line in lines]
    for index, line in enumerate(stripped):
        if _FOOTER_START.match(line):
            cut = index
            while cut and (
                not stripped[cut - 1]
                or _RULE.match(stripped[cut - 1])
                or _SIGNATURE_RULE.match(stripped[cut - 1])
            ):
                cut -= 1
            lines, stripped = lines[:cut], stripped[:cut]
            break
        if _SHORT_RULE.match(line) and any(
            _LIST_FOOTER_LINE.search(after) for after in stripped[index + 1 : index + 5]
        ):
            lines, stripped = lines[:index], stripped[:index]
            break
    kept: list[str] = []
    dropping: str | bool = False
    for raw, line in zip(lines, stripped, strict=True):
        if not line and dropping == "paragraph":
            dropping = False
        elif line and not dropping and _DISCLAIMER_START.match(line):
            # A banner above the message ("CAUTION: external sender") is one paragraph; a notice
            # below it runs to the end, often over several paragraphs and languages.
            dropping = "paragraph" if not any(part.strip() for part in kept) else "rest"
        if not dropping:
            kept.append(raw)
    return kept


def _trimmed(lines: list[str]) -> list[str]:
    """``lines`` without blank lines and bare separator lines ("-----", "____") at either end."""
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or _RULE.match(lines[start])):
        start += 1
    while end > start and (
        not lines[end - 1].strip()
        or _RULE.match(lines[end - 1])
        or _SIGNATURE_RULE.match(lines[end - 1].strip())
    ):
        end -= 1
    return lines[start:end]


def _with_signature(lines: list[str]) -> Reply:
    start = _signature_start(lines)
    if start is None:
        start = len(lines)
    # Where a quote was taken out, the blank lines around it would add up.
    return Reply(
        BLANK_LINES.sub("\n\n", "\n".join(lines[:start]).strip()),
        BLANK_LINES.sub("\n\n", "\n".join(lines[start:]).strip()),
    )


def _signature_start(lines: list[str]) -> int | None:
    """Where the signature starts, if one follows at least one line of answer."""
    stripped = [line.strip() for line in lines]
    content = [index for index, line in enumerate(stripped) if line]
    if len(content) < 2:
        return None
    first = content[0]
    # A signature is at the end: only the last lines are candidates (which also keeps this linear).
    candidates = content[1:][-_SIGNATURE_WINDOW:]
    for position, index in enumerate(candidates):
        line = stripped[index]
        remaining = len(candidates) - position - 1
        if _SIGNATURE_RULE.match(line) or (_SENT_FROM.match(line) and _tag_line(line)):
            return index
        if remaining <= _MAX_SIGNATURE_LINES and _CLOSING.match(line) and _short_block(stripped[index + 1 :]):
            return index
        previous = stripped[index - 1] if index else ""
        if (
            remaining <= 2
            and _DASH_NAME.match(line)
            and index > first
            and not previous.startswith(("-", "–"))
        ):
            return index
    return None


def _tag_line(line: str) -> bool:
    """Whether a "Sent from my …" line is a mail client's tag, not a sentence that starts that way."""
    return len(line.split()) <= 8 and "," not in line


def _short_block(lines: list[str]) -> bool:
    """Whether the lines under a closing read like a signature (short lines), not more answer."""
    return all(len(line) <= 100 for line in lines if line)
