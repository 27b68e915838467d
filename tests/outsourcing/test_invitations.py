"""Invitations: created by managers, e-mailed, used once, expiring, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from outsourcing import services
from outsourcing.models import Invitation, Membership, Role, User
from tests.factories import UserFactory
from tests.outsourcing.conftest import link_in_last_mail, url


@pytest.fixture
def invite(team, django_capture_on_commit_callbacks):
    """Invite an address through the service, sending the mail as a commit would."""

    def _invite(email: str = "newbie@example.com", role: str = Role.MEMBER, by: User | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return services.invitation_create(
                workspace=team.workspace, email=email, role=role, invited_by=by or team.alice
            )

    return _invite


# --- the service ---------------------------------------------------------------


def test_an_invitation_mails_a_link_that_only_works_for_its_token(team, invite):
    issued = invite("NewBie@Example.com ", Role.VIEWER)
    assert issued.invitation.email == "newbie@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["newbie@example.com"]
    assert "Acme Marketing" in message.subject
    assert issued.path in message.body
    assert issued.token not in issued.invitation.token_hash  # only the hash is stored


def test_the_mail_goes_inside_the_transaction_that_saves_the_invitation(
    team, django_capture_on_commit_callbacks
):
    # Saved and mailed as one unit: a refused mail rolls the invitation back (test_mail_headers.py).
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.invitation_create(
            workspace=team.workspace, email="x@example.com", role=Role.MEMBER, invited_by=team.alice
        )
    assert callbacks == []
    assert [m.to for m in mail.outbox] == [["x@example.com"]]


def test_members_and_owners_cannot_be_invited_again_or_as_owner(team):
    with pytest.raises(ValidationError):
        services.invitation_create(
            workspace=team.workspace, email="BOB@example.com", role=Role.MEMBER, invited_by=team.alice
        )
    with pytest.raises(ValidationError):
        services.invitation_create(
            workspace=team.workspace, email="x@example.com", role=Role.OWNER, invited_by=team.alice
        )
    with pytest.raises(ValidationError):
        services.invitation_create(
            workspace=team.workspace, email="x@example.com", role="emperor", invited_by=team.alice
        )


def test_a_new_invitation_replaces_the_open_one_for_the_same_address(team, invite):
    first = invite("x@example.com")
    invite("x@example.com")
    first.invitation.refresh_from_db()
    assert first.invitation.revoked_at is not None


def test_accepting_makes_a_member_with_the_role_and_works_once(team, invite):
    issued = invite(role=Role.MANAGER)
    newbie = UserFactory(email="newbie@example.com", verified=True)
    membership = services.invitation_accept(token=issued.token, user=newbie)
    assert membership.workspace == team.workspace
    assert membership.role == Role.MANAGER
    with pytest.raises(ValidationError):
        services.invitation_accept(token=issued.token, user=newbie)


def test_an_expired_invitation_cannot_be_accepted(team, invite):
    issued = invite()
    newbie = UserFactory(email="newbie@example.com", verified=True)
    with time_machine.travel(timezone.now() + timedelta(days=8)), pytest.raises(ValidationError):
        services.invitation_accept(token=issued.token, user=newbie)
    assert (
        not Membership.objects.filter(workspace=team.workspace, role=Role.MEMBER)
        .exclude(user=team.bob)
        .exists()
    )


def test_a_revoked_invitation_cannot_be_accepted(team, invite):
    issued = invite()
    services.invitation_revoke(invitation=issued.invitation)
    with pytest.raises(ValidationError):
        services.invitation_accept(
            token=issued.token, user=UserFactory(email="newbie@example.com", verified=True)
        )


def test_an_unknown_token_cannot_be_accepted(team):
    with pytest.raises(ValidationError):
        services.invitation_accept(token="made-up", user=UserFactory())


# --- the pages --------------------------------------------------------------------


def test_the_whole_flow_from_the_members_page_to_joining(team, django_capture_on_commit_callbacks):
    carol = team.client_for(team.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = carol.post(url("members"), {"invite-email": "dana@example.com", "invite-role": "viewer"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    path = link_in_last_mail()
    assert path.startswith("/invite/")

    dana = UserFactory(email="dana@example.com", verified=True)
    client = team.client_for(dana)
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme Marketing" in html
    assert "alice@example.com" in html
    assert "Viewer" in html
    assert ">Join<" in html

    joined = client.post(path)
    assert joined.status_code == 302
    assert joined["Location"] == url("workspace_home")
    assert team.membership(dana).role == Role.VIEWER

    again = team.client_for(UserFactory()).post(path)
    assert again.status_code == 410
    assert "already used" in again.content.decode()


def test_an_anonymous_visitor_is_told_to_log_in_or_sign_up_and_come_back(team, invite):
    issued = invite()
    response = team.client_for(None).get(issued.path)
    assert response.status_code == 200
    html = response.content.decode()
    next_param = "next=" + issued.path.replace("/", "%2F")
    assert reverse("account_login") + "?" + next_param in html
    assert reverse("account_signup") + "?" + next_param in html
    assert ">Join<" not in html


def test_an_anonymous_post_is_sent_to_log_in(team, invite):
    issued = invite()
    response = team.client_for(None).post(issued.path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert issued.invitation.is_usable()


def test_signing_up_from_an_invitation_asks_no_workspace_name_and_comes_back_to_join(team, invite, client):
    issued = invite("fresh@example.com")
    invitation_page = client.get(issued.path).content.decode()
    signup_link = reverse("account_signup") + "?next=" + issued.path.replace("/", "%2F")
    assert signup_link + "&amp;email=fresh%40example.com" in invitation_page

    form = client.get(signup_link + "&email=fresh%40example.com").content.decode()
    assert 'name="workspace_name"' not in form
    assert 'value="fresh@example.com"' in form, "the invited address is filled in"
    assert "You are signing up to join <strong>Acme Marketing</strong>" in form
    password = "a-Long-enough-passw0rd"
    response = client.post(
        reverse("account_signup"),
        {
            "first_name": "Fresh",
            "email": "fresh@example.com",
            "password1": password,
            "password2": password,
            "next": issued.path,
        },
    )
    assert response.status_code == 302, response.content.decode()
    fresh = User.objects.get(email="fresh@example.com")
    assert not Membership.objects.filter(user=fresh).exists(), "no workspace of their own"
    confirm_path = link_in_last_mail()
    response = client.post(confirm_path)
    assert response["Location"] == issued.path
    assert client.post(issued.path).status_code == 302
    assert team.membership(fresh).role == Role.MEMBER
    assert list(Membership.objects.filter(user=fresh).values_list("workspace", flat=True)) == [
        team.workspace.pk
    ]
    assert EmailAddress.objects.filter(user=fresh, verified=True).exists()


@pytest.mark.parametrize("link", ["used", "revoked", "unknown", "elsewhere"])
def test_signing_up_without_a_usable_invitation_asks_for_a_workspace_and_makes_it(team, invite, client, link):
    issued = invite("fresh@example.com")
    if link == "used":
        services.invitation_accept(
            token=issued.token, user=UserFactory(email="fresh@example.com", verified=True)
        )
    elif link == "revoked":
        services.invitation_revoke(invitation=issued.invitation)
    next_path = {"unknown": "/invite/not-a-token/", "elsewhere": url("members")}.get(link, issued.path)
    form = client.get(reverse("account_signup") + "?next=" + next_path).content.decode()
    assert 'name="workspace_name"' in form and 'data-testid="signup-invitation"' not in form
    password = "a-Long-enough-passw0rd"
    fields = {
        "first_name": "Later",
        "email": "later@example.com",
        "password1": password,
        "password2": password,
    }
    refused = client.post(reverse("account_signup"), {**fields, "next": next_path})
    assert refused.status_code == 200 and not User.objects.filter(email="later@example.com").exists()
    client.post(reverse("account_signup"), {**fields, "next": next_path, "workspace_name": "Later Ltd"})
    later = User.objects.get(email="later@example.com")
    assert Membership.objects.get(user=later).workspace.name == "Later Ltd"


def test_an_expired_link_shows_a_410_page(team, invite):
    issued = invite()
    client = team.client_for(UserFactory())
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        get = client.get(issued.path)
        post = client.post(issued.path)
    assert get.status_code == 410
    assert post.status_code == 410
    assert "expired" in get.content.decode()


def test_a_revoked_link_shows_a_410_page(team, invite):
    issued = invite()
    team.client_for(team.alice).post(url("invitation_revoke", pk=issued.invitation.pk))
    response = team.client_for(UserFactory()).get(issued.path)
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_an_unknown_link_shows_a_404_page(team):
    response = team.client_for(team.bob).get(reverse("invitation_accept", args=["nope"]))
    assert response.status_code == 404
    assert 'data-testid="invitation-problem"' in response.content.decode()


def test_a_member_opening_an_invitation_sees_they_are_in_already(team, invite):
    issued = invite("someone@example.com")
    html = team.client_for(team.bob).get(issued.path).content.decode()
    assert "already a member" in html
    assert ">Join<" not in html


def test_a_second_account_on_the_link_is_warned_about_the_address(team, invite):
    issued = invite("someone@example.com")
    html = team.client_for(team.charlie).get(issued.path).content.decode()
    assert "charlie@example.com" in html
    assert "someone@example.com" in html


# --- revoking ------------------------------------------------------------------------


def test_a_manager_revokes_an_invitation(team, invite):
    issued = invite()
    response = team.client_for(team.alice).post(url("invitation_revoke", pk=issued.invitation.pk))
    assert response.status_code == 302
    issued.invitation.refresh_from_db()
    assert issued.invitation.revoked_at is not None


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_revoke(team, invite, who):
    issued = invite()
    response = team.client_for(getattr(team, who)).post(url("invitation_revoke", pk=issued.invitation.pk))
    assert response.status_code == 403
    assert Invitation.objects.get(pk=issued.invitation.pk).revoked_at is None


def test_an_outsider_cannot_revoke(team, invite):
    issued = invite()
    response = team.client_for(team.charlie).post(url("invitation_revoke", pk=issued.invitation.pk))
    assert response.status_code == 404
    other = team.client_for(team.charlie).post(url("invitation_revoke", ws="other", pk=issued.invitation.pk))
    assert other.status_code == 404
    assert Invitation.objects.get(pk=issued.invitation.pk).revoked_at is None


def test_an_anonymous_revoke_is_sent_to_log_in(team, invite):
    issued = invite()
    response = team.client_for(None).post(url("invitation_revoke", pk=issued.invitation.pk))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_revoking_by_get_is_not_allowed(team, invite):
    issued = invite()
    assert (
        team.client_for(team.alice).get(url("invitation_revoke", pk=issued.invitation.pk)).status_code == 405
    )


# --- only for the invited address --------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "vera", "charlie"])
def test_a_link_in_the_wrong_hands_joins_nobody(team, invite, who):
    issued = invite("newbie@example.com", Role.MANAGER)
    user = getattr(team, who)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    roles_before = dict(Membership.objects.filter(workspace=team.workspace).values_list("user_id", "role"))

    response = team.client_for(user).post(issued.path)

    assert response.status_code == 403
    assert ">Join<" not in response.content.decode()
    assert dict(Membership.objects.filter(workspace=team.workspace).values_list("user_id", "role")) == (
        roles_before
    )
    issued.invitation.refresh_from_db()
    assert issued.invitation.is_usable()
    with pytest.raises(ValidationError):
        services.invitation_accept(token=issued.token, user=user)
    # The invitee, with the address confirmed (written any way), joins.
    newbie = UserFactory(email="NewBie@Example.com", verified=True)
    assert team.client_for(newbie).post(issued.path).status_code == 302
    assert team.membership(newbie).role == Role.MANAGER


def test_an_invitee_whose_address_is_unconfirmed_confirms_it_then_joins(team, invite):
    issued = invite("newbie@example.com")
    newbie = UserFactory(email="newbie@example.com")  # made by hand: no confirmed address
    client = team.client_for(newbie)

    page = client.get(issued.path)
    assert 'data-testid="invitation-confirm"' in page.content.decode()
    assert ">Join<" not in page.content.decode()
    assert client.post(issued.path).status_code == 403

    mail.outbox.clear()
    sent = client.post(issued.path, {"action": "confirm"})
    assert sent["Location"] == issued.path
    assert [m.to for m in mail.outbox] == [["newbie@example.com"]]
    confirm_path = link_in_last_mail()
    client.get(confirm_path)
    client.post(confirm_path)
    assert EmailAddress.objects.filter(user=newbie, email="newbie@example.com", verified=True).exists()

    assert ">Join<" in client.get(issued.path).content.decode()
    assert client.post(issued.path).status_code == 302
    assert team.membership(newbie).role == Role.MEMBER


def test_someone_else_asking_to_confirm_the_invited_address_gets_no_way_in(team, invite):
    """charlie can ask for a confirmation mail, but it goes to the invitee's mailbox, not his."""
    issued = invite("newbie@example.com")
    client = team.client_for(team.charlie)

    client.post(issued.path, {"action": "confirm"})

    assert [m.to for m in mail.outbox][-1] == ["newbie@example.com"]
    assert client.post(issued.path).status_code == 403
    assert not Membership.objects.filter(workspace=team.workspace, user=team.charlie).exists()


def test_an_address_of_another_account_cannot_be_confirmed_by_this_one(team, invite):
    UserFactory(email="newbie@example.com", verified=True)
    issued = invite("newbie@example.com")
    client = team.client_for(team.charlie)

    page = client.get(issued.path)
    assert 'data-testid="invitation-other-account"' in page.content.decode()
    mail.outbox.clear()
    client.post(issued.path, {"action": "confirm"})

    assert mail.outbox == []
    assert not EmailAddress.objects.filter(user=team.charlie, email="newbie@example.com").exists()
    assert client.post(issued.path).status_code == 403
