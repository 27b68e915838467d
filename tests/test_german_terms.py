"""One German word per domain term: the score, a provider or a flag never goes by two names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[1] / "locale" / "de" / "LC_MESSAGES" / "django.po"

# English term (a regular expression) -> what its German translation must contain.
GLOSSARY = {
    r"\bscores?\b": r"zuverlässigkeitswert",
    r"\bproviders?\b|\bprovider's": r"dienstleister",
    r"\bengagements?\b|\bengagement's": r"auftr[aä]g",
    r"\bfollow-ups?\b": r"nachfass",
    r"\bflags?\b": r"markierung",
    r"\bworkspaces?\b|\bworkspace's": r"arbeitsbereich",
    r"\bpolic(y|ies)\b": r"regel",
    r"\bghosted\b": r"abgetaucht",
    r"\bsnooze": r"zurückgestellt|zurückstellen",
    r"\bdismiss": r"verworfen|verwerfen",
    r"\bdelegat": r"delegier",
    r"\blogged\b(?! in)": r"erfasst",
    r"\bmailbox": r"postf[aä]ch",
    r"\babsences?\b": r"abwesenheit",
    r"\breviews?\b": r"bewert",
    r"\bfees?\b": r"honorar",
}


def _pairs() -> list[tuple[str | None, str, str]]:
    """(context, English, German) for every entry and plural form."""
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    pairs = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(message.context, en, de) for en, de in zip(ids, strings, strict=False)]
    return pairs


@pytest.mark.parametrize(("english", "german"), GLOSSARY.items())
def test_each_domain_term_has_one_german_name(english, german):
    strays = [
        (msgid, msgstr)
        for _context, msgid, msgstr in _pairs()
        # Placeholders such as %(provider)s or {provider} are names, not the term.
        if re.search(english, re.sub(r"%\(\w+\)[sd]|\{\w+\}", "", msgid), re.I)
        and not re.search(german, msgstr, re.I)
    ]
    assert strays == []


def test_the_same_english_text_is_translated_the_same_way():
    seen: dict[tuple[str | None, str], set[str]] = {}
    for context, msgid, msgstr in _pairs():
        seen.setdefault((context, msgid.lower().strip(" .:")), set()).add(msgstr.lower().strip(" .:"))
    # "someone" is "jemand" or "jemandem" by its place in the sentence.
    differing = {key: texts for key, texts in seen.items() if len(texts) > 1 and key[1] != "someone"}
    assert differing == {}
