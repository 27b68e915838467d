"""The reliability figures read the right rows: periods, censoring, deliveries, reviews, spend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engagements import services
from engagements.models import Engagement, Message
from engagements.reliability import metrics, payload
from engagements.reliability.metrics import ALL, WORKSPACE, Grouping, Period, Sample, Scope
from engagements.reliability.statistics import kaplan_meier, wilson_interval
from tests.factories import EngagementFactory, ProviderFactory

BERLIN = ZoneInfo("Europe/Berlin")
# A Monday morning in Berlin; requests below are made in business hours.
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=BERLIN)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOUR = 3600


def log(engagement: Engagement, direction: str, kind: str, at: datetime) -> Message:
    with time_machine.travel(NOW, tick=False):
        return services.message_log(engagement=engagement, direction=direction, kind=kind, occurred_at=at)


def request(engagement: Engagement, at: datetime) -> Message:
    return log(engagement, Message.Direction.OUTBOUND, Message.Kind.REQUEST, at)


def reply(engagement: Engagement, at: datetime) -> Message:
    return log(engagement, Message.Direction.INBOUND, Message.Kind.REPLY, at)


def move(engagement: Engagement, *statuses: str, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        for status in statuses:
            services.engagement_set_status(engagement=engagement, status=status, by=None)


@pytest.fixture
def data(team):
    """Two providers of alice's workspace, and one of charlie's that must never count."""
    ws = team.workspace
    anna = ProviderFactory(workspace=ws, name="Anna")
    bert = ProviderFactory(workspace=ws, name="Bert")
    a1 = EngagementFactory(workspace=ws, provider=anna, owner=team.alice, category="seo")
    a2 = EngagementFactory(workspace=ws, provider=anna, owner=team.bob, category="web_design")
    b1 = EngagementFactory(workspace=ws, provider=bert, owner=team.alice, category="seo")
    # Anna: answered in 2 h; answered after 4 days (late: the policy is 2 business days);
    # a request still unanswered, long past due.
    request(a1, T0)
    reply(a1, T0 + timedelta(hours=2))
    request(a1, T0 + timedelta(days=1))
    reply(a1, T0 + timedelta(days=5))
    request(a2, T0 + timedelta(days=2))
    log(a2, Message.Direction.OUTBOUND, Message.Kind.FOLLOW_UP, T0 + timedelta(days=9))
    # Bert: one request answered in 30 minutes.
    request(b1, T0)
    reply(b1, T0 + timedelta(minutes=30))
    other = EngagementFactory(
        workspace=team.other_workspace, provider=ProviderFactory(workspace=team.other_workspace)
    )
    request(other, T0)
    return {"anna": anna, "bert": bert, "a1": a1, "a2": a2, "b1": b1}


def figures(team, **scope) -> dict:
    return metrics.compute(
        Scope(workspace_id=team.workspace.pk, **scope), Period.standard("all", NOW), now=NOW
    )


@pytest.mark.django_db
def test_requests_replies_and_the_response_rate_interval_per_provider(team, data):
    result = figures(team)
    anna, bert, whole = result[data["anna"].pk], result[data["bert"].pk], result[WORKSPACE]
    assert (anna.requests, anna.replies) == (3, 2)
    assert anna.response_rate == wilson_interval(2, 3)
    assert (bert.requests, bert.replies) == (1, 1)
    assert (whole.requests, whole.replies) == (4, 3)  # charlie's request is not here
    assert anna.followups == 1
    assert anna.followups_per_request == pytest.approx(1 / 3)


@pytest.mark.django_db
def test_within_policy_counts_unanswered_requests_past_due_as_missed(team, data):
    anna = figures(team)[data["anna"].pk]
    # In 2 h: within. After 4 days: late. Unanswered for weeks: decidedly late too.
    assert anna.within_policy == wilson_interval(1, 3)


@pytest.mark.django_db
def test_time_to_reply_censors_the_unanswered_request_at_now(team, data):
    anna = figures(team)[data["anna"].pk]
    waited = (NOW - (T0 + timedelta(days=2))).total_seconds()
    expected = kaplan_meier([2 * HOUR, 4 * 86400, waited], [True, True, False])
    assert anna.calendar.median == expected.quantile_time(0.5) == 4 * 86400
    assert anna.calendar.p90 == expected.quantile_time(0.9)
    # The naive mean only sees the two answers, and looks better than the truth.
    assert anna.calendar.naive_mean == pytest.approx((2 * HOUR + 4 * 86400) / 2)
    # Business time: 2 h, then Tue 09:00 → Sat 09:00 = four working days of 8 h.
    assert anna.business.answered == 2
    assert anna.business.median == 4 * 8 * HOUR


@pytest.mark.django_db
def test_an_unanswered_request_of_a_closed_engagement_stops_waiting_when_it_closed(team, data):
    closed_at = T0 + timedelta(days=10)
    move(data["a2"], Engagement.Status.CANCELLED, at=closed_at)
    anna = figures(team)[data["anna"].pk]
    sample = Sample.load(
        Scope(workspace_id=team.workspace.pk, provider_ids=(data["anna"].pk,)),
        Period.standard("all", NOW),
        NOW,
    )
    [calendar_t] = sample.calendar_t[~sample.answered].tolist()
    assert calendar_t == (closed_at - (T0 + timedelta(days=2))).total_seconds()
    assert anna.requests == 3


@pytest.mark.django_db
def test_deliveries_count_on_time_against_the_end_of_the_due_date_in_the_providers_zone(team, data):
    a1, b1 = data["a1"], data["b1"]
    a1.due_on = b1.due_on = date(2026, 11, 10)
    Engagement.objects.filter(pk__in=[a1.pk, b1.pk]).update(due_on=date(2026, 11, 10))
    # 23:30 in Berlin on the due date is still on time; the next morning is late.
    move(
        a1,
        Engagement.Status.IN_PROGRESS,
        Engagement.Status.DELIVERED,
        at=datetime(2026, 11, 10, 23, 30, tzinfo=BERLIN),
    )
    move(
        b1,
        Engagement.Status.IN_PROGRESS,
        Engagement.Status.DELIVERED,
        at=datetime(2026, 11, 11, 0, 30, tzinfo=BERLIN),
    )
    result = figures(team)
    assert result[data["anna"].pk].on_time == wilson_interval(1, 1)
    assert result[data["bert"].pk].on_time == wilson_interval(0, 1)
    assert result[WORKSPACE].on_time == wilson_interval(1, 2)


@pytest.mark.django_db
def test_reviews_and_spend_per_currency_count_completed_engagements(team, data):
    a1, a2, b1 = data["a1"], data["a2"], data["b1"]
    Engagement.objects.filter(pk=a1.pk).update(fee_amount=Decimal("100"), fee_currency="EUR")
    Engagement.objects.filter(pk=a2.pk).update(fee_amount=Decimal("200"), fee_currency="EUR")
    Engagement.objects.filter(pk=b1.pk).update(fee_amount=Decimal("50"), fee_currency="USD")
    done = T0 + timedelta(days=12)
    for engagement in (a1, a2, b1):
        engagement.refresh_from_db()
        move(
            engagement,
            Engagement.Status.IN_PROGRESS,
            Engagement.Status.DELIVERED,
            Engagement.Status.COMPLETED,
            at=done,
        )
    from engagements.models import Review

    Review.objects.create(
        workspace=team.workspace,
        engagement=a1,
        quality=5,
        communication=4,
        on_time=True,
        would_hire_again=True,
        final_fee_amount=Decimal("130"),
    )
    Review.objects.create(
        workspace=team.workspace,
        engagement=a2,
        quality=2,
        communication=3,
        on_time=False,
        would_hire_again=False,
    )
    result = figures(team)
    anna = result[data["anna"].pk]
    assert anna.quality == metrics.Mean(3.5, 2)
    assert anna.communication == metrics.Mean(3.5, 2)
    assert anna.would_hire_again == wilson_interval(1, 2)
    [eur] = anna.spend
    assert (eur.currency, eur.total, eur.completed) == ("EUR", Decimal("330"), 2)
    assert eur.per_completed == Decimal("165.00")
    assert eur.vs_agreed == pytest.approx(330 / 300)
    assert [(s.currency, s.total) for s in result[WORKSPACE].spend] == [
        ("EUR", Decimal("330")),
        ("USD", Decimal("50")),
    ]
    # The workspace alone (a refresh's own row) is totalled by the database, not from the
    # providers' groups: the same figures.
    alone = metrics.compute(
        Scope(workspace_id=team.workspace.pk), Period.standard("all", NOW), now=NOW, group_by_provider=False
    )
    assert set(alone) == {WORKSPACE}
    for name in ("quality", "communication", "would_hire_again", "on_time", "ghosted", "spend", "score"):
        assert getattr(alone[WORKSPACE], name) == getattr(result[WORKSPACE], name), name


@pytest.mark.django_db
def test_a_period_counts_requests_made_inside_it_only(team, data):
    week = metrics.compute(
        Scope(workspace_id=team.workspace.pk),
        Period.custom(date(2026, 11, 3), date(2026, 11, 4), BERLIN),
        now=NOW,
    )
    # Made on Tue 3rd (Anna's second) and Wed 4th (Anna's third); not Monday's two.
    assert week[WORKSPACE].requests == 2
    assert set(week) == {WORKSPACE, data["anna"].pk}


def test_a_custom_period_runs_from_midnight_to_midnight_in_the_readers_zone():
    period = Period.custom(date(2026, 12, 1), date(2026, 12, 1), BERLIN)
    assert period.contains(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))  # 00:30 in Berlin
    assert not period.contains(datetime(2026, 11, 30, 22, 59, tzinfo=UTC))  # 23:59 the day before
    assert not period.contains(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # midnight after
    with pytest.raises(ValueError):
        Period.custom(date(2026, 12, 2), date(2026, 12, 1), BERLIN)


def test_standard_periods_reach_back_from_now():
    assert Period.standard("30", NOW).start == NOW - timedelta(days=30)
    assert Period.standard("all", NOW).start is None
    with pytest.raises(ValueError):
        Period.standard("7", NOW)


@pytest.mark.django_db
def test_a_scope_narrows_to_a_category_or_an_owner(team, data):
    seo = figures(team, category="seo")
    assert seo[WORKSPACE].requests == 3  # Anna's two on a1 and Bert's
    bobs = figures(team, owner_id=team.bob.pk)
    assert bobs[WORKSPACE].requests == 1


@pytest.mark.django_db
def test_grouping_by_category_fills_each_providers_categories(team, data):
    groups = metrics.compute_groups(
        Scope(workspace_id=team.workspace.pk),
        Period.standard("all", NOW),
        now=NOW,
        grouping=Grouping(by_provider=True, by_category=True),
    )
    anna = data["anna"].pk
    assert groups[(anna, "seo")].requests == 2
    assert groups[(anna, "web_design")].requests == 1
    assert groups[(anna, ALL)].requests == 3
    assert (WORKSPACE, "seo") not in groups  # the whole scope stays one group


@pytest.mark.django_db
def test_a_request_just_after_midnight_in_berlin_counts_in_the_new_month(team, data):
    e = EngagementFactory(workspace=team.workspace, provider=data["bert"])
    request(e, datetime(2026, 10, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 November in Berlin
    scope = Scope(workspace_id=team.workspace.pk, provider_ids=(data["bert"].pk,))
    period = Period.standard("all", NOW)
    trend = metrics.monthly_trend(scope, period, Sample.load(scope, period, NOW), BERLIN)
    assert [(m.month, m.requests) for m in trend] == [(date(2026, 11, 1), 2)]
    trend_utc = metrics.monthly_trend(scope, period, Sample.load(scope, period, NOW), UTC)
    assert [(m.month, m.requests) for m in trend_utc] == [(date(2026, 10, 1), 1), (date(2026, 11, 1), 1)]


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_providers(team, data, django_assert_num_queries):
    scope = Scope(workspace_id=team.workspace.pk)
    period = Period.standard("all", NOW)
    with django_assert_num_queries(9) as few:
        metrics.compute(scope, period, now=NOW)
    for i in range(4):
        e = EngagementFactory(
            workspace=team.workspace, provider=ProviderFactory(workspace=team.workspace), category="seo"
        )
        request(e, T0 + timedelta(days=i))
    with django_assert_num_queries(len(few.captured_queries)):
        result = metrics.compute(scope, period, now=NOW)
    assert len(result) == 7  # six providers and the workspace


@pytest.mark.django_db
def test_the_score_shrinks_a_provider_with_little_data_toward_the_workspace(team, data):
    result = figures(team)
    bert = result[data["bert"].pk]
    assert bert.score is not None
    assert bert.score.n == 1
    assert not bert.score.enough
    assert bert.score.value is None


@pytest.mark.django_db
def test_figures_survive_the_round_trip_through_a_snapshot(team, data):
    anna = figures(team)[data["anna"].pk]
    back = payload.figures_from_payload(payload.figures_to_payload(anna))
    assert back.response_rate == anna.response_rate
    assert back.within_policy == anna.within_policy
    assert back.business.median == anna.business.median
    assert back.calendar.p90 == anna.calendar.p90
    assert back.score == anna.score
    assert back.spend == anna.spend


@pytest.mark.django_db
def test_calendars_read_in_bulk_equal_each_engagements_own(team, data):
    from engagements.policies import engagement_calendar, engagement_calendars
    from providers.services import policy_create
    from tests.factories import AbsenceFactory

    AbsenceFactory(provider=data["anna"], starts_on=date(2026, 12, 21), ends_on=date(2026, 12, 23))
    strict = policy_create(workspace=team.workspace, name="Strict", reply_within=4, reply_within_unit="hours")
    Engagement.objects.filter(pk=data["b1"].pk).update(response_policy=strict)
    move(data["a2"], Engagement.Status.ON_HOLD, at=T0 + timedelta(days=3))
    move(data["a2"], Engagement.Status.REQUESTED, at=T0 + timedelta(days=6))
    ids = [data["a1"].pk, data["a2"].pk, data["b1"].pk]
    bulk = engagement_calendars(ids)
    for engagement in Engagement.objects.filter(pk__in=ids).select_related("workspace", "provider"):
        _policy, own = engagement_calendar(engagement)
        assert bulk[engagement.pk] == own
    assert bulk[data["a2"].pk].paused  # the hold pauses its clock


@pytest.mark.django_db
def test_calendars_in_bulk_take_each_policy_kind_across_workspaces_in_four_queries(
    team, data, django_assert_num_queries
):
    from engagements.policies import engagement_calendar, engagement_calendars, engagement_policies
    from providers.models import ResponsePolicy
    from providers.services import policy_create

    slow = policy_create(workspace=team.workspace, name="Slow", reply_within=5)
    data["bert"].response_policy = slow
    data["bert"].save(update_fields=["response_policy"])
    strict = policy_create(workspace=team.workspace, name="Strict", reply_within=4, reply_within_unit="hours")
    Engagement.objects.filter(pk=data["a2"].pk).update(response_policy=strict)
    # Another workspace that has no default policy yet: reading its calendar makes one.
    ResponsePolicy.objects.filter(workspace=team.other_workspace).delete()
    other = Engagement.objects.get(workspace=team.other_workspace)
    ids = [data["a1"].pk, data["a2"].pk, data["b1"].pk, other.pk]
    bulk = engagement_policies(ids)
    made = ResponsePolicy.objects.get(workspace=team.other_workspace)
    assert made.is_default
    assert {pk: policy for pk, (policy, _c) in bulk.items()} == {
        data["a1"].pk: ResponsePolicy.objects.get(workspace=team.workspace, is_default=True),
        data["a2"].pk: strict,
        data["b1"].pk: slow,
        other.pk: made,
    }
    for engagement in Engagement.objects.filter(pk__in=ids).select_related("workspace", "provider"):
        assert bulk[engagement.pk] == engagement_calendar(engagement)
    # Engagements, absences, holds, policies (the defaults among them).
    with django_assert_num_queries(4):
        assert engagement_calendars(ids) == {pk: calendar for pk, (_p, calendar) in bulk.items()}


@pytest.mark.django_db
def test_the_monthly_trend_carries_follow_ups_ghostings_reviews_and_spend(team, data):
    from engagements.models import Flag, Review

    a1 = data["a1"]
    Engagement.objects.filter(pk=a1.pk).update(fee_amount=Decimal("100"), fee_currency="EUR")
    a1.refresh_from_db()
    move(
        a1,
        Engagement.Status.IN_PROGRESS,
        Engagement.Status.DELIVERED,
        Engagement.Status.COMPLETED,
        at=T0 + timedelta(days=6),
    )
    Review.objects.create(
        workspace=team.workspace,
        engagement=a1,
        quality=4,
        communication=2,
        on_time=True,
        would_hire_again=True,
    )
    exchange = data["a2"].exchanges.get()
    Flag.objects.create(
        workspace=team.workspace,
        engagement=data["a2"],
        exchange=exchange,
        kind=Flag.Kind.GHOSTED,
        due_at=T0 + timedelta(days=12),
        raised_at=T0 + timedelta(days=12),
    )
    scope = Scope(workspace_id=team.workspace.pk, provider_ids=(data["anna"].pk,))
    period = Period.standard("all", NOW)
    [november] = metrics.monthly_trend(scope, period, Sample.load(scope, period, NOW), BERLIN)
    assert november.followups_per_request == pytest.approx(1 / 3)
    assert november.ghosted == 1
    assert november.communication == metrics.Mean(2.0, 1)
    assert november.spend == [("EUR", Decimal("100"))]


@pytest.mark.django_db
def test_a_reply_just_after_midnight_in_the_providers_zone_counts_business_time_of_the_day_before(team):
    """Tokyo: asked at 16:55, answered at 00:05; five business minutes, seven hours ten in calendar time."""
    tokyo = ZoneInfo("Asia/Tokyo")
    provider = ProviderFactory(workspace=team.workspace, time_zone="Asia/Tokyo", country="JP")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider)
    asked = datetime(2026, 11, 25, 16, 55, tzinfo=tokyo)
    request(engagement, asked)
    reply(engagement, datetime(2026, 11, 26, 0, 5, tzinfo=tokyo))
    result = figures(team)[provider.pk]
    assert result.business.median == 5 * 60
    assert result.calendar.median == (7 * 60 + 10) * 60
    assert result.within_policy == wilson_interval(1, 1)


def test_the_overdue_chart_counts_each_flag_in_the_week_its_deadline_passed(team):
    from engagements.flagging import flag_pass
    from engagements.models import Flag

    provider = ProviderFactory(workspace=team.workspace, time_zone="Europe/Berlin", country="DE")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    request(engagement, T0)  # due Wed 4 Nov, in the week of Mon 2 Nov
    # Typed in on 27 Nov, weeks later: the pass raises it then, in another week.
    caught_up = NOW + timedelta(hours=1)
    assert flag_pass(now=caught_up).raised_overdue == 1
    assert Flag.objects.get().raised_at == caught_up
    period = Period.standard("90", NOW)
    weeks = dict(metrics.overdue_per_week(Scope(workspace_id=team.workspace.pk), period, BERLIN))
    assert weeks[date(2026, 11, 2)] == 1
    assert weeks[date(2026, 11, 23)] == 0
    assert sum(weeks.values()) == 1


@pytest.mark.django_db
def test_the_four_standard_periods_read_together_give_each_periods_own_figures(team):
    """One query per figure for all four periods (``Bands``) gives what each period's own queries give,
    rows exactly on a period's first moment included."""
    import random

    from engagements.models import Flag, Review

    rng = random.Random(16)
    ws = team.workspace
    providers = [ProviderFactory(workspace=ws, name=f"P{i}") for i in range(3)]
    periods = [Period.standard(key, NOW) for key in ("all", "365", "90", "30")]
    # Moments on every side of each period's start, and on it.
    starts = [p.start for p in periods if p.start is not None]
    moments = [s + timedelta(seconds=d) for s in starts for d in (-1, 0, 1)]
    moments += [NOW - timedelta(days=rng.randrange(1, 800), minutes=rng.randrange(1440)) for _ in range(30)]
    for i, moment in enumerate(moments):
        provider = providers[i % len(providers)]
        currency = rng.choice(["EUR", "USD", ""])
        engagement = EngagementFactory(
            workspace=ws, provider=provider, owner=team.alice, category=rng.choice(["seo", "web_design"])
        )
        Engagement.objects.filter(pk=engagement.pk).update(
            delivered_at=moment,
            delivered_on_time=rng.choice([True, False]),
            completed_at=moment,
            fee_amount=rng.choice([None, Decimal("10.50"), Decimal("99.99")]),
            fee_currency=currency,
        )
        if i % 2:
            Review.objects.create(
                workspace=ws,
                engagement=engagement,
                quality=rng.randint(1, 5),
                communication=rng.randint(1, 5),
                on_time=True,
                would_hire_again=rng.choice([True, False]),
                final_fee_amount=rng.choice([None, Decimal("12.25")]),
            )
        for kind in (Flag.Kind.GHOSTED, Flag.Kind.REPLY_OVERDUE):
            Flag.objects.create(
                workspace=ws,
                engagement=engagement,
                kind=kind,
                due_at=moment,
                raised_at=moment,
                resolved_at=moment + timedelta(hours=1),
                resolution=rng.choice([Flag.Resolution.DISMISSED, Flag.Resolution.WITHDRAWN]),
            )
        if i < 6:
            request(engagement, moment)
    scope = Scope(workspace_id=ws.pk)
    everything = Sample.load(scope, Period.standard("all", NOW), NOW)
    samples = {p.key: everything.within_period(p) for p in periods}

    for grouping in (Grouping(by_provider=False), Grouping(by_provider=True, by_category=True)):
        together = metrics.compute_periods(scope, periods, now=NOW, grouping=grouping, samples=samples)
        for period in periods:
            alone = metrics.compute_groups(
                scope, period, now=NOW, grouping=grouping, sample=samples[period.key]
            )
            assert set(together[period.key]) == set(alone), period.key
            for key, m in alone.items():
                # As kept (without the curves); sums compared as numbers (SQLite's carry more zeros).
                kept = payload.figures_from_payload(payload.figures_to_payload(m))
                assert (
                    payload.figures_from_payload(payload.figures_to_payload(together[period.key][key]))
                    == kept
                )
    trends = metrics.monthly_trends_periods(scope, periods, samples, BERLIN, by_provider=True)
    weeks = metrics.overdue_per_week_periods(scope, periods, BERLIN)
    for period in periods:
        alone_trend = metrics.monthly_trends(scope, period, samples[period.key], BERLIN, by_provider=True)
        assert trends[period.key] == alone_trend
        assert weeks[period.key] == metrics.overdue_per_week(scope, period, BERLIN)
    # Not vacuous: the periods differ, and the narrow ones hold the rows on their first moment.
    assert together["30"][(WORKSPACE, ALL)].on_time != together["all"][(WORKSPACE, ALL)].on_time
    month_start = NOW - timedelta(days=30)
    assert together["30"][(WORKSPACE, ALL)].on_time.n == 2 + sum(1 for m in moments[9:] if m >= month_start)
