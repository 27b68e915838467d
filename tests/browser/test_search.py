"""Search in a real Chromium: the navigation's box finds a bounce by words of its body, highlighted."""

from __future__ import annotations

import pytest

from engagements.models import Message
from tests.browser.test_mail_upload import _log_in
from tests.factories import EngagementFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_navigation_box_finds_mailbox_full_and_marks_the_words(page, live_server, team, console):
    engagement = EngagementFactory(workspace=team.workspace, title="Newsletter setup")
    MessageFactory(
        engagement=engagement,
        direction=Message.Direction.INBOUND,
        kind=Message.Kind.BOUNCE,
        subject="Undeliverable",
        body="The recipient's mailbox is full.",
    )
    _log_in(page, live_server, team.bob)
    page.goto("/w/acme/providers/")
    box = page.get_by_test_id("nav-search-input")
    box.fill("mailbox full")
    box.press("Enter")
    page.wait_for_url("**/w/acme/search/?q=mailbox+full")
    hit = page.get_by_test_id("search-hit")
    assert hit.count() == 1
    assert hit.locator("mark").all_inner_texts() == ["mailbox", "full"]
    hit.get_by_role("link", name="Undeliverable").click()
    page.wait_for_url(f"**/w/acme/engagements/{engagement.pk}/#message-*")
    assert console.errors == []
