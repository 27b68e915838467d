"""A mailbox's password goes only where an owner of its workspace sent it.

The server's ``IMAP_PASSWORD_…`` variables are shared by every workspace: a
name carries its workspace's number, and no other workspace's mailbox reads it
(the attack: a sign-up points a mailbox at their own server, names another
workspace's variable and presses "Test connection"). Only owners name a
variable or allow a password to cross the network unencrypted, and the real
Dovecot the tests start shows that otherwise nothing is sent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagements.mail import imap
from engagements.mail.imap_tasks import poll_mailboxes
from engagements.models import InboundMail, Mailbox
from outsourcing.models import Workspace
from tests.engagements.mail.conftest import append, make_mail, make_mailbox
from tests.engagements.mail.test_mailbox_views import form_data, mailbox_in, said, url

pytestmark = pytest.mark.django_db


def variable_of(workspace: Workspace, name: str = "SUPPORT") -> str:
    return f"IMAP_PASSWORD_{workspace.pk}_{name}"


def foreign_variable_error(workspace: Workspace) -> str:
    return (
        f"The password's environment variable must be named IMAP_PASSWORD_{workspace.pk}_… (this "
        "workspace's number, then a name): an owner of the workspace has to change it."
    )


UNENCRYPTED = (
    "Without TLS or STARTTLS the password would cross the network unencrypted. Choose TLS or "
    "STARTTLS, or an owner of the workspace can allow an unencrypted login for this mailbox."
)


@pytest.fixture
def connections(monkeypatch) -> list[str]:
    """The host of every IMAP connection the code under test opens."""
    opened: list[str] = []

    class Recording(imap.PublicIMAPClient):
        def __init__(self, host, *args, **kwargs):
            opened.append(host)
            super().__init__(host, *args, **kwargs)

    monkeypatch.setattr(imap, "PublicIMAPClient", Recording)
    return opened


def logins(dovecot) -> int:
    """How many logins the test server has logged so far, successful or not."""
    log = dovecot.log()
    return log.count("Login: user=<") + log.count("auth failed")


@pytest.fixture
def thief(team, dovecot, imap_folder, monkeypatch) -> Mailbox:
    """Alice's workspace keeps its mailbox password in the server's environment; a mailbox of
    charlie's workspace (saved before variables were bound to workspaces) names that variable and
    points at a server charlie controls: here the test server, where the password would log in."""
    monkeypatch.setenv(variable_of(team.workspace), dovecot.password)
    append(dovecot, imap_folder, make_mail())
    return make_mailbox(
        team.other_workspace,
        dovecot,
        imap_folder,
        name="Mine",
        password="",
        password_env=variable_of(team.workspace),
    )


# --- the attack ---------------------------------------------------------------------------------


def test_another_workspaces_variable_is_never_sent_by_test_connection(team, dovecot, thief, connections):
    before = logins(dovecot)

    response = team.client_for(team.charlie).post(url("mailbox_test", ws="other", pk=thief.pk))

    assert said(response) == [f"“Mine” could not connect: {foreign_variable_error(team.other_workspace)}"]
    assert connections == []
    assert logins(dovecot) == before


def test_another_workspaces_variable_is_never_sent_by_the_poll(team, dovecot, thief, connections):
    before = logins(dovecot)
    Mailbox.objects.filter(pk=thief.pk).update(next_poll_at=timezone.now() - timedelta(minutes=1))

    assert poll_mailboxes() == 1  # the tests run the queued poll inline

    thief.refresh_from_db()
    assert thief.last_error == foreign_variable_error(team.other_workspace)
    assert (thief.lease_until, thief.imported_count) == (None, 0)
    assert connections == []
    assert logins(dovecot) == before
    assert not InboundMail.objects.exists()


def test_the_refusal_is_the_same_whether_or_not_the_variable_exists(team, monkeypatch, connections):
    monkeypatch.setenv(variable_of(team.workspace), "alices-password")
    monkeypatch.setenv("IMAP_PASSWORD_DEMO", "an-old-style-name")
    names = [
        variable_of(team.workspace),  # set, another workspace's
        variable_of(team.workspace, "NOT_SET"),  # not set, another workspace's
        "IMAP_PASSWORD_DEMO",  # set, named before names carried a workspace
        "IMAP_PASSWORD_NOT_SET",  # not set, the same
    ]
    errors = []
    for name in names:
        mailbox = make_mailbox(team.other_workspace, name=name, password="", password_env=name)
        errors.append(imap.mailbox_poll(mailbox).error)
        errors.append(imap.mailbox_test(mailbox)[1])

    assert set(errors) == {foreign_variable_error(team.other_workspace)}
    assert connections == []


def test_no_owner_can_name_another_workspaces_variable(team):
    response = team.client_for(team.charlie).post(
        url("mailbox_create", ws="other"), form_data(password="", password_env=variable_of(team.workspace))
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password_env"] == [
        f"Use a name that starts with IMAP_PASSWORD_{team.other_workspace.pk}_, followed by capital letters, "
        f"digits and underscores (for example IMAP_PASSWORD_{team.other_workspace.pk}_SUPPORT)."
    ]
    assert not Mailbox.objects.exists()


def test_a_mailbox_saved_with_a_name_that_no_longer_fits_fails_safely_until_an_owner_renames_it(
    team, dovecot, imap_folder, monkeypatch, connections
):
    monkeypatch.setenv("IMAP_PASSWORD_SUPPORT", dovecot.password)
    monkeypatch.setenv(variable_of(team.workspace), dovecot.password)
    append(dovecot, imap_folder, make_mail())
    mailbox = make_mailbox(
        team.workspace, dovecot, imap_folder, password="", password_env="IMAP_PASSWORD_SUPPORT"
    )

    assert imap.mailbox_poll(mailbox).error == foreign_variable_error(team.workspace)
    assert connections == []
    page = team.client_for(team.alice).get(url("mailbox_edit", pk=mailbox.pk)).content.decode()
    assert f"starting with IMAP_PASSWORD_{team.workspace.pk}_" in page

    renamed = team.client_for(team.alice).post(
        url("mailbox_edit", pk=mailbox.pk),
        form_data(
            password="",
            password_env=variable_of(team.workspace),
            host=dovecot.host,
            port=dovecot.port,
            username=dovecot.user,
            folder=imap_folder,
            security=Mailbox.Security.NONE,
            allow_unencrypted_login="on",
        ),
    )

    assert renamed.status_code == 302
    mailbox.refresh_from_db()
    result = imap.mailbox_poll(mailbox)
    assert (result.error, result.imported) == ("", 1)


# --- unencrypted logins -------------------------------------------------------------------------


def test_a_password_never_crosses_the_network_unencrypted_unless_an_owner_allowed_it(
    team, dovecot, imap_folder, connections
):
    append(dovecot, imap_folder, make_mail())
    # As every mailbox with security "None" is after the upgrade: not allowed yet.
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, allow_unencrypted_login=False)
    before = logins(dovecot)

    assert imap.mailbox_poll(mailbox).error == UNENCRYPTED
    assert imap.mailbox_test(mailbox) == (None, UNENCRYPTED)
    assert connections == []
    assert logins(dovecot) == before

    Mailbox.objects.filter(pk=mailbox.pk).update(allow_unencrypted_login=True)
    mailbox.refresh_from_db()

    assert imap.mailbox_poll(mailbox).imported == 1


def test_a_mailbox_without_encryption_is_refused_until_an_owner_allows_it(team, manager):
    unencrypted = form_data(security=Mailbox.Security.NONE, port="143", allow_unencrypted_login="on")

    refused = team.client_for(manager).post(url("mailbox_create"), unencrypted)
    unticked = team.client_for(team.alice).post(
        url("mailbox_create"), {**unencrypted, "allow_unencrypted_login": ""}
    )

    for response in (refused, unticked):
        assert response.status_code == 200
        assert response.context["form"].errors["security"] == [UNENCRYPTED]
    assert not Mailbox.objects.exists()

    allowed = team.client_for(team.alice).post(url("mailbox_create"), unencrypted)

    assert allowed.status_code == 302
    assert Mailbox.objects.get().allow_unencrypted_login is True


def test_the_permission_is_dropped_when_the_mailbox_is_encrypted_again(team):
    mailbox = mailbox_in(team.workspace, security=Mailbox.Security.NONE, allow_unencrypted_login=True)

    team.client_for(team.alice).post(
        url("mailbox_edit", pk=mailbox.pk), form_data(password="", allow_unencrypted_login="on")
    )

    mailbox.refresh_from_db()
    assert (mailbox.security, mailbox.allow_unencrypted_login) == (Mailbox.Security.SSL, False)


def test_the_form_warns_what_an_unencrypted_login_means(team):
    page = team.client_for(team.alice).get(url("mailbox_create")).content.decode()

    assert "Warning: with security “None” the user name and password cross the network unencrypted" in page


# --- who decides --------------------------------------------------------------------------------


def test_an_owner_names_the_workspaces_variable_and_allows_an_unencrypted_login(team):
    response = team.client_for(team.alice).post(
        url("mailbox_create"),
        form_data(
            password="",
            password_env=variable_of(team.workspace),
            security=Mailbox.Security.NONE,
            port="143",
            allow_unencrypted_login="on",
        ),
    )

    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.password_env, mailbox.allow_unencrypted_login) == (variable_of(team.workspace), True)


def test_a_manager_cannot_name_a_variable_or_allow_an_unencrypted_login(team, manager):
    client = team.client_for(manager)

    page = client.get(url("mailbox_create"))
    response = client.post(
        url("mailbox_create"),
        form_data(password_env=variable_of(team.workspace), allow_unencrypted_login="on"),
    )

    assert page.context["form"].fields["password_env"].disabled
    assert page.context["form"].fields["allow_unencrypted_login"].disabled
    assert response.status_code == 302  # saved with its stored password; what only owners decide was ignored
    mailbox = Mailbox.objects.get()
    assert (mailbox.password_env, mailbox.allow_unencrypted_login) == ("", False)


def test_a_manager_cannot_send_an_owners_variable_elsewhere(team, manager):
    mailbox = mailbox_in(team.workspace, password=None, password_env=variable_of(team.workspace))
    client = team.client_for(manager)

    response = client.post(
        url("mailbox_edit", pk=mailbox.pk),
        form_data(
            name="Renamed",
            password="",
            password_env=variable_of(team.workspace, "OTHER"),
            host="imap.attacker.example",
            port="1993",
            username="me@attacker.example",
        ),
    )

    assert response.status_code == 302
    mailbox.refresh_from_db()
    # The name is a manager's to change; where the password goes is not.
    assert (mailbox.name, mailbox.host, mailbox.port, mailbox.username, mailbox.password_env) == (
        "Renamed",
        "imap.example.com",
        993,
        "support@example.com",
        variable_of(team.workspace),
    )
    # The service refuses it too, whatever a form sends.
    with pytest.raises(ValidationError) as refused:
        imap.mailbox_save(
            workspace=team.workspace,
            by=team.workspace.memberships.get(user=manager),
            mailbox=mailbox,
            host="imap.attacker.example",
        )
    assert refused.value.message_dict == {"host": ["Only an owner of the workspace can change this."]}


def test_a_manager_still_changes_the_server_of_a_mailbox_with_a_stored_password(team, manager):
    mailbox = mailbox_in(team.workspace)

    response = team.client_for(manager).post(
        url("mailbox_edit", pk=mailbox.pk), form_data(password="", host="mail.example.net")
    )

    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.host == "mail.example.net"


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_name_a_variable(team, who):
    mailbox = mailbox_in(team.workspace)
    client = team.client_for(getattr(team, who))
    naming = form_data(password_env=variable_of(team.workspace), allow_unencrypted_login="on")

    assert client.post(url("mailbox_create"), naming).status_code == 403
    assert client.post(url("mailbox_edit", pk=mailbox.pk), naming).status_code == 403
    mailbox.refresh_from_db()
    assert (mailbox.password_env, mailbox.allow_unencrypted_login) == ("", False)
    assert Mailbox.objects.count() == 1


def test_an_outsider_cannot_name_a_variable_here(team):
    mailbox = mailbox_in(team.workspace)
    naming = form_data(password_env=variable_of(team.workspace), allow_unencrypted_login="on")

    client = team.client_for(team.charlie)

    assert client.post(url("mailbox_create"), naming).status_code == 404
    assert client.post(url("mailbox_edit", pk=mailbox.pk), naming).status_code == 404
    mailbox.refresh_from_db()
    assert mailbox.password_env == ""
