"""The one importer: threading in its four steps, duplicates, rejects, and the import command."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import services
from engagements.mail import importer
from engagements.models import Engagement, Exchange, Flag, InboundMail, Message, Notification
from providers import services as provider_services
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def mail(
    *,
    sender: str = "vanessa@va-agency.example",
    to: str = "alice@example.com",
    subject: str = "Re: Landing page copy",
    body: str = "Here is the draft.\n",
    message_id: str | None = None,
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
    when: datetime | None = None,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(when or timezone.now() - timedelta(hours=1))
    m["Message-ID"] = f"<{message_id or f'{id(m)}.{timezone.now().timestamp()}@mail.example'}>"
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
        m["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        m[name] = value
    m.set_content(body)
    return bytes(m)


@pytest.fixture
def provider(team):
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="vanessa@va-agency.example")
    return provider


def requested(team, provider, title: str, message_id: str) -> Engagement:
    """An engagement of the provider whose request, logged a day ago, has this Message-ID."""
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title=title)
    services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=timezone.now() - timedelta(days=1),
        subject=title,
        message_id=message_id,
    )
    return engagement


@pytest.fixture
def engagement(team, provider) -> Engagement:
    return requested(team, provider, "Landing page copy", "request-1@tracker.example")


def run(team, raw: bytes) -> importer.ImportResult:
    return importer.mail_import(workspace=team.workspace, raw=raw, source=InboundMail.Source.IMPORT)


def test_a_reply_threads_by_in_reply_to_and_answers_the_request(team, engagement):
    result = run(team, mail(in_reply_to="request-1@tracker.example", sender="someone-new@elsewhere.example"))
    assert (result.outcome, result.how) == (importer.THREADED, "references")
    message = result.message
    assert (message.engagement, message.direction, message.kind) == (engagement, "in", "reply")
    assert message.source == Message.Source.IMPORT
    engagement.refresh_from_db()
    assert not engagement.awaiting_reply
    assert result.inbound.logged_message == message
    assert not result.inbound.raw  # the log holds it now


def test_a_routing_token_in_any_recipient_finds_the_engagement(team, engagement, settings):
    settings.MAIL_ROUTING_DOMAIN = "reply.example"
    Engagement.objects.filter(pk=engagement.pk).update(routing_token="abc123def456")
    other = EngagementFactory(workspace=team.workspace, provider=engagement.provider, title="Other")
    del other
    raw = mail(sender="unknown@nowhere.example", to="team+abc123def456@reply.example", subject="hello")
    result = run(team, raw)
    assert (result.outcome, result.how, result.message.engagement) == (importer.THREADED, "token", engagement)
    # The token on another domain is not ours.
    stray = run(team, mail(sender="unknown@nowhere.example", to="x+abc123def456@elsewhere.example"))
    assert stray.outcome == importer.UNSORTED


def test_a_providers_address_finds_their_only_open_engagement(team, engagement):
    result = run(team, mail(subject="Quick question"))
    assert (result.outcome, result.how, result.message.engagement) == (
        importer.THREADED,
        "sender",
        engagement,
    )


def test_with_several_open_engagements_the_subject_decides_or_the_mail_waits(team, engagement, provider):
    EngagementFactory(workspace=team.workspace, provider=provider, title="Logo redesign")
    named = run(team, mail(subject="Re: Logo redesign – first sketches"))
    assert named.outcome == importer.THREADED
    assert named.message.engagement.title == "Logo redesign"
    vague = run(team, mail(subject="Invoice"))
    assert vague.outcome == importer.UNSORTED


def test_mail_nobody_can_place_waits_in_unsorted_with_its_bytes(team, engagement):
    raw = mail(sender="stranger@example.net", subject="Partnership?", body="Hello there, " * 40)
    result = run(team, raw)
    assert result.outcome == importer.UNSORTED
    inbound = result.inbound
    assert (inbound.status, inbound.from_address, inbound.subject) == (
        InboundMail.Status.UNSORTED,
        "stranger@example.net",
        "Partnership?",
    )
    assert inbound.snippet.startswith("Hello there, Hello there,")
    assert inbound.raw.read() == raw


def test_the_same_message_id_twice_is_a_no_op(team, engagement):
    raw = mail(message_id="once@mail.example", in_reply_to="request-1@tracker.example")
    assert run(team, raw).outcome == importer.THREADED
    assert run(team, raw).outcome == importer.DUPLICATE
    assert Message.objects.filter(message_id="once@mail.example").count() == 1
    unsorted = mail(message_id="twice@mail.example", sender="stranger@example.net")
    assert run(team, unsorted).outcome == importer.UNSORTED
    assert run(team, unsorted).outcome == importer.DUPLICATE
    assert InboundMail.objects.filter(message_id="twice@mail.example").count() == 1


def test_bytes_that_are_no_message_are_kept_as_rejected_with_a_reason(team):
    result = run(team, b"")
    assert result.outcome == importer.REJECTED
    assert result.inbound.status == InboundMail.Status.REJECTED
    assert result.inbound.reason


def test_an_out_of_office_reply_is_logged_but_does_not_answer(team, engagement):
    raw = mail(
        in_reply_to="request-1@tracker.example",
        subject="Abwesenheitsnotiz: Landing page copy",
        body="Ich bin bis zum 3. Januar nicht im Büro.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    result = run(team, raw)
    assert result.outcome == importer.THREADED
    assert result.message.is_auto_reply
    engagement.refresh_from_db()
    assert engagement.awaiting_reply


def test_our_own_mail_found_in_the_mailbox_is_logged_as_outbound(team, engagement):
    result = run(
        team,
        mail(
            sender=team.alice.email, to="vanessa@va-agency.example", in_reply_to="request-1@tracker.example"
        ),
    )
    assert result.message.direction == Message.Direction.OUTBOUND
    assert result.message.kind == Message.Kind.FOLLOW_UP


def test_another_workspaces_message_ids_never_thread_here(team, engagement):
    foreign = EngagementFactory(
        workspace=team.other_workspace, provider=ProviderFactory(workspace=team.other_workspace)
    )
    services.message_log(
        engagement=foreign,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        message_id="theirs@other.example",
    )
    result = run(team, mail(in_reply_to="theirs@other.example", sender="stranger@example.net"))
    assert result.outcome == importer.UNSORTED


def test_a_date_in_the_future_is_logged_as_now(team, engagement):
    result = run(team, mail(in_reply_to="request-1@tracker.example", when=datetime(2099, 1, 1, tzinfo=UTC)))
    assert result.message.occurred_at <= timezone.now()


def test_the_command_imports_eml_mbox_and_maildir_and_prints_the_counts(team, engagement, tmp_path):
    (tmp_path / "reply.eml").write_bytes(mail(in_reply_to="request-1@tracker.example", message_id="a@x"))
    box = mailbox.mbox(tmp_path / "archive.mbox")
    box.add(mail(sender="stranger@example.net", message_id="b@x"))
    box.add(mail(message_id="c@x", subject="Re: Landing page copy"))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(mail(sender="stranger@example.net", message_id="d@x"))
    maildir.close()
    (tmp_path / "garbage.eml").write_bytes(b"no mail\n")
    out = StringIO()
    paths = [str(tmp_path / name) for name in ("reply.eml", "archive.mbox", "Maildir", "garbage.eml")]
    call_command("import_mail", *paths, workspace=team.workspace.slug, stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == (
        "imported 4: threaded 2, unsorted 2; rejected 1; already there 0"
    )
    again = StringIO()
    call_command("import_mail", *paths[:3], workspace=team.workspace.slug, stdout=again)
    assert "already there 4" in again.getvalue()


def test_the_command_refuses_an_unknown_workspace_or_path(team, tmp_path):
    with pytest.raises(CommandError, match="No workspace"):
        call_command("import_mail", str(tmp_path), workspace="nope")
    with pytest.raises(CommandError, match="Not found"):
        call_command("import_mail", str(tmp_path / "missing.mbox"), workspace=team.workspace.slug)


# --- The Unsorted inbox ---------------------------------------------------------------------


def unsorted_mail(team, **kwargs) -> InboundMail:
    result = run(team, mail(sender="stranger@example.net", **kwargs))
    assert result.outcome == importer.UNSORTED
    return result.inbound


def test_the_unsorted_inbox_is_for_members_only(team):
    from django.urls import reverse

    inbound = unsorted_mail(team, subject="Partnership?")
    page = reverse("mail:unsorted", kwargs={"ws": team.workspace.slug})
    sort = reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    for user in (team.alice, team.bob, team.vera):
        response = team.client_for(user).get(page)
        assert response.status_code == 200
        assert "Partnership?" in response.content.decode()
    assert team.client_for(team.charlie).get(page).status_code == 404
    assert team.client_for(team.charlie).get(sort).status_code == 404
    assert team.client_for(team.vera).post(sort, {"new_for": ""}).status_code == 403


def test_one_click_logs_an_unsorted_mail_on_a_suggested_engagement(
    team, engagement, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    inbound = unsorted_mail(team, subject="Re: Landing page copy", body="Sorry for the delay, here it is.")
    sort = reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    client = team.client_for(team.bob)
    page = client.get(sort)
    assert [e.pk for e in page.context["suggested"]] == [engagement.pk]  # the title is in the subject
    stored = inbound.raw.name
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(sort, {"engagement": engagement.pk})
    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.status == InboundMail.Status.THREADED
    message = inbound.logged_message
    assert (message.engagement, message.body.strip()) == (engagement, "Sorry for the delay, here it is.")
    assert not inbound.raw
    assert not inbound.raw.storage.exists(stored)
    assert (
        client.post(sort, {"engagement": engagement.pk}).status_code == 302
    )  # already sorted: no second message
    assert Message.objects.filter(engagement=engagement, direction="in").count() == 1


def test_an_unsorted_mail_can_start_a_new_engagement(team, provider):
    from django.urls import reverse

    inbound = unsorted_mail(team, subject="New project: webinar slides")
    sort = reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    response = team.client_for(team.alice).post(sort, {"new_for": provider.pk})
    assert response.status_code == 302
    engagement = Engagement.objects.get(title="New project: webinar slides")
    assert (engagement.provider, engagement.owner) == (provider, team.alice)
    assert engagement.messages.count() == 1


def test_sorting_needs_exactly_one_choice_and_refuses_other_workspaces(team, engagement):
    from django.urls import reverse

    inbound = unsorted_mail(team)
    sort = reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    client = team.client_for(team.alice)
    assert "Choose an engagement, or a provider for a new one." in client.post(sort, {}).content.decode()
    foreign = EngagementFactory(
        workspace=team.other_workspace, provider=ProviderFactory(workspace=team.other_workspace)
    )
    response = client.post(sort, {"engagement": foreign.pk})
    assert response.status_code == 200
    assert "engagement" in response.context["form"].errors
    inbound.refresh_from_db()
    assert inbound.status == InboundMail.Status.UNSORTED


# --- An out-of-office reply's announced absence ---------------------------------------------


def out_of_office(team) -> Message:
    raw = mail(
        in_reply_to="request-1@tracker.example",
        subject="Abwesenheitsnotiz: Landing page copy",
        body="Vielen Dank für Ihre Nachricht. Ich bin bis zum 3. Januar nicht im Büro.",
        headers={"Auto-Submitted": "auto-replied"},
        when=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )
    with time_machine.travel(datetime(2026, 11, 27, 12, 0, tzinfo=UTC), tick=False):
        return run(team, raw).message


def test_an_out_of_office_reply_keeps_the_last_day_away(team, engagement):
    from datetime import date

    assert out_of_office(team).absence_until == date(2027, 1, 3)


def test_the_announced_absence_is_recorded_with_one_click_and_only_once(team, engagement):
    from datetime import date

    from django.urls import reverse

    from providers.models import Absence

    message = out_of_office(team)
    page = reverse("engagements:detail", kwargs={"ws": team.workspace.slug, "pk": engagement.pk})
    assert 'data-testid="absence-offer"' in team.client_for(team.bob).get(page).content.decode()
    assert 'data-testid="absence-offer"' not in team.client_for(team.vera).get(page).content.decode()
    record = reverse("engagements:message_absence", kwargs={"ws": team.workspace.slug, "pk": message.pk})
    assert team.client_for(team.charlie).post(record).status_code == 404
    assert team.client_for(team.vera).post(record).status_code == 403
    assert team.client_for(team.bob).post(record).status_code == 302
    absence = Absence.objects.get(provider=engagement.provider)
    assert (absence.starts_on, absence.ends_on) == (date(2026, 11, 25), date(2027, 1, 3))
    again = team.client_for(team.bob).post(record, follow=True)
    assert "already has an absence" in again.content.decode()
    assert Absence.objects.filter(provider=engagement.provider).count() == 1


# --- Bounces ------------------------------------------------------------------


def bounce(
    *,
    returned_id: str | None,
    message_id: str = "bounce-1@mx.va-agency.example",
    recipient: str = "vanessa@va-agency.example",
) -> bytes:
    """A delivery-status report quoting the returned mail's headers, as Postfix sends them;
    without ``returned_id``, one that leaves them out (as many mail systems do)."""
    returned = (
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: alice@example.com\r\nTo: {recipient}\r\n"
        f"Message-ID: <{returned_id}>\r\nSubject: Landing page copy\r\n"
        if returned_id
        else ""
    )
    return (
        "From: MAILER-DAEMON@mx.va-agency.example (Mail Delivery System)\r\n"
        "To: alice@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(timezone.now() - timedelta(minutes=5))}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered: mailbox unknown.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.va-agency.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"{returned}--b--\r\n"
    ).encode()


def test_a_bounce_threads_by_the_returned_mail_and_flags_the_engagement_once(team, engagement):
    result = run(team, bounce(returned_id="request-1@tracker.example"))
    assert (result.outcome, result.how) == (importer.THREADED, "references")
    message = result.message
    assert (message.kind, message.direction, message.is_auto_reply) == (
        Message.Kind.BOUNCE,
        Message.Direction.INBOUND,
        True,
    )
    # Which address failed is kept: the next attempt goes to another one.
    assert message.failed_recipients == "vanessa@va-agency.example"
    flags = Flag.objects.filter(engagement=engagement, kind=Flag.Kind.BOUNCED, resolved_at=None)
    assert flags.count() == 1
    # The owner hears of it like of any flag; the request still waits for its reply.
    assert Notification.objects.filter(flag=flags.get(), recipient=team.alice).exists()
    engagement.refresh_from_db()
    assert engagement.awaiting_reply
    run(team, bounce(returned_id="request-1@tracker.example", message_id="bounce-2@mx.va-agency.example"))
    assert Flag.objects.filter(engagement=engagement, kind=Flag.Kind.BOUNCED).count() == 1


def test_a_bounce_that_quotes_no_message_id_threads_by_the_provider_address_that_failed(team, engagement):
    result = run(team, bounce(returned_id=None))

    assert (result.outcome, result.how) == (importer.THREADED, "sender")
    assert result.message.engagement_id == engagement.pk
    assert result.message.kind == Message.Kind.BOUNCE
    assert Flag.objects.filter(engagement=engagement, kind=Flag.Kind.BOUNCED, resolved_at=None).count() == 1


@pytest.mark.parametrize(
    ("headers", "text"),
    [
        # Exim: the failed addresses in a header.
        (
            "X-Failed-Recipients: Vanessa@VA-Agency.example\r\n",
            "A message that you sent could not be delivered to one or more of its recipients.",
        ),
        # Gmail: only in its prose.
        (
            "",
            "** Address not found **\r\n\r\nYour message wasn't delivered to vanessa@va-agency.example "
            "because the address couldn't be found.",
        ),
    ],
    ids=["exim-header", "prose"],
)
def test_a_bounce_without_a_report_threads_by_the_provider_address_it_names(team, engagement, headers, text):
    raw = (
        "From: Mail Delivery System <mailer-daemon@mx.example.net>\r\nTo: alice@example.com\r\n"
        "Subject: Delivery Status Notification (Failure)\r\n"
        f"Date: {format_datetime(timezone.now() - timedelta(minutes=5))}\r\n"
        f"Message-ID: <bounce-{len(headers)}@mx.example.net>\r\n{headers}\r\n{text}\r\n"
    ).encode()

    result = run(team, raw)

    assert (result.outcome, result.how, result.message.engagement_id) == (
        importer.THREADED,
        "sender",
        engagement.pk,
    )
    assert result.message.kind == Message.Kind.BOUNCE


def test_a_bounce_for_a_provider_with_several_open_engagements_waits_in_unsorted(team, engagement, provider):
    EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title="Blog posts")

    result = run(team, bounce(returned_id=None))

    assert result.outcome == importer.UNSORTED
    assert not Flag.objects.filter(kind=Flag.Kind.BOUNCED).exists()


def test_a_bounce_for_an_address_nobody_knows_waits_in_unsorted(team, engagement):
    result = run(team, bounce(returned_id=None, recipient="someone@elsewhere.example"))

    assert result.outcome == importer.UNSORTED


def test_a_bounce_does_not_count_against_the_provider(team, engagement):
    run(team, bounce(returned_id="request-1@tracker.example"))
    exchange = engagement.exchanges.get()
    assert exchange.replied_at is None


# --- Many at once -------------------------------------------------------------


def test_importing_many_counts_each_outcome_and_reports_after_every_batch(team, engagement):
    raws = [
        mail(in_reply_to="request-1@tracker.example", message_id="r1@x"),
        mail(sender="stranger@example.net", message_id="s1@x"),
        mail(message_id="r1@x"),  # the same Message-ID again, within the run
        b"\x00\x01 not a mail",
        mail(in_reply_to="request-1@tracker.example", message_id="r2@x"),
    ]
    reports: list[tuple[int, int]] = []
    counts = importer.mail_import_many(
        workspace=team.workspace,
        raws=iter(raws),
        source=InboundMail.Source.IMPORT,
        on_batch=lambda c: reports.append((c.total, c.threaded)),
        batch_size=2,
    )
    assert (counts.threaded, counts.unsorted, counts.duplicate, counts.rejected) == (2, 1, 1, 1)
    assert reports == [(2, 1), (4, 1), (5, 2)]
    assert Message.objects.filter(engagement=engagement, kind=Message.Kind.REPLY).count() == 2


def test_a_reply_to_mail_earlier_in_the_same_batch_threads_to_it(team, engagement):
    ours = mail(
        sender=team.alice.email,
        to="vanessa@va-agency.example",
        message_id="ours-1@example.com",
        in_reply_to="request-1@tracker.example",
        when=timezone.now() - timedelta(minutes=30),
    )
    theirs = mail(
        sender="helper@elsewhere.example",
        in_reply_to="ours-1@example.com",
        message_id="t@x",
        when=timezone.now() - timedelta(minutes=10),
    )
    counts = importer.mail_import_many(
        workspace=team.workspace, raws=[ours, theirs], source=InboundMail.Source.IMPORT
    )
    assert counts.threaded == 2
    reply = Message.objects.get(message_id="t@x")
    assert (reply.engagement_id, reply.kind) == (engagement.pk, Message.Kind.REPLY)
    engagement.refresh_from_db()
    assert not engagement.awaiting_reply


@pytest.fixture
def another(team, provider) -> Engagement:
    return requested(team, provider, "Logo", "request-2@tracker.example")


def failing_on(monkeypatch, engagement: Engagement, error: Exception) -> None:
    """Make logging on one engagement fail, as a bad row once made it."""
    recompute = services.exchanges_recompute_many

    def recompute_unless_it(*, engagements, **kwargs):
        if any(e.pk == engagement.pk for e in engagements):
            raise error
        return recompute(engagements=engagements, **kwargs)

    monkeypatch.setattr(services, "exchanges_recompute_many", recompute_unless_it)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ValidationError("The log refused it."), "The log refused it."),
        (OverflowError("date value out of range"), "It could not be logged"),
    ],
    ids=["refused", "crashed"],
)
def test_a_mail_the_log_cannot_take_is_kept_as_rejected_and_the_rest_of_its_batch_imports(
    team, engagement, another, monkeypatch, caplog, error, reason
):
    failing_on(monkeypatch, another, error)
    raws = [
        mail(message_id="a@x", in_reply_to="request-1@tracker.example"),
        mail(message_id="b@x", in_reply_to="request-2@tracker.example"),
        mail(message_id="c@x", in_reply_to="a@x", body="And the rest."),
    ]

    counts = importer.mail_import_many(workspace=team.workspace, raws=raws, source=InboundMail.Source.IMPORT)

    assert (counts.threaded, counts.rejected) == (2, 1)
    assert list(engagement.messages.order_by("pk").values_list("message_id", flat=True)) == [
        "request-1@tracker.example",
        "a@x",
        "c@x",
    ]
    assert Exchange.objects.get(engagement=engagement).replied_at is not None
    assert another.messages.count() == 1  # only its request
    rejected = InboundMail.objects.get(status=InboundMail.Status.REJECTED)
    assert rejected.message_id == "b@x"
    assert reason in rejected.reason
    with rejected.raw.open("rb") as kept:
        assert b"b@x" in kept.read()
    assert "logging its messages one by one" in caplog.text


def test_importing_the_same_file_again_after_a_failed_mail_changes_nothing(
    team, engagement, another, monkeypatch
):
    failing_on(monkeypatch, another, OverflowError("date value out of range"))
    raws = [
        mail(message_id="a@x", in_reply_to="request-1@tracker.example"),
        mail(message_id="b@x", in_reply_to="request-2@tracker.example"),
    ]
    importer.mail_import_many(workspace=team.workspace, raws=raws, source=InboundMail.Source.IMPORT)

    again = importer.mail_import_many(workspace=team.workspace, raws=raws, source=InboundMail.Source.IMPORT)

    # The imported one is in the log, the rejected one is kept once: both known.
    assert (again.duplicate, again.threaded, again.rejected) == (2, 0, 0)
    assert InboundMail.objects.filter(status=InboundMail.Status.REJECTED).count() == 1


def test_a_batch_costs_the_same_queries_whatever_its_size(team, engagement):
    def batch(prefix: str, n: int) -> list[bytes]:
        return [
            mail(in_reply_to="request-1@tracker.example", message_id=f"{prefix}-{i}@x") for i in range(n)
        ] + [mail(sender=f"s{i}@example.net", message_id=f"{prefix}-s{i}@x") for i in range(n)]

    # The request answered first: a recompute writes only the exchanges a batch changes, so both
    # measured batches find it answered already.
    importer.mail_import_many(workspace=team.workspace, raws=batch("w", 1), source=InboundMail.Source.IMPORT)
    with CaptureQueriesContext(connection) as small:
        importer.mail_import_many(
            workspace=team.workspace, raws=batch("a", 2), source=InboundMail.Source.IMPORT
        )
    with CaptureQueriesContext(connection) as large:
        importer.mail_import_many(
            workspace=team.workspace, raws=batch("b", 40), source=InboundMail.Source.IMPORT
        )
    assert len(large) == len(small)


def test_a_batch_that_answers_many_engagements_costs_the_queries_of_one_that_answers_two(team, provider):
    quick = provider_services.policy_create(workspace=team.workspace, name="Quick", reply_within=1)
    abroad = ProviderFactory(
        workspace=team.workspace, name="Manila VA", time_zone="Asia/Manila", country="PH"
    )
    requests = []
    for i in range(12):
        # Three calendars: the default policy in two time zones, and a policy of their own.
        engagement = EngagementFactory(
            workspace=team.workspace,
            provider=abroad if i % 3 == 1 else provider,
            response_policy=quick if i % 3 == 2 else None,
            owner=team.alice,
            title=f"T{i}",
        )
        requests.append(
            services.message_log(
                engagement=engagement,
                direction=Message.Direction.OUTBOUND,
                kind=Message.Kind.REQUEST,
                occurred_at=timezone.now() - timedelta(days=1, minutes=i),
                message_id=f"req-{i}@tracker.example",
            )
        )

    def replies(numbers) -> list[bytes]:
        return [mail(in_reply_to=f"req-{i}@tracker.example", message_id=f"re-{i}@x") for i in numbers]

    # Each batch has engagements under the default policy and under one of their own.
    with CaptureQueriesContext(connection) as two:
        importer.mail_import_many(workspace=team.workspace, raws=replies([1, 2]), source="import")
    with CaptureQueriesContext(connection) as ten:
        importer.mail_import_many(workspace=team.workspace, raws=replies([0, *range(3, 12)]), source="import")

    assert len(ten) == len(two)
    for i, request in enumerate(requests):
        exchange = Exchange.objects.get(engagement=request.engagement)
        alone = services.exchanges_recompute(engagement=Engagement.objects.get(pk=request.engagement_id))[0]
        assert exchange.reply_message.message_id == f"re-{i}@x"
        assert (exchange.replied_at, exchange.reply_due_at, exchange.within_policy) == (
            alone.replied_at,
            alone.reply_due_at,
            alone.within_policy,
        )
        assert not Engagement.objects.get(pk=request.engagement_id).awaiting_reply


def test_the_log_shows_a_bounce_flag_and_the_mails_html_cleaned(client, team, engagement):
    m = EmailMessage()
    m["From"] = "vanessa@va-agency.example"
    m["To"] = "alice@example.com"
    m["Subject"] = "Re: Landing page copy"
    m["Message-ID"] = "<html-1@x>"
    m["In-Reply-To"] = "<request-1@tracker.example>"
    m.set_content("Plain version.")
    m.add_alternative(
        '<p>Hello <b>there</b></p><script>alert("x")</script><p onclick="steal()">Click</p>', subtype="html"
    )
    run(team, bytes(m))
    run(team, bounce(returned_id="request-1@tracker.example"))
    client.force_login(team.bob)
    page = client.get(f"/w/acme/engagements/{engagement.pk}/")
    html = page.content.decode()
    assert 'data-testid="html-version"' in html
    assert "<b>there</b>" in html
    assert "alert(" not in html and "steal()" not in html
    assert 'data-testid="bounced"' in html
    assert "Undelivered Mail Returned to Sender" in html


def test_the_mail_menu_offers_each_person_what_their_role_allows(team):
    def links(user) -> set[str]:
        html = team.client_for(user).get("/w/acme/mail/unsorted/").content.decode()
        return {
            testid
            for testid in ("nav-unsorted", "nav-mail-upload", "nav-mailboxes", "nav-mail-webhook")
            if f'data-testid="{testid}"' in html
        }

    everything = {"nav-unsorted", "nav-mail-upload", "nav-mailboxes", "nav-mail-webhook"}
    assert links(team.alice) == everything
    assert links(team.bob) == {"nav-unsorted", "nav-mail-upload"}
    assert links(team.vera) == {"nav-unsorted"}
