"""A bad, hostile or mismatched zip is refused with a clear reason, and an import loads all or nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engagements.archive import services as archives
from engagements.archive.restore import ArchiveError
from engagements.models import DataArchive, Engagement, Message
from providers.models import Document, Provider
from tests.engagements.archive_helpers import export_now, import_now, make_zip, zip_bytes
from tests.factories import EngagementFactory, MembershipFactory, ProviderFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_export(team):
    """An export of a workspace with one provider, one engagement and a logged request."""
    from engagements import services

    provider = ProviderFactory(workspace=team.workspace, name="Ana")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    services.message_log(engagement=engagement, direction="out", kind="request", body="Please")
    return zip_bytes(export_now(team.workspace))


@pytest.fixture
def empty_workspace(team):
    workspace = WorkspaceFactory(slug="empty")
    MembershipFactory(workspace=workspace, user=team.alice, role="owner")
    return workspace


def _rewrite(data: bytes, change) -> bytes:
    """The zip with its members changed by ``change(dict of name -> bytes)``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    members = {name: source.read(name) for name in source.namelist()}
    change(members)
    return make_zip(members)


def _refused(workspace, data: bytes) -> str:
    with pytest.raises(ArchiveError) as caught:
        archives.archive_import_create(
            workspace=workspace, by=None, file=SimpleUploadedFile("x.zip", data, "application/zip")
        )
    return str(caught.value)


def test_a_file_that_is_not_a_zip_is_refused(empty_workspace):
    assert "not a zip" in _refused(empty_workspace, b"hello, I am a CSV file\n")


def test_a_zip_without_a_manifest_is_refused(empty_workspace):
    assert "manifest" in _refused(empty_workspace, make_zip({"json/providers.json": b"[\n]\n"}))


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/etc/passwd", "files/../../x", "files\\..\\x", "C:/x", "other/x"]
)
def test_a_member_whose_name_climbs_out_or_is_not_ours_is_refused(empty_workspace, small_export, name):
    data = _rewrite(small_export, lambda members: members.update({name: b"x"}))

    assert "no export has" in _refused(empty_workspace, data)


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(empty_workspace, small_export):
    bomb = b"\0" * (50 * 1024 * 1024)
    data = _rewrite(small_export, lambda members: members.update({"files/attachments/1.bin": bomb}))

    assert "zip bomb" in _refused(empty_workspace, data)


def test_a_zip_larger_unpacked_than_the_server_takes_is_refused(empty_workspace, small_export, settings):
    settings.ARCHIVE_MAX_UNPACKED_BYTES = 1000

    assert "more than this server takes" in _refused(empty_workspace, small_export)


def test_too_many_files_are_refused(empty_workspace, small_export, settings):
    settings.ARCHIVE_MAX_MEMBERS = 5

    assert "at most 5" in _refused(empty_workspace, small_export)


@pytest.mark.parametrize(("version", "words"), [(2, "version 2"), ("1", "version 1")])
def test_another_format_version_is_refused_naming_both_versions(
    empty_workspace, small_export, version, words
):
    def change(members):
        manifest = json.loads(members["manifest.json"])
        manifest["version"] = version
        members["manifest.json"] = json.dumps(manifest).encode()

    message = _refused(empty_workspace, _rewrite(small_export, change))

    assert words in message and "reads version 1" in message


def test_another_apps_zip_is_refused(empty_workspace):
    data = make_zip({"manifest.json": json.dumps({"format": "something-else", "version": 1}).encode()})

    assert "not an export of this app" in _refused(empty_workspace, data)


def test_an_import_into_a_workspace_with_data_is_refused(team, small_export):
    assert "has data already" in _refused(team.workspace, small_export)


def test_a_row_pointing_at_a_missing_row_fails_the_import_and_loads_nothing(
    team, empty_workspace, small_export
):
    def change(members):
        lines = members["json/engagements.json"].decode().splitlines()
        row = json.loads(lines[1].rstrip(","))
        row["provider_id"] = 999_999
        lines[1] = json.dumps(row)
        members["json/engagements.json"] = "\n".join(lines).encode()

    archive = import_now(empty_workspace, _rewrite(small_export, change))

    assert archive.status == DataArchive.Status.FAILED
    assert "engagements" in archive.error and "provider_id points at a row the archive lacks" in archive.error
    assert not Provider.objects.filter(workspace=empty_workspace).exists()
    assert not archive.file


def test_a_failure_while_loading_rolls_everything_back_and_removes_the_stored_files(
    team, empty_workspace, small_export, monkeypatch
):
    from engagements.archive import restore

    data = _rewrite(small_export, lambda m: None)
    real_insert = restore._insert

    def insert_then_fail(table, batch, ids):
        if table.name == "messages":
            raise restore.ArchiveError("boom while loading messages")
        real_insert(table, batch, ids)

    monkeypatch.setattr(restore, "_insert", insert_then_fail)

    archive = import_now(empty_workspace, data)

    assert archive.status == DataArchive.Status.FAILED
    assert archive.error == "boom while loading messages"
    assert not Provider.objects.filter(workspace=empty_workspace).exists()
    assert not Engagement.objects.filter(workspace=empty_workspace).exists()
    assert not Message.objects.filter(workspace=empty_workspace).exists()


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("status", "exploded", "status has a value that does not fit"),
        ("due_on", "tomorrow-ish", "due_on has a value that does not fit"),
        ("title", "x" * 500, "title is too long"),
        ("surprise", 1, "unknown column surprise"),
    ],
)
def test_a_value_that_does_not_fit_its_column_fails_the_import_naming_the_row(
    empty_workspace, small_export, column, value, words
):
    def change(members):
        lines = members["json/engagements.json"].decode().splitlines()
        row = json.loads(lines[1].rstrip(","))
        row[column] = value
        lines[1] = json.dumps(row)
        members["json/engagements.json"] = "\n".join(lines).encode()

    archive = import_now(empty_workspace, _rewrite(small_export, change))

    assert archive.status == DataArchive.Status.FAILED
    assert words in archive.error
    assert not Provider.objects.filter(workspace=empty_workspace).exists()


def test_a_file_column_pointing_outside_its_folder_fails_the_import(team, empty_workspace):
    from providers.services import document_upload
    from tests.providers.conftest import pdf_upload

    provider = ProviderFactory(workspace=team.workspace)
    document_upload(provider=provider, upload=pdf_upload(), title="NDA")
    data = zip_bytes(export_now(team.workspace))

    def change(members):
        lines = members["json/documents.json"].decode().splitlines()
        row = json.loads(lines[1].rstrip(","))
        row["file"] = "json/people.json"
        lines[1] = json.dumps(row)
        members["json/documents.json"] = "\n".join(lines).encode()

    archive = import_now(empty_workspace, _rewrite(data, change))

    assert archive.status == DataArchive.Status.FAILED
    assert "a file outside the archive's files" in archive.error
    assert not Document.objects.filter(provider__workspace=empty_workspace).exists()


def test_a_truncated_table_fails_the_import(empty_workspace, small_export):
    def change(members):
        members["json/messages.json"] = members["json/messages.json"].rsplit(b"]", 1)[0]

    archive = import_now(empty_workspace, _rewrite(small_export, change))

    assert archive.status == DataArchive.Status.FAILED
    assert "ends too early" in archive.error


def test_an_encrypted_zip_is_refused(empty_workspace, small_export):
    data = bytearray(small_export)
    # Mark the first entry of the central directory as encrypted (general purpose flag, bit 0).
    entry = data.index(b"PK\x01\x02")
    data[entry + 8] |= 0x1

    assert "encrypted" in _refused(empty_workspace, bytes(data))


def test_a_file_larger_than_any_upload_fails_the_import(team, empty_workspace, settings):
    from providers.services import document_upload
    from tests.providers.conftest import pdf_upload

    document_upload(provider=ProviderFactory(workspace=team.workspace), upload=pdf_upload(), title="NDA")
    data = zip_bytes(export_now(team.workspace))
    settings.MAX_UPLOAD_SIZE = settings.MAIL_MAX_BYTES = 10

    archive = import_now(empty_workspace, data)

    assert archive.status == DataArchive.Status.FAILED
    assert "larger than any upload" in archive.error
