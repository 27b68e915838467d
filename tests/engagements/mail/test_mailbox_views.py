"""The mailbox pages: managers only, a write-only password, a confirmed delete, test and poll buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagements.models import InboundMail, Mailbox
from tests.engagements.mail.conftest import append, make_mail, make_mailbox
from tests.realparts import free_port

pytestmark = pytest.mark.django_db

SECRET = "pa55-w0rd-never-shown"


def url(name: str, ws: str = "acme", **kwargs: object) -> str:
    return reverse(f"mail:{name}", kwargs={"ws": ws, **kwargs})


def mailbox_in(workspace, **fields) -> Mailbox:
    values = {
        "name": "Support",
        "host": "imap.example.com",
        "port": 993,
        "username": "support@example.com",
        "password": SECRET,
        **fields,
    }
    return Mailbox.objects.create(workspace=workspace, **values)


def form_data(**overrides) -> dict[str, object]:
    data = {
        "name": "Support",
        "host": "imap.example.com",
        "port": "993",
        "security": Mailbox.Security.SSL,
        "username": "support@example.com",
        "password": SECRET,
        "password_env": "",
        "folder": "INBOX",
        "is_active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def mailbox(team) -> Mailbox:
    return mailbox_in(team.workspace)


# --- access ---------------------------------------------------------------------------------


def test_visitors_are_sent_to_log_in(team):
    assert "/accounts/login/" in team.client_for(None).get(url("mailboxes"))["Location"]


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_owners_and_managers_manage_mailboxes(team, manager, mailbox, who):
    client = team.client_for(manager if who == "manager" else team.alice)
    assert client.get(url("mailboxes")).status_code == 200
    assert client.get(url("mailbox_create")).status_code == 200
    assert client.get(url("mailbox_edit", pk=mailbox.pk)).status_code == 200
    assert client.get(url("mailbox_delete", pk=mailbox.pk)).status_code == 200


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_get_a_403_on_every_mailbox_page(team, mailbox, who):
    client = team.client_for(getattr(team, who))
    assert client.get(url("mailboxes")).status_code == 403
    assert client.get(url("mailbox_create")).status_code == 403
    assert client.post(url("mailbox_create"), form_data(name="Mine")).status_code == 403
    assert client.get(url("mailbox_edit", pk=mailbox.pk)).status_code == 403
    assert client.post(url("mailbox_edit", pk=mailbox.pk), form_data(host="evil.example")).status_code == 403
    assert client.post(url("mailbox_delete", pk=mailbox.pk)).status_code == 403
    assert client.post(url("mailbox_test", pk=mailbox.pk)).status_code == 403
    assert client.post(url("mailbox_poll", pk=mailbox.pk)).status_code == 403
    assert list(Mailbox.objects.values_list("name", "host")) == [("Support", "imap.example.com")]


def test_an_outsider_gets_a_404_on_every_mailbox_page(team, mailbox):
    client = team.client_for(team.charlie)
    assert client.get(url("mailboxes")).status_code == 404
    assert client.get(url("mailbox_create")).status_code == 404
    assert client.get(url("mailbox_edit", pk=mailbox.pk)).status_code == 404
    assert client.post(url("mailbox_edit", pk=mailbox.pk), form_data(host="evil.example")).status_code == 404
    assert client.get(url("mailbox_delete", pk=mailbox.pk)).status_code == 404
    assert client.post(url("mailbox_delete", pk=mailbox.pk)).status_code == 404
    assert client.post(url("mailbox_test", pk=mailbox.pk)).status_code == 404
    assert client.post(url("mailbox_poll", pk=mailbox.pk)).status_code == 404
    assert Mailbox.objects.get().host == "imap.example.com"


def test_another_workspaces_mailbox_is_a_404_even_for_its_owner_here(team, mailbox):
    client = team.client_for(team.charlie)
    assert client.get(url("mailbox_edit", ws="other", pk=mailbox.pk)).status_code == 404
    assert client.post(url("mailbox_delete", ws="other", pk=mailbox.pk)).status_code == 404
    assert client.post(url("mailbox_test", ws="other", pk=mailbox.pk)).status_code == 404
    assert client.post(url("mailbox_poll", ws="other", pk=mailbox.pk)).status_code == 404
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_an_empty_state_with_a_way_to_add_one(team):
    response = team.client_for(team.alice).get(url("mailboxes"))
    assert b'data-testid="empty-state"' in response.content
    assert url("mailbox_create").encode() in response.content


def test_the_list_shows_each_mailboxs_state(team):
    mailbox_in(
        team.workspace,
        name="Orders",
        last_polled_at=timezone.now(),
        imported_count=42,
        last_error="The server refused the login: Authentication failed.",
    )
    mailbox_in(team.workspace, name="Paused", is_active=False)

    response = team.client_for(team.alice).get(url("mailboxes"))

    html = response.content.decode()
    assert "Orders" in html and "Paused" in html
    assert "The server refused the login: Authentication failed." in html
    assert ">42<" in html
    assert "Not yet" in html  # the paused one was never polled
    assert ">Off<" in html and ">On<" in html
    assert SECRET not in html


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("mailboxes")).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_query_count_does_not_grow_with_the_rows(team):
    client = team.client_for(team.alice)
    _list_queries(client)  # the first visit also stores the workspace in the session
    for n in range(2):
        mailbox_in(team.workspace, name=f"Box {n}")
    two = _list_queries(client)
    for n in range(2, 12):
        mailbox_in(team.workspace, name=f"Box {n}", last_polled_at=timezone.now(), last_error="Timeout")
    assert _list_queries(client) == two


# --- adding and editing ---------------------------------------------------------------------


def test_a_manager_adds_a_mailbox_whose_password_is_kept_encrypted(team, manager):
    response = team.client_for(manager).post(url("mailbox_create"), form_data())

    assert response.status_code == 302
    mailbox = Mailbox.objects.get(workspace=team.workspace)
    assert (mailbox.name, mailbox.host, mailbox.port, mailbox.folder) == (
        "Support",
        "imap.example.com",
        993,
        "INBOX",
    )
    assert mailbox.password == SECRET
    assert mailbox.is_active and not mailbox.delete_after_import
    assert mailbox.next_poll_at <= timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT password FROM {Mailbox._meta.db_table} WHERE id = %s", [mailbox.pk])
        assert SECRET not in cursor.fetchone()[0]


def test_a_mailbox_needs_a_password_or_an_environment_variable(team):
    response = team.client_for(team.alice).post(url("mailbox_create"), form_data(password=""))

    assert response.status_code == 200
    assert "Enter the password, or the environment variable that holds it." in response.content.decode()
    assert not Mailbox.objects.exists()


def test_a_password_from_an_environment_variable_needs_no_stored_one(team):
    variable = f"IMAP_PASSWORD_{team.workspace.pk}_SUPPORT"

    response = team.client_for(team.alice).post(
        url("mailbox_create"), form_data(password="", password_env=variable)
    )

    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.password, mailbox.password_env) == (None, variable)


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "IMAP_PASSWORD_SUPPORT", "IMAP_PASSWORD_{pk}_", "IMAP_PASSWORD_{pk}_x"]
)
def test_only_environment_variables_named_for_the_workspaces_mailbox_passwords_are_accepted(team, name):
    response = team.client_for(team.alice).post(
        url("mailbox_create"), form_data(password="", password_env=name.format(pk=team.workspace.pk))
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password_env"] == [
        f"Use a name that starts with IMAP_PASSWORD_{team.workspace.pk}_, followed by capital letters, "
        f"digits and underscores (for example IMAP_PASSWORD_{team.workspace.pk}_SUPPORT)."
    ]
    assert not Mailbox.objects.exists()


def test_two_mailboxes_of_a_workspace_cannot_share_a_name(team, mailbox):
    response = team.client_for(team.alice).post(url("mailbox_create"), form_data(name="Support"))

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A mailbox with this name already exists."]
    assert Mailbox.objects.count() == 1


def test_the_same_name_is_fine_in_another_workspace(team, mailbox):
    response = team.client_for(team.charlie).post(url("mailbox_create", ws="other"), form_data())

    assert response.status_code == 302
    assert Mailbox.objects.filter(workspace=team.other_workspace, name="Support").exists()


def test_a_port_out_of_range_is_a_form_error_not_a_500(team):
    response = team.client_for(team.alice).post(url("mailbox_create"), form_data(port="70000"))

    assert response.status_code == 200
    assert response.context["form"].errors["port"]


@pytest.mark.parametrize(
    "host", ["10.0.0.5", "127.0.0.1", "[::1]", "64:ff9b::7f00:1", "::ffff:0:7f00:1", "[::7f00:1]", "fec0::1"]
)
def test_a_private_address_as_host_is_a_form_error_and_keeps_what_was_typed(team, settings, host):
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = False

    response = team.client_for(team.alice).post(url("mailbox_create"), form_data(host=host, name="Office"))

    assert response.status_code == 200
    assert "is on a private network" in response.context["form"].errors["host"][0]
    assert response.context["form"]["name"].value() == "Office"
    assert not Mailbox.objects.filter(workspace=team.workspace).exists()


def test_a_private_address_is_accepted_where_the_operator_allows_it(team, settings):
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = True

    response = team.client_for(team.alice).post(url("mailbox_create"), form_data(host="192.168.1.20"))

    assert response.status_code == 302
    assert Mailbox.objects.get(workspace=team.workspace).host == "192.168.1.20"


def test_the_stored_password_is_never_rendered_back(team, mailbox):
    client = team.client_for(team.alice)

    edit = client.get(url("mailbox_edit", pk=mailbox.pk)).content.decode()
    invalid = client.post(url("mailbox_edit", pk=mailbox.pk), form_data(host="")).content.decode()
    typed = client.post(url("mailbox_create"), form_data(name="", password="typed-just-now")).content.decode()

    assert SECRET not in edit and SECRET not in invalid
    assert "typed-just-now" not in typed
    assert 'name="password"' in edit
    assert "Leave empty to keep the stored password." in edit


def test_the_edit_form_shows_the_stored_settings(team):
    mailbox = mailbox_in(team.workspace, port=1143, security=Mailbox.Security.STARTTLS, folder="Providers")

    form = team.client_for(team.alice).get(url("mailbox_edit", pk=mailbox.pk)).context["form"]

    assert form["port"].value() == 1143
    assert form["security"].value() == Mailbox.Security.STARTTLS
    assert form["folder"].value() == "Providers"
    assert form["password"].value() is None


def test_a_blank_password_on_edit_keeps_the_stored_one(team, mailbox):
    response = team.client_for(team.alice).post(
        url("mailbox_edit", pk=mailbox.pk), form_data(password="", host="mail.example.com")
    )

    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.host, mailbox.password) == ("mail.example.com", SECRET)


def test_a_new_password_on_edit_replaces_the_stored_one(team, mailbox):
    team.client_for(team.alice).post(url("mailbox_edit", pk=mailbox.pk), form_data(password="new-one"))

    mailbox.refresh_from_db()
    assert mailbox.password == "new-one"


def test_pointing_a_mailbox_at_another_folder_starts_reading_it_from_the_beginning(team, mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=7, last_uid=120, imported_count=120)
    client = team.client_for(team.alice)

    client.post(url("mailbox_edit", pk=mailbox.pk), form_data(password="", is_active=None))
    mailbox.refresh_from_db()
    assert (mailbox.uidvalidity, mailbox.last_uid, mailbox.is_active) == (7, 120, False)

    client.post(url("mailbox_edit", pk=mailbox.pk), form_data(password="", folder="Providers"))
    mailbox.refresh_from_db()
    assert (mailbox.uidvalidity, mailbox.last_uid, mailbox.imported_count) == (None, 0, 120)
    assert mailbox.folder == "Providers"


# --- deleting -------------------------------------------------------------------------------


def test_delete_asks_for_confirmation_first(team, mailbox):
    client = team.client_for(team.alice)

    page = client.get(url("mailbox_delete", pk=mailbox.pk))

    assert page.status_code == 200
    assert b'data-testid="confirm-delete"' in page.content
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()

    done = client.post(url("mailbox_delete", pk=mailbox.pk))

    assert done["Location"] == url("mailboxes")
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert said(done) == ["The mailbox “Support” was deleted."]


# --- test connection and poll now -----------------------------------------------------------


def test_test_connection_reports_the_folders_message_count(team, dovecot, imap_folder):
    append(dovecot, imap_folder, make_mail(), make_mail())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, name="Support")

    response = team.client_for(team.alice).post(url("mailbox_test", pk=mailbox.pk))

    assert response["Location"] == url("mailboxes")
    assert said(response) == [f"“Support” connected: the folder {imap_folder} holds 2 messages."]
    # Only a look: nothing imported, nothing recorded.
    assert not InboundMail.objects.exists()
    mailbox.refresh_from_db()
    assert (mailbox.last_polled_at, mailbox.last_uid) == (None, 0)


def test_test_connection_reports_what_went_wrong(team, dovecot):
    mailbox = make_mailbox(team.workspace, dovecot, name="Support", password="wrong")

    response = team.client_for(team.alice).post(url("mailbox_test", pk=mailbox.pk))

    [text] = said(response)
    assert text.startswith("“Support” could not connect: The server refused the login:")


def test_test_connection_to_a_closed_port_is_a_message_not_a_500(team):
    mailbox = mailbox_in(team.workspace, host="127.0.0.1", port=free_port())

    response = team.client_for(team.alice).post(
        url("mailbox_test", pk=mailbox.pk), {"next": url("mailbox_edit", pk=mailbox.pk)}
    )

    assert response["Location"] == url("mailbox_edit", pk=mailbox.pk)
    assert said(response) == [
        f"“Support” could not connect: The server refused the connection on port {mailbox.port}."
    ]


def test_test_connection_is_rate_limited_per_person(team, settings, manager):
    settings.RATE_LIMITS = {"mailbox_test_user": "2/h"}
    mailbox = mailbox_in(team.workspace, host="127.0.0.1", port=free_port())
    client = team.client_for(team.alice)
    for _n in range(2):
        assert "could not connect" in said(client.post(url("mailbox_test", pk=mailbox.pk)))[0]

    refused = client.post(url("mailbox_test", pk=mailbox.pk))

    assert refused.status_code == 302
    assert (
        said(refused)[-1] == "Too many connection tests in a short time. Please try again in a few minutes."
    )
    # Another manager of the workspace is counted apart.
    assert "could not connect" in said(team.client_for(manager).post(url("mailbox_test", pk=mailbox.pk)))[0]


def test_test_connection_is_rate_limited_per_workspace(team, settings, manager):
    settings.RATE_LIMITS = {"mailbox_test_workspace": "2/h"}
    mailbox = mailbox_in(team.workspace, host="127.0.0.1", port=free_port())
    team.client_for(team.alice).post(url("mailbox_test", pk=mailbox.pk))
    team.client_for(manager).post(url("mailbox_test", pk=mailbox.pk))

    refused = team.client_for(team.alice).post(url("mailbox_test", pk=mailbox.pk))

    assert (
        said(refused)[-1] == "Too many connection tests in a short time. Please try again in a few minutes."
    )


def test_poll_now_is_rate_limited_per_workspace(team, settings, mailbox, django_capture_on_commit_callbacks):
    settings.RATE_LIMITS = {"mailbox_poll_workspace": "1/h"}
    client = team.client_for(team.alice)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(url("mailbox_poll", pk=mailbox.pk))
        refused = client.post(url("mailbox_poll", pk=mailbox.pk))
    assert len(queued) == 1
    assert said(refused)[-1] == "Too many polls were asked for in a short time. Please try again later."


def test_poll_now_queues_a_poll_and_says_so(team, dovecot, imap_folder, django_capture_on_commit_callbacks):
    append(dovecot, imap_folder, make_mail(sender="someone@elsewhere.example"))
    mailbox = make_mailbox(
        team.workspace, dovecot, imap_folder, name="Support", next_poll_at=timezone.now() + timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = team.client_for(team.alice).post(url("mailbox_poll", pk=mailbox.pk))

    assert len(queued) == 1
    assert response["Location"] == url("mailboxes")
    assert said(response) == ["“Support” is being polled. Reload this page in a moment to see the result."]
    # The tests run queued tasks inline: once queued, the poll has happened.
    assert InboundMail.objects.filter(source=InboundMail.Source.IMAP).count() == 1
    mailbox.refresh_from_db()
    assert (mailbox.imported_count, mailbox.lease_until) == (1, None)
