"""manage.py import_chat: counts printed, re-import adds nothing, bad input is a clean error."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engagements.models import Engagement, Message
from tests.engagements.chat.conftest import ANDROID_EN, FIXTURES

pytestmark = pytest.mark.django_db


def _call(*args: str) -> str:
    out = StringIO()
    call_command("import_chat", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _args(anna, *extra: str) -> list[str]:
    return [
        str(FIXTURES / ANDROID_EN),
        "--workspace=acme",
        f"--provider={anna.pk}",
        "--participant=Max Owner=alice@example.com",
        "--time-zone=Europe/Berlin",
        *extra,
    ]


def test_the_command_imports_then_finds_everything_already_there(team, anna, landing):
    first = _call(*_args(anna, f"--engagement={landing.pk}"))
    assert "imported 5, already there 0, skipped 0, system lines 1" in first
    again = _call(*_args(anna, f"--engagement={landing.pk}"))
    assert "imported 0, already there 5" in again
    assert landing.messages.filter(author=team.alice).count() == 2


def test_a_dry_run_counts_and_writes_nothing(team, anna, landing):
    out = _call(*_args(anna, f"--engagement={landing.pk}", "--dry-run"))
    assert "would import 5" in out and "dry run" in out
    assert not Message.objects.exists()


def test_without_an_engagement_a_new_one_is_named_after_the_chat(team, anna):
    _call(*_args(anna))
    engagement = Engagement.objects.get(workspace=team.workspace, title="Chat: Anna Design")
    assert engagement.provider == anna and engagement.messages.count() == 5


def test_a_participant_mapped_to_skip_is_not_logged(team, anna, landing):
    out = _call(*_args(anna, f"--engagement={landing.pk}", "--participant=Anna Design=skip"))
    assert "imported 2, already there 0, skipped 3" in out


@pytest.mark.parametrize(
    "extra",
    [
        ["--participant=Max Owner=nobody@example.com"],
        ["--time-zone=Mars/Olympus"],
        ["--engagement=999999"],
    ],
)
def test_bad_options_are_command_errors(team, anna, extra):
    with pytest.raises(CommandError):
        _call(*_args(anna, *extra))


def test_another_workspaces_provider_or_engagement_is_not_found(team, anna, landing):
    with pytest.raises(CommandError):
        _call(str(FIXTURES / ANDROID_EN), "--workspace=other", f"--provider={anna.pk}")
    with pytest.raises(CommandError):
        _call(*[a.replace("acme", "other") for a in _args(anna, f"--engagement={landing.pk}")])


def test_a_file_that_is_no_chat_export_is_a_command_error(team, anna, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("just some notes\nnothing more")
    with pytest.raises(CommandError):
        _call(str(junk), "--workspace=acme", f"--provider={anna.pk}")
