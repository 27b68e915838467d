"""Is a reply still coming? The sentence on Needs attention and the engagement page, and the order it gives."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import clock, services
from engagements.models import Engagement, Exchange, Flag
from engagements.policies import engagement_calendar
from engagements.reliability import outlook, snapshots
from engagements.reliability.outlook import ProviderCurve, _indices_by_provider, reply_outlooks
from engagements.reliability.statistics import conditional_reply
from engagements.saved_views import current_query, normalise
from tests.engagements.conftest import url
from tests.factories import EngagementFactory, ProviderFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# A Wednesday; the open requests were made on the Monday at 10:00, so by the provider's
# Mon–Fri 09:00–17:00 they have been silent 7 + 8 + 2 = 17 business hours.
NOW = datetime(2027, 2, 10, 11, 0, tzinfo=BERLIN)
ASKED = datetime(2027, 2, 8, 10, 0, tzinfo=BERLIN)
# Past requests were made on a Monday in January, 09:00.
PAST = datetime(2027, 1, 11, 9, 0, tzinfo=BERLIN)
HOUR = 3600

# The worked example of docs/metrics.md: answered after these business hours, and
# unanswered until their engagement closed after those.
MARIA_ANSWERED = (2, 3, 5, 18, 20, 22, 24, 30, 40, 60)
MARIA_CLOSED = (50, 80, 100)

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def history(
    workspace, provider, *, answered: Sequence[float] = (), closed: Sequence[float] = (), start=PAST
) -> None:
    """Past requests of ``provider``: answered after, or closed unanswered after, so many business hours."""
    for hours, replied in [*((h, True) for h in answered), *((h, False) for h in closed)]:
        engagement = EngagementFactory(workspace=workspace, provider=provider, title=f"Past {hours} h")
        services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=start)
        _policy, calendar = engagement_calendar(engagement)
        end = clock.add_business_time(start, int(hours * HOUR), calendar)
        if replied:
            services.message_log(engagement=engagement, direction="in", kind="reply", occurred_at=end)
        else:
            # Closed back then: the status change's service would stamp now. Its exchanges say
            # so too (Exchange.engagement_open), as the service would have them.
            Engagement.objects.filter(pk=engagement.pk).update(
                status=Engagement.Status.CANCELLED, closed_at=end
            )
            Exchange.objects.filter(engagement=engagement).update(engagement_open=False)


def open_request(workspace, provider, title: str, *, owner=None, asked=ASKED) -> Exchange:
    engagement = EngagementFactory(workspace=workspace, provider=provider, owner=owner, title=title)
    services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=asked)
    return Exchange.objects.get(engagement=engagement)


def overdue_flag(exchange: Exchange, *, overdue_by: timedelta) -> Flag:
    return Flag.objects.create(
        workspace=exchange.workspace,
        engagement=exchange.engagement,
        exchange=exchange,
        kind=Flag.Kind.REPLY_OVERDUE,
        due_at=timezone.now() - overdue_by,
    )


@pytest.fixture
def maria(team, frozen):
    provider = ProviderFactory(workspace=team.workspace, name="Maria")
    history(team.workspace, provider, answered=MARIA_ANSWERED, closed=MARIA_CLOSED)
    return provider


def outlooks(rows: str) -> list[str]:
    return [part.split("</div>")[0] for part in rows.split('data-testid="reply-outlook"')[1:]]


def test_the_engine_reads_marias_record_as_the_worked_example(team, maria):
    exchange = open_request(team.workspace, maria, "Banner")
    outlook = reply_outlooks(team.workspace.pk, [(exchange.pk, maria.pk)], now=timezone.now())[exchange.pk]
    assert (outlook.silent_seconds, outlook.day_seconds, outlook.history) == (17 * HOUR, 8 * HOUR, 14)
    assert outlook.figures.n == 10
    assert outlook.answered_next_day.point == pytest.approx(0.4)
    assert outlook.never == pytest.approx(4 / 15)


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_needs_attention_says_how_likely_a_reply_is(team, maria, who):
    flagged = overdue_flag(open_request(team.workspace, maria, "Banner"), overdue_by=timedelta(hours=2))
    later = open_request(team.workspace, maria, "Flyer")
    later.reply_due_at = timezone.now() + timedelta(days=3)
    later.save(update_fields=["reply_due_at"])
    page = team.client_for(getattr(team, who)).get(url("attention")).content.decode()
    sentences = outlooks(page)
    assert len(sentences) == 2  # the flag's row and the awaiting row
    expected = (
        "Maria has been silent 17 business hours. Of their past requests still unanswered at 17 hours, "
        "40 % (17–75 %, n = 10) were answered within the next business day; 27 % never were."
    )
    assert all(expected in " ".join(s.split()) for s in sentences)
    assert f'data-exchange="{flagged.exchange_id}"' in sentences[0]


def test_the_engagement_page_shows_the_sentence_beside_the_open_request(team, maria):
    exchange = open_request(team.workspace, maria, "Banner", owner=team.alice)
    for user in (team.alice, team.bob):
        page = team.client_for(user).get(url("detail", pk=exchange.engagement_id)).content.decode()
        exchanges = page.split('data-testid="exchanges"')[1]
        assert "Maria has been silent 17 business hours." in exchanges
        assert "40 % (17–75 %, n = 10)" in exchanges


def test_the_engagement_page_says_nothing_once_the_request_is_answered(team, maria):
    exchange = open_request(team.workspace, maria, "Banner")
    services.message_log(engagement=exchange.engagement, direction="in", kind="reply")
    page = team.client_for(team.alice).get(url("detail", pk=exchange.engagement_id)).content.decode()
    assert 'data-testid="reply-outlook"' not in page


def test_the_sentence_is_hidden_below_the_data_threshold(team):
    thin = ProviderFactory(workspace=team.workspace, name="Thin")
    # Nine past requests outlasted the silence: one short of the minimum at risk.
    history(team.workspace, thin, answered=(18, 20, 22, 24, 30, 40, 60), closed=(50, 80))
    exchange = open_request(team.workspace, thin, "Banner")
    overdue_flag(exchange, overdue_by=timedelta(hours=1))
    client = team.client_for(team.alice)
    assert 'data-testid="reply-outlook"' not in client.get(url("attention")).content.decode()
    detail = client.get(url("detail", pk=exchange.engagement_id)).content.decode()
    assert 'data-testid="reply-outlook"' not in detail
    history(team.workspace, thin, answered=(19,))
    assert 'data-testid="reply-outlook"' in client.get(url("attention")).content.decode()


def test_the_sentence_reads_in_german_with_its_plurals(team, maria):
    overdue_flag(open_request(team.workspace, maria, "Banner"), overdue_by=timedelta(hours=2))
    client = team.client_for(team.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = " ".join(client.get(url("attention")).content.decode().split())
    assert "Maria schweigt seit 17 Geschäftsstunden." in page
    assert (
        "Von den bisherigen Anfragen, die nach 17 Stunden noch unbeantwortet waren, wurden 40 % "
        "(17–75 %, n = 10) innerhalb des nächsten Geschäftstags beantwortet; 27 % nie." in page
    )


def test_one_business_hour_is_singular(team, maria):
    overdue_flag(
        open_request(team.workspace, maria, "Banner", asked=datetime(2027, 2, 10, 9, 30, tzinfo=BERLIN)),
        overdue_by=timedelta(hours=1),
    )
    page = " ".join(team.client_for(team.alice).get(url("attention")).content.decode().split())
    assert "Maria has been silent 1 business hour." in page
    assert "still unanswered at 1 hour," in page


@pytest.fixture
def three_providers(team, frozen, maria):
    """Overdue flags of Maria (27 % never), Bea (never 0 %) and Cai (too little history).

    By deadline Cai's is the most overdue, then Bea's, then Maria's.
    """
    bea = ProviderFactory(workspace=team.workspace, name="Bea")
    history(team.workspace, bea, answered=(18, 19, 20, 21, 22, 23, 24, 26, 28, 30))
    cai = ProviderFactory(workspace=team.workspace, name="Cai")
    history(team.workspace, cai, answered=(18, 30))
    overdue_flag(open_request(team.workspace, maria, "Maria's banner"), overdue_by=timedelta(hours=1))
    overdue_flag(open_request(team.workspace, bea, "Bea's flyer"), overdue_by=timedelta(hours=2))
    overdue_flag(open_request(team.workspace, cai, "Cai's logo"), overdue_by=timedelta(hours=3))


def _overdue_titles(response) -> list[str]:
    return [flag.engagement.title for flag in response.context["overdue"]]


@pytest.mark.usefixtures("three_providers")
def test_least_likely_to_answer_puts_the_chance_of_never_hearing_back_first(team):
    client = team.client_for(team.alice)
    by_deadline = client.get(url("attention"))
    assert _overdue_titles(by_deadline) == ["Cai's logo", "Bea's flyer", "Maria's banner"]
    least_likely = client.get(url("attention") + "?order=never")
    assert _overdue_titles(least_likely) == ["Maria's banner", "Bea's flyer", "Cai's logo"]
    # The grouped Overdue section follows: one group per provider, in that order.
    assert [g.provider.name for g in least_likely.context["overdue_groups"]] == ["Maria", "Bea", "Cai"]
    page = least_likely.content.decode()
    assert 'data-testid="order-never" title=' in page
    assert page.index('aria-current="page" data-testid="order-never"') > 0


@pytest.mark.usefixtures("three_providers")
def test_an_unknown_order_is_the_default_and_the_order_survives_the_mine_filter(team):
    client = team.client_for(team.alice)
    assert _overdue_titles(client.get(url("attention") + "?order=bogus")) == [
        "Cai's logo",
        "Bea's flyer",
        "Maria's banner",
    ]
    page = client.get(url("attention") + "?order=never").content.decode()
    assert "?order=never&amp;mine=1" in page or "?mine=1&amp;order=never" in page


def test_a_saved_view_keeps_the_order(team):
    stored = normalise(workspace=team.workspace, page="attention", query="order=never&mine=1&page=3")
    assert stored == "mine=1&order=never"
    assert normalise(workspace=team.workspace, page="attention", query="order=bogus") == ""
    from django.http import QueryDict

    assert current_query(page="attention", params=QueryDict("order=never")) == "order=never"


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(path).status_code == 200
    return len(context.captured_queries)


def test_the_query_count_is_the_same_for_3_and_30_rows(team, maria):
    client = team.client_for(team.alice)
    path = url("attention") + "?order=never"
    _queries(client, path)  # the first visit stores the workspace in the session
    others = [ProviderFactory(workspace=team.workspace, name=f"Other {i}") for i in range(3)]
    for provider in others:
        history(team.workspace, provider, answered=(20, 21, 22, 23, 24, 25, 26, 27, 28, 29))
    for i in range(2):
        overdue_flag(open_request(team.workspace, maria, f"Few {i}"), overdue_by=timedelta(hours=i + 1))
    open_request(team.workspace, others[0], "Few awaiting")
    assert len(outlooks(client.get(path).content.decode())) == 3
    few = _queries(client, path)
    for i in range(27):  # 30 rows in all
        provider = [maria, *others][i % 4]
        exchange = open_request(team.workspace, provider, f"Many {i}")
        if i % 2:
            overdue_flag(exchange, overdue_by=timedelta(hours=i + 5))
    response = client.get(path)
    assert len(outlooks(response.content.decode())) == 30
    assert _queries(client, path) == few


def test_the_records_come_from_the_sample_the_last_refresh_kept(team, maria, settings):
    settings.METRICS_KEEP_SAMPLE = True
    exchange = open_request(team.workspace, maria, "Banner")
    asked = [(exchange.pk, maria.pk)]
    from_database = reply_outlooks(team.workspace.pk, asked, now=timezone.now())[exchange.pk]
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())
    kept_records, missing = snapshots.kept_records(team.workspace.pk, [maria.pk], timezone.now())
    assert missing == [] and kept_records is not None
    kept = reply_outlooks(team.workspace.pk, asked, now=timezone.now())[exchange.pk]
    assert kept == from_database and len(kept_records) == kept.history == 14
    # Proof that the kept record is what was read: a change the refresh has not seen yet is not.
    Exchange.objects.filter(engagement__provider=maria, reply_business_seconds=18 * HOUR).update(
        reply_business_seconds=HOUR
    )
    assert reply_outlooks(team.workspace.pk, asked, now=timezone.now())[exchange.pk] == kept
    settings.METRICS_KEEP_SAMPLE = False
    # Read afresh, only 9 past requests outlasted the silence: below the threshold.
    assert exchange.pk not in reply_outlooks(team.workspace.pk, asked, now=timezone.now())


def test_each_provider_is_read_from_its_kept_part_or_afresh_when_it_has_none_with_the_same_outlook(
    team, maria, settings
):
    """The page reads the parts of the providers it shows; one whose part is gone is read afresh."""
    from django.core.cache import cache

    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("the kept parts live in a cache every process shares (Redis)")
    settings.METRICS_KEEP_SAMPLE = True
    ivan = ProviderFactory(workspace=team.workspace, name="Ivan")
    history(
        team.workspace,
        ivan,
        answered=(1, 4, 6, 9, 12, 15, 18, 21, 26, 33, 45, 70),
        closed=(20, 25, 40, 90, 100),
    )
    asked = [(open_request(team.workspace, p, f"Ask {p.name}").pk, p.pk) for p in (maria, ivan)]
    settings.METRICS_KEEP_SAMPLE = False
    from_database = reply_outlooks(team.workspace.pk, asked, now=timezone.now())
    settings.METRICS_KEEP_SAMPLE = True
    assert len(from_database) == 2
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())

    with CaptureQueriesContext(connection) as all_kept:
        assert reply_outlooks(team.workspace.pk, asked, now=timezone.now()) == from_database
    generation = cache.get(snapshots._generation_key(team.workspace.pk))
    assert cache.delete(snapshots._provider_key(team.workspace.pk, generation, ivan.pk))
    assert snapshots.kept_records(team.workspace.pk, [maria.pk, ivan.pk], timezone.now())[1] == [ivan.pk]
    outlook._CURVES.clear()  # another process: it has made no curves yet
    with CaptureQueriesContext(connection) as one_kept:
        assert reply_outlooks(team.workspace.pk, asked, now=timezone.now()) == from_database
    cache.delete(snapshots._generation_key(team.workspace.pk))
    with CaptureQueriesContext(connection) as none_kept:
        assert reply_outlooks(team.workspace.pk, asked, now=timezone.now()) == from_database
    assert len(one_kept) == len(all_kept) + 1 == len(none_kept) + 1


def test_a_process_reads_a_providers_kept_part_once_per_refresh(team, maria, settings, monkeypatch):
    from django.core.cache import cache

    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("the kept parts live in a cache every process shares (Redis)")
    settings.METRICS_KEEP_SAMPLE = True
    outlook._CURVES.clear()
    exchange = open_request(team.workspace, maria, "Banner")
    asked = [(exchange.pk, maria.pk)]
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())
    read: list[list[int]] = []
    kept_parts = snapshots.kept_parts

    def counted(workspace_id, generation, provider_ids):
        read.append(list(provider_ids))
        return kept_parts(workspace_id, generation, provider_ids)

    monkeypatch.setattr(snapshots, "kept_parts", counted)
    first = reply_outlooks(team.workspace.pk, asked, now=timezone.now())
    again = reply_outlooks(team.workspace.pk, asked, now=timezone.now())
    assert first == again and exchange.pk in first
    assert read == [[maria.pk]]
    # A refresh keeps a new generation: the next page reads the new part, and sees what changed.
    Exchange.objects.filter(engagement__provider=maria, reply_business_seconds=18 * HOUR).update(
        reply_business_seconds=HOUR
    )
    assert reply_outlooks(team.workspace.pk, asked, now=timezone.now()) == first  # not refreshed yet
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())
    after = reply_outlooks(team.workspace.pk, asked, now=timezone.now())
    assert read == [[maria.pk], [maria.pk]]
    # The shortened wait leaves too few past requests outlasting the silence: no outlook now.
    assert exchange.pk not in after
    settings.METRICS_KEEP_SAMPLE = False
    assert reply_outlooks(team.workspace.pk, asked, now=timezone.now()) == after  # read afresh: the same
    assert cache.get(snapshots._generation_key(team.workspace.pk))


def test_a_process_keeps_a_bounded_number_of_requests_curves_the_least_recently_shown_going_first(
    monkeypatch,
):
    monkeypatch.setattr(outlook, "_CURVES_MAX_REQUESTS", 5)
    monkeypatch.setattr(outlook, "_CURVES", outlook.OrderedDict())
    monkeypatch.setattr(snapshots, "kept_generation", lambda workspace_id: f"g{workspace_id}")
    part = {"business_t": np.array([HOUR, 2.0 * HOUR]), "answered": np.array([True, False])}
    monkeypatch.setattr(snapshots, "kept_parts", lambda ws, g, pks: dict.fromkeys(pks, part))
    for workspace_id in (1, 2, 1, 3):  # two requests each
        curves, missing = outlook.kept_curves(workspace_id, [7])
        assert missing == [] and curves[7].history == 2
    assert list(outlook._CURVES) == [1, 3]
    # One workspace over the cap on its own is still kept (it is the one being shown).
    curves, _missing = outlook.kept_curves(4, [7, 8, 9])
    assert list(outlook._CURVES) == [4] and outlook._CURVES[4].requests == 6 and len(curves) == 3


def test_a_provider_left_without_requests_has_no_part_from_an_earlier_refresh(team, maria, settings):
    from django.core.cache import cache

    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("the kept parts live in a cache every process shares (Redis)")
    settings.METRICS_KEEP_SAMPLE = True
    ivan = ProviderFactory(workspace=team.workspace, name="Ivan")
    history(team.workspace, ivan, answered=(1, 4))
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())
    assert snapshots.kept_records(team.workspace.pk, [ivan.pk], timezone.now())[1] == []
    Engagement.objects.filter(provider=ivan).delete()
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())
    kept, missing = snapshots.kept_records(team.workspace.pk, [maria.pk, ivan.pk], timezone.now())
    assert missing == [ivan.pk] and kept is not None and set(kept.provider) == {maria.pk}
    assert cache.get(snapshots._generation_key(team.workspace.pk))


def test_a_refresh_removes_the_parts_the_refresh_before_it_kept(team, maria, settings):
    from django.core.cache import cache

    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("the kept parts live in a cache every process shares (Redis)")
    settings.METRICS_KEEP_SAMPLE = True
    open_request(team.workspace, maria, "Banner")
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())
    first = cache.get(snapshots._generation_key(team.workspace.pk))
    assert cache.get(snapshots._provider_key(team.workspace.pk, first, maria.pk)) is not None
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=timezone.now())
    second = cache.get(snapshots._generation_key(team.workspace.pk))
    assert second != first
    assert cache.get(snapshots._provider_key(team.workspace.pk, first, maria.pk)) is None
    assert cache.get(snapshots._provider_key(team.workspace.pk, second, maria.pk)) is not None
    assert snapshots.kept_records(team.workspace.pk, [maria.pk], timezone.now())[1] == []


def test_a_sample_splits_into_its_providers_parts_in_the_order_they_came():
    from engagements.reliability.metrics import Sample

    provider = np.array([3, 1, 3, 2, 1, 3], dtype=np.int64)
    columns = {name: np.arange(6) for name in Sample.COLUMNS} | {"provider": provider}
    parts = Sample.from_columns(columns, timezone.now()).by_provider()
    assert list(parts) == [1, 2, 3]
    assert [list(part.requested) for part in parts.values()] == [[1, 4], [3], [0, 2, 5]]
    assert all(set(part.provider) == {pk} for pk, part in parts.items())
    assert (
        Sample.from_columns({name: np.arange(0) for name in Sample.COLUMNS}, timezone.now()).by_provider()
        == {}
    )


# --- "Least likely to answer" orders Awaiting reply too ------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_a_providers_curve_restarted_at_any_silence_gives_the_engines_figure_to_the_last_bit(seed):
    generator = np.random.default_rng(seed)
    size = int(generator.integers(1, 60))
    # Whole hours, so ties (and silences landing exactly on a time) are common.
    durations = generator.integers(0, 40, size).astype(np.float64) * HOUR
    answered = generator.random(size) < 0.7
    curve = ProviderCurve.of(durations, answered)
    for silent in [0.0, *durations.tolist(), *(generator.random(5) * 45 * HOUR).tolist()]:
        for within in (8 * HOUR, 0.5 * HOUR, 30 * HOUR):
            figures = conditional_reply(durations, answered, silent=silent, within=within)
            assert curve.at_risk(silent) == figures.n
            assert curve.never(silent) == figures.never  # exactly: the same products in the same order
            # Every figure exactly, the interval's Greenwood sum included.
            assert curve.conditional(silent, within) == figures


@pytest.fixture
def awaiting(team, frozen, maria):
    """Unflagged open requests, none due within 24 hours, of four providers and at three silences.

    Maria's, Dana's and Bea's records give figures (Bea answered everyone); Cai has too little
    history. Their reply due times are spread so that "most overdue" decides among equals.
    """
    dana = ProviderFactory(workspace=team.workspace, name="Dana")
    history(team.workspace, dana, answered=(1, 3, 8, 18, 19, 20, 21, 24, 26, 32), closed=(12, 40, 50, 60, 90))
    bea = ProviderFactory(workspace=team.workspace, name="Bea")
    history(team.workspace, bea, answered=(1, 2, 4, 10, 18, 19, 20, 21, 22, 23, 24, 26, 28, 30, 32))
    cai = ProviderFactory(workspace=team.workspace, name="Cai")
    history(team.workspace, cai, answered=(18, 30))
    asked_at = [ASKED, ASKED + timedelta(days=1), datetime(2027, 2, 10, 9, 30, tzinfo=BERLIN)]
    exchanges = []
    for i, (provider, asked) in enumerate(
        (provider, asked) for provider in (maria, dana, bea, cai) for asked in asked_at
    ):
        exchange = open_request(team.workspace, provider, f"{provider.name} {i}", asked=asked)
        # Past due with no flag yet (the next pass raises it), or due in a few days: never due soon.
        due = timezone.now() + (timedelta(days=2 + i % 5) if i % 3 else -timedelta(hours=i + 1))
        Exchange.objects.filter(pk=exchange.pk).update(reply_due_at=due)
        exchanges.append(exchange)
    return exchanges


def engine_order(team, exchanges: Sequence[Exchange]) -> list[int]:
    """The awaiting requests by the engine's chance of never hearing back; then most overdue first."""
    fresh = list(Exchange.objects.filter(pk__in=[x.pk for x in exchanges]).select_related("engagement"))
    outlook = reply_outlooks(
        team.workspace.pk, [(x.pk, x.engagement.provider_id) for x in fresh], now=timezone.now()
    )

    def key(x: Exchange):
        never = outlook[x.pk].never if x.pk in outlook else None
        return (never is None, -(never or 0.0), x.reply_due_at, x.pk)

    return [x.pk for x in sorted(fresh, key=key)]


def awaiting_order(client, query: str = "order=never") -> list[int]:
    shown: list[int] = []
    number = 1
    while True:
        response = client.get(url("attention") + f"?{query}&page={number}")
        page = response.context["page_obj"]
        shown += [x.pk for x in page.object_list]
        if not page.has_next():
            return shown
        number += 1


def test_least_likely_to_answer_orders_awaiting_reply_across_its_pages(team, awaiting, monkeypatch):
    monkeypatch.setattr("engagements.views.PER_PAGE", 5)
    client = team.client_for(team.alice)

    expected = engine_order(team, awaiting)
    ordered = awaiting_order(client)

    assert ordered == expected
    # The figures really order it: not the default order, and Cai's (no figure) come last.
    assert ordered != awaiting_order(client, "")
    titles = dict(Exchange.objects.filter(pk__in=ordered).values_list("pk", "engagement__title"))
    assert all(titles[pk].startswith("Cai") for pk in ordered[-3:])
    assert not any(titles[pk].startswith("Cai") for pk in ordered[:-3])
    # Each row still says what its figure is.
    first = client.get(url("attention") + "?order=never").content.decode()
    assert 'data-testid="awaiting-order-note"' in first


def test_without_enough_history_the_most_overdue_come_first(team, frozen):
    thin = ProviderFactory(workspace=team.workspace, name="Thin")
    dues = [timedelta(days=3), -timedelta(hours=5), None, -timedelta(hours=1), timedelta(days=2)]
    pks = []
    for i, due in enumerate(dues):
        exchange = open_request(team.workspace, thin, f"Thin {i}")
        Exchange.objects.filter(pk=exchange.pk).update(reply_due_at=timezone.now() + due if due else None)
        pks.append(exchange.pk)

    ordered = awaiting_order(team.client_for(team.alice))

    assert ordered == [pks[1], pks[3], pks[4], pks[0], pks[2]]


def test_a_saved_view_opens_awaiting_reply_in_the_engines_order(team, awaiting, monkeypatch):
    monkeypatch.setattr("engagements.views.PER_PAGE", 5)
    client = team.client_for(team.bob)
    saved = client.post(
        url("saved_view_save"), {"name": "Least likely", "page": "attention", "query": "order=never&page=2"}
    )
    assert saved.status_code == 302
    opened = client.get(saved["Location"])

    assert opened.context["least_likely"] is True
    assert [x.pk for x in opened.context["page_obj"].object_list] == engine_order(team, awaiting)[:5]


def test_the_order_of_awaiting_reply_costs_the_same_queries_for_2_and_8_providers(team, maria):
    client = team.client_for(team.alice)
    path = url("attention") + "?order=never"
    _queries(client, path)  # the first visit stores the workspace in the session
    for i in range(2):
        open_request(team.workspace, maria, f"Few {i}")
    few = _queries(client, path)
    for i in range(7):
        provider = ProviderFactory(workspace=team.workspace, name=f"Other {i}")
        history(team.workspace, provider, answered=(20, 21, 22, 23, 24, 25, 26, 27, 28, 29), closed=(40,))
        for j in range(4):
            open_request(team.workspace, provider, f"Many {i}.{j}")
    response = client.get(path)
    assert response.context["page_obj"].paginator.count == 30
    assert _queries(client, path) == few


@pytest.mark.parametrize("size", [0, 1, 7, 500])
def test_each_providers_requests_are_found_as_a_scan_for_each_would_find_them(size):
    providers = np.random.default_rng(size).integers(1, 12, size).astype(np.int64)
    asked = (*range(14), 3)
    found = _indices_by_provider(providers, asked)
    assert set(found) == set(asked)
    for provider_id in asked:
        expected = np.flatnonzero(providers == provider_id)
        assert found[provider_id].tolist() == expected.tolist()
        assert found[provider_id].dtype == expected.dtype
