"""The in-app notification list, marking read, and the failed deliveries with their Retry button."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagements import queries, tasks
from engagements.models import Notification
from engagements.notifications import outbox as notifications
from outsourcing.models import Role
from tests.factories import MembershipFactory

_keys = count()


def url(name: str, ws: str = "acme", **kwargs: object) -> str:
    return reverse(f"notifications:{name}", kwargs={"ws": ws, **kwargs})


def note(workspace, recipient, *, channel=Notification.Channel.IN_APP, age=0, **fields) -> Notification:
    """One outbox row; ``age`` in minutes back from now, so the order is known."""
    defaults = {
        "subject": f"Reply overdue: task {next(_keys)}",
        "body": "The provider has not answered in time.",
        "url": "/w/acme/engagements/1/",
        "status": Notification.Status.SENT,
        "created_at": timezone.now() - timedelta(minutes=age),
    }
    return Notification.objects.create(
        workspace=workspace,
        recipient=recipient,
        channel=channel,
        idempotency_key=f"test-{next(_keys)}",
        **{**defaults, **fields},
    )


def failed(workspace, recipient=None, **fields) -> Notification:
    channel = Notification.Channel.EMAIL if recipient else Notification.Channel.WEBHOOK
    return note(
        workspace,
        recipient,
        channel=channel,
        status=Notification.Status.FAILED,
        attempts=8,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        next_attempt_at=timezone.now() + timedelta(hours=6),
        **fields,
    )


def shown(response) -> list[int]:
    return [n.pk for n in response.context["page_obj"]]


@pytest.fixture
def manager(team):
    return MembershipFactory(
        workspace=team.workspace, role=Role.MANAGER, user__email="maria@example.com"
    ).user


# --- access ---------------------------------------------------------------------------------


def test_the_notification_list_sends_visitors_to_log_in(team):
    assert "/accounts/login/" in team.client_for(None).get(url("list"))["Location"]


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_every_member_sees_only_their_own_in_app_notifications_here(team, who):
    person = getattr(team, who)
    mine = note(team.workspace, person)
    for other in (team.alice, team.bob, team.vera):
        if other != person:
            note(team.workspace, other)
    note(team.workspace, person, channel=Notification.Channel.EMAIL)
    MembershipFactory(workspace=team.other_workspace, user=person)
    note(team.other_workspace, person)
    response = team.client_for(person).get(url("list"))
    assert response.status_code == 200
    assert shown(response) == [mine.pk]


def test_an_outsider_gets_a_404_on_every_notification_page(team):
    row = note(team.workspace, team.alice)
    broken = failed(team.workspace, team.alice)
    client = team.client_for(team.charlie)
    assert client.get(url("list")).status_code == 404
    assert client.post(url("open", pk=row.pk)).status_code == 404
    assert client.post(url("read", pk=row.pk)).status_code == 404
    assert client.post(url("read_all")).status_code == 404
    assert client.get(url("failed")).status_code == 404
    assert client.post(url("retry", pk=broken.pk)).status_code == 404
    row.refresh_from_db()
    broken.refresh_from_db()
    assert row.read_at is None
    assert broken.status == Notification.Status.FAILED


def test_someone_elses_notification_is_a_404_and_stays_unread(team):
    alices = note(team.workspace, team.alice)
    client = team.client_for(team.bob)
    assert client.post(url("open", pk=alices.pk)).status_code == 404
    assert client.post(url("read", pk=alices.pk)).status_code == 404
    alices.refresh_from_db()
    assert alices.read_at is None


def test_the_same_persons_notification_from_another_workspace_is_a_404_here(team):
    MembershipFactory(workspace=team.other_workspace, user=team.alice)
    elsewhere = note(team.other_workspace, team.alice)
    assert team.client_for(team.alice).post(url("read", pk=elsewhere.pk)).status_code == 404


# --- the list ---------------------------------------------------------------------------------


def test_the_list_is_newest_first_and_marks_the_unread_ones(team):
    old = note(team.workspace, team.alice, age=60, read_at=timezone.now())
    new = note(team.workspace, team.alice, age=1)
    response = team.client_for(team.alice).get(url("list"))
    assert shown(response) == [new.pk, old.pk]
    assert response.context["unread"] == 1
    html = response.content.decode()
    assert f'data-notification="{new.pk}" data-unread="true"' in html
    assert f'data-notification="{old.pk}" data-unread' not in html
    assert url("read", pk=new.pk) in html
    assert url("read", pk=old.pk) not in html
    assert url("open", pk=old.pk) in html
    assert url("read_all") in html
    assert "1 unread" in html


def test_the_list_is_paginated_by_25(team):
    for age in range(30):
        note(team.workspace, team.alice, age=age)
    client = team.client_for(team.alice)
    assert len(shown(client.get(url("list")))) == 25
    assert len(shown(client.get(url("list"), {"page": 2}))) == 5


def test_an_empty_list_says_so_and_offers_no_mark_all_button(team):
    html = team.client_for(team.bob).get(url("list")).content.decode()
    assert 'data-testid="empty-state"' in html
    assert url("read_all") not in html


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("list")).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_query_count_does_not_grow_with_the_rows(team):
    client = team.client_for(team.alice)
    _list_queries(client)  # the first visit also stores the workspace in the session
    for age in range(2):
        note(team.workspace, team.alice, age=age)
    two = _list_queries(client)
    for age in range(2, 25):
        note(team.workspace, team.alice, age=age, read_at=timezone.now() if age % 2 else None)
    assert _list_queries(client) == two


# --- marking read -------------------------------------------------------------------------------


def test_opening_a_notification_marks_it_read_and_goes_to_its_engagement(team):
    row = note(team.workspace, team.alice, url="/w/acme/engagements/7/")
    response = team.client_for(team.alice).post(url("open", pk=row.pk))
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/engagements/7/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_opening_needs_a_post(team):
    row = note(team.workspace, team.alice)
    assert team.client_for(team.alice).get(url("open", pk=row.pk)).status_code == 405
    row.refresh_from_db()
    assert row.read_at is None


def test_a_notification_pointing_off_the_site_opens_the_list_instead(team):
    row = note(team.workspace, team.alice, url="https://evil.example/phish")
    response = team.client_for(team.alice).post(url("open", pk=row.pk))
    assert response["Location"] == url("list")


def test_marking_one_read_returns_to_the_same_page_and_keeps_the_first_reading_time(team):
    first_read = timezone.now() - timedelta(days=2)
    row = note(team.workspace, team.alice)
    already = note(team.workspace, team.alice, read_at=first_read)
    client = team.client_for(team.alice)
    response = client.post(url("read", pk=row.pk), {"next": url("list") + "?page=2"})
    assert response["Location"] == url("list") + "?page=2"
    client.post(url("read", pk=already.pk))
    row.refresh_from_db()
    already.refresh_from_db()
    assert row.read_at is not None
    assert already.read_at == first_read


def test_an_unsafe_next_is_ignored(team):
    row = note(team.workspace, team.alice)
    response = team.client_for(team.alice).post(url("read", pk=row.pk), {"next": "https://evil.example/"})
    assert response["Location"] == url("list")


def test_mark_all_read_touches_only_the_persons_unread_in_app_rows_in_this_workspace(team):
    mine = [note(team.workspace, team.bob) for _ in range(3)]
    alices = note(team.workspace, team.alice)
    my_email = note(team.workspace, team.bob, channel=Notification.Channel.EMAIL)
    MembershipFactory(workspace=team.other_workspace, user=team.bob)
    elsewhere = note(team.other_workspace, team.bob)
    response = team.client_for(team.bob).post(url("read_all"), follow=True)
    assert "3 notifications were marked as read." in response.content.decode()
    assert Notification.objects.filter(pk__in=[n.pk for n in mine], read_at__isnull=False).count() == 3
    for untouched in (alices, my_email, elsewhere):
        untouched.refresh_from_db()
        assert untouched.read_at is None


def test_a_viewer_may_mark_their_own_notifications_read(team):
    row = note(team.workspace, team.vera)
    team.client_for(team.vera).post(url("read", pk=row.pk))
    row.refresh_from_db()
    assert row.read_at is not None


def test_the_mark_read_service_with_ids_changes_only_those_and_counts_them(team):
    a, b = note(team.workspace, team.alice), note(team.workspace, team.alice)
    bobs = note(team.workspace, team.bob)
    changed = notifications.notifications_mark_read(
        user=team.alice, workspace=team.workspace, ids=[a.pk, bobs.pk]
    )
    assert changed == 1
    assert notifications.notifications_mark_read(user=team.alice, workspace=team.workspace, ids=[a.pk]) == 0
    b.refresh_from_db()
    bobs.refresh_from_db()
    assert b.read_at is None
    assert bobs.read_at is None


def test_the_unread_count_is_one_query_over_the_persons_unread_in_app_rows_here(
    team, django_assert_num_queries
):
    for _ in range(3):
        note(team.workspace, team.alice)
    note(team.workspace, team.alice, read_at=timezone.now())
    note(team.workspace, team.alice, channel=Notification.Channel.EMAIL)
    note(team.workspace, team.bob)
    MembershipFactory(workspace=team.other_workspace, user=team.alice)
    note(team.other_workspace, team.alice)
    with django_assert_num_queries(1):
        assert notifications.unread_count(team.alice, team.workspace) == 3


def test_the_navigation_counts_needs_attention_and_the_unread_in_one_query(team, django_assert_num_queries):
    for _ in range(2):
        note(team.workspace, team.alice)
    note(team.workspace, team.bob)
    attention = queries.attention_count(team.workspace)
    with django_assert_num_queries(1):
        counts = queries.nav_counts(
            team.workspace, notifications.unread_notifications(team.alice, team.workspace)
        )
    assert counts == (attention, 2)
    assert queries.nav_counts(team.workspace) == (attention, 0)


def test_a_page_draws_its_navigation_counts_with_one_query(team):
    note(team.workspace, team.alice)
    client = team.client_for(team.alice)
    page = reverse("engagements:list", kwargs={"ws": "acme"})
    client.get(page)  # the first page of a session remembers the workspace in it
    with CaptureQueriesContext(connection) as queries_run:
        html = client.get(page).content.decode()
    assert '1<span class="visually-hidden"> unread</span>' in html
    counting = [q["sql"] for q in queries_run.captured_queries if "count(" in q["sql"].lower()]
    assert [sql for sql in counting if "engagements_notification" in sql and "engagements_flag" in sql]
    assert not [sql for sql in counting if "engagements_flag" not in sql and '"read_at" IS NULL' in sql]


def test_the_navigation_badge_says_99_plus_beyond_99_unread_and_counts_no_further(
    team, django_assert_num_queries
):
    for _ in range(queries.NAV_COUNT_CAP):
        note(team.workspace, team.alice)
    client = team.client_for(team.alice)
    page = reverse("engagements:list", kwargs={"ws": "acme"})
    client.get(page)
    assert (
        f'{queries.NAV_COUNT_CAP}<span class="visually-hidden"> unread</span>'
        in client.get(page).content.decode()
    )
    for _ in range(2):
        note(team.workspace, team.alice)
    assert (
        f'{queries.NAV_COUNT_CAP}+<span class="visually-hidden"> unread</span>'
        in client.get(page).content.decode()
    )
    unread = notifications.unread_notifications(team.alice, team.workspace)
    with django_assert_num_queries(1):
        assert queries.nav_counts(team.workspace, unread)[1] == queries.NAV_COUNT_CAP + 1
    # Uncapped, the count is exact (what the notifications page itself says).
    assert queries.nav_counts(team.workspace, unread, cap=None)[1] == queries.NAV_COUNT_CAP + 2
    assert notifications.unread_count(team.alice, team.workspace) == queries.NAV_COUNT_CAP + 2


# --- failed deliveries -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_owners_and_managers_see_the_workspaces_failed_deliveries_newest_first(team, manager, who):
    person = team.alice if who == "alice" else manager
    old = failed(team.workspace, team.bob, age=30)
    new = failed(team.workspace, age=1)
    failed(team.other_workspace, team.charlie)
    note(team.workspace, team.bob, channel=Notification.Channel.EMAIL)
    response = team.client_for(person).get(url("failed"))
    assert response.status_code == 200
    assert shown(response) == [new.pk, old.pk]
    html = response.content.decode()
    assert "Connection refused" in html
    assert "the workspace's webhook" in html
    assert url("retry", pk=old.pk) in html


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_get_a_403_for_failed_deliveries_and_retry(team, who):
    row = failed(team.workspace, team.bob)
    client = team.client_for(getattr(team, who))
    assert client.get(url("failed")).status_code == 403
    assert client.post(url("retry", pk=row.pk)).status_code == 403
    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED


def test_an_empty_failed_list_says_so(team):
    html = team.client_for(team.alice).get(url("failed")).content.decode()
    assert 'data-testid="empty-state"' in html


def _failed_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("failed")).status_code == 200
    return len(ctx.captured_queries)


def test_the_failed_list_query_count_does_not_grow_with_the_rows(team, manager):
    client = team.client_for(team.alice)
    _failed_queries(client)
    failed(team.workspace, team.bob)
    failed(team.workspace)
    two = _failed_queries(client)
    for i in range(20):
        failed(team.workspace, [team.alice, team.bob, team.vera, manager][i % 4])
    assert _failed_queries(client) == two


def test_retry_resets_a_failed_row_and_queues_its_delivery_after_commit(
    team, django_capture_on_commit_callbacks
):
    row = failed(team.workspace, team.bob)
    with (
        mock.patch.object(tasks.deliver_notifications, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = team.client_for(team.alice).post(url("retry", pk=row.pk), follow=True)
    assert "The delivery was queued again." in response.content.decode()
    assert len(callbacks) == 1
    delay.assert_called_once_with([row.pk])
    row.refresh_from_db()
    assert row.status == Notification.Status.PENDING
    assert row.attempts == 0
    assert row.next_attempt_at <= timezone.now()
    assert row.lease_until is None


def test_a_retried_email_is_delivered_once(team, django_capture_on_commit_callbacks):
    row = failed(team.workspace, team.bob)
    with (
        mock.patch.object(tasks.deliver_notifications, "delay", side_effect=tasks.deliver_notifications),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notifications.notification_retry(notification=row, by=team.membership(team.alice))
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT
    assert row.attempts == 1
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_retrying_a_row_that_is_not_failed_changes_nothing_and_queues_nothing(
    team, django_capture_on_commit_callbacks
):
    row = note(team.workspace, team.bob, channel=Notification.Channel.EMAIL)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = team.client_for(team.alice).post(url("retry", pk=row.pk), follow=True)
    assert "no longer marked as failed" in response.content.decode()
    assert callbacks == []
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT


def test_retry_returns_to_the_page_it_came_from(team):
    row = failed(team.workspace, team.bob)
    settings_url = reverse("workspace_settings", kwargs={"ws": "acme"})
    with mock.patch.object(tasks.deliver_notifications, "delay"):
        response = team.client_for(team.alice).post(url("retry", pk=row.pk), {"next": settings_url})
    assert response["Location"] == settings_url


def test_the_retry_service_refuses_a_member_and_another_workspaces_manager(team):
    row = failed(team.workspace, team.bob)
    for by in (team.membership(team.bob), team.charlie.memberships.get()):
        with pytest.raises(Exception, match="Only managers and owners"):
            notifications.notification_retry(notification=row, by=by)
    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED
