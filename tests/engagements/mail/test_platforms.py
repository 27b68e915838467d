"""Platform message notifications: recognised by their rules, logged as the freelancer's words, or unsorted.

The fixtures in ``platforms/`` are notifications as Upwork, Fiverr and
Freelancer.com send them (English and German, HTML-only, plain and
multipart) and look-alikes that must stay ordinary mail.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from engagements import services
from engagements.mail import importer, platforms, webhook
from engagements.mail.parse import parse_message
from engagements.models import Engagement, Exchange, InboundMail, Message
from tests.engagements.mail.test_webhook import SECRET, SIGNING_KEY, post_postmark, postmark_payload
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

FIXTURES = Path(__file__).parent / "platforms"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def notice(name: str) -> platforms.PlatformNotice | None:
    return platforms.recognise(parse_message(raw(name)))


PRIYA_WORDS = (
    "Hi Alice, the first draft of the landing page copy is ready.\n"
    "I put two headline options at the top – which one do you prefer?"
)
AHMED_WORDS = (
    "Hello! Thanks for the order. Could you send me the brand colours and\n"
    "the logo files? I'll start right after."
)

# file, platform, sender shown, the freelancer's words exactly, topic, conversation link
RECOGNISED = [
    (
        "upwork_unread_multipart.eml",
        "upwork",
        "Priya S.",
        PRIYA_WORDS,
        "Landing page copy",
        "https://www.upwork.com/ab/messages/rooms/room_8f3a2c1d",
    ),
    (
        "upwork_new_message_html.eml",
        "upwork",
        "Oksana K.",
        "I uploaded the second cut.\nThe music is licensed, the receipt is in the files tab.",
        "Product video edit",
        "https://www.upwork.com/ab/messages/rooms/room_55c0ffee",
    ),
    (
        "fiverr_en_multipart.eml",
        "fiverr",
        "ahmedraza",
        AHMED_WORDS,
        "",
        "https://www.fiverr.com/inbox/ahmedraza",
    ),
    (
        "fiverr_de_html.eml",
        "fiverr",
        "lenagrafik",
        "Die Entwürfe für das E-Book-Cover sind fertig.\nIch schicke dir morgen früh die Druckdaten.",
        "",
        "https://de.fiverr.com/inbox/lenagrafik",
    ),
    (
        "freelancer_en_plain.eml",
        "freelancer",
        "Jomar Reyes",
        "Good evening Alice,\n\nthe homepage and the contact form are done. Staging login:\n"
        "https://staging.example.com/wp-admin (user: alice)",
        "Build a WordPress site",
        "https://www.freelancer.com/messages/thread/123456789",
    ),
    (
        "freelancer_en_html.eml",
        "freelancer",
        "Jomar Reyes",
        "Quick question: should the blog use the same menu as the shop?",
        "",
        "https://www.freelancer.com/messages/thread/123456789",
    ),
    (
        "freelancer_de_multipart.eml",
        "freelancer",
        "Jomar Reyes",
        "Guten Abend, die Startseite ist fertig. Können Sie bis Montag die Texte schicken?",
        "WordPress-Seite erstellen",
        "https://www.freelancer.de/messages/thread/123456789",
    ),
]


@pytest.mark.parametrize(("name", "platform", "sender", "words", "topic", "link"), RECOGNISED)
def test_a_platform_notification_is_recognised_and_its_words_read_exactly(
    name, platform, sender, words, topic, link
):
    found = notice(name)
    assert found is not None
    assert (found.platform, found.sender, found.words, found.topic, found.link) == (
        platform,
        sender,
        words,
        topic,
        link,
    )


@pytest.mark.parametrize(
    "name",
    [
        # the same sender, a notification's words in the body, but a newsletter's subject
        "upwork_marketing.eml",
        # a notification's subject and body from a domain that only starts like the platform's
        "fiverr_forged_domain.eml",
        # the platform's address in the display name only
        "upwork_display_name_spoof.eml",
    ],
)
def test_a_look_alike_is_not_recognised(name):
    assert notice(name) is None


def test_the_time_the_notification_shows_is_when_the_freelancer_wrote():
    found = notice("upwork_unread_multipart.eml")
    assert found is not None
    assert found.sent_at == datetime(2026, 12, 3, 10, 42, tzinfo=UTC)


def test_a_shown_time_after_the_mail_was_sent_is_not_believed():
    mail = parse_message(raw("upwork_unread_multipart.eml").replace(b"10:47:12 +0000", b"09:00:00 +0000"))
    found = platforms.recognise(mail)
    assert found is not None
    assert found.sent_at is None


def test_the_freelancer_and_the_platform_names_shown_are_only_the_freelancers():
    found = notice("freelancer_en_plain.eml")
    assert found is not None
    assert (found.name, found.handle, found.label) == ("Jomar Reyes", "jomarreyes", "Freelancer.com")


@pytest.mark.parametrize(
    ("address", "platform"),
    [
        ("donotreply@upwork.com", "upwork"),
        ("noreply@e.fiverr.com", "fiverr"),
        ("no-reply@freelancer.de", "freelancer"),
        ("noreply@fiverr.com.inbox-notice.example", None),
        ("noreply@upwork-mail.com", None),
        ("noreply@notupwork.com", None),
    ],
)
def test_a_sender_is_the_platforms_only_on_its_domain_or_a_subdomain(address, platform):
    rule = platforms.rule_for_sender(address)
    assert (rule.key if rule else None) == platform


def test_a_notification_without_words_is_not_recognised():
    emptied = raw("freelancer_en_plain.eml").replace(
        b"Good evening Alice,\n\nthe homepage and the contact form are done. Staging login:\n"
        b"https://staging.example.com/wp-admin (user: alice)\n\n",
        b"",
    )
    assert platforms.recognise(parse_message(emptied)) is None


def test_profile_links_name_users_on_their_platform_only():
    identities = [
        platforms.ProviderIdentity(1, "Someone", "", ("https://www.fiverr.com/ahmedraza",)),
        platforms.ProviderIdentity(2, "Other", "", ("https://www.freelancer.com/u/ahmedraza",)),
    ]
    found = notice("fiverr_en_multipart.eml")
    assert found is not None
    assert platforms.match_providers(found, {"ahmedraza"}, identities) == [1]


def test_a_shortened_name_matches_the_provider_whose_first_name_and_initial_fit():
    identities = [
        platforms.ProviderIdentity(1, "Oksana Kovalenko", "", ()),
        platforms.ProviderIdentity(2, "Oksana Lewandowska", "", ()),
    ]
    found = notice("upwork_new_message_html.eml")
    assert found is not None
    assert platforms.match_providers(found, set(), identities) == [1]


# --- the importer ------------------------------------------------------------------------------------


def run(team, data: bytes) -> importer.ImportResult:
    return importer.mail_import(workspace=team.workspace, raw=data, source=InboundMail.Source.IMPORT)


def open_engagement(team, provider, title: str) -> Engagement:
    """An engagement with a request logged on 1 December, waiting for the provider's answer."""
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title=title)
    services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        subject=title,
    )
    return engagement


@pytest.fixture
def priya(team):
    return ProviderFactory(
        workspace=team.workspace,
        name="Priya Sharma",
        profile_links=["https://www.upwork.com/freelancers/~01a2b3c4d5e6f7a8b9"],
    )


@pytest.mark.django_db
def test_a_notification_is_logged_as_the_freelancers_platform_message_by_their_profile_link(team, priya):
    engagement = open_engagement(team, priya, "Landing page copy")
    result = run(team, raw("upwork_unread_multipart.eml"))
    assert (result.outcome, result.how) == (importer.THREADED, "platform")
    message = Message.objects.get(engagement=engagement, direction=Message.Direction.INBOUND)
    assert message.channel == Message.Channel.PLATFORM
    assert message.kind == Message.Kind.REPLY
    assert message.sender == "Priya S."
    assert message.body == PRIYA_WORDS
    assert message.occurred_at == datetime(2026, 12, 3, 10, 42, tzinfo=UTC)
    # The notification's Auto-Submitted header is the platform's, not the freelancer's.
    assert not message.is_auto_reply
    assert message.html == ""
    assert message.message_id == "20261203104712.8f3a2c1d@mail.upwork.com"
    # The whole notification stays at hand, folded away, with the link to the conversation.
    assert message.quoted.startswith("https://www.upwork.com/ab/messages/rooms/room_8f3a2c1d")
    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.reply_message_id == message.pk


@pytest.mark.django_db
def test_a_notification_is_matched_by_the_name_it_shows(team):
    jomar = ProviderFactory(workspace=team.workspace, name="Jomar Reyes")
    engagement = open_engagement(team, jomar, "Build a WordPress site")
    assert run(team, raw("freelancer_en_plain.eml")).outcome == importer.THREADED
    message = Message.objects.get(engagement=engagement, channel=Message.Channel.PLATFORM)
    assert message.sender == "Jomar Reyes"


@pytest.mark.django_db
def test_a_fiverr_user_name_finds_the_provider_whose_profile_link_names_it(team):
    ahmed = ProviderFactory(
        workspace=team.workspace, name="Ahmed Raza", profile_links=["https://www.fiverr.com/ahmedraza"]
    )
    engagement = open_engagement(team, ahmed, "Logo redesign")
    assert run(team, raw("fiverr_en_multipart.eml")).outcome == importer.THREADED
    assert Message.objects.get(engagement=engagement, channel=Message.Channel.PLATFORM).body == AHMED_WORDS


@pytest.mark.django_db
def test_of_several_open_engagements_the_one_the_notification_is_about_gets_it(team):
    jomar = ProviderFactory(
        workspace=team.workspace, name="J. Reyes", profile_links=["https://www.freelancer.com/u/jomarreyes"]
    )
    open_engagement(team, jomar, "Logo")
    wordpress = open_engagement(team, jomar, "Build a WordPress site")
    result = run(team, raw("freelancer_en_plain.eml"))
    assert result.message is not None
    assert result.message.engagement_id == wordpress.pk


@pytest.mark.django_db
def test_the_platforms_address_never_finds_a_provider_even_entered_as_a_contact(team, priya):
    wrong = ProviderFactory(workspace=team.workspace, name="Upwork inbox")
    ProviderEmailFactory(provider=wrong, workspace=team.workspace, email="donotreply@upwork.com")
    open_engagement(team, wrong, "Anything")
    engagement = open_engagement(team, priya, "Landing page copy")
    assert run(team, raw("upwork_unread_multipart.eml")).message.engagement_id == engagement.pk  # type: ignore[union-attr]
    # The platform's newsletter is ordinary mail, and its address names nobody.
    assert run(team, raw("upwork_marketing.eml")).outcome == importer.UNSORTED
    assert not Message.objects.filter(sender__icontains="upwork.com").exists()


@pytest.mark.django_db
def test_an_unmatched_notification_waits_in_unsorted_with_the_provider_suggested(team):
    result = run(team, raw("fiverr_de_html.eml"))
    assert result.outcome == importer.UNSORTED
    inbound = InboundMail.objects.get()
    assert (inbound.platform, inbound.platform_sender, inbound.platform_handles) == (
        "fiverr",
        "lenagrafik",
        "lenagrafik",
    )
    assert (
        inbound.snippet
        == "Die Entwürfe für das E-Book-Cover sind fertig. Ich schicke dir morgen früh die Druckdaten."
    )
    page = team.client_for(team.alice).get(reverse("mail:unsorted", kwargs={"ws": team.workspace.slug}))
    assert "Suggested provider: lenagrafik" in page.content.decode()
    sort = team.client_for(team.alice).get(
        reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    )
    html = sort.content.decode()
    assert "Platform message on Fiverr from lenagrafik" in html
    add = reverse("providers:create", kwargs={"ws": team.workspace.slug})
    assert f"{add}?name=lenagrafik&amp;profile_links=https%3A%2F%2Fwww.fiverr.com%2Flenagrafik" in html


@pytest.mark.django_db
def test_the_add_provider_link_prefills_the_name_and_the_profile_link(team):
    add = reverse("providers:create", kwargs={"ws": team.workspace.slug})
    form = (
        team.client_for(team.bob)
        .get(add, {"name": "lenagrafik", "profile_links": "https://www.fiverr.com/lenagrafik"})
        .context["form"]
    )
    assert form["name"].value() == "lenagrafik"
    assert form["profile_links_text"].value() == "https://www.fiverr.com/lenagrafik"


@pytest.mark.django_db
def test_a_matched_provider_without_an_open_engagement_is_one_click_away(team, priya):
    assert run(team, raw("upwork_unread_multipart.eml")).outcome == importer.UNSORTED
    inbound = InboundMail.objects.get()
    sort = reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    client = team.client_for(team.bob)
    page = client.get(sort).content.decode()
    assert "Start an engagement with Priya Sharma and log it" in page
    assert "as a provider" not in page
    assert client.post(sort, {"new_for": priya.pk}).status_code == 302
    message = Message.objects.get(channel=Message.Channel.PLATFORM)
    assert (message.engagement.provider_id, message.sender, message.body) == (
        priya.pk,
        "Priya S.",
        PRIYA_WORDS,
    )
    assert message.engagement.title == "You have unread messages about the job Landing page copy"


@pytest.mark.django_db
def test_assigning_an_unsorted_notification_logs_the_freelancers_words(team):
    run(team, raw("fiverr_de_html.eml"))
    lena = ProviderFactory(workspace=team.workspace, name="Lena Graf")
    engagement = open_engagement(team, lena, "E-Book-Cover")
    message = importer.inbound_assign(inbound=InboundMail.objects.get(), engagement=engagement)
    assert (message.channel, message.sender, message.kind) == (
        Message.Channel.PLATFORM,
        "lenagrafik",
        Message.Kind.REPLY,
    )
    assert message.body.startswith("Die Entwürfe")


@pytest.mark.django_db
def test_a_notification_imported_again_is_a_duplicate(team, priya):
    open_engagement(team, priya, "Landing page copy")
    assert run(team, raw("upwork_unread_multipart.eml")).outcome == importer.THREADED
    assert run(team, raw("upwork_unread_multipart.eml")).outcome == importer.DUPLICATE
    assert run(team, raw("fiverr_de_html.eml")).outcome == importer.UNSORTED
    assert run(team, raw("fiverr_de_html.eml")).outcome == importer.DUPLICATE
    assert Message.objects.filter(channel=Message.Channel.PLATFORM).count() == 1
    assert InboundMail.objects.count() == 2


@pytest.mark.django_db
def test_a_batch_of_notifications_takes_no_more_queries_than_a_batch_of_two(team, priya):
    open_engagement(team, priya, "Landing page copy")
    for i in range(5):
        ProviderFactory(
            workspace=team.workspace, name=f"Someone {i}", profile_links=[f"https://fiverr.com/x{i}"]
        )
    raws = [raw(name) for name, *_rest in RECOGNISED]
    with CaptureQueriesContext(connection) as few:
        importer.mail_import_many(workspace=team.workspace, raws=raws[:2], source=InboundMail.Source.IMPORT)
    InboundMail.objects.all().delete()
    Message.objects.filter(channel=Message.Channel.PLATFORM).delete()
    with CaptureQueriesContext(connection) as many:
        importer.mail_import_many(workspace=team.workspace, raws=raws, source=InboundMail.Source.IMPORT)
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_the_sort_page_of_a_notification_is_for_the_workspace_only(team):
    run(team, raw("fiverr_de_html.eml"))
    inbound = InboundMail.objects.get()
    sort = reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    unsorted = reverse("mail:unsorted", kwargs={"ws": team.workspace.slug})
    assert team.client_for(team.alice).get(sort).status_code == 200
    assert team.client_for(team.bob).get(sort).status_code == 200
    assert team.client_for(team.charlie).get(sort).status_code == 404
    assert team.client_for(team.charlie).get(unsorted).status_code == 404
    # A viewer reads it, but is not offered to add a provider, and cannot sort it.
    viewer = team.client_for(team.vera)
    assert "as a provider" not in viewer.get(sort).content.decode()
    assert viewer.post(sort, {"new_for": ""}).status_code == 403


@pytest.mark.django_db
def test_the_platform_suggestions_read_in_german(team):
    run(team, raw("fiverr_de_html.eml"))
    inbound = InboundMail.objects.get()
    client = team.client_for(team.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    unsorted = client.get(reverse("mail:unsorted", kwargs={"ws": team.workspace.slug})).content.decode()
    assert "Vorgeschlagener Dienstleister: lenagrafik" in unsorted
    sort = client.get(
        reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    ).content.decode()
    assert "Plattform-Nachricht auf Fiverr von lenagrafik" in sort
    assert "„lenagrafik“ als Dienstleister hinzufügen" in sort
    with translation.override("de"):
        assert str(InboundMail._meta.get_field("platform").verbose_name) == "Plattform"


@pytest.mark.django_db
def test_the_import_command_logs_the_fixture_folders_notifications_and_sorts_out_the_rest(team, priya):
    open_engagement(team, priya, "Landing page copy")
    jomar = ProviderFactory(workspace=team.workspace, name="Jomar Reyes")
    open_engagement(team, jomar, "Build a WordPress site")
    out = StringIO()
    call_command("import_mail", str(FIXTURES), workspace=team.workspace.slug, stdout=out)
    # Priya's by her profile link, Jomar's three (English plain and HTML, German) by his name;
    # Oksana, ahmedraza and lenagrafik are no provider yet, and the three look-alikes are ordinary mail.
    assert out.getvalue().splitlines()[-1] == (
        "imported 10: threaded 4, unsorted 6; rejected 0; already there 0"
    )
    assert sorted(
        Message.objects.filter(channel=Message.Channel.PLATFORM).values_list("sender", flat=True)
    ) == [
        "Jomar Reyes",
        "Jomar Reyes",
        "Jomar Reyes",
        "Priya S.",
    ]
    assert sorted(InboundMail.objects.exclude(platform="").values_list("platform_sender", flat=True)) == [
        *["Jomar Reyes"] * 3,
        "Oksana K.",
        "Priya S.",
        "ahmedraza",
        "lenagrafik",
    ]
    unsorted = InboundMail.objects.filter(status=InboundMail.Status.UNSORTED)
    assert sorted(unsorted.values_list("platform_sender", flat=True)) == [
        "",
        "",
        "",
        "Oksana K.",
        "ahmedraza",
        "lenagrafik",
    ]


def test_a_notification_built_to_stall_the_rules_is_read_in_a_moment():
    intro = b'Jomar Reyes (@jomarreyes) sent you a message regarding the project "x":\n\nwords\n'
    hostile = raw("freelancer_en_plain.eml").split(b"\n\n", 1)[0] + b"\n\n" + intro * 1500
    started = time.monotonic()
    assert platforms.recognise(parse_message(hostile)) is None
    assert time.monotonic() - started < 2


@pytest.mark.django_db
def test_a_notification_posted_to_the_webhook_is_logged_as_a_platform_message(team, priya, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    engagement = open_engagement(team, priya, "Landing page copy")
    payload = postmark_payload(raw=raw("upwork_unread_multipart.eml").decode())
    response = post_postmark(webhook.mail_token_ensure(team.workspace), payload)
    assert response.status_code == 200
    message = Message.objects.get(engagement=engagement, direction=Message.Direction.INBOUND)
    assert (message.channel, message.sender, message.body, message.source) == (
        Message.Channel.PLATFORM,
        "Priya S.",
        PRIYA_WORDS,
        Message.Source.WEBHOOK,
    )


@pytest.mark.django_db
def test_two_providers_of_the_shown_name_leave_the_choice_to_a_person(team):
    first = ProviderFactory(workspace=team.workspace, name="Jomar Reyes")
    second = ProviderFactory(workspace=team.workspace, name="Jomar Reyes")
    open_engagement(team, first, "Logo")
    open_engagement(team, second, "Banner")
    assert run(team, raw("freelancer_en_html.eml")).outcome == importer.UNSORTED
    inbound = InboundMail.objects.get()
    page = team.client_for(team.alice).get(
        reverse("mail:sort", kwargs={"ws": team.workspace.slug, "pk": inbound.pk})
    )
    assert "No provider, or more than one, has this platform profile" in page.content.decode()
    assert page.context["provider"] is None


@pytest.mark.django_db
def test_the_unsorted_page_reads_as_many_queries_for_one_notification_as_for_many(team):
    client = team.client_for(team.alice)
    url = reverse("mail:unsorted", kwargs={"ws": team.workspace.slug})
    run(team, raw("fiverr_de_html.eml"))
    client.get(url)  # the first request of a session also saves the session
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for name in ("fiverr_en_multipart.eml", "upwork_new_message_html.eml", "freelancer_en_html.eml"):
        run(team, raw(name))
    with CaptureQueriesContext(connection) as four:
        page = client.get(url)
    assert page.content.decode().count('data-testid="suggested-provider"') == 4
    assert len(four.captured_queries) == len(one.captured_queries)
