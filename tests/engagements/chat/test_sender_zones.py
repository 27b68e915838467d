"""Time in the sender's zone: chosen per participant, kept per message, shown beside the time on the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import formats, translation

from engagements.chat import importer
from engagements.models import ChatSource, ChatUpload, Message
from tests.engagements.chat.conftest import ANDROID_EN, BERLIN, FIXTURES, chat_of

pytestmark = pytest.mark.django_db
MANILA = "Asia/Manila"


def _mapping_url(pk: int) -> str:
    return reverse("chat:mapping", kwargs={"ws": "acme", "pk": pk})


def _stored(team) -> ChatUpload:
    return ChatUpload.objects.create(
        workspace=team.workspace,
        filename=ANDROID_EN,
        data=(FIXTURES / ANDROID_EN).read_bytes(),
        created_by=team.alice,
    )


def _choices(team, anna, landing, action: str = "preview", **extra: str) -> dict[str, str]:
    return {
        "chat": "Anna Design",
        "provider": str(anna.pk),
        "engagement": str(landing.pk),
        "time_zone": "Europe/Berlin",
        "date_order": "auto",
        "who_0": "provider",
        "who_1": f"member:{team.alice.pk}",
        "action": action,
        **extra,
    }


def _participants(team) -> dict[str, str]:
    return {"Max Owner": f"member:{team.alice.pk}", "Anna Design": "provider"}


def test_each_message_keeps_its_senders_zone_the_providers_and_the_members_own(team, anna, landing):
    anna.time_zone = MANILA
    anna.save(update_fields=["time_zone"])
    team.alice.time_zone = "America/New_York"
    team.alice.save(update_fields=["time_zone"])
    importer.chat_import(
        workspace=team.workspace,
        chat=chat_of(),
        provider=anna,
        participants=_participants(team),
        engagement=landing,
        zone=BERLIN,
    )
    zones = dict(landing.messages.values_list("sender", "sender_time_zone").distinct())
    assert zones == {"Anna Design": MANILA, "Max Owner": "America/New_York"}
    assert ChatSource.objects.get().participant_zones == {
        "Anna Design": MANILA,
        "Max Owner": "America/New_York",
    }


def test_a_chosen_zone_wins_over_the_usual_one_and_the_instant_stays_the_exports(team, anna, landing):
    anna.time_zone = "Europe/Berlin"
    anna.save(update_fields=["time_zone"])
    chat = chat_of()
    importer.chat_import(
        workspace=team.workspace,
        chat=chat,
        provider=anna,
        participants=_participants(team),
        engagement=landing,
        zone=BERLIN,
        sender_zones={"Anna Design": "Asia/Tokyo"},
    )
    theirs = landing.messages.filter(direction=Message.Direction.INBOUND).order_by("occurred_at")
    assert {m.sender_time_zone for m in theirs} == {"Asia/Tokyo"}
    # The instant is read in the export's zone (the phone's), whatever the sender's.
    expected = [m.sent_at for m in chat.messages if m.sender == "Anna Design"]
    assert [m.occurred_at for m in theirs] == expected


def test_the_log_shows_the_senders_own_time_beside_ours_and_not_when_it_is_the_same(team, anna, landing):
    team.alice.time_zone = "Europe/Berlin"
    team.alice.save(update_fields=["time_zone"])
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3, minutes=17)
    far = Message.objects.create(
        workspace=team.workspace,
        engagement=landing,
        direction="in",
        kind="reply",
        channel="whatsapp",
        occurred_at=at,
        body="from Manila",
        sender_time_zone=MANILA,
    )
    Message.objects.create(
        workspace=team.workspace,
        engagement=landing,
        direction="in",
        kind="reply",
        channel="whatsapp",
        occurred_at=at + timedelta(minutes=1),
        body="from Berlin",
        sender_time_zone="Europe/Berlin",
    )
    url = reverse("engagements:detail", kwargs={"ws": "acme", "pk": landing.pk})
    for language, words in (("en", "in"), ("de", "Ortszeit")):
        page = team.client_for(team.alice).get(url, HTTP_ACCEPT_LANGUAGE=language)
        html = page.content.decode()
        with translation.override(language):
            theirs = far.occurred_at.astimezone(ZoneInfo(MANILA))
            time = formats.date_format(theirs, "TIME_FORMAT")
            if theirs.date() != far.occurred_at.astimezone(ZoneInfo("Europe/Berlin")).date():
                time = f"{formats.date_format(theirs, 'SHORT_DATE_FORMAT')} {time}"
        assert html.count('data-testid="sender-time"') == 1, "only the message from another zone"
        assert f"{time} {words} Manila" in html


def test_the_mapping_page_remembers_each_participants_zone_for_the_next_export(team, anna, landing):
    client = team.client_for(team.alice)
    first = _stored(team)
    response = client.post(
        _mapping_url(first.pk), _choices(team, anna, landing, "import", zone_0="Asia/Tokyo")
    )
    assert response.status_code == 302
    assert set(landing.messages.filter(sender="Anna Design").values_list("sender_time_zone", flat=True)) == {
        "Asia/Tokyo"
    }
    page = client.get(_mapping_url(_stored(team).pk))
    form = page.context["form"]
    assert form.fields["zone_0"].label.endswith("Anna Design")
    assert form["zone_0"].initial == "Asia/Tokyo"


def test_a_member_starts_with_their_own_zone_and_the_provider_with_theirs(team, anna, landing):
    anna.time_zone = MANILA
    anna.save(update_fields=["time_zone"])
    team.alice.time_zone = "America/Chicago"
    team.alice.save(update_fields=["time_zone"])
    form = team.client_for(team.alice).get(_mapping_url(_stored(team).pk)).context["form"]
    assert form["zone_0"].initial == MANILA
    # Max Owner is no member's name: not guessed, so his zone waits for who he is.
    assert form["zone_1"].initial == ""


def test_an_unknown_zone_is_a_form_error_not_a_500(team, anna, landing):
    response = team.client_for(team.alice).post(
        _mapping_url(_stored(team).pk), _choices(team, anna, landing, zone_0="Mars/Olympus")
    )
    assert response.status_code == 200 and "zone_0" in response.context["form"].errors
    assert not Message.objects.exists()


def test_a_background_import_keeps_the_zones_chosen_on_the_page(
    team, anna, landing, settings, django_capture_on_commit_callbacks
):
    settings.CHAT_IMPORT_INLINE_MESSAGES = 3
    stored = _stored(team)
    with django_capture_on_commit_callbacks(execute=True):
        team.client_for(team.bob).post(
            _mapping_url(stored.pk), _choices(team, anna, landing, "import", zone_1="Africa/Lagos")
        )
    stored.refresh_from_db()
    assert stored.status == ChatUpload.Status.DONE
    assert set(landing.messages.filter(author=team.alice).values_list("sender_time_zone", flat=True)) == {
        "Africa/Lagos"
    }


def test_the_command_takes_a_senders_zone(team, anna, landing):
    out = StringIO()
    call_command(
        "import_chat",
        str(FIXTURES / ANDROID_EN),
        workspace="acme",
        provider=anna.pk,
        engagement=landing.pk,
        participant=["Max Owner=alice@example.com"],
        sender_zone=["Anna Design=Asia/Kolkata"],
        time_zone="Europe/Berlin",
        stdout=out,
    )
    assert "imported 5" in out.getvalue()
    assert set(landing.messages.filter(sender="Anna Design").values_list("sender_time_zone", flat=True)) == {
        "Asia/Kolkata"
    }


def test_the_command_refuses_an_unknown_zone(team, anna, landing):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown time zone"):
        call_command(
            "import_chat",
            str(FIXTURES / ANDROID_EN),
            workspace="acme",
            provider=anna.pk,
            sender_zone=["Anna Design=Nowhere/Land"],
            stdout=StringIO(),
        )
