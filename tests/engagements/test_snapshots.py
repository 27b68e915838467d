"""Snapshots: computed for every period and category, queued by changes, refreshed by what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engagements import backlog, services
from engagements.backlog import backlog_add
from engagements.models import Engagement, Exchange, Message, MetricsBacklog, MetricSnapshot
from engagements.reliability import snapshots
from engagements.reliability.metrics import ALL, PERIODS
from tests.factories import EngagementFactory, ProviderFactory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def log_request(engagement: Engagement, days_ago: float) -> Message:
    with time_machine.travel(NOW, tick=False):
        return services.message_log(
            engagement=engagement,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.REQUEST,
            occurred_at=NOW - timedelta(days=days_ago),
        )


def log_reply(engagement: Engagement, days_ago: float) -> Message:
    with time_machine.travel(NOW, tick=False):
        return services.message_log(
            engagement=engagement,
            direction=Message.Direction.INBOUND,
            kind=Message.Kind.REPLY,
            occurred_at=NOW - timedelta(days=days_ago),
        )


@pytest.fixture
def providers(team):
    ws = team.workspace
    anna, bert = ProviderFactory(workspace=ws, name="Anna"), ProviderFactory(workspace=ws, name="Bert")
    log_request(EngagementFactory(workspace=ws, provider=anna, category="seo"), 40)
    log_request(EngagementFactory(workspace=ws, provider=bert, category="web_design"), 5)
    MetricsBacklog.objects.all().delete()
    return anna, bert


@pytest.mark.django_db
def test_logging_a_message_queues_its_provider_once(team, providers):
    anna, _bert = providers
    engagement = Engagement.objects.filter(provider=anna).get()
    log_reply(engagement, 39)
    log_request(engagement, 10)
    assert list(MetricsBacklog.objects.values_list("provider_id", flat=True)) == [anna.pk]


@pytest.mark.django_db
def test_a_status_change_queues_its_provider(team, providers):
    _anna, bert = providers
    engagement = Engagement.objects.filter(provider=bert).get()
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.IN_PROGRESS, by=None)
    assert list(MetricsBacklog.objects.values_list("provider_id", flat=True)) == [bert.pk]


@pytest.mark.django_db
def test_moving_an_engagement_to_another_provider_queues_both(team, providers):
    anna, bert = providers
    engagement = Engagement.objects.filter(provider=anna).get()
    services.engagement_update(engagement=engagement, by=team.alice, provider=bert)
    assert set(MetricsBacklog.objects.values_list("provider_id", flat=True)) == {anna.pk, bert.pk}


@pytest.mark.django_db
def test_a_full_refresh_writes_each_period_for_the_workspace_providers_and_categories(team, providers):
    anna, bert = providers
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=NOW)
    rows: set[tuple[str, int | None, str]] = set(
        MetricSnapshot.objects.values_list("period", "provider_id", "category")
    )
    assert (("30", None, "")) in rows
    assert ("all", anna.pk, "seo") in rows
    assert ("all", bert.pk, "web_design") in rows
    assert ("all", anna.pk, "web_design") not in rows
    # Anna's only request is 40 days old: not in the last 30 days.
    assert ("30", anna.pk, "") not in rows
    assert {period for period, _p, _c in rows} == set(PERIODS)
    whole = MetricSnapshot.objects.get(period="all", provider=None, category="")
    assert whole.requests == 2
    assert "charts" in whole.payload


@pytest.mark.django_db
def test_the_backlog_refresh_recomputes_only_the_queued_providers(team, providers):
    anna, bert = providers
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=NOW)
    all_time = MetricSnapshot.objects.filter(period="all", category="")
    before: dict[int | None, datetime] = dict(all_time.values_list("provider_id", "computed_at"))
    later = NOW + timedelta(minutes=5)
    log_reply(Engagement.objects.filter(provider=anna).get(), 1)
    assert snapshots.backlog_refresh(now=later) == 1
    after: dict[int | None, datetime] = dict(all_time.values_list("provider_id", "computed_at"))
    assert after[anna.pk] == later
    assert after[bert.pk] == before[bert.pk] == NOW
    # The workspace's own figures move with every change, not only at the regular full refresh.
    assert after[None] == later
    assert MetricSnapshot.objects.get(period="all", provider=anna, category="").payload["replies"] == 1
    assert MetricSnapshot.objects.get(period="all", provider=None).payload["replies"] == 1
    assert not MetricsBacklog.objects.exists()


@pytest.mark.django_db
def test_a_partial_refresh_without_workspace_figures_refreshes_everything(team, providers):
    anna, _bert = providers
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, provider_ids=[anna.pk], now=NOW)
    assert MetricSnapshot.objects.filter(provider=None).count() >= len(PERIODS)


@pytest.mark.django_db
def test_reading_a_workspace_without_snapshots_computes_them(team, providers):
    anna, bert = providers
    board = snapshots.snapshots_read(workspace_id=team.workspace.pk, period="all")
    assert set(board.providers) == {anna.pk, bert.pk}
    assert board.workspace is not None
    assert board.workspace.requests == 2
    assert not board.pending


@pytest.mark.django_db
def test_the_board_says_when_changes_are_still_queued(team, providers):
    anna, _bert = providers
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=NOW)
    log_reply(Engagement.objects.filter(provider=anna).get(), 1)
    assert snapshots.snapshots_read(workspace_id=team.workspace.pk, period="all").pending


@pytest.mark.django_db
def test_snapshots_never_mix_workspaces(team, providers):
    other = ProviderFactory(workspace=team.other_workspace)
    log_request(EngagementFactory(workspace=team.other_workspace, provider=other), 3)
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=NOW)
    board = snapshots.snapshots_read(workspace_id=team.workspace.pk, period="all")
    assert other.pk not in board.providers
    assert board.workspace.requests == 2


@pytest.mark.django_db
def test_a_ghosting_raised_by_the_flagging_pass_queues_the_provider(team, providers):
    from engagements.flagging import flag_pass

    anna, _bert = providers
    exchange = Exchange.objects.get(engagement__provider=anna)
    Exchange.objects.filter(pk=exchange.pk).update(
        escalation=Exchange.ESCALATION_OVERDUE,
        ghosted_due_at=NOW - timedelta(hours=1),
        next_check_at=NOW - timedelta(hours=1),
    )
    report = flag_pass(now=NOW)
    assert report.raised_ghosted == 1
    assert list(MetricsBacklog.objects.values_list("provider_id", flat=True)) == [anna.pk]


@pytest.mark.django_db
def test_the_dashboard_reads_only_the_workspaces_own_row(team, providers):
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=NOW)
    board = snapshots.snapshots_read(workspace_id=team.workspace.pk, period="all", providers=False)
    assert board.providers == {}
    assert board.workspace is not None
    assert board.workspace.requests == 2


@pytest.mark.django_db
def test_the_boards_four_readings_are_the_snapshots_rows_and_compiled_once(team, providers, request):
    anna, bert = providers
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=NOW)
    log_request(EngagementFactory(workspace=team.other_workspace), 2)
    snapshots.snapshots_refresh(workspace_id=team.other_workspace.pk, now=NOW)
    shapes = [(p, t) for p in (False, True) for t in (False, True)]
    for providers_, as_text in shapes:  # compiled here, if no test did before
        snapshots.snapshots_read(
            workspace_id=team.workspace.pk, period="all", providers=providers_, as_text=as_text
        )
    compiled = request.getfixturevalue("compiles")
    readings = {
        (providers_, as_text, period, category): snapshots.snapshots_read(
            workspace_id=team.workspace.pk,
            period=period,
            category=category,
            providers=providers_,
            as_text=as_text,
        )
        for providers_, as_text in shapes
        # A category's figures are the providers' (the workspace's own row is of every category);
        # a reading that finds none asks whether anything was ever computed (a query of its own).
        for period, category in ((("30", ALL), ("all", "seo")) if providers_ else (("30", ALL), ("all", ALL)))
    }
    assert not compiled
    for (providers_, as_text, period, category), board in readings.items():
        rows = MetricSnapshot.objects.filter(workspace=team.workspace, period=period, category=category)
        expected = rows if providers_ else rows.filter(provider=None)
        found = [*([board.workspace] if board.workspace else []), *board.providers.values()]
        assert found == sorted(expected, key=lambda s: s.provider_id or 0)
        assert found
        assert set(board.providers) <= ({anna.pk, bert.pk} if providers_ else set())
        if as_text and board.workspace:
            assert snapshots.figures_of(board.workspace).requests == board.workspace.requests


# --- One workspace's failure is its own; nothing queued is lost. ---


@pytest.fixture
def other_provider(team):
    """A provider with a request in charlie's workspace, created after alice's."""
    other = ProviderFactory(workspace=team.other_workspace, name="Olga")
    log_request(EngagementFactory(workspace=team.other_workspace, provider=other), 3)
    return other


def failing_for(monkeypatch, workspace_id: int) -> None:
    """Make the figures of one workspace fail to compute, as a bad row once made them."""
    compute = snapshots.metrics.compute_periods

    def compute_periods(scope, *args, **kwargs):
        if scope.workspace_id == workspace_id:
            raise OverflowError("date value out of range")
        return compute(scope, *args, **kwargs)

    monkeypatch.setattr(snapshots.metrics, "compute_periods", compute_periods)


@pytest.mark.django_db
def test_a_workspace_whose_figures_fail_does_not_stop_the_full_refresh_of_another(
    team, providers, other_provider, monkeypatch, caplog
):
    assert team.workspace.pk < team.other_workspace.pk  # the failing one comes first
    failing_for(monkeypatch, team.workspace.pk)

    snapshots.refresh_all(now=NOW)

    assert not MetricSnapshot.objects.filter(workspace=team.workspace).exists()
    assert MetricSnapshot.objects.filter(workspace=team.other_workspace, provider=other_provider).exists()
    assert f"workspace {team.workspace.pk} failed" in caplog.text
    assert "OverflowError" in caplog.text  # logged with its traceback


@pytest.mark.django_db
def test_a_failing_backlog_refresh_keeps_its_queue_and_does_not_stop_another_workspace(
    team, providers, other_provider, monkeypatch, caplog
):
    anna, _bert = providers
    log_reply(Engagement.objects.get(provider=anna), 1)
    failing_for(monkeypatch, team.workspace.pk)

    snapshots.backlog_refresh(now=NOW)

    # Alice's workspace failed: Anna is still queued, to be tried on the next run.
    assert list(MetricsBacklog.objects.values_list("provider_id", flat=True)) == [anna.pk]
    assert MetricSnapshot.objects.filter(workspace=team.other_workspace, provider=other_provider).exists()
    assert f"workspace {team.workspace.pk} failed" in caplog.text

    monkeypatch.undo()
    # The next run, once the failed one's pace is over (how long it waits is another test's).
    monkeypatch.setattr(backlog, "REFRESH_PACE", 0)
    assert snapshots.backlog_refresh(now=NOW) == 1
    assert not MetricsBacklog.objects.exists()


@pytest.mark.django_db
def test_a_provider_queued_again_during_its_refresh_stays_queued(team, providers, monkeypatch):
    anna, _bert = providers
    engagement = Engagement.objects.get(provider=anna)
    log_reply(engagement, 1)
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk, now=NOW)
    compute = snapshots.metrics.compute_periods
    changed: list[bool] = []

    def compute_periods(scope, *args, **kwargs):
        if not changed:
            # A request logged while the refresh computes: its own transaction queues Anna again.
            changed.append(True)
            backlog_add(workspace_id=team.workspace.pk, provider_ids=[anna.pk])
        return compute(scope, *args, **kwargs)

    monkeypatch.setattr(snapshots.metrics, "compute_periods", compute_periods)

    assert snapshots.backlog_refresh(now=NOW) == 1

    assert changed
    assert list(MetricsBacklog.objects.values_list("provider_id", flat=True)) == [anna.pk]


@pytest.mark.django_db
def test_queueing_a_queued_provider_again_moves_its_since(team, providers):
    anna, _bert = providers
    log_reply(Engagement.objects.get(provider=anna), 1)
    first = MetricsBacklog.objects.get().since

    backlog_add(workspace_id=team.workspace.pk, provider_ids=[anna.pk, anna.pk])

    assert MetricsBacklog.objects.get().since > first
