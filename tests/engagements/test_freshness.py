"""A change reaches every reliability page within seconds: a real worker refreshes on commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from engagements import services
from engagements.models import Engagement, MetricsBacklog
from engagements.reliability import snapshots
from outsourcing.celery import app as celery_app
from tests.engagements.conftest import url
from tests.factories import EngagementFactory, ProviderFactory
from tests.realparts import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

REFRESH = "engagements.tasks.refresh_metrics_workspace"


def _pages(client, workspace, provider) -> dict[str, object]:
    """What the dashboard, the leaderboard and the scorecard say about replies."""
    ws = workspace.slug
    dashboard = client.get(reverse("reliability:dashboard", kwargs={"ws": ws}))
    leaderboard = client.get(reverse("reliability:leaderboard", kwargs={"ws": ws}))
    scorecard = client.get(reverse("reliability:scorecard", kwargs={"ws": ws, "pk": provider.pk}))
    row = next(r for r in leaderboard.context["board"].rows if r.provider.pk == provider.pk)
    return {
        "dashboard": dashboard.context["m"].replies,
        "leaderboard": row.m.replies,
        "scorecard": scorecard.context["m"].replies,
        "pending": dashboard.context["data"].pending,
    }


def test_a_logged_reply_shows_on_the_dashboard_leaderboard_and_scorecard_once_the_worker_ran(
    team, through_the_broker, finished_tasks
):
    provider = ProviderFactory(workspace=team.workspace, name="Quick Quill", time_zone="UTC", country="")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(hours=3),
    )
    snapshots.refresh_all()  # the figures as the regular refresh left them: one request, no reply
    MetricsBacklog.objects.all().delete()
    client = team.client_for(team.bob)
    assert _pages(client, team.workspace, provider) == {
        "dashboard": 0,
        "leaderboard": 0,
        "scorecard": 0,
        "pending": False,
    }

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        response = client.post(
            url("message_create", pk=engagement.pk),
            {
                "direction": "in",
                "kind": "reply",
                "channel": "email",
                "occurred_at_0": timezone.localtime().strftime("%Y-%m-%d"),
                "occurred_at_1": timezone.localtime().strftime("%H:%M"),
                "subject": "Done",
                "body": "Here it is.",
            },
        )
        assert response.status_code == 302, response.content
        # The change itself queued the refresh; no beat task runs in this test. The request logged
        # above queued one too, which runs first and finds nothing (its backlog was emptied):
        # waiting for just any refresh read the pages before the reply's was done, now and then.
        assert wait_for(
            lambda: any(name == REFRESH and recomputed for name, recomputed in finished_tasks.results), 120
        ), finished_tasks.results

    assert "engagements.tasks.refresh_metrics_backlog" not in finished_tasks.names
    assert Engagement.objects.get(pk=engagement.pk).awaiting_reply is False
    assert _pages(client, team.workspace, provider) == {
        "dashboard": 1,
        "leaderboard": 1,
        "scorecard": 1,
        "pending": False,
    }


def test_figures_younger_than_a_minute_do_not_show_their_age(team, settings):
    provider = ProviderFactory(workspace=team.workspace)
    engagement = EngagementFactory(workspace=team.workspace, provider=provider)
    services.message_log(engagement=engagement, direction="out", kind="request")
    client = team.client_for(team.alice)
    dashboard = reverse("reliability:dashboard", kwargs={"ws": team.workspace.slug})
    snapshots.refresh_all()
    assert 'data-testid="figures-age"' not in client.get(dashboard).content.decode()
    snapshots.refresh_all(now=timezone.now() - timedelta(minutes=5))
    assert 'data-testid="figures-age"' in client.get(dashboard).content.decode()
