"""One truth: every page that shows where a request stands agrees with ``engagements.deadlines``.

Hypothesis builds small workspaces the way people fill them in: providers in
different zones with announced absences, engagements put on hold and resumed
or closed, and a log typed in afterwards in any order (requests, follow-ups,
replies, automatic replies, off-topic messages marked "not an answer"). The
flagging pass runs, some flags are snoozed or dismissed, the figures are
refreshed, and then the engagement pages, Needs attention, the scorecards,
the dashboard, the leaderboard and its CSV are read as a person would see
them and compared with the rule.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engagements import deadlines, flags, services
from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag, Message, MetricsBacklog, MetricSnapshot
from engagements.reliability import snapshots
from providers import services as provider_services
from providers.models import Provider
from tests.engagements.conftest import url
from tests.factories import ProviderFactory

# Mon 2027-03-01 08:00 UTC: the history spreads over the three weeks before NOW.
START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
NOW = START + timedelta(days=21, hours=3)
PASS_RAN = NOW - timedelta(minutes=1)
ZONES = ("Europe/Berlin", "Asia/Manila", "America/New_York")


def rarely(one_in: int) -> st.SearchStrategy[bool]:
    return st.integers(min_value=1, max_value=one_in).map(lambda n: n == 1)


# One round of a log: a request some hours after START, follow-ups so many hours apart, perhaps a
# reply so many hours after the request (marked "not an answer" or automatic now and then), a note.
round_ = st.fixed_dictionaries(
    {
        "asked": st.floats(min_value=0, max_value=19 * 24, allow_nan=False),
        "followups": st.lists(st.floats(min_value=1, max_value=4 * 24, allow_nan=False), max_size=3),
        "reply": st.one_of(st.none(), st.floats(min_value=0.5, max_value=10 * 24, allow_nan=False)),
        "off_topic": rarely(4),
        "auto": rarely(5),
        "note": rarely(3),
    }
)
engagement_plan = st.fixed_dictionaries(
    {
        "provider": st.integers(min_value=0, max_value=2),
        "rounds": st.lists(round_, min_size=1, max_size=2),
        # What happened to it: nothing, a hold (from, days) that may still last, cancelled or completed (day).
        "hold": st.one_of(st.none(), st.tuples(st.integers(0, 15), st.one_of(st.none(), st.integers(1, 5)))),
        "closed": st.one_of(
            st.none(), st.tuples(st.sampled_from(["cancelled", "completed"]), st.integers(16, 20))
        ),
        "due_day": st.one_of(st.none(), st.integers(5, 25)),
    }
)


def _entries(rounds: list[dict]) -> list[tuple[str, str, float, bool, bool]]:
    """(direction, kind, hours after START, marked not an answer, automatic) for each message of a log."""
    limit = 20 * 24.0  # everything happened before the afternoon it is typed in
    entries: list[tuple[str, str, float, bool, bool]] = []
    for r in rounds:
        entries.append(("out", "request", r["asked"], False, False))
        at = r["asked"]
        for gap in r["followups"]:
            at += gap
            entries.append(("out", "follow_up", min(at, limit), False, False))
        if r["reply"] is not None:
            entries.append(("in", "reply", min(r["asked"] + r["reply"], limit), r["off_topic"], r["auto"]))
        if r["note"]:
            entries.append(("note", "other", min(r["asked"] + 1, limit), False, False))
    return entries


workspace_plan = st.fixed_dictionaries(
    {
        "absences": st.lists(st.tuples(st.integers(0, 2), st.integers(0, 18), st.integers(0, 6)), max_size=2),
        "engagements": st.lists(engagement_plan, min_size=1, max_size=4),
        "snooze": st.booleans(),
        "dismiss": st.booleans(),
        "order": st.randoms(use_true_random=False),
    }
)


def _at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def _move(engagement: Engagement, status: str, at: datetime, by) -> None:
    with time_machine.travel(at, tick=False):
        engagement.refresh_from_db()
        if engagement.can_transition_to(status):
            services.engagement_set_status(engagement=engagement, status=status, by=by)


def _build(team, plan) -> list[Engagement]:
    """The workspace as people would have filled it in: statuses as they happened, the log typed in later."""
    providers = [
        ProviderFactory(workspace=team.workspace, name=f"P{i}", time_zone=zone, country="")
        for i, zone in enumerate(ZONES)
    ]
    for index, first_day, days in plan["absences"]:
        provider_services.absence_add(
            provider=providers[index],
            starts_on=date(2027, 3, 1) + timedelta(days=first_day),
            ends_on=date(2027, 3, 1) + timedelta(days=first_day + days),
        )
    engagements = []
    typed_in: list[tuple[Engagement, tuple]] = []
    for n, spec in enumerate(plan["engagements"]):
        with time_machine.travel(START - timedelta(days=1), tick=False):
            engagement = services.engagement_create(
                workspace=team.workspace,
                provider=providers[spec["provider"]],
                owner=team.alice,
                title=f"E{n}",
                created_by=team.alice,
                status=Engagement.Status.IN_PROGRESS,
                due_on=None
                if spec["due_day"] is None
                else date(2027, 3, 1) + timedelta(days=spec["due_day"]),
            )
        if spec["hold"] is not None:
            first, length = spec["hold"]
            _move(engagement, Engagement.Status.ON_HOLD, _at(24 * first + 1), team.alice)
            if length is not None:
                _move(engagement, Engagement.Status.IN_PROGRESS, _at(24 * (first + length) + 2), team.alice)
        if spec["closed"] is not None:
            status, day = spec["closed"]
            if status == "completed":
                _move(engagement, Engagement.Status.DELIVERED, _at(24 * day), team.alice)
            _move(engagement, status, _at(24 * day + 1), team.alice)
        engagements.append(engagement)
        typed_in += [(engagement, item) for item in _entries(spec["rounds"])]
    # History typed in on one afternoon, in any order, each entry back-dated to when it happened.
    plan["order"].shuffle(typed_in)
    for minute, (engagement, (direction, kind, hours, off_topic, auto)) in enumerate(typed_in):
        with time_machine.travel(NOW - timedelta(hours=2) + timedelta(minutes=minute), tick=False):
            message = services.message_log(
                engagement=Engagement.objects.get(pk=engagement.pk),
                direction=direction,
                kind=kind,
                occurred_at=_at(hours),
                is_auto_reply=auto and direction == "in",
                author=team.bob,
            )
            if off_topic and direction == "in" and not message.is_auto_reply:
                services.message_set_not_an_answer(message=message, not_an_answer=True, by=team.bob)
    return engagements


@dataclass
class Truth:
    states: dict[int, str]  # exchange id -> deadlines' state
    exchange_of: dict[int, Exchange]


def _truth(team) -> Truth:
    rows = list(Exchange.objects.filter(workspace=team.workspace).select_related("engagement"))
    return Truth(
        states={x.pk: deadlines.exchange_state_key(x, NOW) for x in rows},
        exchange_of={x.pk: x for x in rows},
    )


def _check_engagement_pages(client, truth: Truth) -> None:
    for engagement_id in {x.engagement_id for x in truth.exchange_of.values()}:
        response = client.get(url("detail", pk=engagement_id))
        shown = {x.pk: state for x, state in response.context["exchanges"]}
        assert shown == {
            pk: s for pk, s in truth.states.items() if truth.exchange_of[pk].engagement_id == engagement_id
        }
        html = response.content.decode()
        assert Counter(re.findall(r'data-testid="exchange" data-state="(\w+)"', html)) == Counter(
            shown.values()
        )


def _check_turns(client, team, truth: Truth) -> None:
    """The engagement list, and each engagement's page, say who owes what as the rule does."""
    listed = {e.pk: e.turn for e in client.get(url("list"), {"sort": "title"}).context["page_obj"]}
    for engagement in Engagement.objects.filter(workspace=team.workspace).select_related("provider"):
        turn = listed[engagement.pk]
        assert client.get(url("detail", pk=engagement.pk)).context["turn"] == turn
        open_states = [
            state
            for pk, state in truth.states.items()
            if truth.exchange_of[pk].engagement_id == engagement.pk
            and state in ("not_due", "overdue", "ghosted")
        ]
        reply = [o for o in turn.obligations if o.what == deadlines.REPLY]
        delivery = [o for o in turn.obligations if o.what == deadlines.DELIVERY]
        if engagement.status == Engagement.Status.ON_HOLD:
            assert all(o.state == deadlines.PAUSED for o in turn.obligations)
        elif open_states:
            assert [o.state for o in reply] == open_states
        else:
            assert reply == []
        if engagement.status in deadlines.DELIVERY_OWED_STATUSES and engagement.due_on:
            assert [o.is_overdue for o in delivery] == [deadlines.delivery_overdue(engagement, NOW)]
        if engagement.status in Engagement.CLOSED_STATUSES:
            assert turn.obligations == ()


def _check_attention(client, team, truth: Truth) -> None:
    response = client.get(url("attention"))
    open_flags = {
        f.exchange_id: f
        for f in Flag.objects.filter(workspace=team.workspace, resolved_at=None, exchange__isnull=False)
    }
    listed_flags = {f.exchange_id: f for f in [*response.context["overdue"], *response.context["snoozed"]]}
    listed_waiting = {x.pk: x.state for x in [*response.context["due_soon"], *response.context["page_obj"]]}
    for pk, state in truth.states.items():
        if state in ("within", "late", "dropped"):
            # Answered, or nobody waits any more: nowhere on the page.
            assert pk not in listed_flags and pk not in listed_waiting, (pk, state)
        elif pk in open_flags:
            # Flagged: the flag says what the rule says, in the overdue or the snoozed section.
            kind = open_flags[pk].kind
            assert (state, kind) in (("overdue", Flag.Kind.REPLY_OVERDUE), ("ghosted", Flag.Kind.GHOSTED)), (
                pk,
                state,
            )
            assert pk in listed_flags and pk not in listed_waiting
        else:
            # Not due yet, or past due with its flag dismissed or still to come: awaited, saying which.
            assert listed_waiting.get(pk) == state, (pk, state)
            if state in ("overdue", "ghosted"):
                kind = Flag.Kind.REPLY_OVERDUE if state == "overdue" else Flag.Kind.GHOSTED
                x = truth.exchange_of[pk]
                due = x.reply_due_at if state == "overdue" else x.ghosted_due_at
                dismissed = Flag.objects.filter(
                    exchange_id=pk, kind=kind, resolution=Flag.Resolution.DISMISSED
                )
                assert due is not None
                assert dismissed.exists() or due >= PASS_RAN, (pk, state)
    html = response.content.decode()
    for pk, state in listed_waiting.items():
        assert f'data-exchange="{pk}" data-state="{state}"' in html
        row = html.split(f'data-exchange="{pk}"', 1)[1].split("</li>", 1)[0]
        assert ("reply was due" in row) is (state != "not_due")


def _check_scorecards(client, team, truth: Truth) -> None:
    for provider in Provider.objects.filter(workspace=team.workspace):
        response = client.get(
            url_reliability("scorecard", pk=provider.pk),
            {"period": "custom", "start": "2027-02-01", "end": "2027-03-22"},
        )
        shown = {x.pk: state for x, state in response.context["exchange_rows"]}
        expected = {
            pk: s
            for pk, s in truth.states.items()
            if truth.exchange_of[pk].engagement.provider_id == provider.pk
        }
        assert shown == expected


def url_reliability(name: str, **kwargs) -> str:
    from django.urls import reverse

    return reverse(f"reliability:{name}", kwargs={"ws": "acme", **kwargs})


def _expected_counts(truth: Truth, provider_id: int | None = None) -> tuple[int, int, int, int]:
    """Requests, replies, and the within-the-policy share's successes and decided, by the rule."""
    rows = [
        x
        for x in truth.exchange_of.values()
        if provider_id is None or x.engagement.provider_id == provider_id
    ]
    replies = [x for x in rows if x.replied_at is not None]
    within = sum(1 for x in replies if x.within_policy)
    decided = sum(1 for x in replies if x.within_policy is not None)
    for x in rows:
        if x.replied_at is None:
            engagement = x.engagement
            end = engagement.closed_at if engagement.closed_at and engagement.closed_at < NOW else NOW
            decided += x.reply_due_at is not None and deadlines.is_past(x.reply_due_at, end)
    return len(rows), len(replies), within, decided


def _counts(m) -> tuple[int, int, int, int]:
    share = m.within_policy
    return m.requests, m.replies, round((share.point or 0) * share.n), share.n


def _check_figures(client, team, truth: Truth) -> None:
    dashboard = client.get(url_reliability("dashboard"), {"period": "all"})
    assert _counts(dashboard.context["m"]) == _expected_counts(truth)
    ghosted = Flag.objects.filter(workspace=team.workspace, kind=Flag.Kind.GHOSTED).exclude(
        resolution=Flag.Resolution.WITHDRAWN
    )
    assert dashboard.context["m"].ghosted == ghosted.count()
    assert (
        dashboard.context["attention"]["ghosted"]
        == ghosted.filter(resolved_at=None, snoozed_until__isnull=True).count()
    )
    board = client.get(url_reliability("leaderboard"), {"period": "all"}).context["board"]
    by_provider = {row.provider.pk: row.m for row in board.rows}
    for provider in Provider.objects.filter(workspace=team.workspace):
        expected = _expected_counts(truth, provider.pk)
        if expected[0]:
            assert _counts(by_provider[provider.pk]) == expected
    exported = client.get(url_reliability("leaderboard"), {"period": "all", "format": "csv"})
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    requests_column = next(name for name in table[0] if name.startswith("Requests")) if table else None
    for row in table:
        provider = Provider.objects.get(workspace=team.workspace, name=row["Provider"])
        assert int(row[requests_column]) == _expected_counts(truth, provider.pk)[0]


def _reset(team) -> None:
    Flag.objects.filter(workspace=team.workspace).delete()
    MetricSnapshot.objects.filter(workspace=team.workspace).delete()
    MetricsBacklog.objects.filter(workspace=team.workspace).delete()
    Message.objects.filter(workspace=team.workspace).delete()
    Engagement.objects.filter(workspace=team.workspace).delete()
    Provider.objects.filter(workspace=team.workspace).delete()


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(plan=workspace_plan)
def test_every_page_tells_the_same_story_as_the_deadline_rules(team, plan):
    _reset(team)
    _build(team, plan)
    # The pass ran a minute ago, as the beat's does; what fell due since is awaited, flag to come.
    flag_pass(now=PASS_RAN)
    with time_machine.travel(NOW, tick=False):
        open_flags = list(
            Flag.objects.filter(workspace=team.workspace, resolved_at=None, exchange__isnull=False)
        )
        if open_flags and plan["snooze"]:
            flags.flag_snooze(flag=open_flags[0], until=NOW + timedelta(days=2), by=team.alice)
        if len(open_flags) > 1 and plan["dismiss"]:
            flags.flag_dismiss(flag=open_flags[-1], reason="Called them", by=team.alice)
        snapshots.refresh_all()
        truth = _truth(team)
        for state in set(truth.states.values()):
            event(f"a request {state}")
        client = team.client_for(team.alice)
        _check_engagement_pages(client, truth)
        _check_turns(client, team, truth)
        _check_attention(client, team, truth)
        _check_scorecards(client, team, truth)
        _check_figures(client, team, truth)
