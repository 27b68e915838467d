"""Bulk actions on ticked rows: the services, their views, and Needs attention grouped by provider."""

from __future__ import annotations

import smtplib
import zoneinfo
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import bulk, services
from engagements.models import Engagement, Flag, Message, StatusChange
from tests.engagements.conftest import url
from tests.engagements.test_attention import delivery_flagged, flagged
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.MAIL_ROUTING_DOMAIN = "reply.example.com"
    settings.MAIL_ROUTING_LOCAL = "reply"
    settings.DEFAULT_FROM_EMAIL = "Outsourcing Tracker <tracker@example.com>"


def late(team, provider, n: int, *, prefix: str = "Late") -> list[Flag]:
    """``n`` open reply-overdue flags on fresh engagements of ``provider``, the first most overdue."""
    return [
        flagged(
            team.workspace, provider, f"{prefix} {i}", overdue_by=timedelta(days=n + 1 - i), owner=team.alice
        )
        for i in range(n)
    ]


def pks(rows) -> list[int]:
    return [row.pk for row in rows]


def fresh(flag: Flag) -> Flag:
    return Flag.objects.get(pk=flag.pk)


def local_midnight(days_ahead: int) -> datetime:
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    today = timezone.localtime(timezone.now(), tz).date()
    return datetime.combine(today + timedelta(days=days_ahead), time.min, tzinfo=tz)


@pytest.fixture
def other_flag(team):
    """An open flag of charlie's workspace, whose id a crafted form might post."""
    stranger = ProviderFactory(workspace=team.other_workspace, name="Stranger")
    return flagged(team.other_workspace, stranger, "Not yours", overdue_by=timedelta(days=2))


# --- Services: flags --------------------------------------------------------------------------


def test_snoozing_several_flags_snoozes_the_open_ones_of_the_workspace_only(team, provider, other_flag):
    mine = late(team, provider, 3)
    bulk.flags_dismiss(workspace=team.workspace, flag_ids=[mine[2].pk], reason="Called", by=team.bob)
    until = timezone.now() + timedelta(days=2)
    n = bulk.flags_snooze(
        workspace=team.workspace, flag_ids=[*pks(mine), other_flag.pk], until=until, by=team.bob
    )
    assert n == 2
    assert [fresh(f).snoozed_until for f in mine] == [until, until, None]
    assert fresh(other_flag).snoozed_until is None


@pytest.mark.parametrize("ahead", [timedelta(0), timedelta(days=366)], ids=["now", "over-a-year"])
def test_a_bulk_snooze_follows_the_single_snoozes_limits(team, provider, ahead):
    mine = late(team, provider, 2)
    with pytest.raises(ValidationError):
        bulk.flags_snooze(
            workspace=team.workspace, flag_ids=pks(mine), until=timezone.now() + ahead, by=team.bob
        )
    assert all(fresh(f).snoozed_until is None for f in mine)


def test_dismissing_several_flags_keeps_the_reason_and_who_on_each(team, provider, other_flag):
    mine = late(team, provider, 2)
    n = bulk.flags_dismiss(
        workspace=team.workspace, flag_ids=[*pks(mine), other_flag.pk], reason="  In hand  ", by=team.bob
    )
    assert n == 2
    for flag in map(fresh, mine):
        assert (flag.resolution, flag.reason, flag.resolved_by) == (
            Flag.Resolution.DISMISSED,
            "In hand",
            team.bob,
        )
    assert fresh(other_flag).resolved_at is None


def test_a_bulk_dismissal_needs_a_reason(team, provider):
    mine = late(team, provider, 2)
    with pytest.raises(ValidationError):
        bulk.flags_dismiss(workspace=team.workspace, flag_ids=pks(mine), reason="  ", by=team.bob)
    assert all(fresh(f).resolved_at is None for f in mine)


def test_a_dismissal_never_overwrites_a_flag_resolved_meanwhile(team, provider):
    mine = late(team, provider, 2)
    bulk.flags_dismiss(workspace=team.workspace, flag_ids=[mine[0].pk], reason="First", by=team.alice)
    assert bulk.flags_dismiss(workspace=team.workspace, flag_ids=pks(mine), reason="Second", by=team.bob) == 1
    assert (fresh(mine[0]).reason, fresh(mine[0]).resolved_by) == ("First", team.alice)


@pytest.mark.parametrize("action", ["snooze", "dismiss"])
def test_a_bulk_flag_action_takes_the_same_number_of_queries_for_3_and_30_flags(team, provider, action):
    def run(flag_ids):
        with CaptureQueriesContext(connection) as queries:
            if action == "snooze":
                bulk.flags_snooze(
                    workspace=team.workspace,
                    flag_ids=flag_ids,
                    until=timezone.now() + timedelta(days=1),
                    by=team.bob,
                )
            else:
                bulk.flags_dismiss(workspace=team.workspace, flag_ids=flag_ids, reason="Done", by=team.bob)
        return len(queries)

    few = run(pks(late(team, provider, 3, prefix="Few")))
    many = run(pks(late(team, provider, 30, prefix="Many")))
    # A dismissal also locks the flags' requests and then sets their flag_open marker.
    assert few == many == (1 if action == "snooze" else 3)


# --- Services: follow-up ----------------------------------------------------------------------


@pytest.fixture
def two_providers(team):
    vanessa = ProviderFactory(workspace=team.workspace, name="Vanessa VA", languages=["en"])
    ProviderEmailFactory(provider=vanessa, email="vanessa@example.net", position=0)
    ProviderEmailFactory(provider=vanessa, email="office@example.net", position=1)
    max_ = ProviderFactory(workspace=team.workspace, name="Max Design", languages=["de"])
    ProviderEmailFactory(provider=max_, email="max@example.de", position=0)
    return vanessa, max_


def test_a_bulk_follow_up_sends_one_mail_per_provider_covering_all_their_items(team, two_providers):
    vanessa, max_ = two_providers
    hers = late(team, vanessa, 3, prefix="Copy")
    his = [
        *late(team, max_, 1, prefix="Logo"),
        delivery_flagged(team.workspace, max_, "Banner", late_by_days=2),
    ]
    outcome = bulk.flags_follow_up(workspace=team.workspace, flag_ids=pks([*hers, *his]), by=team.alice)
    assert sorted(outcome.sent) == [("Max Design", 2), ("Vanessa VA", 3)]
    assert len(mail.outbox) == 2
    by_to = {m.to[0]: m for m in mail.outbox}
    assert set(by_to) == {"vanessa@example.net", "max@example.de"}
    to_her = by_to["vanessa@example.net"]
    assert to_her.subject == "Following up on 3 open items"
    for title in ("Copy 0", "Copy 1", "Copy 2"):
        assert f"“{title}”" in to_her.body
    assert "Logo" not in to_her.body
    # Max speaks German: his mail is in German, and says the banner is late, not unanswered.
    to_him = by_to["max@example.de"]
    assert "Guten Tag Max Design" in to_him.body
    assert "„Banner“: die Arbeit war am" in to_him.body
    assert "„Logo 0“: meine Anfrage vom" in to_him.body
    # A reply is never threaded into one of the engagements by a token or a Message-ID.
    assert to_her.reply_to == ["reply@reply.example.com"]
    # Logged as a follow-up on each engagement it covers, so each clock knows it was chased.
    for flag in [*hers, *his]:
        logged = Message.objects.get(engagement=flag.engagement, kind=Message.Kind.FOLLOW_UP)
        assert (logged.source, logged.message_id, logged.author) == (Message.Source.APP, "", team.alice)
    assert fresh(hers[0]).exchange.followups == 1


def test_a_provider_with_one_selected_item_gets_the_single_follow_up(team, two_providers):
    vanessa, _max = two_providers
    (only,) = late(team, vanessa, 1, prefix="Copy")
    outcome = bulk.flags_follow_up(workspace=team.workspace, flag_ids=[only.pk], by=team.alice)
    assert outcome.sent == [("Vanessa VA", 1)]
    (sent,) = mail.outbox
    assert sent.subject == "Re: About Copy 0"
    assert "I am following up on my request of" in sent.body
    # The single path: the engagement's own routing address.
    assert sent.reply_to[0].startswith("reply+")


def test_a_bulk_follow_up_leaves_out_providers_without_an_address_and_says_so(team, two_providers, provider):
    vanessa, _max = two_providers
    hers = late(team, vanessa, 2, prefix="Copy")
    nowhere = late(team, provider, 2, prefix="Nowhere")  # "Vanessa VA" of the fixture: no address
    outcome = bulk.flags_follow_up(workspace=team.workspace, flag_ids=pks([*hers, *nowhere]), by=team.alice)
    assert outcome.sent == [("Vanessa VA", 2)]
    assert outcome.refused == [f"{provider.name}: no e-mail address to write to."]
    assert len(mail.outbox) == 1
    assert not Message.objects.filter(
        engagement__in=[f.engagement for f in nowhere], kind="follow_up"
    ).exists()


def test_a_bulk_follow_up_stops_at_the_sending_limit(team, two_providers):
    vanessa, max_ = two_providers
    chosen = [*late(team, vanessa, 2, prefix="Copy"), *late(team, max_, 2, prefix="Logo")]
    allowed = iter([True, False])
    outcome = bulk.flags_follow_up(
        workspace=team.workspace, flag_ids=pks(chosen), by=team.alice, may_send=lambda: next(allowed)
    )
    assert len(outcome.sent) == 1 and len(outcome.refused) == 1
    assert len(mail.outbox) == 1


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses vanessa@example.net and takes the rest (into mail.outbox)."""

    def send_messages(self, email_messages):
        for message in email_messages:
            if "vanessa@example.net" in message.recipients():
                raise smtplib.SMTPRecipientsRefused({"vanessa@example.net": (550, b"No such user")})
            mail.outbox.append(message)
        return len(email_messages)


def test_a_refused_mail_logs_nothing_and_the_other_providers_still_get_theirs(team, two_providers, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.engagements.test_bulk.RefusingBackend"}}
    vanessa, max_ = two_providers
    hers = late(team, vanessa, 2, prefix="Copy")
    his = late(team, max_, 2, prefix="Logo")
    outcome = bulk.flags_follow_up(workspace=team.workspace, flag_ids=pks([*hers, *his]), by=team.alice)
    assert outcome.sent == [("Max Design", 2)]
    assert outcome.refused == [
        "Vanessa VA: The mail server refused the recipients: vanessa@example.net. "
        "Nothing was sent or logged; please try again."
    ]
    assert not Message.objects.filter(engagement__in=[f.engagement for f in hers], kind="follow_up").exists()
    assert Message.objects.filter(engagement__in=[f.engagement for f in his], kind="follow_up").count() == 2


def test_a_bulk_follow_up_leaves_out_bounces_and_other_workspaces_flags(team, two_providers, other_flag):
    vanessa, _max = two_providers
    hers = late(team, vanessa, 2, prefix="Copy")
    bounce = Flag.objects.create(
        workspace=team.workspace, engagement=hers[0].engagement, kind=Flag.Kind.BOUNCED, due_at=timezone.now()
    )
    outcome = bulk.flags_follow_up(
        workspace=team.workspace, flag_ids=[*pks(hers), bounce.pk, other_flag.pk], by=team.alice
    )
    assert outcome.sent == [("Vanessa VA", 2)]
    assert outcome.left_out == 2
    assert [m.to for m in mail.outbox] == [["vanessa@example.net"]]


def test_a_bulk_follow_up_takes_the_same_number_of_queries_for_3_and_30_items(team, two_providers):
    vanessa, _max = two_providers

    def run(flag_ids):
        with CaptureQueriesContext(connection) as queries:
            outcome = bulk.flags_follow_up(workspace=team.workspace, flag_ids=flag_ids, by=team.alice)
        assert outcome.mails == 1
        return len(queries)

    few = run(pks(late(team, vanessa, 3, prefix="Few")))
    many = run(pks(late(team, vanessa, 30, prefix="Many")))
    assert few == many


# --- Services: engagements --------------------------------------------------------------------


def test_a_bulk_status_change_moves_those_the_lifecycle_allows_and_counts_the_rest(team, provider):
    requested = [EngagementFactory(workspace=team.workspace, provider=provider) for _ in range(2)]
    done = EngagementFactory(workspace=team.workspace, provider=provider, status=Engagement.Status.COMPLETED)
    stranger = EngagementFactory(workspace=team.other_workspace)
    outcome = bulk.engagements_set_status(
        workspace=team.workspace,
        engagement_ids=[*pks(requested), done.pk, stranger.pk],
        status=Engagement.Status.IN_PROGRESS,
        by=team.bob,
    )
    assert (outcome.moved, outcome.refused) == (2, 1)
    assert {e.status for e in Engagement.objects.filter(pk__in=pks(requested))} == {"in_progress"}
    assert Engagement.objects.get(pk=done.pk).status == "completed"
    assert Engagement.objects.get(pk=stranger.pk).status == "requested"
    changes = StatusChange.objects.filter(engagement__in=requested)
    assert {(c.from_status, c.to_status, c.changed_by) for c in changes} == {
        ("requested", "in_progress", team.bob)
    }


def test_cancelling_several_engagements_resolves_their_flags_as_closed(team, provider):
    mine = late(team, provider, 2)
    outcome = bulk.engagements_set_status(
        workspace=team.workspace,
        engagement_ids=[f.engagement_id for f in mine],
        status=Engagement.Status.CANCELLED,
        by=team.bob,
    )
    assert outcome.moved == 2
    for flag in map(fresh, mine):
        assert flag.resolution == Flag.Resolution.CLOSED
        assert flag.engagement.closed_at is not None
        assert flag.exchange.next_check_at is None


def test_delivering_several_engagements_records_whether_each_was_on_time(team, provider):
    today = timezone.localdate()
    early = EngagementFactory(
        workspace=team.workspace, provider=provider, status="in_progress", due_on=today + timedelta(days=3)
    )
    overdue = delivery_flagged(team.workspace, provider, "Banner", late_by_days=2)
    Engagement.objects.filter(pk=overdue.engagement_id).update(status="in_progress")
    bulk.engagements_set_status(
        workspace=team.workspace,
        engagement_ids=[early.pk, overdue.engagement_id],
        status="delivered",
        by=team.bob,
    )
    assert Engagement.objects.get(pk=early.pk).delivered_on_time is True
    assert Engagement.objects.get(pk=overdue.engagement_id).delivered_on_time is False
    assert fresh(overdue).resolution == Flag.Resolution.DELIVERED


def test_an_unknown_status_is_refused(team, provider):
    engagement = EngagementFactory(workspace=team.workspace, provider=provider)
    with pytest.raises(ValidationError):
        bulk.engagements_set_status(
            workspace=team.workspace, engagement_ids=[engagement.pk], status="gone", by=None
        )


def test_the_owner_change_reaches_only_the_workspaces_engagements_and_members(team, provider):
    mine = [
        EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice) for _ in range(3)
    ]
    stranger = EngagementFactory(workspace=team.other_workspace)
    n = bulk.engagements_set_owner(
        workspace=team.workspace, engagement_ids=[*pks(mine), stranger.pk], owner=team.bob, by=team.alice
    )
    assert n == 3
    assert {e.owner_id for e in Engagement.objects.filter(pk__in=pks(mine))} == {team.bob.pk}
    assert Engagement.objects.get(pk=stranger.pk).owner_id != team.bob.pk
    with pytest.raises(ValidationError):
        bulk.engagements_set_owner(
            workspace=team.workspace, engagement_ids=pks(mine), owner=team.charlie, by=None
        )


@pytest.mark.parametrize("action", ["status", "owner"])
def test_a_bulk_engagement_action_takes_the_same_number_of_queries_for_3_and_30(team, provider, action):
    def run(n):
        chosen = [
            EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice) for _ in range(n)
        ]
        with CaptureQueriesContext(connection) as queries:
            if action == "status":
                outcome = bulk.engagements_set_status(
                    workspace=team.workspace, engagement_ids=pks(chosen), status="on_hold", by=team.bob
                )
                assert outcome.moved == n
            else:
                assert (
                    bulk.engagements_set_owner(
                        workspace=team.workspace, engagement_ids=pks(chosen), owner=team.bob, by=team.bob
                    )
                    == n
                )
        return len(queries)

    run(2)  # the first run reads the calendars' caches
    assert run(3) == run(30)


# --- Views ------------------------------------------------------------------------------------


def test_a_member_snoozes_two_ticked_flags_until_tomorrow(team, provider):
    mine = late(team, provider, 3)
    response = team.client_for(team.bob).post(
        url("flag_bulk"),
        {"flags": pks(mine[:2]), "action": "snooze", "preset": "tomorrow", "next": url("attention")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url("attention")
    assert [fresh(f).snoozed_until for f in mine] == [local_midnight(1), local_midnight(1), None]
    assert "2 flags snoozed until" in response.content.decode()
    assert [f.engagement.title for f in response.context["snoozed"]] == ["Late 0", "Late 1"]


def test_dismissing_asks_first_and_then_takes_the_reason(team, provider):
    mine = late(team, provider, 2)
    client = team.client_for(team.alice)
    asked = client.post(url("flag_bulk"), {"flags": pks(mine), "action": "dismiss"})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Dismiss these 2 flags?" in page and "Late 0" in page and "Late 1" in page
    assert all(fresh(f).resolved_at is None for f in mine)
    # Confirmed without a reason: asked again, with the error.
    again = client.post(url("flag_bulk"), {"flags": pks(mine), "action": "dismiss", "confirmed": "1"})
    assert again.status_code == 200 and "Say why the flags are dismissed." in again.content.decode()
    done = client.post(
        url("flag_bulk"),
        {"flags": pks(mine), "action": "dismiss", "confirmed": "1", "reason": "Handled by phone"},
        follow=True,
    )
    assert "2 flags dismissed." in done.content.decode()
    assert {fresh(f).reason for f in mine} == {"Handled by phone"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "snooze", "preset": "tomorrow"}, "Select at least one row first."),
        ({"flags": ["x"], "action": "snooze"}, "The selection is not valid"),
        ({"flags": ["1"], "action": "explode"}, "Select a valid choice."),
        ({"flags": ["1"]}, "Choose an action."),
        ({"flags": ["1"], "action": "status", "status": ""}, "Choose a status."),
    ],
    ids=["nothing-selected", "not-an-id", "unknown-action", "no-action", "no-status"],
)
def test_a_bulk_form_with_a_mistake_goes_back_with_the_reason(team, provider, data, error):
    (flag,) = late(team, provider, 1)
    response = team.client_for(team.bob).post(url("flag_bulk"), data, follow=True)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert fresh(flag).snoozed_until is None


def test_another_workspaces_flags_are_ignored(team, other_flag):
    response = team.client_for(team.bob).post(
        url("flag_bulk"), {"flags": [other_flag.pk], "action": "snooze", "preset": "tomorrow"}, follow=True
    )
    assert "None of the selected flags is open any more." in response.content.decode()
    assert fresh(other_flag).snoozed_until is None


def test_an_outsider_gets_a_404_and_a_viewer_a_403(team, provider):
    (flag,) = late(team, provider, 1)
    data = {"flags": [flag.pk], "action": "snooze", "preset": "tomorrow"}
    assert team.client_for(team.charlie).post(url("flag_bulk"), data).status_code == 404
    assert team.client_for(team.vera).post(url("flag_bulk"), data).status_code == 403
    assert team.client_for(team.vera).post(url("engagement_bulk"), {}).status_code == 403
    assert fresh(flag).snoozed_until is None


def test_follow_up_on_all_sends_one_mail_and_says_so(team, two_providers):
    vanessa, _max = two_providers
    hers = late(team, vanessa, 3, prefix="Copy")
    response = team.client_for(team.bob).post(
        url("flag_bulk"), {"flags": pks(hers), "action": "follow_up"}, follow=True
    )
    assert "One follow-up mail sent: Vanessa VA (3 items)." in response.content.decode()
    assert len(mail.outbox) == 1


def test_a_status_change_from_needs_attention_moves_the_flags_engagements(team, provider):
    mine = late(team, provider, 2)
    response = team.client_for(team.bob).post(
        url("flag_bulk"), {"flags": pks(mine), "action": "status", "status": "cancelled"}, follow=True
    )
    assert "2 engagements moved to Cancelled." in response.content.decode()
    assert all(fresh(f).resolution == Flag.Resolution.CLOSED for f in mine)


def test_the_list_changes_the_status_and_the_owner_of_ticked_engagements(team, provider):
    chosen = [
        EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice) for _ in range(3)
    ]
    client = team.client_for(team.bob)
    moved = client.post(
        url("engagement_bulk"),
        {"engagements": pks(chosen[:2]), "action": "status", "status": "in_progress"},
        follow=True,
    )
    assert moved.redirect_chain[-1][0] == url("list")
    assert "2 engagements moved to In progress." in moved.content.decode()
    given = client.post(
        url("engagement_bulk"),
        {
            "engagements": pks(chosen),
            "action": "owner",
            "owner": team.bob.pk,
            "next": url("list") + "?sort=title",
        },
        follow=True,
    )
    assert given.redirect_chain[-1][0] == url("list") + "?sort=title"
    assert "3 engagements now belong to" in given.content.decode()
    assert {e.owner_id for e in Engagement.objects.filter(pk__in=pks(chosen))} == {team.bob.pk}


def test_the_list_refuses_a_move_the_lifecycle_forbids_with_a_message(team, provider):
    done = EngagementFactory(workspace=team.workspace, provider=provider, status="completed")
    response = team.client_for(team.bob).post(
        url("engagement_bulk"), {"engagements": [done.pk], "action": "status", "status": "draft"}, follow=True
    )
    assert "No selected engagement can move to Draft." in response.content.decode()


def test_an_owner_from_another_workspace_is_an_invalid_choice(team, provider):
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    response = team.client_for(team.bob).post(
        url("engagement_bulk"),
        {"engagements": [engagement.pk], "action": "owner", "owner": team.charlie.pk},
        follow=True,
    )
    assert "Select a valid choice." in response.content.decode()
    assert Engagement.objects.get(pk=engagement.pk).owner_id == team.alice.pk


def test_the_list_shows_checkboxes_to_members_and_none_to_viewers(team, provider):
    EngagementFactory(workspace=team.workspace, provider=provider)
    assert 'data-testid="engagement-select"' in team.client_for(team.bob).get(url("list")).content.decode()
    page = team.client_for(team.vera).get(url("list")).content.decode()
    assert 'data-testid="engagement-select"' not in page and 'data-testid="bulk-bar"' not in page


# --- Needs attention grouped by provider ------------------------------------------------------


def test_overdue_flags_are_grouped_under_one_heading_per_provider(team, two_providers):
    vanessa, max_ = two_providers
    late(team, vanessa, 6, prefix="Copy")
    late(team, max_, 2, prefix="Logo")
    response = team.client_for(team.bob).get(url("attention"))
    groups = response.context["overdue_groups"]
    assert [(g.provider.name, len(g.flags)) for g in groups] == [("Vanessa VA", 6), ("Max Design", 2)]
    page = response.content.decode()
    assert page.count('data-testid="provider-heading"') == 2
    assert "Follow up on all 6" in page and "Follow up on all 2" in page
    assert page.count('data-testid="flag-select"') == 8


def test_a_viewer_sees_the_groups_without_checkboxes_or_buttons(team, two_providers):
    vanessa, _max = two_providers
    late(team, vanessa, 2, prefix="Copy")
    page = team.client_for(team.vera).get(url("attention")).content.decode()
    assert 'data-testid="provider-heading"' in page
    assert "Follow up on all" not in page and 'data-testid="flag-select"' not in page


def test_the_grouped_page_takes_the_same_number_of_queries_for_few_and_many_providers(team):
    client = team.client_for(team.bob)
    client.get(url("attention"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("attention")).status_code == 200
        return len(queries)

    first = ProviderFactory(workspace=team.workspace, name="First")
    late(team, first, 3, prefix="First")
    few = count()
    for i in range(10):
        late(team, ProviderFactory(workspace=team.workspace, name=f"P{i}"), 3, prefix=f"P{i}")
    assert count() == few


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("flag_bulk", {"action": "snooze", "preset": "tomorrow"}),
        ("flag_bulk", {"action": "dismiss", "confirmed": "1", "reason": "In hand"}),
        ("flag_bulk", {"action": "status", "status": "on_hold"}),
    ],
    ids=["snooze", "dismiss", "status"],
)
def test_a_bulk_post_takes_as_many_queries_for_30_flags_as_for_3(
    team, provider, django_assert_num_queries, path, data
):
    client = team.client_for(team.bob)
    client.get(url("attention"))  # the session learns the workspace
    late(team, provider, 1, prefix="Warm")  # a first recompute fills the calendars' caches
    client.post(url(path), {**data, "flags": pks(Flag.objects.all())})
    three = pks(late(team, provider, 3, prefix="Few"))
    with CaptureQueriesContext(connection) as few:
        client.post(url(path), {**data, "flags": three})
    many = pks(late(team, provider, 30, prefix="Many"))
    with django_assert_num_queries(len(few)):
        response = client.post(url(path), {**data, "flags": many})
    assert response.status_code == 302


def test_a_bulk_owner_change_from_the_list_takes_as_many_queries_for_30_as_for_3(
    team, provider, django_assert_num_queries
):
    client = team.client_for(team.bob)
    client.get(url("list"))

    def chosen(n: int) -> list[int]:
        return pks(
            EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice) for _ in range(n)
        )

    three = chosen(3)
    with CaptureQueriesContext(connection) as few:
        client.post(url("engagement_bulk"), {"action": "owner", "owner": team.bob.pk, "engagements": three})
    many = chosen(30)
    with django_assert_num_queries(len(few)):
        response = client.post(
            url("engagement_bulk"), {"action": "owner", "owner": team.bob.pk, "engagements": many}
        )
    assert response.status_code == 302
    assert Engagement.objects.filter(pk__in=many, owner=team.bob).count() == 30


@pytest.mark.parametrize(
    ("start", "status"),
    [
        ("in_progress", "on_hold"),
        ("on_hold", "in_progress"),
        ("in_progress", "delivered"),
        ("in_progress", "cancelled"),
        ("cancelled", "draft"),
    ],
)
@time_machine.travel(datetime(2026, 12, 9, 10, 30, tzinfo=zoneinfo.ZoneInfo("UTC")), tick=False)
def test_a_bulk_move_leaves_an_engagement_as_the_single_move_does(team, provider, start, status):
    def twin(title: str) -> Engagement:
        flag = flagged(team.workspace, provider, title, overdue_by=timedelta(days=2), owner=team.alice)
        Engagement.objects.filter(pk=flag.engagement_id).update(
            status=start, due_on=timezone.localdate() + timedelta(days=5)
        )
        return Engagement.objects.select_related("provider").get(pk=flag.engagement_id)

    single, many = twin("One at a time"), twin("In bulk")
    services.engagement_set_status(engagement=single, status=status, by=team.bob)
    bulk.engagements_set_status(
        workspace=team.workspace, engagement_ids=[many.pk], status=status, by=team.bob
    )

    def state(engagement: Engagement) -> dict:
        row = Engagement.objects.get(pk=engagement.pk)
        exchange = row.exchanges.get()
        flag = row.flags.get()
        return {
            "status": row.status,
            "delivery_check_at": row.delivery_check_at,
            "delivered_on_time": row.delivered_on_time,
            "closed": row.closed_at is not None,
            "completed": row.completed_at is not None,
            "reply_due_at": exchange.reply_due_at,
            "next_check_at": exchange.next_check_at,
            "flag": (flag.resolution, flag.resolved_at is not None),
            "changes": list(row.status_changes.values_list("from_status", "to_status", "changed_by")),
        }

    assert state(many) == state(single)


def test_the_list_reads_the_workspaces_members_once(team, provider):
    EngagementFactory(workspace=team.workspace, provider=provider)
    team.bob.first_name = "Bob <&>"
    team.bob.save(update_fields=["first_name"])
    client = team.client_for(team.bob)
    client.get(url("list"))
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(url("list")).content.decode()
    members = [q for q in ctx.captured_queries if 'FROM "outsourcing_user" INNER JOIN' in q["sql"]]
    assert len(members) == 1
    assert page.count(f'<option value="{team.vera.pk}"') == 2  # the filter's owner and the bulk form's
