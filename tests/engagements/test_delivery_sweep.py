"""The minute's delivery sweep and batch delivery: a backlog drains at the workers' pace, each row once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from engagements.models import Notification
from engagements.notifications import outbox
from engagements.tasks import deliver_due_notifications, deliver_notifications
from tests.factories import UserFactory


def _emails(team, count: int, **fields) -> list[int]:
    now = timezone.now()
    rows = [
        Notification(
            workspace=team.workspace,
            recipient=team.alice,
            channel=Notification.Channel.EMAIL,
            subject=f"Reminder {n}",
            body="Still waiting.",
            idempotency_key=f"sweep-{n}",
            next_attempt_at=now - timedelta(minutes=1),
            **fields,
        )
        for n in range(count)
    ]
    return [row.pk for row in Notification.objects.bulk_create(rows)]


@pytest.mark.django_db
def test_a_sweep_queues_a_backlog_larger_than_a_thousand_rows_at_once(team, monkeypatch):
    ids = _emails(team, 1500)
    queued: list[list[int]] = []
    monkeypatch.setattr("engagements.jobs.deliver_later", lambda chunk: queued.append(list(chunk)))

    assert deliver_due_notifications() == 1500
    assert sorted(pk for chunk in queued for pk in chunk) == sorted(ids)


@pytest.mark.django_db
def test_what_one_sweep_queued_is_not_queued_again_until_its_lease_runs_out(team, settings):
    settings.NOTIFICATION_LEASE_SECONDS = 60
    ids = _emails(team, 3)
    now = timezone.now()

    assert sorted(outbox.due_for_delivery(now)) == sorted(ids)
    # The second beat's sweep, or the next minute's: the rows wait in the queue already.
    assert outbox.due_for_delivery(now + timedelta(seconds=30)) == []
    # Their task was lost: they come round again.
    assert sorted(outbox.due_for_delivery(now + timedelta(seconds=61))) == sorted(ids)


@pytest.mark.django_db
def test_a_queued_row_is_still_claimed_and_sent_once(team, smtp_server):
    (pk,) = _emails(team, 1)
    outbox.due_for_delivery(timezone.now())

    assert outbox.deliver(pk) == "sent"
    assert outbox.deliver(pk) == "skipped"
    assert len(smtp_server.envelopes) == 1


@pytest.mark.django_db
def test_a_row_a_dead_worker_left_sending_is_swept_up_and_sent_once(team, settings, smtp_server):
    settings.NOTIFICATION_LEASE_SECONDS = 60
    now = timezone.now()
    (pk,) = _emails(
        team, 1, status=Notification.Status.SENDING, lease_until=now - timedelta(seconds=1), attempts=1
    )
    (held,) = Notification.objects.bulk_create(
        [
            Notification(
                workspace=team.workspace,
                recipient=team.alice,
                channel=Notification.Channel.EMAIL,
                subject="Held",
                idempotency_key="sweep-held",
                status=Notification.Status.SENDING,
                lease_until=now + timedelta(seconds=30),
                next_attempt_at=now - timedelta(minutes=1),
            )
        ]
    )

    # A live worker's row is left alone; the dead one's is pending again.
    assert outbox.due_for_delivery(now) == [pk]
    row = Notification.objects.get(pk=pk)
    assert row.status == Notification.Status.PENDING
    assert outbox.deliver(pk) == "sent"
    assert outbox.deliver(held.pk) == "skipped"
    assert len(smtp_server.envelopes) == 1


@pytest.mark.django_db
def test_a_batch_is_sent_through_one_smtp_connection_and_each_row_recorded(team, smtp_server):
    ids = _emails(team, 5)

    assert deliver_notifications(ids) == {"sent": 5}
    assert smtp_server.connections == 1
    assert len(smtp_server.envelopes) == 5
    assert Notification.objects.filter(pk__in=ids, status=Notification.Status.SENT).count() == 5


@pytest.mark.django_db
def test_a_refused_address_fails_its_row_and_the_rest_of_the_batch_still_goes(team, smtp_server):
    ids = _emails(team, 3)
    stranger = UserFactory(email="gone@example.com")
    Notification.objects.filter(pk=ids[1]).update(recipient=stranger)
    smtp_server.refuse.add("gone@example.com")

    outcomes = deliver_notifications(ids)

    assert outcomes.get("sent") == 2
    assert Notification.objects.get(pk=ids[1]).status != Notification.Status.SENT
    assert len(smtp_server.envelopes) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("size", [5, 20])
def test_a_batch_is_claimed_and_loaded_in_one_statement_each_and_each_row_recorded_on_its_own(
    team, smtp_server, django_assert_num_queries, size
):
    ids = _emails(team, size)

    # The claim: a savepoint, the due rows locked, one conditional update, released (4); their load
    # with all that renders them (1); then one update per row sent, so a kill leaves at most one
    # sent row unrecorded.
    with django_assert_num_queries(5 + size):
        assert outbox.deliver_many(ids) == {"sent": size}
    assert len(smtp_server.envelopes) == size


@pytest.mark.django_db
def test_rows_another_worker_holds_or_sent_are_skipped_in_a_batch(team, smtp_server):
    ids = _emails(team, 3)
    assert outbox.deliver(ids[0]) == "sent"
    Notification.objects.filter(pk=ids[1]).update(
        status=Notification.Status.SENDING, lease_until=timezone.now() + timedelta(seconds=60)
    )

    assert outbox.deliver_many(ids) == {"sent": 1, "skipped": 2}
    assert len(smtp_server.envelopes) == 2


@pytest.mark.django_db
def test_a_batch_slower_than_half_its_lease_renews_it_so_no_sweep_hands_its_rows_out_again(
    team, settings, smtp_server, monkeypatch
):
    settings.NOTIFICATION_LEASE_SECONDS = 60
    ids = _emails(team, 3)
    swept: list[int] = []
    send = outbox._send
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def slow_send(notification, mail=None):
            send(notification, mail)
            clock.shift(timedelta(seconds=40))  # a slow server: two sends outlast the lease
            swept.extend(outbox.due_for_delivery(timezone.now()))

        monkeypatch.setattr(outbox, "_send", slow_send)
        assert outbox.deliver_many(ids) == {"sent": 3}

    assert swept == []
    assert len(smtp_server.envelopes) == 3
    assert set(Notification.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}
