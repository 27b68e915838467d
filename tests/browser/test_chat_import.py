"""A WhatsApp export in Chromium: upload, say who is who, preview, import, see it on the engagement."""

from __future__ import annotations

import re

import pytest

from engagements.models import Message
from tests.browser.conftest import pick
from tests.browser.test_attention import _log_in
from tests.engagements.chat.conftest import ANDROID_EN, FIXTURES
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_whatsapp_export_is_uploaded_mapped_previewed_and_imported(page, console, team, live_server):
    anna = ProviderFactory(workspace=team.workspace, name="Anna Design")
    landing = EngagementFactory(workspace=team.workspace, provider=anna, owner=team.bob, title="Landing page")
    _log_in(page, live_server, team.bob)
    page.goto(f"/w/acme/engagements/{landing.pk}/")
    page.get_by_test_id("log-chat-import").click()
    page.get_by_label("Chat export").set_input_files(str(FIXTURES / ANDROID_EN))
    page.get_by_role("button", name="Continue").click()

    mapping = page.get_by_test_id("chat-mapping")
    # Anna is named like the provider: she is guessed; Max Owner is the person to say.
    assert mapping.get_by_label("Anna Design").input_value() == "provider"
    mapping.get_by_label("Max Owner").select_option(f"member:{team.bob.pk}")
    pick(page, "id_engagement", ["Landing page — Anna Design"])
    page.get_by_test_id("chat-preview-button").click()

    preview = page.get_by_test_id("chat-preview")
    assert preview.get_by_test_id("chat-line").count() == 5
    assert "5 new" in preview.get_by_test_id("chat-counts").inner_text()
    assert not Message.objects.exists(), "the preview saved nothing"

    page.get_by_test_id("chat-import-button").click()
    page.wait_for_url(re.compile(rf"/w/acme/engagements/{landing.pk}/$"))
    assert "Chat imported: 5 logged, 0 already there" in page.content()
    assert "Here is the draft" in page.content()
    assert landing.messages.filter(channel=Message.Channel.WHATSAPP, author=team.bob).count() == 2
    assert console.errors == []
