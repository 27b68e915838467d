"""The members page: who sees what, inviting, roles, removing, leaving."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outsourcing import services
from outsourcing.models import Invitation, Membership, Role
from tests.factories import MembershipFactory
from tests.outsourcing.conftest import url


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- viewing -----------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_log_in(team):
    response = team.client_for(None).get(url("members"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_every_member_sees_who_is_in_the_workspace(team, who):
    response = team.client_for(getattr(team, who)).get(url("members"))
    assert response.status_code == 200
    html = response.content.decode()
    for email in ("alice@example.com", "bob@example.com", "vera@example.com"):
        assert email in html
    assert "charlie@example.com" not in html


def test_an_outsider_gets_a_404(team):
    assert team.client_for(team.charlie).get(url("members")).status_code == 404


def test_owners_are_listed_first(team):
    response = team.client_for(team.vera).get(url("members"))
    roles = [row.membership.role for row in response.context["rows"]]
    assert roles == [Role.OWNER, Role.MEMBER, Role.VIEWER]


def test_only_managers_see_the_invite_form_and_pending_invitations(team):
    services.invitation_create(
        workspace=team.workspace, email="pending@example.com", role=Role.MEMBER, invited_by=team.alice
    )
    owner_html = team.client_for(team.alice).get(url("members")).content.decode()
    member_html = team.client_for(team.bob).get(url("members")).content.decode()
    assert "pending@example.com" in owner_html
    assert 'name="invite-email"' in owner_html
    assert "pending@example.com" not in member_html
    assert 'name="invite-email"' not in member_html
    assert url("member_role", pk=team.membership(team.bob).pk) not in member_html


def test_members_see_only_their_own_leave_button(team):
    html = team.client_for(team.bob).get(url("members")).content.decode()
    assert url("member_remove", pk=team.membership(team.bob).pk) in html
    assert url("member_remove", pk=team.membership(team.vera).pk) not in html


def test_the_empty_invitation_state_is_explained(team):
    html = team.client_for(team.alice).get(url("members")).content.decode()
    assert 'data-testid="no-invitations"' in html


def test_the_page_runs_the_same_number_of_queries_for_3_and_20_members(team):
    client = team.client_for(team.alice)
    client.get(url("members"))  # the first visit also stores the workspace in the session

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("members")).status_code == 200
        return len(queries)

    for n in range(2):
        services.invitation_create(
            workspace=team.workspace, email=f"i{n}@example.com", role=Role.MEMBER, invited_by=team.bob
        )
    few = count()
    MembershipFactory.create_batch(17, workspace=team.workspace)
    for n in range(2, 20):
        services.invitation_create(
            workspace=team.workspace, email=f"i{n}@example.com", role=Role.MEMBER, invited_by=team.bob
        )
    assert Membership.objects.filter(workspace=team.workspace).count() == 20
    assert count() == few


def test_the_list_is_paged_by_25(team):
    MembershipFactory.create_batch(30, workspace=team.workspace)
    client = team.client_for(team.alice)
    assert len(client.get(url("members")).context["rows"]) == 25
    assert len(client.get(url("members"), {"page": "2"}).context["rows"]) == 8
    assert client.get(url("members"), {"page": "nonsense"}).status_code == 200


# --- inviting ----------------------------------------------------------------------------


def test_an_owner_invites_someone(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client_for(team.alice).post(
            url("members"), {"invite-email": "new@example.com", "invite-role": "manager"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="new@example.com")
    assert (invitation.role, invitation.invited_by) == (Role.MANAGER, team.alice)
    assert mail.outbox[0].to == ["new@example.com"]


def test_a_manager_invites_someone(team):
    manager = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    response = team.client_for(manager).post(
        url("members"), {"invite-email": "new@example.com", "invite-role": "viewer"}
    )
    assert response.status_code == 302
    assert Invitation.objects.filter(workspace=team.workspace, email="new@example.com").exists()


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_invite(team, who):
    response = team.client_for(getattr(team, who)).post(
        url("members"), {"invite-email": "new@example.com", "invite-role": "member"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_an_outsider_cannot_invite(team):
    response = team.client_for(team.charlie).post(
        url("members"), {"invite-email": "new@example.com", "invite-role": "member"}
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_a_bad_invitation_shows_errors_and_keeps_the_input(team):
    client = team.client_for(team.alice)
    bad = client.post(url("members"), {"invite-email": "not-an-address", "invite-role": "member"})
    assert bad.status_code == 200
    assert 'value="not-an-address"' in bad.content.decode()
    assert "is-invalid" in bad.content.decode()
    owner = client.post(url("members"), {"invite-email": "x@example.com", "invite-role": "owner"})
    assert owner.status_code == 200
    assert owner.context["invite_form"].errors["role"]
    existing = client.post(url("members"), {"invite-email": "bob@example.com", "invite-role": "member"})
    assert existing.status_code == 200
    assert "already a member" in existing.content.decode()
    assert not Invitation.objects.exists()


# --- roles ------------------------------------------------------------------------------------


def test_an_owner_changes_a_role(team):
    bob = team.membership(team.bob)
    response = team.client_for(team.alice).post(url("member_role", pk=bob.pk), {"role": "manager"})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.role == Role.MANAGER


def test_an_owner_makes_someone_else_owner_and_then_steps_down(team):
    client = team.client_for(team.alice)
    client.post(url("member_role", pk=team.membership(team.bob).pk), {"role": "owner"})
    client.post(url("member_role", pk=team.membership(team.alice).pk), {"role": "member"})
    assert team.membership(team.bob).role == Role.OWNER
    assert team.membership(team.alice).role == Role.MEMBER


def test_the_last_owner_cannot_be_demoted(team):
    alice = team.membership(team.alice)
    response = team.client_for(team.alice).post(url("member_role", pk=alice.pk), {"role": "manager"})
    assert response.status_code == 302
    assert "A workspace needs at least one owner." in messages_of(response)
    assert team.membership(team.alice).role == Role.OWNER


def test_a_manager_cannot_touch_ownership(team):
    manager = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    client = team.client_for(manager)
    client.post(url("member_role", pk=team.membership(team.bob).pk), {"role": "owner"})
    response = client.post(url("member_role", pk=team.membership(team.alice).pk), {"role": "viewer"})
    assert "Only an owner can change who owns the workspace." in messages_of(response)
    assert team.membership(team.bob).role == Role.MEMBER
    assert team.membership(team.alice).role == Role.OWNER


def test_a_manager_changes_a_members_role(team):
    manager = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    team.client_for(manager).post(url("member_role", pk=team.membership(team.vera).pk), {"role": "member"})
    assert team.membership(team.vera).role == Role.MEMBER


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_change_roles(team, who):
    response = team.client_for(getattr(team, who)).post(
        url("member_role", pk=team.membership(team.vera).pk), {"role": "manager"}
    )
    assert response.status_code == 403
    assert team.membership(team.vera).role == Role.VIEWER


def test_an_outsider_cannot_change_roles(team):
    client = team.client_for(team.charlie)
    pk = team.membership(team.bob).pk
    assert client.post(url("member_role", pk=pk), {"role": "viewer"}).status_code == 404
    # Nor through their own workspace's address with this workspace's member id.
    assert client.post(url("member_role", ws="other", pk=pk), {"role": "viewer"}).status_code == 404
    assert team.membership(team.bob).role == Role.MEMBER


def test_an_unknown_role_is_an_error_message(team):
    response = team.client_for(team.alice).post(
        url("member_role", pk=team.membership(team.bob).pk), {"role": "emperor"}
    )
    assert response.status_code == 302
    assert messages_of(response) == ["Choose a role."]
    assert team.membership(team.bob).role == Role.MEMBER


def test_an_anonymous_role_change_is_sent_to_log_in(team):
    response = team.client_for(None).post(
        url("member_role", pk=team.membership(team.bob).pk), {"role": "viewer"}
    )
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- removing and leaving ---------------------------------------------------------------------


def test_an_owner_removes_a_member(team):
    response = team.client_for(team.alice).post(url("member_remove", pk=team.membership(team.bob).pk))
    assert response.status_code == 302
    assert not Membership.objects.filter(workspace=team.workspace, user=team.bob).exists()


def test_the_last_owner_cannot_be_removed_nor_leave(team):
    pk = team.membership(team.alice).pk
    response = team.client_for(team.alice).post(url("member_remove", pk=pk))
    assert response.status_code == 302
    assert "A workspace needs at least one owner." in messages_of(response)
    assert Membership.objects.filter(pk=pk).exists()


def test_a_manager_cannot_remove_an_owner(team):
    manager = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    MembershipFactory(workspace=team.workspace, role=Role.OWNER)
    response = team.client_for(manager).post(url("member_remove", pk=team.membership(team.alice).pk))
    assert "Only an owner can remove an owner." in messages_of(response)
    assert Membership.objects.filter(workspace=team.workspace, user=team.alice).exists()


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_remove_others(team, who):
    target = team.membership(team.vera if who == "bob" else team.bob)
    response = team.client_for(getattr(team, who)).post(url("member_remove", pk=target.pk))
    assert response.status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_anyone_may_leave_and_lands_home(team, who):
    user = getattr(team, who)
    response = team.client_for(user).post(url("member_remove", pk=team.membership(user).pk))
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not Membership.objects.filter(workspace=team.workspace, user=user).exists()


def test_an_outsider_cannot_remove_anyone(team):
    pk = team.membership(team.bob).pk
    client = team.client_for(team.charlie)
    assert client.post(url("member_remove", pk=pk)).status_code == 404
    assert client.post(url("member_remove", ws="other", pk=pk)).status_code == 404
    assert Membership.objects.filter(pk=pk).exists()


def test_an_anonymous_removal_is_sent_to_log_in(team):
    response = team.client_for(None).post(url("member_remove", pk=team.membership(team.bob).pk))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- the rules, on the services directly ------------------------------------------------------


def test_the_service_refuses_role_changes_by_a_plain_member(team):
    with pytest.raises(services.ValidationError):
        services.membership_set_role(
            membership=team.membership(team.vera), role=Role.MEMBER, by=team.membership(team.bob)
        )


def test_the_service_refuses_removals_by_a_plain_member_but_lets_them_leave(team):
    bob = team.membership(team.bob)
    with pytest.raises(services.ValidationError):
        services.membership_remove(membership=team.membership(team.vera), by=bob)
    services.membership_remove(membership=bob, by=bob)
    assert not Membership.objects.filter(pk=bob.pk).exists()


def test_the_service_refuses_removing_the_last_owner(team):
    alice = team.membership(team.alice)
    with pytest.raises(services.ValidationError):
        services.membership_remove(membership=alice, by=alice)
