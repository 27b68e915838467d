"""`import_mail` accounts for every path it is given: what each file brought, "empty", or why it was skipped."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from engagements.models import InboundMail

pytestmark = pytest.mark.django_db


def mail(subject: str) -> bytes:
    m = EmailMessage()
    m["From"] = "stranger@elsewhere.example"
    m["To"] = "alice@example.com"
    m["Subject"] = subject
    m["Date"] = "Mon, 30 Nov 2026 09:00:00 +0000"
    m["Message-ID"] = f"<{subject.replace(' ', '-')}@elsewhere.example>"
    m.set_content("Some text.\n")
    return bytes(m)


def import_mail(team, *paths: Path) -> list[str]:
    out = StringIO()
    call_command("import_mail", *map(str, paths), workspace=team.workspace.slug, stdout=out)
    return out.getvalue().splitlines()


def test_a_folder_of_mail_files_without_eml_names_is_read_and_every_file_reported(team, tmp_path):
    # An MH folder (numbered files), a Thunderbird profile (mbox without extension beside its index),
    # a saved mail with another name, a subfolder with a Maildir, and what is no mail at all.
    (tmp_path / "1").write_bytes(mail("mh one"))
    (tmp_path / "2").write_bytes(mail("mh two"))
    box = mailbox.mbox(tmp_path / "Inbox")
    box.add(mail("thunderbird one"))
    box.add(mail("thunderbird two"))
    box.close()
    (tmp_path / "Inbox.msf").write_bytes(b'// <!-- <mdb:mork:z v="1.4"/> -->\n')
    (tmp_path / "saved.msg.txt").write_bytes(mail("saved"))
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.7\n\x00\x01")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "Archive").mkdir()
    maildir = mailbox.Maildir(tmp_path / "Archive" / "Maildir")
    maildir.add(mail("maildir one"))
    maildir.close()

    lines = import_mail(team, tmp_path)

    assert lines == [
        f"{tmp_path / '1'}: imported 1: threaded 0, unsorted 1; rejected 0; already there 0",
        f"{tmp_path / '2'}: imported 1: threaded 0, unsorted 1; rejected 0; already there 0",
        f"{tmp_path / 'Archive' / 'Maildir'}: imported 1: threaded 0, unsorted 1; rejected 0; already there 0",
        f"{tmp_path / 'Inbox'}: imported 2: threaded 0, unsorted 2; rejected 0; already there 0",
        f"{tmp_path / 'Inbox.msf'}: skipped: not mail (no .eml or .mbox name, no mail headers)",
        f"{tmp_path / 'notes.pdf'}: skipped: not mail (no .eml or .mbox name, no mail headers)",
        f"{tmp_path / 'saved.msg.txt'}: imported 1: threaded 0, unsorted 1; rejected 0; already there 0",
        "imported 6: threaded 0, unsorted 6; rejected 0; already there 0",
    ]
    assert InboundMail.objects.count() == 6


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.mbox", b""), ("blank.mbox", b"\n\n  \n"), ("empty.eml", b""), ("Inbox", b"")],
)
def test_an_empty_file_is_reported_empty_and_nothing_is_stored(team, tmp_path, name, content):
    (tmp_path / name).write_bytes(content)

    lines = import_mail(team, tmp_path / name)

    assert lines == [
        f"{tmp_path / name}: empty",
        "imported 0: threaded 0, unsorted 0; rejected 0; already there 0",
    ]
    assert not InboundMail.objects.exists()


def test_an_empty_folder_and_an_empty_maildir_are_reported_empty(team, tmp_path):
    (tmp_path / "nothing").mkdir()
    mailbox.Maildir(tmp_path / "Maildir").close()

    lines = import_mail(team, tmp_path / "nothing", tmp_path / "Maildir")

    assert lines[:2] == [f"{tmp_path / 'nothing'}: empty", f"{tmp_path / 'Maildir'}: empty"]


def test_a_file_already_imported_is_reported_as_already_there(team, tmp_path):
    (tmp_path / "a.eml").write_bytes(mail("once"))
    import_mail(team, tmp_path / "a.eml")

    assert import_mail(team, tmp_path / "a.eml")[0].endswith(
        "imported 0: threaded 0, unsorted 0; rejected 0; already there 1"
    )
