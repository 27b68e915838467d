"""A platform's notification in Unsorted, in Chromium: one click starts an engagement with the provider
it names and logs the freelancer's words there as their platform message."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engagements.mail import importer
from engagements.models import Engagement, InboundMail
from tests.browser.test_attention import _log_in
from tests.engagements.mail.test_platforms import PRIYA_WORDS, raw, run
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_click_starts_an_engagement_and_logs_the_platform_message_from_the_provider(
    page, console, team, live_server
):
    # Known by her Upwork profile, with no engagement the notification could belong to.
    priya = ProviderFactory(
        workspace=team.workspace,
        name="Priya Sharma",
        profile_links=["https://www.upwork.com/freelancers/~01a2b3c4d5e6f7a8b9"],
    )
    assert run(team, raw("upwork_unread_multipart.eml")).outcome == importer.UNSORTED
    inbound = InboundMail.objects.get()

    _log_in(page, live_server, team.bob)
    page.goto(f"/w/{team.workspace.slug}/")
    page.get_by_test_id("nav-mail").click()
    page.get_by_test_id("nav-unsorted").click()
    row = page.get_by_test_id("unsorted-row")
    expect(row.get_by_test_id("platform")).to_have_text("Upwork")
    row.get_by_role("link", name="Sort").click()
    expect(page.get_by_test_id("platform-sender")).to_contain_text("Platform message on Upwork from Priya S.")
    page.get_by_test_id("platform-suggestion").get_by_role(
        "button", name="Start an engagement with Priya Sharma and log it"
    ).click()

    engagement = Engagement.objects.get(provider=priya)
    expect(page.locator("#messages")).to_contain_text(f"The mail was logged on “{engagement.title}”.")
    expect(page.get_by_test_id("unsorted-row")).to_have_count(0)
    page.get_by_role("link", name="Engagements", exact=True).click()
    page.get_by_role("link", name=engagement.title).first.click()
    page.wait_for_url(f"**/engagements/{engagement.pk}/**")

    message = page.get_by_test_id("message")
    expect(message).to_have_count(1)
    expect(message.locator(".badge").first).to_have_text("From the provider")
    expect(message).to_contain_text("Platform message")
    expect(message).to_contain_text("from Priya S.")
    expect(message.locator(".message-body").first).to_have_text(PRIYA_WORDS)
    expect(message).not_to_contain_text(inbound.from_address)
    inbound.refresh_from_db()
    assert inbound.status == InboundMail.Status.THREADED
    assert console.errors == []
