"""Home, creating workspaces, settings (rename, delete, profile), switcher and language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from engagements.models import Engagement
from outsourcing import services
from outsourcing.access import SESSION_KEY
from outsourcing.models import Invitation, Membership, Role, User, Workspace
from providers.models import Provider
from tests.factories import EngagementFactory, MembershipFactory, UserFactory
from tests.outsourcing.conftest import url

# --- home and new workspaces -------------------------------------------------------------


def test_home_shows_visitors_what_the_product_does_with_sign_up_and_log_in(client, db):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="landing"' in html
    assert "freelancers, virtual assistants and agencies" in html
    assert "Unanswered requests are flagged" in html
    assert "Honest reliability figures" in html
    assert f'href="{reverse("account_signup")}" data-testid="landing-sign-up"' in html
    assert f'href="{reverse("account_login")}" data-testid="landing-log-in"' in html
    # Strict CSP: nothing inline, nothing from elsewhere.
    assert "style=" not in html
    assert "<script>" not in html
    assert "https://" not in html


def test_the_landing_page_speaks_german(client, db):
    response = client.get("/", headers={"accept-language": "de"})
    html = response.content.decode()
    assert "Wissen, wer Ihnen eine Antwort schuldet" in html
    assert "Unbeantwortete Anfragen werden markiert" in html
    assert ">Registrieren<" in html


def test_home_sends_people_logged_in_to_their_workspace_not_the_landing_page(team):
    response = team.client_for(team.alice).get("/")
    assert response.status_code == 302
    assert response["Location"] == url("workspace_home")


def test_the_workspace_opens_on_the_dashboard_until_the_first_run_is_done(team):
    client = team.client_for(team.alice)
    assert client.get(url("workspace_home"))["Location"] == url("reliability:dashboard")
    Membership.objects.filter(user=team.alice).update(first_run_done=True)
    assert client.get(url("workspace_home"))["Location"] == url("engagements:list")


def test_home_opens_the_workspace_used_last(team):
    second = services.workspace_create(name="Second", owner=team.alice)
    client = team.client_for(team.alice)
    assert client.get("/")["Location"] == url("workspace_home")
    client.get(url("members", ws=second.slug))
    assert client.get("/")["Location"] == url("workspace_home", ws=second.slug)


def test_home_without_any_workspace_offers_to_create_one(client, db):
    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="empty-state"' in html
    assert f'action="{reverse("workspace_new")}"' in html
    assert f'action="{reverse("sample_workspace")}"' in html


def test_a_new_workspace_is_owned_by_its_creator(team):
    response = team.client_for(team.bob).post(reverse("workspace_new"), {"name": "  Bob's Agency "})
    workspace = Workspace.objects.get(name="Bob's Agency")
    assert response["Location"] == url("workspace_home", ws=workspace.slug)
    assert Membership.objects.get(workspace=workspace).user == team.bob
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER


def test_a_new_workspace_needs_a_name(team):
    response = team.client_for(team.bob).post(reverse("workspace_new"), {"name": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert Workspace.objects.count() == 2


def test_creating_a_workspace_needs_a_login(client, db):
    assert "/accounts/login/" in client.get(reverse("workspace_new"))["Location"]
    client.post(reverse("workspace_new"), {"name": "X"})
    assert not Workspace.objects.exists()


def test_two_workspaces_with_one_name_get_different_slugs(team):
    first = services.workspace_create(name="Same", owner=team.alice)
    second = services.workspace_create(name="Same", owner=team.alice)
    assert first.slug != second.slug


# --- the switcher -------------------------------------------------------------------------


def test_the_switcher_lists_only_the_users_workspaces(team):
    services.workspace_create(name="Alice Solo", owner=team.alice)
    services.workspace_create(name="Charlie Secret", owner=team.charlie)
    html = team.client_for(team.alice).get(url("members")).content.decode()
    assert url("workspace_home", ws="acme") in html
    assert "Alice Solo" in html
    assert "Charlie Secret" not in html
    assert url("workspace_home", ws="other") not in html


# --- settings: access -----------------------------------------------------------------------


def test_settings_send_visitors_to_log_in(team):
    assert "/accounts/login/" in team.client_for(None).get(url("workspace_settings"))["Location"]


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_every_member_opens_the_settings_page(team, who):
    response = team.client_for(getattr(team, who)).get(url("workspace_settings"))
    assert response.status_code == 200
    assert "<code>acme</code>" in response.content.decode()


def test_an_outsider_gets_a_404_for_the_settings(team):
    assert team.client_for(team.charlie).get(url("workspace_settings")).status_code == 404
    assert (
        team.client_for(team.charlie)
        .post(url("workspace_settings"), {"action": "rename", "name": "Mine"})
        .status_code
        == 404
    )
    assert Workspace.objects.get(slug="acme").name == "Acme Marketing"


def test_only_owners_see_the_delete_form_and_only_managers_rename(team):
    owner = team.client_for(team.alice).get(url("workspace_settings")).content.decode()
    member = team.client_for(team.bob).get(url("workspace_settings")).content.decode()
    assert 'name="delete-confirm_name"' in owner
    assert 'value="rename"' in owner
    assert 'name="delete-confirm_name"' not in member
    assert 'value="rename"' not in member


# --- settings: rename --------------------------------------------------------------------------


def test_a_manager_renames_the_workspace_and_the_slug_stays(team):
    manager = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    response = team.client_for(manager).post(
        url("workspace_settings"), {"action": "rename", "name": "Acme GmbH"}
    )
    assert response.status_code == 302
    team.workspace.refresh_from_db()
    assert (team.workspace.name, team.workspace.slug) == ("Acme GmbH", "acme")


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_rename(team, who):
    response = team.client_for(getattr(team, who)).post(
        url("workspace_settings"), {"action": "rename", "name": "Hijacked"}
    )
    assert response.status_code == 403
    team.workspace.refresh_from_db()
    assert team.workspace.name == "Acme Marketing"


def test_an_empty_name_is_a_form_error(team):
    response = team.client_for(team.alice).post(url("workspace_settings"), {"action": "rename", "name": " "})
    assert response.status_code == 200
    assert response.context["rename_form"].errors["name"]
    assert "Acme Marketing" in response.content.decode()


def test_an_unknown_action_is_a_bad_request(team):
    response = team.client_for(team.alice).post(url("workspace_settings"), {"action": "explode"})
    assert response.status_code == 400


# --- settings: delete -----------------------------------------------------------------------------


def test_an_owner_deletes_the_workspace_with_everything_in_it(team):
    EngagementFactory(workspace=team.workspace)  # an engagement protects its provider
    client = team.client_for(team.alice)
    client.get(url("members"))
    response = client.post(
        url("workspace_settings"), {"action": "delete", "delete-confirm_name": "Acme Marketing"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not Workspace.objects.filter(slug="acme").exists()
    assert not Engagement.objects.exists()
    assert not Provider.objects.exists()
    assert SESSION_KEY not in client.session
    assert Workspace.objects.filter(slug="other").exists()


def test_deleting_needs_the_exact_name_typed(team):
    response = team.client_for(team.alice).post(
        url("workspace_settings"), {"action": "delete", "delete-confirm_name": "acme"}
    )
    assert response.status_code == 200
    assert response.context["delete_form"].errors["confirm_name"]
    assert 'value="acme"' in response.content.decode()
    assert Workspace.objects.filter(slug="acme").exists()


def test_a_manager_cannot_delete_the_workspace(team):
    manager = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    response = team.client_for(manager).post(
        url("workspace_settings"), {"action": "delete", "delete-confirm_name": "Acme Marketing"}
    )
    assert response.status_code == 403
    assert Workspace.objects.filter(slug="acme").exists()


def test_the_delete_service_refuses_non_owners(team):
    with pytest.raises(services.ValidationError):
        services.workspace_delete(workspace=team.workspace, by=team.membership(team.bob))
    with pytest.raises(services.ValidationError):
        other_owner = Membership.objects.get(user=team.charlie)
        services.workspace_delete(workspace=team.workspace, by=other_owner)
    assert Workspace.objects.filter(slug="acme").exists()


# --- settings: profile --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "vera"])
def test_anyone_sets_their_own_name_and_time_zone(team, who):
    user: User = getattr(team, who)
    response = team.client_for(user).post(
        url("workspace_settings"),
        {
            "action": "profile",
            "profile-first_name": "Ann",
            "profile-last_name": "Lee",
            "profile-time_zone": "America/New_York",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.time_zone) == ("Ann", "Lee", "America/New_York")


def test_an_unknown_time_zone_is_a_form_error(team):
    response = team.client_for(team.bob).post(
        url("workspace_settings"),
        {"action": "profile", "profile-first_name": "Bob", "profile-time_zone": "Mars/Base"},
    )
    assert response.status_code == 200
    assert response.context["profile_form"].errors["time_zone"]
    assert 'value="Bob"' in response.content.decode()
    team.bob.refresh_from_db()
    assert team.bob.first_name == ""


def test_the_time_zone_service_rejects_unknown_zones(team):
    with pytest.raises(services.ValidationError):
        services.user_set_profile(user=team.bob, first_name="", last_name="", time_zone="Nowhere/Land")


def test_times_are_shown_in_the_users_zone(team):
    issued = services.invitation_create(
        workspace=team.workspace, email="x@example.com", role=Role.MEMBER, invited_by=team.alice
    )
    Invitation.objects.filter(pk=issued.invitation.pk).update(
        expires_at=datetime(2099, 1, 1, 0, 0, tzinfo=UTC)
    )
    services.user_set_profile(user=team.alice, first_name="", last_name="", time_zone="Asia/Tokyo")
    html = team.client_for(team.alice).get(url("members")).content.decode()
    assert "Jan 1, 2099, 9 a.m." in html


@pytest.mark.parametrize(
    ("choice", "shown"),
    [("en-us", "Jan 1, 2099, 9 a.m."), ("en-gb", "1 Jan 2099, 09:00"), ("de", "1. Jan. 2099, 09:00")],
)
def test_each_person_sees_dates_in_the_format_they_chose(team, choice, shown):
    issued = services.invitation_create(
        workspace=team.workspace, email="x@example.com", role=Role.MEMBER, invited_by=team.alice
    )
    Invitation.objects.filter(pk=issued.invitation.pk).update(
        expires_at=datetime(2099, 1, 1, 0, 0, tzinfo=UTC)
    )
    response = team.client_for(team.alice).post(
        url("workspace_settings"),
        {"action": "profile", "profile-time_zone": "Asia/Tokyo", "profile-date_format": choice},
    )
    assert response.status_code == 302
    team.alice.refresh_from_db()
    assert team.alice.date_format == choice
    page = team.client_for(team.alice).get(url("members"))
    assert shown in page.content.decode()
    # The page itself stays in English.
    assert page["Content-Language"] == "en"


def test_without_a_choice_the_browsers_language_sets_the_date_format(team):
    issued = services.invitation_create(
        workspace=team.workspace, email="x@example.com", role=Role.MEMBER, invited_by=team.alice
    )
    Invitation.objects.filter(pk=issued.invitation.pk).update(
        expires_at=datetime(2099, 1, 1, 0, 0, tzinfo=UTC)
    )
    services.user_set_profile(user=team.alice, first_name="", last_name="", time_zone="Asia/Tokyo")
    client = team.client_for(team.alice)
    assert (
        "1 Jan 2099, 09:00"
        in client.get(url("members"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8").content.decode()
    )


def test_an_unknown_date_format_is_refused(team):
    with pytest.raises(services.ValidationError):
        services.user_set_profile(
            user=team.bob, first_name="", last_name="", time_zone="", date_format="klingon"
        )


# --- language -----------------------------------------------------------------------------------


def test_switching_to_german_answers_in_german(team):
    client = team.client_for(team.bob)
    response = client.post(reverse("set_language"), {"language": "de", "next": url("members")})
    assert response.status_code == 302
    page = client.get(url("members"))
    assert page["Content-Language"] == "de"
    assert '<html lang="de">' in page.content.decode()


def test_anyone_chooses_the_language_of_their_emails(team):
    response = team.client_for(team.vera).post(
        url("workspace_settings"),
        {"action": "profile", "profile-first_name": "Vera", "profile-language": "de"},
    )
    assert response.status_code == 302
    team.vera.refresh_from_db()
    assert team.vera.language == "de"


def test_an_unknown_email_language_is_refused(team):
    response = team.client_for(team.bob).post(
        url("workspace_settings"),
        {"action": "profile", "profile-first_name": "Bob", "profile-language": "xx"},
    )
    assert response.status_code == 200
    assert response.context["profile_form"].errors["language"]
    with pytest.raises(services.ValidationError):
        services.user_set_profile(user=team.bob, first_name="", last_name="", time_zone="", language="xx")
