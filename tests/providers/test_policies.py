"""Response policy pages and services: list, create, edit, delete, make default; the provider's policy."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outsourcing.models import Role
from providers import services
from providers.models import Provider, ResponsePolicy
from providers.signals import calendar_changed, policy_changed
from tests.factories import EngagementFactory, MembershipFactory, ProviderFactory

LIST = reverse("providers:policy_list", kwargs={"ws": "acme"})
CREATE = reverse("providers:policy_create", kwargs={"ws": "acme"})


def policy_url(name: str, policy, ws: str = "acme") -> str:
    return reverse(f"providers:{name}", kwargs={"ws": ws, "policy_pk": policy.pk})


def form_data(**overrides):
    data = {
        "name": "Urgent",
        "reply_within": "4",
        "reply_within_unit": "hours",
        "workdays": ["1", "2", "3", "4", "5"],
        "day_start": "08:00",
        "day_end": "18:00",
        "time_zone": "",
        "holiday_country": "",
        "holiday_subdivision": "",
        "followup_wait": "1",
        "followup_wait_unit": "days",
        "followups_before_ghosted": "2",
    }
    data.update(overrides)
    return data


@pytest.fixture
def manager(team):
    return MembershipFactory(workspace=team.workspace, role=Role.MANAGER, user__email="mia@example.com").user


@pytest.fixture
def default(team):
    return services.policy_default(workspace=team.workspace)


@pytest.fixture
def quick(team, default):
    return services.policy_create(workspace=team.workspace, name="Quick", reply_within=1)


@pytest.fixture
def signals_sent():
    """Every calendar_changed / policy_changed sent during the test, as (signal name, kwargs)."""
    sent: list[tuple[str, dict]] = []

    def on_calendar(sender, **kwargs):
        sent.append(("calendar_changed", kwargs))

    def on_policy(sender, **kwargs):
        sent.append(("policy_changed", kwargs))

    calendar_changed.connect(on_calendar)
    policy_changed.connect(on_policy)
    yield sent
    calendar_changed.disconnect(on_calendar)
    policy_changed.disconnect(on_policy)


# --- Access -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "manager", "bob", "vera"])
def test_everyone_in_the_workspace_reads_the_policy_list(team, manager, who):
    user = manager if who == "manager" else getattr(team, who)
    assert team.client_for(user).get(LIST).status_code == 200


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_owners_and_managers_open_the_policy_forms(team, manager, quick, who):
    client = team.client_for(manager if who == "manager" else team.alice)
    assert client.get(CREATE).status_code == 200
    assert client.get(policy_url("policy_edit", quick)).status_code == 200


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_open_the_policy_forms(team, quick, who):
    client = team.client_for(getattr(team, who))
    assert client.get(CREATE).status_code == 403
    assert client.get(policy_url("policy_edit", quick)).status_code == 403


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_change_a_policy(team, default, quick, who):
    client = team.client_for(getattr(team, who))
    assert client.post(CREATE, form_data()).status_code == 403
    assert client.post(policy_url("policy_edit", quick), form_data(name="Hacked")).status_code == 403
    assert client.post(policy_url("policy_delete", quick)).status_code == 403
    assert client.post(policy_url("policy_make_default", quick)).status_code == 403
    assert [(p.name, p.is_default) for p in ResponsePolicy.objects.filter(workspace=team.workspace)] == [
        (default.name, True),
        ("Quick", False),
    ]


def test_an_outsider_gets_404_for_every_policy_page(team, quick):
    client = team.client_for(team.charlie)
    assert client.get(reverse("providers:policy_list", kwargs={"ws": "acme"})).status_code == 404
    assert client.get(CREATE).status_code == 404
    for name in ("policy_edit", "policy_delete", "policy_make_default"):
        assert client.post(policy_url(name, quick), form_data(name="Hacked")).status_code == 404
    quick.refresh_from_db()
    assert (quick.name, quick.is_default) == ("Quick", False)


def test_another_workspaces_policy_is_404_even_for_its_url_in_my_workspace(team, quick):
    theirs = services.policy_create(workspace=team.other_workspace, name="Theirs")
    client = team.client_for(team.alice)
    assert client.get(policy_url("policy_edit", theirs)).status_code == 404
    assert client.post(policy_url("policy_delete", theirs)).status_code == 404
    assert ResponsePolicy.objects.filter(pk=theirs.pk).exists()


def test_an_anonymous_visitor_is_sent_to_log_in(team):
    response = team.client_for(None).get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- List -----------------------------------------------------------------------


def test_the_list_describes_each_rule_in_words(team):
    services.policy_create(
        workspace=team.workspace,
        name="Bavarian mornings",
        reply_within=3,
        reply_within_unit="hours",
        workdays="135",
        day_start=time(8, 0),
        day_end=time(12, 0),
        time_zone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BY",
        followups_before_ghosted=0,
    )
    content = team.client_for(team.vera).get(LIST).content.decode()
    assert "2 business days, Mon–Fri 09:00–17:00, provider&#x27;s time zone and holidays" in content
    assert "follow up after 2 business days; ghosted after 2 unanswered follow-ups" in content
    assert "3 business hours, Mon, Wed, Fri 08:00–12:00, Europe/Berlin, holidays of Germany (BY)" in content
    assert "never marked ghosted" in content
    assert 'data-testid="default-badge"' in content


def test_the_list_counts_who_uses_each_policy(team, quick):
    ProviderFactory.create_batch(2, workspace=team.workspace, response_policy=quick)
    EngagementFactory(workspace=team.workspace, response_policy=quick)
    response = team.client_for(team.bob).get(LIST)
    row = next(r for r in response.context["rows"] if r["policy"] == quick)
    assert [(str(u["label"]), u["count"]) for u in row["usage"]] == [("Providers", 2), ("Engagements", 1)]


def test_members_see_the_list_without_edit_buttons(team, quick):
    content = team.client_for(team.bob).get(LIST).content.decode()
    assert "Quick" in content
    assert policy_url("policy_edit", quick) not in content
    assert policy_url("policy_delete", quick) not in content


def test_deleting_asks_for_confirmation_and_the_default_offers_no_delete(team, default, quick):
    content = team.client_for(team.alice).get(LIST).content.decode()
    assert (
        f'action="{policy_url("policy_delete", quick)}" data-confirm="Delete the response policy' in content
    )
    assert policy_url("policy_delete", default) not in content
    assert policy_url("policy_make_default", default) not in content


def test_the_list_query_count_does_not_grow_with_the_policies(team):
    client = team.client_for(team.alice)
    client.get(LIST)  # the session and the default exist from here on

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(LIST).status_code == 200
        return len(context.captured_queries)

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            policy = services.policy_create(workspace=team.workspace, name=f"Policy {i}")
            ProviderFactory(workspace=team.workspace, response_policy=policy)
            EngagementFactory(workspace=team.workspace, response_policy=policy)

    add(2, 0)
    few = queries()
    add(12, 2)
    assert queries() == few
    assert few <= 10  # 8, and the navigation's two counts


def test_the_list_pages_through_many_policies(team, default):
    for i in range(30):
        services.policy_create(workspace=team.workspace, name=f"Policy {i:02}")
    response = team.client_for(team.alice).get(LIST, {"page": 2})
    assert len(response.context["rows"]) == 6
    assert "Page 2 of 2" in response.content.decode()


def test_the_provider_list_links_to_the_policies(team):
    content = (
        team.client_for(team.vera).get(reverse("providers:list", kwargs={"ws": "acme"})).content.decode()
    )
    assert f'href="{LIST}"' in content


# --- Create and edit ------------------------------------------------------------


def test_a_manager_adds_a_policy_with_every_field(team, manager):
    data = form_data(
        workdays=["1", "3", "5"],
        time_zone="Asia/Manila",
        holiday_country="DE",
        holiday_subdivision="by",
        followups_before_ghosted="3",
    )
    response = team.client_for(manager).post(CREATE, data, follow=True)
    policy = ResponsePolicy.objects.get(workspace=team.workspace, name="Urgent")
    assert response.redirect_chain == [(LIST, 302)]
    assert "The response policy “Urgent” was added." in response.content.decode()
    assert policy.reply_within == 4
    assert policy.reply_within_unit == "hours"
    assert policy.workdays == "135"
    assert (policy.day_start, policy.day_end) == (time(8, 0), time(18, 0))
    assert policy.time_zone == "Asia/Manila"
    assert str(policy.holiday_country) == "DE"
    assert policy.holiday_subdivision == "BY"
    assert (policy.followup_wait, policy.followup_wait_unit, policy.followups_before_ghosted) == (
        1,
        "days",
        3,
    )
    assert policy.is_default is False


def test_the_form_offers_the_providers_zone_and_country_as_the_empty_choice(team):
    content = team.client_for(team.alice).get(CREATE).content.decode()
    assert '<option value="" selected>The provider&#x27;s time zone</option>' in content
    assert '<option value="" selected>The provider&#x27;s country</option>' in content
    assert 'type="time"' in content
    assert 'name="workdays" value="6"' in content


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        (
            {"holiday_country": "DE", "holiday_subdivision": "XX"},
            "holiday_subdivision",
            "Known regions: BB, BE",
        ),
        ({"holiday_subdivision": "BY"}, "holiday_subdivision", "Choose the country of the region"),
        ({"workdays": []}, "workdays", "Choose at least one working day."),
        ({"day_start": "17:00", "day_end": "09:00"}, "day_end", "The working day must end after it starts."),
        ({"reply_within": "0"}, "reply_within", "greater than or equal to 1"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
        ({"name": "quick"}, "name", "A response policy with this name already exists."),
    ],
)
def test_a_mistake_is_shown_on_its_field_and_nothing_typed_is_lost(team, quick, overrides, field, error):
    data = form_data(**{"name": "Typed name", "followups_before_ghosted": "7", **overrides})
    response = team.client_for(team.alice).post(CREATE, data)
    assert response.status_code == 200
    form = response.context["form"]
    assert error in " ".join(form.errors[field])
    content = response.content.decode()
    assert f'value="{data["name"]}"' in content
    assert 'value="7"' in content
    assert ResponsePolicy.objects.filter(workspace=team.workspace).count() == 2


def test_editing_a_policy_keeps_its_working_days_ticked(team, quick):
    quick.workdays = "246"
    quick.save(update_fields=["workdays"])
    form = team.client_for(team.alice).get(policy_url("policy_edit", quick)).context["form"]
    assert form.initial["workdays"] == ["2", "4", "6"]


def test_an_owner_edits_a_policy(team, quick):
    data = form_data(name="Quick", reply_within="2")
    response = team.client_for(team.alice).post(policy_url("policy_edit", quick), data)
    assert response.status_code == 302
    quick.refresh_from_db()
    assert (quick.reply_within, quick.reply_within_unit, quick.day_start) == (2, "hours", time(8, 0))


def test_the_edit_page_says_who_uses_the_policy(team, quick):
    ProviderFactory(workspace=team.workspace, response_policy=quick)
    content = team.client_for(team.alice).get(policy_url("policy_edit", quick)).content.decode()
    assert "Providers: 1 · Engagements: 0" in content


# --- Delete and make default ------------------------------------------------------


def test_deleting_a_policy_leaves_its_providers_on_the_default(team, quick):
    provider = ProviderFactory(workspace=team.workspace, response_policy=quick)
    engagement = EngagementFactory(workspace=team.workspace, response_policy=quick)
    response = team.client_for(team.alice).post(policy_url("policy_delete", quick), follow=True)
    assert "The response policy “Quick” was deleted." in response.content.decode()
    assert not ResponsePolicy.objects.filter(pk=quick.pk).exists()
    provider.refresh_from_db()
    engagement.refresh_from_db()
    assert provider.response_policy is None
    assert engagement.response_policy is None


def test_the_default_cannot_be_deleted(team, default):
    response = team.client_for(team.alice).post(policy_url("policy_delete", default), follow=True)
    assert "The workspace default cannot be deleted." in response.content.decode()
    assert ResponsePolicy.objects.filter(pk=default.pk).exists()


def test_making_a_policy_the_default_swaps_the_badge(team, default, quick):
    response = team.client_for(team.alice).post(policy_url("policy_make_default", quick), follow=True)
    assert "“Quick” is now the workspace default." in response.content.decode()
    assert list(ResponsePolicy.objects.filter(workspace=team.workspace, is_default=True)) == [quick]


def test_making_the_default_the_default_again_changes_nothing(team, default, signals_sent):
    services.policy_make_default(policy=default)
    assert ResponsePolicy.objects.get(workspace=team.workspace, is_default=True) == default
    assert signals_sent == []


def test_only_one_policy_is_ever_the_default(team, default):
    with pytest.raises(ValidationError):
        ResponsePolicy(workspace=team.workspace, name="Another", is_default=True).full_clean()


# --- Signals --------------------------------------------------------------------


def test_a_change_of_the_clock_signals_the_policy_and_a_rename_does_not(team, quick, signals_sent):
    services.policy_update(policy=quick, name="Fast")
    assert signals_sent == []
    services.policy_update(policy=quick, holiday_country="DE", holiday_subdivision="BY")
    assert signals_sent == [("policy_changed", {"signal": policy_changed, "policy": quick})]


def test_deleting_signals_before_the_policy_is_gone(team, quick):
    seen = []

    def on_policy(sender, policy, deleted=False, **kwargs):
        seen.append((deleted, ResponsePolicy.objects.filter(pk=policy.pk).exists()))

    policy_changed.connect(on_policy)
    try:
        services.policy_delete(policy=quick)
    finally:
        policy_changed.disconnect(on_policy)
    assert seen == [(True, True)]


@pytest.mark.parametrize(
    "change", [{"time_zone": "Asia/Manila"}, {"country": "PH"}, {"response_policy": "quick"}]
)
def test_a_provider_change_that_moves_their_calendar_signals_it(team, quick, signals_sent, change):
    provider = ProviderFactory(workspace=team.workspace)
    if "response_policy" in change:
        change = {"response_policy": quick}
    services.provider_update(provider=provider, **change)
    assert [name for name, _ in signals_sent] == ["calendar_changed"]


def test_a_provider_change_that_leaves_their_calendar_alone_signals_nothing(team, signals_sent):
    provider = ProviderFactory(workspace=team.workspace)
    services.provider_update(provider=provider, notes="Prefers chat.", time_zone=provider.time_zone)
    assert signals_sent == []


# --- The provider's policy --------------------------------------------------------


def test_the_provider_form_offers_only_this_workspaces_policies(team, default, quick):
    services.policy_create(workspace=team.other_workspace, name="Theirs")
    response = team.client_for(team.bob).get(reverse("providers:create", kwargs={"ws": "acme"}))
    field = response.context["form"].fields["response_policy"]
    assert [p.name for p in field.queryset] == [default.name, "Quick"]
    assert f"Workspace default ({default.name})" in response.content.decode()


def test_a_member_gives_a_provider_a_policy(team, quick):
    provider = ProviderFactory(workspace=team.workspace, name="Pixel Crew")
    data = {
        "kind": "agency",
        "name": "Pixel Crew",
        "status": "active",
        "time_zone": "Europe/Berlin",
        "rate_unit": "hour",
        "response_policy": quick.pk,
    }
    url = reverse("providers:edit", kwargs={"ws": "acme", "pk": provider.pk})
    assert team.client_for(team.bob).post(url, data).status_code == 302
    provider.refresh_from_db()
    assert provider.response_policy == quick


def test_another_workspaces_policy_cannot_be_chosen(team):
    theirs = services.policy_create(workspace=team.other_workspace, name="Theirs")
    data = {"kind": "agency", "name": "X", "status": "active", "time_zone": "UTC", "rate_unit": "hour"}
    response = team.client_for(team.bob).post(
        reverse("providers:create", kwargs={"ws": "acme"}), {**data, "response_policy": theirs.pk}
    )
    assert response.status_code == 200
    assert "response_policy" in response.context["form"].errors
    assert not Provider.objects.filter(workspace=team.workspace).exists()
    with pytest.raises(ValidationError):
        services.provider_create(workspace=team.workspace, name="X", response_policy=theirs)


def test_the_provider_page_shows_the_workspace_default_in_words(team):
    provider = ProviderFactory(workspace=team.workspace)
    url = reverse("providers:detail", kwargs={"ws": "acme", "pk": provider.pk})
    content = team.client_for(team.vera).get(url).content.decode()
    assert "Standard (2 business days)" in content
    assert "workspace default" in content
    assert "2 business days, Mon–Fri 09:00–17:00, provider&#x27;s time zone and holidays" in content


def test_the_provider_page_shows_the_providers_own_policy(team, quick):
    provider = ProviderFactory(workspace=team.workspace, response_policy=quick)
    url = reverse("providers:detail", kwargs={"ws": "acme", "pk": provider.pk})
    response = team.client_for(team.vera).get(url)
    assert response.context["policy"] == quick
    assert response.context["policy_is_own"] is True
    assert "1 business day, Mon–Fri" in response.content.decode()


# --- The model ----------------------------------------------------------------------


def test_a_region_is_stored_as_the_holidays_package_spells_it(team):
    policy = services.policy_create(
        workspace=team.workspace, name="Augsburg", holiday_country="DE", holiday_subdivision="augsburg"
    )
    assert policy.holiday_subdivision == "Augsburg"


def test_a_region_the_holidays_package_does_not_know_is_refused(team):
    with pytest.raises(ValidationError) as caught:
        services.policy_create(
            workspace=team.workspace, name="Nowhere", holiday_country="DE", holiday_subdivision="Atlantis"
        )
    assert "holiday_subdivision" in caught.value.message_dict
