"""Names with line breaks in mail headers: one clean line, and an invitation is mailed or not saved."""

from __future__ import annotations

import pytest
from django.core import mail

from outsourcing import services
from outsourcing.mail_headers import header_text
from outsourcing.models import Invitation, Role
from tests.outsourcing.conftest import url
from tests.realparts import free_port, smtp_settings

BROKEN_NAMES = [
    "Acme\nBcc: victim@example.com",
    "Acme\r\nX",
    "Acme\x0bX",
    "Acme\u2028X",
    "Acme\x85X",
    "Acme\x1b\x7fX",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Acme\nBcc: victim@example.com", "Acme Bcc: victim@example.com"),
        ("  Acme\r\n\r\n  Marketing\t", "Acme Marketing"),
        ("A\x00B\x1bC\x7fD", "A B C D"),
        ("A\u2028B\u2029C\x85D", "A B C D"),
        ("Straße – ünïcode 😀", "Straße – ünïcode 😀"),
    ],
)
def test_header_text_is_one_line_without_control_characters(value, expected):
    assert header_text(value) == expected


def test_header_text_cuts_to_the_limit_without_a_trailing_space():
    assert header_text("abc\n def", 4) == "abc"


@pytest.mark.parametrize("name", BROKEN_NAMES)
def test_an_invitation_from_a_workspace_with_a_line_break_in_its_name_is_mailed(team, name):
    team.workspace.name = name
    team.workspace.save(update_fields=["name"])
    response = team.client_for(team.alice).post(
        url("members"), {"invite-email": "newbie@example.com", "invite-role": Role.MEMBER}
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    subject = mail.outbox[0].message()["Subject"]
    assert "\n" not in subject and "\r" not in subject
    assert "Acme" in mail.outbox[0].subject
    assert Invitation.objects.filter(email="newbie@example.com", revoked_at=None).count() == 1


def test_an_invitation_whose_mail_is_refused_is_not_saved_and_the_page_says_so(team, settings):
    older = services.invitation_create(
        workspace=team.workspace, email="before@example.com", role=Role.MEMBER, invited_by=team.alice
    ).invitation
    smtp_settings(settings, free_port())  # nobody listens there: the connection is refused
    response = team.client_for(team.alice).post(
        url("members"), {"invite-email": "newbie@example.com", "invite-role": Role.MEMBER}
    )
    assert response.status_code == 200
    assert "could not be mailed" in response.content.decode()
    assert not Invitation.objects.filter(email="newbie@example.com").exists()
    older.refresh_from_db()
    assert older.revoked_at is None


def test_a_refused_reinvitation_keeps_the_open_invitation_working(team, settings):
    older = services.invitation_create(
        workspace=team.workspace, email="newbie@example.com", role=Role.MEMBER, invited_by=team.alice
    ).invitation
    settings.MAILERS = {"default": {"BACKEND": "tests.outsourcing.test_mail_headers.RefusingBackend"}}
    with pytest.raises(services.InvitationNotSent):
        services.invitation_create(
            workspace=team.workspace, email="newbie@example.com", role=Role.VIEWER, invited_by=team.alice
        )
    older.refresh_from_db()
    assert older.revoked_at is None
    assert Invitation.objects.filter(email="newbie@example.com").count() == 1


class RefusingBackend:
    """A mail backend whose server refuses everything."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("refused")
