"""The reply text against public reply-parser fixture sets and our own cases (corpus/replies/).

Each case is an input (``.txt``: a plain-text body; ``.eml``: a whole message, read by ``parse_message``)
and the reply its sender wrote (``.expected.txt``: the answer and signature, without quotes, footers or
disclaimers). A case counts as right when the two agree with whitespace normalised. The accuracy of
each set is printed at the end of the run (tests/conftest.py, ``pytest_terminal_summary``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from engagements.mail.parse import parse_message
from engagements.mail.reply import extract_reply

REPLIES = Path(__file__).parent / "corpus" / "replies"
REQUIRED_ACCURACY = 0.97


@dataclass(frozen=True)
class Case:
    set_name: str
    name: str
    source: Path
    expected: str
    client: str
    language: str


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _cases() -> list[Case]:
    found = []
    for folder in sorted(path for path in REPLIES.iterdir() if path.is_dir()):
        with (folder / "index.tsv").open(encoding="utf-8") as index:
            labels = {row["case"]: row for row in csv.DictReader(index, delimiter="\t")}
        for source in sorted(folder.iterdir()):
            if source.suffix not in (".txt", ".eml") or source.name.endswith(".expected.txt"):
                continue
            label = labels[source.stem]
            expected = (folder / f"{source.stem}.expected.txt").read_text(encoding="utf-8")
            found.append(Case(folder.name, source.stem, source, expected, label["client"], label["language"]))
    return found


def _reply_of(case: Case) -> str:
    if case.source.suffix == ".eml":
        mail = parse_message(case.source.read_bytes())
        return f"{mail.new_text}\n\n{mail.signature}"
    return extract_reply(case.source.read_text(encoding="utf-8")).text


CASES = _cases()


def test_the_corpus_holds_at_least_250_replies_from_12_clients_in_10_languages():
    clients = {case.client for case in CASES if not case.client.startswith("plain text")}
    languages = {case.language for case in CASES}

    assert len(CASES) >= 250
    assert len(clients) >= 12, sorted(clients)
    assert {"en", "de", "fr", "nl", "es", "it", "pt", "pl", "sv", "da", "no", "vi"} <= languages


def test_every_corpus_case_has_its_expected_reply_and_labels():
    for folder in (path for path in REPLIES.iterdir() if path.is_dir()):
        inputs = {p.stem for p in folder.iterdir() if p.suffix in (".txt", ".eml")} - {
            p.name.removesuffix(".txt") for p in folder.glob("*.expected.txt")
        }
        expected = {p.name.removesuffix(".expected.txt") for p in folder.glob("*.expected.txt")}
        assert inputs == expected, folder.name


def test_the_reply_text_is_right_in_at_least_97_percent_of_the_corpus(record_property):
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    wrong: list[str] = []
    for case in CASES:
        total[case.set_name] = total.get(case.set_name, 0) + 1
        got = _reply_of(case)
        if _normalised(got) == _normalised(case.expected):
            right[case.set_name] = right.get(case.set_name, 0) + 1
        else:
            wrong.append(f"{case.set_name}/{case.name}:\n--- got\n{got}\n--- expected\n{case.expected}")
    lines = [
        f"{name:<20} {right.get(name, 0):>4}/{count:<4} {100 * right.get(name, 0) / count:6.1f} %"
        for name, count in total.items()
    ]
    overall = sum(right.values()) / len(CASES)
    lines.append(f"{'overall':<20} {sum(right.values()):>4}/{len(CASES):<4} {100 * overall:6.1f} %")
    record_property("reply_corpus", "\n".join(lines))

    assert overall >= REQUIRED_ACCURACY, "\n".join(lines + wrong)


@pytest.mark.parametrize("case", [c for c in CASES if c.set_name == "hand-built"], ids=lambda c: c.name)
def test_a_hand_built_reply_is_extracted_exactly(case):
    # Our own cases were written expected-first: each must pass, not only the overall share.
    assert _normalised(_reply_of(case)) == _normalised(case.expected)
