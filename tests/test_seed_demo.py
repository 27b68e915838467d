"""The demo data command: who it creates, what it logs, and that the derived rows are right."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from engagements import deadlines, demo
from engagements.exchanges import SUMMARY_FIELDS
from engagements.models import Engagement, Exchange, Message, StatusChange
from engagements.services import exchanges_recompute
from outsourcing.models import Membership, Role, User, Workspace
from providers.models import Absence, Document, Provider, ProviderEmail, ProviderSkill
from tests.factories import WorkspaceFactory

FIXED_NOW = datetime(2026, 3, 11, 14, 30, tzinfo=UTC)
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    ws = Workspace.objects.filter(slug=demo.DEMO_SLUG)
    return {
        "workspaces": Workspace.objects.count(),
        "users": User.objects.count(),
        "email_addresses": EmailAddress.objects.count(),
        "memberships": Membership.objects.filter(workspace__in=ws).count(),
        "providers": Provider.objects.filter(workspace__in=ws).count(),
        "provider_emails": ProviderEmail.objects.filter(workspace__in=ws).count(),
        "skills": ProviderSkill.objects.filter(provider__workspace__in=ws).count(),
        "absences": Absence.objects.filter(provider__workspace__in=ws).count(),
        "engagements": Engagement.objects.filter(workspace__in=ws).count(),
        "messages": Message.objects.filter(workspace__in=ws).count(),
        "exchanges": Exchange.objects.filter(workspace__in=ws).count(),
        "status_changes": StatusChange.objects.filter(engagement__workspace__in=ws).count(),
    }


# Every stored column of an exchange: due times, within the policy, the ladder's step and next check.
EXCHANGE_COLUMNS = [f.attname for f in Exchange._meta.concrete_fields if f.name != "id"]


def exchange_rows(engagement: Engagement) -> list[tuple]:
    return list(
        Exchange.objects.filter(engagement=engagement)
        .order_by("request_message_id")
        .values_list(*EXCHANGE_COLUMNS)
    )


def delivery_fields(engagement: Engagement) -> tuple:
    """What the demo stored about the delivery, beside what the deadline rules say of it."""
    stored = (engagement.delivery_check_at, engagement.delivered_on_time)
    expected = (
        deadlines.delivery_deadline(engagement),
        None
        if engagement.delivered_at is None
        else deadlines.delivered_on_time(
            engagement.due_on, engagement.provider.time_zone, engagement.delivered_at
        ),
    )
    return stored, expected


def on_example_domain(host: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)


# Every summary field the services keep, and the due time computed with them.
SUMMARY = (*SUMMARY_FIELDS, "our_answer_due_at")


@pytest.mark.django_db
def test_the_demo_user_can_log_in_with_the_demo_password(client):
    seed()

    assert client.login(email="demo@example.com", password="demo")


@pytest.mark.django_db
def test_the_demo_user_passes_the_login_form_because_their_address_is_verified(client):
    seed()

    response = client.post(reverse("account_login"), {"login": "demo@example.com", "password": "demo"})

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert EmailAddress.objects.filter(email="demo@example.com", verified=True, primary=True).exists()


@pytest.mark.django_db
def test_seed_demo_creates_the_team_with_an_owner_a_manager_a_member_and_a_viewer():
    seed()

    roles = dict(Membership.objects.filter(workspace__slug="demo").values_list("user__email", "role"))
    assert roles == {
        "demo@example.com": Role.OWNER,
        "demo-manager@example.com": Role.MANAGER,
        "demo-member@example.com": Role.MEMBER,
        "demo-viewer@example.com": Role.VIEWER,
    }
    assert Workspace.objects.get(slug="demo").name == "Demo Marketing"
    for email in roles:
        assert User.objects.get(email=email).check_password("demo")


@pytest.mark.django_db
def test_seed_demo_creates_12_providers_and_40_engagements_with_messages():
    output = seed()

    c = counts()
    assert c["providers"] == 12
    assert c["engagements"] == 40
    assert 280 <= c["messages"] <= 500
    assert "12 providers, 40 engagements" in output
    drafts = Engagement.objects.filter(status=Engagement.Status.DRAFT)
    assert not Message.objects.filter(engagement__in=drafts).exists()
    assert not Engagement.objects.exclude(status=Engagement.Status.DRAFT).filter(messages=None).exists()


@pytest.mark.django_db
def test_the_demo_shows_every_kind_of_provider_status_channel_and_direction():
    # A fixed "now": which stories have reached which status depends on the clock.
    demo.seed_demo(now=FIXED_NOW)

    providers = Provider.objects.filter(workspace__slug="demo")
    assert set(providers.values_list("kind", flat=True)) == set(Provider.Kind.values)
    assert Counter(providers.values_list("status", flat=True)) == {"active": 10, "paused": 1, "archived": 1}
    assert len(set(providers.values_list("country", flat=True))) >= 10
    assert len(set(providers.values_list("rate_currency", flat=True))) >= 4
    assert set(Engagement.objects.values_list("status", flat=True)) == set(Engagement.Status.values)
    messages = Message.objects.all()
    assert {"email", "phone", "chat", "platform"} <= set(messages.values_list("channel", flat=True))
    assert set(messages.values_list("direction", flat=True)) == set(Message.Direction.values)
    assert set(messages.values_list("kind", flat=True)) == set(Message.Kind.values)
    assert messages.filter(channel="email").count() > messages.count() / 2
    assert messages.filter(is_auto_reply=True, direction="in").exists()
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_contacts_and_links_use_example_domains_only():
    seed()

    addresses = list(ProviderEmail.objects.values_list("email", flat=True)) + list(
        User.objects.values_list("email", flat=True)
    )
    assert addresses
    assert all(on_example_domain(a.rsplit("@", 1)[1]) for a in addresses)
    links = [p.website for p in Provider.objects.exclude(website="")]
    links += [link for p in Provider.objects.all() for link in p.profile_links]
    assert links
    assert all(on_example_domain(link.split("/")[2]) for link in links)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "moment",
    [
        None,
        # Early on a Monday, late on a Sunday and on a Friday evening in Berlin: the request made
        # one to three days before may fall on a weekend or a night, and must still be in the past.
        datetime(2026, 12, 7, 2, 10, tzinfo=UTC),
        datetime(2026, 12, 6, 22, 30, tzinfo=UTC),
        datetime(2026, 12, 4, 18, 45, tzinfo=UTC),
    ],
)
def test_one_provider_is_away_now_and_another_announced_an_absence(moment):
    with time_machine.travel(moment or timezone.now(), tick=False):
        seed()

        today = timezone.localdate()
        current = Absence.objects.filter(starts_on__lte=today, ends_on__gte=today)
        upcoming = Absence.objects.filter(starts_on__gt=today)
        assert current.count() == 1
        assert upcoming.count() == 1
        # Asked while away: the out-of-office reply is logged, but nobody has answered yet.
        away = current.get()
        assert Message.objects.filter(
            engagement__provider=away.provider,
            engagement__awaiting_reply=True,
            is_auto_reply=True,
            occurred_at__date__gte=away.starts_on,
            occurred_at__lte=timezone.now(),
        ).exists()


@pytest.mark.django_db
def test_every_demo_row_passes_model_validation():
    seed()

    for model in (Provider, ProviderEmail, ProviderSkill, Absence, Engagement, Message, Exchange):
        for row in model.objects.all():
            row.full_clean()


@pytest.mark.django_db
def test_running_it_twice_creates_nothing_new():
    seed()
    before = counts()

    output = seed()

    assert "demo data already present" in output
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("scale", ["1", "3"])
def test_stored_exchanges_and_summaries_equal_what_exchanges_recompute_produces(scale):
    seed("--scale", scale)
    engagements = list(Engagement.objects.all())
    stored = {e.pk: (exchange_rows(e), [getattr(e, f) for f in SUMMARY]) for e in engagements}
    assert sum(len(rows) for rows, _summary in stored.values()) > len(engagements)
    # Some wait for the provider, some for our answer: both halves of the summary are compared.
    assert any(e.awaiting_reply for e in engagements)
    assert any(e.our_answer_due_at for e in engagements)

    for engagement in engagements:
        exchanges_recompute(engagement=engagement)

    for engagement in Engagement.objects.select_related("provider"):
        assert stored[engagement.pk] == (
            exchange_rows(engagement),
            [getattr(engagement, f) for f in SUMMARY],
        ), engagement.title
        stored_delivery, expected_delivery = delivery_fields(engagement)
        assert stored_delivery == expected_delivery, engagement.title


@pytest.mark.django_db
def test_no_message_or_status_change_is_in_the_future():
    seed()
    now = timezone.now()

    assert Message.objects.filter(occurred_at__gt=now).count() == 0
    assert StatusChange.objects.filter(changed_at__gt=now).count() == 0
    assert Engagement.objects.filter(created_at__gt=now).count() == 0
    oldest = Engagement.objects.order_by("created_at").first()
    assert oldest is not None
    assert oldest.created_at > now - timedelta(days=91)
    assert all(m.occurred_at.tzinfo is not None for m in Message.objects.all())


@pytest.mark.django_db
def test_people_write_during_working_hours_in_their_own_time_zone():
    seed()

    inbound = Message.objects.filter(direction="in", is_auto_reply=False).select_related(
        "engagement__provider"
    )
    in_hours = [
        8 <= m.occurred_at.astimezone(ZoneInfo(m.engagement.provider.time_zone)).hour < 19 for m in inbound
    ]
    assert sum(in_hours) >= 0.9 * len(in_hours)
    outbound = Message.objects.filter(direction="out")
    berlin = ZoneInfo("Europe/Berlin")
    assert sum(8 <= m.occurred_at.astimezone(berlin).hour < 19 for m in outbound) >= 0.9 * outbound.count()


@pytest.mark.django_db
def test_the_seed_story_took_15_days_and_one_follow_up_to_answer():
    seed()

    story = Engagement.objects.get(title=demo.STORY_TITLE)  # the title is the story's alone
    first = story.exchanges.order_by("requested_at").first()

    assert story.provider.company == "BrightDesk VA Services"
    assert first is not None
    assert first.replied_at is not None
    assert first.followups == 1
    assert first.replied_at - first.requested_at == timedelta(days=15)
    assert first.reply_seconds == 15 * 24 * 3600
    follow_up = story.messages.get(kind="follow_up", occurred_at__lt=first.replied_at)
    assert (follow_up.occurred_at - first.requested_at).days == 7


@pytest.mark.django_db
def test_status_histories_follow_the_lifecycle_to_the_current_status():
    seed()

    for engagement in Engagement.objects.prefetch_related("status_changes"):
        changes = list(engagement.status_changes.all())
        assert (changes[0].from_status, changes[0].to_status) == ("", Engagement.Status.DRAFT)
        for before, after in itertools.pairwise(changes):
            assert after.from_status == before.to_status
            assert after.to_status in Engagement.TRANSITIONS[before.to_status]
            assert after.changed_at >= before.changed_at
        assert changes[-1].to_status == engagement.status


@pytest.mark.django_db
def test_if_empty_does_nothing_when_a_workspace_exists():
    WorkspaceFactory()

    output = seed("--if-empty")

    assert "not loaded" in output
    assert not Workspace.objects.filter(slug="demo").exists()
    assert not User.objects.filter(email="demo@example.com").exists()


@pytest.mark.django_db
def test_if_empty_seeds_a_fresh_database():
    seed("--if-empty")

    assert Workspace.objects.filter(slug="demo").exists()


@pytest.mark.django_db
def test_scale_3_gives_three_times_the_volume():
    seed()
    single = counts()

    seed("--reset", "--scale", "3")
    triple = counts()

    assert triple["engagements"] == 3 * single["engagements"]
    assert 2.5 * single["messages"] <= triple["messages"] <= 3.5 * single["messages"]
    assert 2.5 * single["exchanges"] <= triple["exchanges"] <= 4 * single["exchanges"]


@pytest.mark.django_db
def test_a_large_scale_adds_generated_providers_with_contacts_and_skills():
    seed("--scale", "35")

    providers = Provider.objects.filter(workspace__slug="demo")
    assert providers.count() == 14
    for provider in providers.prefetch_related("emails", "skills"):
        provider.full_clean()
        assert provider.emails.all()
        assert provider.skills.all()
    assert Engagement.objects.count() == 35 * 40
    assert Engagement.objects.values("provider").distinct().count() == 14


@pytest.mark.django_db
def test_reset_rebuilds_the_demo_without_duplicating_people():
    seed()
    before = counts()
    Engagement.objects.filter(status=Engagement.Status.DRAFT).delete()

    seed("--reset")

    assert counts() == before


@pytest.mark.django_db
def test_the_demo_is_the_same_every_time():
    now = FIXED_NOW

    def snapshot() -> list[tuple]:
        # Sorted in Python: rows may share a minute, and ids differ between the two runs.
        return sorted(
            Engagement.objects.values_list(
                "title", "status", "provider__name", "owner__email", "fee_amount", "due_on", "created_at"
            )
        ) + sorted(
            Message.objects.values_list(
                "engagement__created_at", "occurred_at", "kind", "direction", "subject"
            )
        )

    demo.seed_demo(now=now)
    first = snapshot()
    demo.seed_demo(now=now, reset=True)

    assert snapshot() == first


@pytest.mark.django_db
def test_a_scale_below_one_is_refused():
    with pytest.raises(CommandError):
        seed("--scale", "0")
    assert not Workspace.objects.exists()
