"""The provider's answer page in a real Chromium on a phone (390 × 844, touch, JavaScript off),
in English and German: the link opened from a mail really sent, each answer given, the owner
seeing them at once; and the links that must not work (expired, reused, another request's)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from engagements.mail import outbound
from engagements.models import AnswerLink, DueDateProposal, Engagement, Message
from tests.browser.conftest import ConsoleLog
from tests.browser.test_attention import _log_in
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"https?://[^/\s]+/a/[^/\s]+/")
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
# What the page says, per language: the acknowledge button, and the logged acknowledgement.
TEXTS = {
    "en": {
        "acknowledge": "Got it, I am on it",
        "logged": "Got it, I am on it.",
        "title": "Propose a new delivery date",
    },
    "de": {
        "acknowledge": "Verstanden, ich kümmere mich darum",
        "logged": "Verstanden, ich kümmere mich darum.",
        "title": "Neuen Liefertermin vorschlagen",
    },
}
LOCALES = {"en": "en-US", "de": "de-DE"}


@pytest.fixture
def phone_for(browser: object, live_server: object, console: ConsoleLog) -> Iterator[object]:
    """Opens phone-sized pages with JavaScript off, in a browser speaking ``language``."""
    contexts = []

    def open_phone(language: str):
        context = browser.new_context(  # type: ignore[attr-defined]
            base_url=live_server.url,  # type: ignore[attr-defined]
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            java_script_enabled=False,
            locale=LOCALES[language],
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", console.on_console)
        page.on("pageerror", console.on_page_error)
        page.set_default_timeout(15_000)
        return page

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def mailed(team, live_server, smtp_server, settings):
    """Sends a request by mail (to the SMTP sink) and returns the link the mail carries."""
    settings.SITE_URL = live_server.url
    settings.MAIL_ROUTING_DOMAIN = "reply.example.com"

    def send(language: str, title: str) -> tuple[Engagement, str]:
        provider = ProviderFactory(
            workspace=team.workspace, name=f"Lena {title}", languages=[language], time_zone="Europe/Berlin"
        )
        ProviderEmailFactory(provider=provider, email=f"lena{provider.pk}@example.net")
        engagement = EngagementFactory(
            workspace=team.workspace,
            provider=provider,
            owner=team.alice,
            title=title,
            due_on=timezone.now().date() + timedelta(days=5),
        )
        outbound.mail_send(
            engagement=engagement,
            by=team.alice,
            kind="request",
            to=[f"lena{provider.pk}@example.net"],
            subject=title,
            body="Please write them.",
        )
        match = LINK.search(smtp_server.mails()[-1].get_content())
        assert match, "the mail carries no answer link"
        return engagement, match.group(0)

    return send


def _fits_the_phone(page) -> None:
    for testid in ("answer-title", "answer-propose", "answer-ask", "answer-deliver"):
        element = page.get_by_test_id(testid)
        if element.count():  # the delivery form is gone once the delivery is reported
            box = element.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], testid


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_provider_answers_on_a_phone_without_an_account_and_the_owner_sees_it(
    phone_for, mailed, team, live_server, page, console, language
):
    engagement, link = mailed(language, "Newsletter texts")
    phone = phone_for(language)
    texts = TEXTS[language]

    phone.goto(link)
    assert phone.locator("html").get_attribute("lang") == language
    expect(phone.get_by_test_id("answer-title")).to_have_text("Newsletter texts")
    expect(phone.get_by_role("heading", name=texts["title"])).to_be_visible()
    _fits_the_phone(phone)

    phone.get_by_role("button", name=texts["acknowledge"]).click()
    expect(phone.get_by_test_id("answer-done")).to_have_attribute("data-done", "acknowledged")
    expect(phone.get_by_test_id("answer-acknowledged")).to_be_visible()

    new_date = timezone.now().date() + timedelta(days=12)
    phone.locator("input[name=proposed_on]").fill(new_date.isoformat())
    phone.locator("textarea[name=reason]").fill(
        "Die Bilder kamen spät." if language == "de" else "The images came late."
    )
    phone.get_by_test_id("answer-propose").click()
    expect(phone.get_by_test_id("answer-done")).to_have_attribute("data-done", "proposed")

    phone.locator("textarea[name=question]").fill("Which tone?")
    phone.get_by_test_id("answer-ask").click()
    expect(phone.get_by_test_id("answer-done")).to_have_attribute("data-done", "asked")

    phone.locator("input[name=file]").set_input_files(
        {"name": "texts.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    phone.locator("textarea[name=note]").fill("All four texts.")
    phone.get_by_test_id("answer-deliver").click()
    expect(phone.get_by_test_id("answer-done")).to_have_attribute("data-done", "delivered")
    expect(phone.get_by_test_id("answer-delivered")).to_be_visible()
    _fits_the_phone(phone)

    logged = Message.objects.filter(engagement=engagement, source=Message.Source.LINK).order_by("id")
    assert [m.kind for m in logged] == ["reply", "reply", "other", "delivery"]
    assert logged[0].body == texts["logged"]

    # The owner, signed in, sees every answer on the engagement at once, and accepts the date.
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/{engagement.pk}/")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text(texts["logged"])
    expect(timeline).to_contain_text("Which tone?")
    expect(timeline).to_contain_text("texts.pdf")
    expect(timeline).to_contain_text("Provider's answer page")
    page.get_by_test_id("proposal-accept").click()
    expect(page.get_by_test_id("proposal")).to_have_attribute("data-state", "accepted")
    engagement.refresh_from_db()
    assert engagement.due_on == new_date
    assert DueDateProposal.objects.get().state == DueDateProposal.State.ACCEPTED
    assert [e for e in console.errors if "status of 4" not in e] == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_expired_reused_and_other_requests_links_answer_nothing_of_this_request(
    phone_for, mailed, console, language
):
    mine, my_link = mailed(language, "Logo redesign")
    theirs, their_link = mailed(language, "Price list")
    texts = TEXTS[language]

    # Reused: two tabs of the same link; the second acknowledgement records nothing more.
    first, second = phone_for(language), phone_for(language)
    first.goto(my_link)
    second.goto(my_link)
    first.get_by_role("button", name=texts["acknowledge"]).click()
    expect(first.get_by_test_id("answer-done")).to_have_attribute("data-done", "acknowledged")
    second.get_by_role("button", name=texts["acknowledge"]).click()
    expect(second.get_by_test_id("answer-done")).to_have_attribute("data-done", "already")
    assert Message.objects.filter(engagement=mine, source=Message.Source.LINK).count() == 1

    # Another request's link: it shows that request only, and a forged one shows nothing.
    second.goto(their_link)
    expect(second.get_by_test_id("answer-title")).to_have_text("Price list")
    expect(second.locator("body")).not_to_contain_text("Logo redesign")
    sent = Message.Source.APP
    forged = my_link.replace(
        f"-{mine.messages.get(source=sent).pk}-", f"-{theirs.messages.get(source=sent).pk}-"
    )
    assert forged != my_link
    response = second.goto(forged)
    assert response.status == 404
    expect(second.get_by_test_id("answer-invalid")).to_be_visible()
    expect(second.locator("body")).not_to_contain_text("Price list")
    expect(second.locator("body")).not_to_contain_text("Logo redesign")
    assert second.locator("html").get_attribute("lang") == language

    # Expired: the page says so, in the browser's language, and names nothing.
    AnswerLink.objects.filter(message__engagement=theirs).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = second.goto(their_link)
    assert response.status == 410
    expect(second.get_by_test_id("answer-expired")).to_be_visible()
    expect(second.locator("body")).not_to_contain_text("Price list")
    assert second.locator("html").get_attribute("lang") == language
    assert not Message.objects.filter(engagement=theirs, source=Message.Source.LINK).exists()
    assert [e for e in console.errors if "status of 4" not in e] == []
