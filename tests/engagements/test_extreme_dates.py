"""Extreme dates: refused where they are typed, harmless where they were stored before the bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from engagements import deadlines, services
from engagements.mail import importer
from engagements.models import Engagement, Exchange, Message, MetricsBacklog, MetricSnapshot
from engagements.reliability import snapshots
from providers.models import Absence
from tests.engagements.conftest import url
from tests.engagements.test_form_views import form_data
from tests.engagements.test_mail_import import mail
from tests.engagements.test_message_views import log_data
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # a Friday

# Absences typed before dates were checked: "forever", and "from now on, forever".
STORED_FOREVER = [
    pytest.param((date(1, 1, 1), date(9999, 12, 31)), id="ten-thousand-years"),
    pytest.param((date(2026, 12, 1), date(9999, 12, 30)), id="until-9999"),
]


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def reliability_url(name: str, **kwargs) -> str:
    return reverse(f"reliability:{name}", kwargs={"ws": "acme", **kwargs})


def away(provider, span: tuple[date, date]) -> None:
    """Store an absence as the unchecked forms once did (the model's checks would refuse it now)."""
    Absence.objects.bulk_create([Absence(provider=provider, starts_on=span[0], ends_on=span[1])])


def request(engagement: Engagement, days_ago: float = 3) -> Message:
    return services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=NOW - timedelta(days=days_ago),
        subject="Landing page copy",
        message_id=f"request-{engagement.pk}-{days_ago}@tracker.example",
    )


# --- An absence stored to year 9999 (issue 12, #2). ---


@pytest.mark.parametrize("span", STORED_FOREVER)
def test_an_absence_stored_to_year_9999_breaks_neither_logging_nor_the_pages(team, engagement, span):
    request(engagement, days_ago=2)
    away(engagement.provider, span)
    client = team.client_for(team.alice)

    logged = client.post(url("message_create", pk=engagement.pk), log_data(kind="follow_up"))

    assert logged.status_code == 302
    assert engagement.messages.count() == 2
    assert client.get(url("detail", pk=engagement.pk)).status_code == 200
    assert client.get(reliability_url("scorecard", pk=engagement.provider.pk)).status_code == 200
    assert client.get(url("provider_timeline", provider_pk=engagement.provider.pk)).status_code == 200


@pytest.mark.parametrize("span", STORED_FOREVER)
def test_a_request_made_while_away_until_9999_is_due_only_at_the_end_of_the_calendar(team, engagement, span):
    away(engagement.provider, span)

    request(engagement, days_ago=1)

    # Like an engagement on hold until further notice: far away, but a date.
    assert Exchange.objects.get(engagement=engagement).reply_due_at.year == 9999


@pytest.mark.parametrize("span", STORED_FOREVER)
def test_the_figures_of_a_workspace_with_a_provider_away_until_9999_are_refreshed(team, engagement, span):
    request(engagement, days_ago=10)
    away(engagement.provider, span)

    assert snapshots.refresh_all(now=NOW) > 0
    assert MetricSnapshot.objects.filter(workspace=team.workspace, provider=engagement.provider).exists()
    # The provider queued by the request is refreshed, and leaves the queue.
    assert snapshots.backlog_refresh(now=NOW) == 1
    assert not MetricsBacklog.objects.exists()


# --- Due dates (issue 12, #4). ---


@pytest.mark.parametrize("due_on", ["9999-12-31", "0001-01-01", "1999-12-31"])
def test_a_due_date_outside_the_accepted_range_is_a_field_error(team, provider, engagement, due_on):
    client = team.client_for(team.alice)

    created = client.post(url("create"), form_data(provider, team.alice, title="Far", due_on=due_on))
    edited = client.post(url("edit", pk=engagement.pk), form_data(provider, team.alice, due_on=due_on))

    for response in (created, edited):
        assert response.status_code == 200
        assert "Enter a date between" in " ".join(response.context["form"].errors["due_on"])
    assert not Engagement.objects.filter(title="Far").exists()
    engagement.refresh_from_db()
    assert engagement.due_on is None


def test_the_service_refuses_a_due_date_in_year_9999(team, provider):
    with pytest.raises(ValidationError) as info:
        services.engagement_create(
            workspace=team.workspace,
            provider=provider,
            owner=team.alice,
            title="Far",
            created_by=team.alice,
            due_on=date(9999, 12, 31),
        )
    assert "due_on" in info.value.message_dict


def test_a_due_date_stored_as_9999_is_no_deadline_and_breaks_no_status_change_or_log_entry(team, engagement):
    Engagement.objects.filter(pk=engagement.pk).update(
        due_on=date(9999, 12, 31), status=Engagement.Status.DRAFT
    )
    client = team.client_for(team.alice)

    # The first request sends the draft on its way: a status change under the hood.
    logged = client.post(url("message_create", pk=engagement.pk), log_data())
    moved = client.post(url("status", pk=engagement.pk), {"status": "in_progress"})
    delivered = client.post(url("status", pk=engagement.pk), {"status": "delivered"})

    assert (logged.status_code, moved.status_code, delivered.status_code) == (302, 302, 302)
    engagement.refresh_from_db()
    assert engagement.messages.count() == 1
    assert engagement.status == Engagement.Status.DELIVERED
    assert engagement.delivered_on_time is None  # no deadline to be on time for
    assert engagement.delivery_check_at is None
    assert deadlines.due_end(date(9999, 12, 31), "Europe/Berlin") is None
    assert client.get(url("detail", pk=engagement.pk)).status_code == 200


def test_an_mbox_with_mail_for_an_engagement_due_in_9999_imports_every_message(team, engagement):
    ProviderEmailFactory(provider=engagement.provider, workspace=team.workspace, email="vanessa@va.example")
    Engagement.objects.filter(pk=engagement.pk).update(
        due_on=date(9999, 12, 31), status=Engagement.Status.DRAFT, routing_token="landing2026"
    )
    # Our own request, from the Sent folder (it opens the draft), and the provider's reply to it.
    ours = mail(
        sender=team.alice.email,
        to="vanessa@va.example, reply+landing2026@tracker.example",
        subject="Landing page copy",
        message_id="ours@mail.example",
    )
    theirs = mail(
        sender="vanessa@va.example", message_id="theirs@mail.example", in_reply_to="ours@mail.example"
    )

    counts = importer.mail_import_many(
        workspace=team.workspace, raws=[ours, theirs, mail(sender="x@nowhere.example")], source="import"
    )

    assert (counts.threaded, counts.unsorted, counts.rejected) == (2, 1, 0)
    engagement.refresh_from_db()
    assert engagement.status == Engagement.Status.REQUESTED
    assert Exchange.objects.get(engagement=engagement).replied_at is not None


# --- Custom periods and compare (issue 12, #4). ---


@pytest.fixture
def two_providers(team):
    busy = ProviderFactory(workspace=team.workspace, name="Busy Bea")
    idle = ProviderFactory(workspace=team.workspace, name="Idle Ida")
    request(EngagementFactory(workspace=team.workspace, provider=busy, owner=team.alice), days_ago=5)
    return busy, idle


FROM_YEAR_ONE = {"period": "custom", "start": "0001-01-01", "end": "0001-12-31"}


@pytest.mark.parametrize("page", ["dashboard", "leaderboard", "scorecard", "compare"])
def test_a_custom_period_from_year_one_is_an_error_on_the_page_not_a_crash(team, two_providers, page):
    busy, idle = two_providers
    kwargs = {"pk": busy.pk} if page == "scorecard" else {}
    query = {**FROM_YEAR_ONE, "providers": [busy.pk, idle.pk]} if page == "compare" else FROM_YEAR_ONE

    response = team.client_for(team.alice).get(reliability_url(page, **kwargs), query)

    assert response.status_code == 200
    assert "Enter a date between" in response.content.decode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_with_a_custom_period_from_year_one_gives_the_default_period(team, two_providers, fmt):
    response = team.client_for(team.alice).get(
        reliability_url("leaderboard"), {**FROM_YEAR_ONE, "format": fmt}
    )

    assert response.status_code == 200
    assert "providers-acme-90" in response["Content-Disposition"]


@pytest.mark.parametrize(
    "query",
    [{}, {"period": "custom", "start": "2020-01-01", "end": "2020-02-01"}],
    ids=["default", "empty-period"],
)
def test_comparing_a_provider_without_data_in_the_period_shows_dashes(team, two_providers, query):
    busy, idle = two_providers

    response = team.client_for(team.alice).get(
        reliability_url("compare"), {**query, "providers": [busy.pk, idle.pk]}
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Idle Ida" in content
    assert "—" in content
