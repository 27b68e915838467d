"""Reading mbox files the way mail clients do: only a postmark after an empty line starts a message."""

from __future__ import annotations

from io import BytesIO

import pytest

from engagements.mail import importer, sources
from engagements.models import InboundMail


def message(subject: str, body: bytes) -> bytes:
    return (
        b"From: Vanessa <vanessa@va-agency.example>\n"
        b"To: alice@acme.example\n"
        b"Subject: " + subject.encode() + b"\n"
        b"Date: Mon, 14 Dec 2026 10:00:00 +0100\n"
        b"Message-ID: <" + subject.encode() + b"@va-agency.example>\n\n" + body
    )


def read(data: bytes) -> list[bytes]:
    return list(sources.MailFileReader(BytesIO(data), mbox=True))


POSTMARK = b"From vanessa@va-agency.example Mon Dec 14 09:00:00 2026\n"


def test_a_from_line_inside_a_body_does_not_start_a_message():
    # An mboxo writer that did not quote it: "From " right after a text line.
    body = b"Hi Alice,\nFrom Monday on I am back in the office.\n"
    data = POSTMARK + message("first", body) + b"\n" + POSTMARK + message("second", b"ok\n")

    found = read(data)

    assert len(found) == 2
    assert b"From Monday on I am back in the office." in found[0]


def test_a_from_sentence_after_an_empty_line_is_no_postmark_and_stays_in_the_body():
    body = b"Hi Alice,\n\nFrom what I saw, the draft is fine.\n\nFrom 9 to 5 I am free.\n"
    data = POSTMARK + message("only", body)

    found = read(data)

    assert len(found) == 1
    assert found[0].endswith(b"From what I saw, the draft is fine.\n\nFrom 9 to 5 I am free.\n")


@pytest.mark.django_db
def test_an_unquoted_from_line_neither_splits_the_message_nor_makes_an_empty_reject(team):
    body = b"Hi Alice,\n\nFrom the desk of Vanessa: the draft is attached.\n"
    data = POSTMARK + message("desk", body)

    counts = importer.mail_import_many(
        workspace=team.workspace, raws=read(data), source=InboundMail.Source.IMPORT
    )

    assert (counts.unsorted, counts.rejected) == (1, 0)
    assert InboundMail.objects.get().snippet.endswith("From the desk of Vanessa: the draft is attached.")


@pytest.mark.parametrize(
    "postmark",
    [
        b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n",
        b"From - Mon Dec 14 09:00:00 2026\n",  # Thunderbird
        b"From 1719283749123@xxx Mon Dec 14 09:00:00 +0000 2026\n",  # Gmail's Takeout
        b"From vanessa@va-agency.example  Mon Dec 14 09:00:00 2026\r\n",
        b"From vanessa@va-agency.example 2026-12-14T09:00:00Z\n",
    ],
)
def test_every_common_postmark_starts_a_message(postmark):
    data = postmark + message("one", b"1\n") + b"\n" + postmark + message("two", b"2\n")

    assert [m.split(b"Subject: ")[1][:3] for m in read(data)] == [b"one", b"two"]


def test_crlf_files_split_after_an_empty_crlf_line():
    data = (POSTMARK + message("one", b"1\n") + b"\n" + POSTMARK + message("two", b"2\n")).replace(
        b"\n", b"\r\n"
    )

    assert len(read(data)) == 2


def test_mboxrd_quoting_is_taken_off_one_level():
    body = b"Quoted:\n>From the start\n>>From a quote\n> From is kept\n"

    (found,) = read(POSTMARK + message("rd", body))

    assert found.endswith(b"Quoted:\nFrom the start\n>From a quote\n> From is kept\n")
