"""Uploading an mbox in a real Chromium: the file goes up by XMLHttpRequest with a progress bar,
then the import's page shows its bar full and the counts, under the strict CSP."""

from __future__ import annotations

import json
import mailbox
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from engagements.models import MailUpload, Message
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

REPLIES, STRANGERS = 100, 200

# Records every value the upload bar shows; sessionStorage outlives the move to the status page.
RECORD_UPLOAD_BAR = """
document.addEventListener("DOMContentLoaded", () => {
  const meter = document.querySelector("[data-testid=upload-bar]");
  if (!meter) { return; }
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem("upload-bar") || "[]");
    seen.push(Number(meter.getAttribute("aria-valuenow")));
    sessionStorage.setItem("upload-bar", JSON.stringify(seen));
  }).observe(meter, {attributes: true, attributeFilter: ["aria-valuenow"]});
});
"""


def _log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def _mbox(path):
    box = mailbox.mbox(path)
    when = format_datetime(timezone.now() - timedelta(days=2))
    for i in range(REPLIES + STRANGERS):
        m = EmailMessage()
        m["From"] = "lena@vogel-design.example" if i < REPLIES else f"newsletter{i}@shop.example"
        m["To"] = "alice@example.com"
        m["Subject"] = f"Re: Produktfotos ({i})"
        m["Date"] = when
        m["Message-ID"] = f"<upload-{i}@mail.example>"
        m.set_content("Hallo,\n\nanbei die Fotos.\n\n" + "Viele Grüße\n" * 20)
        box.add(bytes(m))
    box.close()
    return path


def test_an_mbox_is_uploaded_with_a_progress_bar_and_its_import_shows_the_counts(
    page, console, team, live_server, tmp_path
):
    provider = ProviderFactory(workspace=team.workspace, name="Lena Vogel")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="lena@vogel-design.example")
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Produktfotos"
    )
    path = _mbox(tmp_path / "Posteingang.mbox")

    page.add_init_script(RECORD_UPLOAD_BAR)
    _log_in(page, live_server, team.bob)
    page.goto(f"/w/{team.workspace.slug}/mail/upload/")
    page.get_by_label("Mail files").set_input_files(str(path))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Upload", exact=True).click()
    # Sent by the script (the answer is JSON), not as a plain form post.
    assert posted.value.headers["content-type"] == "application/json"

    page.wait_for_url(re.compile(r".*/mail/upload/\d+/$"))
    page.get_by_test_id("upload-state").filter(has_text="Done").wait_for()
    meter = page.get_by_test_id("import-bar")
    assert meter.get_attribute("aria-valuenow") == "100"
    # The width comes from the script (no inline styles under the CSP): the bar is drawn full.
    assert meter.locator(".progress-bar").evaluate("bar => bar.style.width") == "100%"
    assert page.get_by_test_id("count-threaded").inner_text() == str(REPLIES)
    assert page.get_by_test_id("count-unsorted").inner_text().startswith(str(STRANGERS))
    assert page.get_by_role("link", name="Sort them").is_visible()

    seen = json.loads(page.evaluate("sessionStorage.getItem('upload-bar')") or "[]")
    assert seen and seen[-1] == 100, seen
    upload = MailUpload.objects.get()
    assert (upload.status, upload.original_name) == (MailUpload.Status.DONE, "Posteingang.mbox")
    assert Message.objects.filter(engagement=engagement).count() == REPLIES

    # An import still running: the page asks again every second and redraws the bar when it is done.
    running = MailUpload.objects.create(
        workspace=team.workspace,
        original_name="Archiv.mbox",
        size=1000,
        status=MailUpload.Status.RUNNING,
        bytes_done=400,
        unsorted=7,
    )
    page.goto(f"/w/{team.workspace.slug}/mail/upload/{running.pk}/")
    assert page.get_by_test_id("import-bar").get_attribute("aria-valuenow") == "40"
    MailUpload.objects.filter(pk=running.pk).update(
        status=MailUpload.Status.DONE, bytes_done=1000, unsorted=9
    )
    page.get_by_test_id("upload-state").filter(has_text="Done").wait_for()
    assert page.get_by_test_id("count-unsorted").inner_text().startswith("9")
    meter = page.get_by_test_id("import-bar")
    assert meter.locator(".progress-bar").evaluate("bar => bar.style.width") == "100%"
    # CSP violations show up as console errors: none may have happened.
    assert console.errors == []
