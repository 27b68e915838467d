"""Is a reply still coming? In a real Chromium: order Needs attention by the chance of never hearing
back, with the keyboard, and read the sentence, checking its figure against the engine's."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from engagements.models import Exchange, Flag
from engagements.reliability.outlook import reply_outlooks
from tests.browser.test_attention import _log_in
from tests.engagements.test_reply_outlook import history, open_request
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

# A Monday 09:00 in the providers' zone, long past: their record.
PAST = datetime(2026, 11, 2, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))


def _flag(exchange: Exchange, overdue_by: timedelta) -> None:
    Flag.objects.create(
        workspace=exchange.workspace,
        engagement=exchange.engagement,
        exchange=exchange,
        kind=Flag.Kind.REPLY_OVERDUE,
        due_at=timezone.now() - overdue_by,
    )


def _engine_order(team, exchanges: list[Exchange]) -> list[int]:
    """The requests by the engine's chance of never hearing back (those without one last), then most overdue."""
    fresh = list(Exchange.objects.filter(pk__in=[x.pk for x in exchanges]).select_related("engagement"))
    outlooks = reply_outlooks(
        team.workspace.pk, [(x.pk, x.engagement.provider_id) for x in fresh], now=timezone.now()
    )

    def key(x: Exchange) -> tuple:
        never = outlooks[x.pk].never if x.pk in outlooks else None
        return (never is None, -(never or 0.0), x.reply_due_at, x.pk)

    return [x.pk for x in sorted(fresh, key=key)]


def test_least_likely_to_answer_orders_the_page_and_the_sentence_gives_the_engines_figure(
    page, console, team, live_server
):
    maria = ProviderFactory(workspace=team.workspace, name="Maria Lopez")
    history(team.workspace, maria, answered=(2, 4, 6, 9, 12, 16, 20, 30, 45), closed=(40, 70, 90), start=PAST)
    bea = ProviderFactory(workspace=team.workspace, name="Bea Brandt")
    history(team.workspace, bea, answered=tuple(range(1, 13)), start=PAST)
    asked = timezone.now() - timedelta(minutes=10)
    waiting = open_request(team.workspace, maria, "Banner", owner=team.alice, asked=asked)
    _flag(waiting, timedelta(hours=1))
    _flag(open_request(team.workspace, bea, "Flyer", owner=team.alice, asked=asked), timedelta(hours=5))

    # Awaiting reply (not flagged, not due for days), of other providers so the figures above stay
    # the worked ones; Tom has too little history for a figure.
    ada = ProviderFactory(workspace=team.workspace, name="Ada Adler")
    history(
        team.workspace, ada, answered=(1, 3, 5, 10, 20, 30, 40, 50), closed=(60, 80, 120, 150), start=PAST
    )
    ben = ProviderFactory(workspace=team.workspace, name="Ben Berg")
    history(team.workspace, ben, answered=tuple(range(2, 40, 3)), closed=(100,), start=PAST)
    tom = ProviderFactory(workspace=team.workspace, name="Tom Thin")
    awaiting = [
        open_request(
            team.workspace, provider, f"Later {i}", owner=team.alice, asked=asked - timedelta(days=days)
        )
        for i, (provider, days) in enumerate([(ben, 1), (tom, 2), (ada, 2), (ben, 3), (ada, 1), (tom, 1)])
    ]
    for i, exchange in enumerate(awaiting):
        Exchange.objects.filter(pk=exchange.pk).update(
            reply_due_at=timezone.now() + timedelta(days=3, hours=i)
        )

    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/attention/")
    headings = page.get_by_test_id("provider-heading")
    assert [text.split()[0] for text in headings.all_inner_texts()] == ["Bea", "Maria"]  # most overdue first

    # A plain link: reachable with the keyboard, no script needed.
    page.get_by_test_id("order-never").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*\?order=never$"))
    assert [text.split()[0] for text in headings.all_inner_texts()] == ["Maria", "Bea"]
    assert page.get_by_test_id("order-never").get_attribute("aria-current") == "page"
    # Awaiting reply follows the engine's chance of never hearing back too; rows without a figure
    # (Tom's, and those whose silence outlasted too much of their provider's record) last.
    rows = page.get_by_test_id("awaiting").get_by_test_id("exchange-row")
    in_awaiting = [int(pk) for pk in rows.evaluate_all("rows => rows.map(row => row.dataset.exchange)")]
    assert in_awaiting == _engine_order(team, awaiting)
    with_figures = reply_outlooks(
        team.workspace.pk, [(x.pk, x.engagement.provider_id) for x in awaiting], now=timezone.now()
    )
    ahead = [pk for pk in in_awaiting if pk in with_figures]
    assert ahead and in_awaiting[: len(ahead)] == ahead
    assert awaiting[1].pk not in with_figures and awaiting[5].pk not in with_figures

    sentence = page.locator(f'[data-testid="reply-outlook"][data-exchange="{waiting.pk}"]')
    text = " ".join(sentence.inner_text().split())
    assert text.startswith("Maria Lopez has been silent ")
    shown = re.search(
        r"hours?, (\d+) % \((\d+)–(\d+) %, n = (\d+)\) were answered within the next business day; (\d+) % never were\.",
        text,
    )
    assert shown is not None, text
    outlook = reply_outlooks(team.workspace.pk, [(waiting.pk, maria.pk)], now=timezone.now())[waiting.pk]
    figures = outlook.figures
    assert figures.answered_within is not None and figures.low is not None and figures.high is not None
    assert [int(g) for g in shown.groups()] == [
        round(figures.answered_within * 100),
        round(figures.low * 100),
        round(figures.high * 100),
        12,
        round((outlook.never or 0) * 100),
    ]
    assert float(sentence.get_attribute("data-answered") or "nan") == pytest.approx(
        figures.answered_within, abs=1e-9
    )
    # Bea answered everyone in the end: never 0 %.
    assert "; 0 % never were." in " ".join(page.get_by_test_id("overdue").inner_text().split())
    assert console.errors == []
