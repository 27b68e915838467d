"""An imported reply is stored as the answer, with the signature apart, and the page shows the answer first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements import services
from engagements.mail import importer
from engagements.models import InboundMail, Message
from tests.engagements.test_mail_import import mail
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

BOTTOM_POSTED = """Hi Alice,

On Mon, Dec 14, 2026 at 10:00 AM Alice Owner <alice@example.com> wrote:
> Could you send the landing page draft by Friday?
>
> Thanks, Alice

The draft is in the shared folder.
I moved the form above the fold.

Viele Grüße
Vanessa Berger
VA Agency
"""


@pytest.fixture
def engagement(team):
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="vanessa@va-agency.example")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=timezone.now() - timedelta(days=1),
        subject="Landing page",
        message_id="request-1@tracker.example",
    )
    return engagement


def imported(team, body: str) -> Message:
    raw = mail(body=body, in_reply_to="request-1@tracker.example")
    result = importer.mail_import(workspace=team.workspace, raw=raw, source=InboundMail.Source.IMPORT)
    assert result.message is not None
    return result.message


def test_a_bottom_posted_reply_is_stored_as_its_answer_with_the_signature_apart(team, engagement):
    message = imported(team, BOTTOM_POSTED)

    assert message.body == "Hi Alice,\n\nThe draft is in the shared folder.\nI moved the form above the fold."
    assert message.signature == "Viele Grüße\nVanessa Berger\nVA Agency"
    assert "Could you send" in message.quoted  # the whole mail stays at hand


def test_a_reply_without_a_signature_stores_none(team, engagement):
    message = imported(team, "Done, see the shared folder.\n\n> Could you send the draft?\n")

    assert (message.body, message.signature) == ("Done, see the shared folder.", "")


def test_the_message_shows_the_answer_first_and_the_signature_muted(team, engagement):
    imported(team, BOTTOM_POSTED)

    page = team.client_for(team.alice).get(
        reverse("engagements:detail", kwargs={"ws": team.workspace.slug, "pk": engagement.pk})
    )

    html = page.content.decode()
    answer = html.index("I moved the form above the fold.")
    signature = html.index('data-testid="signature"')
    assert answer < signature < html.index("Vanessa Berger")
    tag = html[html.rindex("<div", 0, signature) : signature]
    assert "text-body-secondary" in tag
