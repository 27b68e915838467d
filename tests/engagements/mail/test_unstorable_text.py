"""Text a database column cannot hold never fails an import: NUL (which PostgreSQL refuses in text)
and lone surrogates are taken out of everything a mail brings, wherever in the mail they hide."""

from __future__ import annotations

import mailbox
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from engagements import services
from engagements.mail.parse import parse_message, storable_text
from engagements.models import Attachment, Engagement, InboundMail, Message
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

DATE = "Mon, 01 Jun 2026 10:00:00 +0000"


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="vanessa@va-agency.example")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, title="Landing page copy")
    services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=timezone.now() - timedelta(days=1),
        subject="Landing page copy",
        message_id="request-1@tracker.example",
    )
    return engagement


def good(n: int) -> bytes:
    return (
        f"From: someone{n}@elsewhere.example\r\nTo: alice@example.com\r\nSubject: Offer {n}\r\n"
        f"Date: {DATE}\r\nMessage-ID: <good-{n}@elsewhere.example>\r\n\r\nAn offer.\r\n"
    ).encode()


# NUL written raw into every header the importer keeps, and into the body.
RAW_NUL = (
    b"From: Vanessa\x00 VA <vanessa@va-agency.example>\r\nTo: alice@example.com\r\n"
    b"Subject: Re: Landing\x00 page copy\r\nDate: " + DATE.encode() + b"\r\n"
    b"Message-ID: <nul\x00-1@va-agency.example>\r\nIn-Reply-To: <request-1\x00@tracker.example>\r\n"
    b"References: <request-1@tracker.example> <x\x00y@tracker.example>\r\n\r\n"
    b"Here is\x00 the draft.\r\n"
)
# NUL hidden in encoded words, an HTML part and an attachment's RFC 2231 file name.
ENCODED_NUL = (
    b"From: =?utf-8?q?Vanessa=00_VA?= <vanessa@va-agency.example>\r\nTo: alice@example.com\r\n"
    b"Subject: =?utf-8?b?UmU6IExhbmRpbmcAIHBhZ2UgY29weQ==?=\r\nDate: " + DATE.encode() + b"\r\n"
    b"Message-ID: <nul-2@va-agency.example>\r\nIn-Reply-To: <request-1@tracker.example>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
    b"--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"<p>The draft=00 is attached.</p>\r\n"
    b"--b1\r\nContent-Type: text/plain; name*=utf-8''draft%00.txt\r\n"
    b"Content-Disposition: attachment; filename*=utf-8''draft%00.txt\r\n\r\nThe draft.\r\n"
    b"--b1--\r\n"
)
# A stranger's mail, which waits in Unsorted: the summary row holds the same texts.
UNSORTED_NUL = (
    b"From: =?utf-8?q?Some=00one?= <someone@elsewhere.example>\r\nTo: alice@example.com\r\n"
    b"Subject: Hello\x00 there\r\nDate: " + DATE.encode() + b"\r\n"
    b"Message-ID: <nul\x00-3@elsewhere.example>\r\n\r\nA\x00 snippet.\r\n"
)


def test_an_mbox_with_nul_bytes_among_good_mail_imports_every_message(team, engagement, tmp_path):
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for raw in (good(1), RAW_NUL, ENCODED_NUL, UNSORTED_NUL, good(2)):
        box.add(raw)
    box.close()
    out = StringIO()

    call_command("import_mail", str(tmp_path / "archive.mbox"), workspace=team.workspace.slug, stdout=out)

    assert out.getvalue().strip().splitlines()[-1] == (
        "imported 5: threaded 2, unsorted 3; rejected 0; already there 0"
    )
    replies = Message.objects.filter(engagement=engagement, direction=Message.Direction.INBOUND).order_by(
        "pk"
    )
    assert [(m.subject, m.sender, m.message_id, m.in_reply_to) for m in replies] == [
        (
            "Re: Landing page copy",
            "vanessa@va-agency.example",
            "nul-1@va-agency.example",
            "request-1@tracker.example",
        ),
        (
            "Re: Landing page copy",
            "vanessa@va-agency.example",
            "nul-2@va-agency.example",
            "request-1@tracker.example",
        ),
    ]
    first, second = replies
    assert first.body == "Here is the draft."
    assert first.references == "request-1@tracker.example xy@tracker.example"
    assert "\x00" not in second.html and "The draft is attached." in second.html
    assert Attachment.objects.get(message=second).original_name == "draft.txt"
    stranger = InboundMail.objects.get(message_id="nul-3@elsewhere.example")
    assert (stranger.subject, stranger.snippet) == ("Hello there", "A snippet.")


def test_every_text_of_a_parsed_mail_is_storable():
    mail = parse_message(ENCODED_NUL)

    texts = [mail.subject, mail.from_name, mail.text, mail.new_text, mail.html, mail.message_id]
    texts += [a.filename for a in mail.attachments]
    assert not any("\x00" in text for text in texts)
    assert mail.from_name == "Vanessa VA"


def test_a_lone_surrogate_is_replaced_and_nul_dropped():
    assert storable_text("a\x00b\ud800c") == "ab\ufffdc"
