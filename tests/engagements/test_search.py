"""Search (issue 15): one box in the navigation finds messages, engagements and providers, ranked and highlighted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.models import Message
from engagements.search import queries
from tests.factories import EngagementFactory, MessageFactory, ProviderFactory


def _url(team, **params):
    from urllib.parse import urlencode

    return reverse("search:results", kwargs={"ws": team.workspace.slug}) + (
        "?" + urlencode(params) if params else ""
    )


@pytest.fixture
def log(team):
    provider = ProviderFactory(
        workspace=team.workspace, name="Jana Schreiber", notes="Writes German e-books fast"
    )
    engagement = EngagementFactory(
        workspace=team.workspace,
        provider=provider,
        title="Autoresponder setup",
        brief="Welcome series of five mails",
    )
    bounce, german = (
        MessageFactory(
            engagement=engagement, direction=Message.Direction.INBOUND, kind=kind, subject=subject, body=body
        )
        for kind, subject, body in (
            (
                Message.Kind.BOUNCE,
                "Undeliverable: your request",
                "The recipient's mailbox is full and cannot accept messages now.",
            ),
            (Message.Kind.REPLY, "Rückfrage", "Die Übersetzung der Broschüre ist fertig, bitte prüfen."),
        )
    )
    return provider, engagement, bounce, german


def test_mailbox_full_finds_the_bounce_by_its_body(team, log):
    response = team.client_for(team.alice).get(_url(team, q="mailbox full"))
    assert response.status_code == 200
    hits = list(response.context["page_obj"])
    assert [hit.obj for hit in hits] == [log[2]]
    assert "<mark>mailbox</mark> is <mark>full</mark>" in response.content.decode()


def test_a_german_word_finds_the_german_message(team, log):
    response = team.client_for(team.alice).get(_url(team, q="Übersetzung"))
    assert [hit.obj for hit in response.context["page_obj"]] == [log[3]]
    assert "<mark>Übersetzung</mark>" in response.content.decode()


def test_an_english_stem_finds_the_plural(team, log):
    response = team.client_for(team.alice).get(_url(team, q="mailboxes"))
    assert [hit.obj for hit in response.context["page_obj"]] == [log[2]]


def test_provider_names_and_notes_and_engagement_briefs_are_found(team, log):
    client = team.client_for(team.alice)
    assert [h.obj for h in client.get(_url(team, q="schreiber")).context["page_obj"]] == [log[0]]
    assert [h.obj for h in client.get(_url(team, q="e-books", kind="providers")).context["page_obj"]] == [
        log[0]
    ]
    assert [h.obj for h in client.get(_url(team, q="welcome series")).context["page_obj"]] == [log[1]]


def test_each_kind_is_counted_in_its_tab(team, log):
    response = team.client_for(team.alice).get(_url(team, q="autoresponder"))
    assert dict(response.context["tabs"]) == {"messages": 0, "engagements": 1, "providers": 0}
    assert response.context["kind"] == "engagements"


def test_a_title_match_ranks_above_a_body_match(team, log):
    engagement = log[1]
    in_body = MessageFactory(engagement=engagement, subject="Status", body="About the invoice, later.")
    in_subject = MessageFactory(engagement=engagement, subject="Invoice", body="Attached.")
    response = team.client_for(team.alice).get(_url(team, q="invoice"))
    assert [h.obj for h in response.context["page_obj"]] == [in_subject, in_body]


def test_edits_and_deletes_keep_the_index_in_step(team, log):
    bounce = log[2]
    bounce.body = "Quota exceeded"
    bounce.save(update_fields=["body"])
    client = team.client_for(team.alice)
    assert list(client.get(_url(team, q="mailbox full")).context["page_obj"]) == []
    assert [h.obj for h in client.get(_url(team, q="quota")).context["page_obj"]] == [bounce]
    Message.objects.filter(pk=bounce.pk).delete()
    assert list(client.get(_url(team, q="quota")).context["page_obj"]) == []


def test_a_soft_deleted_message_is_not_found(team, log):
    from django.utils import timezone

    bounce = log[2]
    bounce.deleted_at = timezone.now()
    bounce.save(update_fields=["deleted_at"])
    assert list(team.client_for(team.alice).get(_url(team, q="mailbox")).context["page_obj"]) == []


@pytest.mark.parametrize("role", ["alice", "bob", "vera"])
def test_every_member_finds_the_workspaces_rows(team, log, role):
    response = team.client_for(getattr(team, role)).get(_url(team, q="mailbox"))
    assert response.status_code == 200
    assert [h.obj for h in response.context["page_obj"]] == [log[2]]


def test_an_outsider_gets_404_and_never_sees_another_workspaces_rows(team, log):
    client = team.client_for(team.charlie)
    assert client.get(_url(team, q="mailbox")).status_code == 404
    own = reverse("search:results", kwargs={"ws": team.other_workspace.slug})
    response = client.get(own + "?q=mailbox")
    assert response.status_code == 200
    assert dict(response.context["tabs"]) == {"messages": 0, "engagements": 0, "providers": 0}
    content = response.content.decode()
    assert 'data-testid="search-hit"' not in content
    assert "Undeliverable" not in content


def test_user_text_is_escaped_before_it_is_marked(team, log):
    engagement = log[1]
    MessageFactory(
        engagement=engagement,
        subject="<img src=x onerror=alert(1)> Invoice",
        body="<b>invoice</b> & <i>x</i>",
    )
    content = team.client_for(team.alice).get(_url(team, q="invoice")).content.decode()
    assert "<img src=x" not in content
    assert "&lt;img src=x onerror=alert(1)&gt; <mark>Invoice</mark>" in content
    assert "&lt;b&gt;<mark>invoice</mark>&lt;/b&gt; &amp; &lt;i&gt;x&lt;/i&gt;" in content


@pytest.mark.parametrize(
    "text",
    [
        '"mailbox',
        "mailbox AND OR NOT",
        "NEAR(mailbox full)",
        "mail* ^full col:full",
        "full\x00box",
        "'; DROP TABLE engagements_message; --",
        "!!! ((( )))",
        "a" * 10_000,
        "mailbox " * 25,
        "ß ǅ İstanbul 東京",
    ],
)
def test_no_query_text_gives_a_server_error(team, log, text):
    response = team.client_for(team.alice).get(_url(team, q=text))
    assert response.status_code == 200


def test_quotes_and_operators_are_searched_as_words(team, log):
    response = team.client_for(team.alice).get(_url(team, q='"mailbox" NEAR full*'))
    # "near" is a word too: nothing holds all three.
    assert list(response.context["page_obj"]) == []
    response = team.client_for(team.alice).get(_url(team, q='"mailbox" full*'))
    assert [h.obj for h in response.context["page_obj"]] == [log[2]]


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({}, "search-empty-query"),  # says what can be searched
        ({"q": "?!"}, "search-no-words"),  # asks for a word
        ({"q": "mailbox " * 30}, "search-too-long"),
        ({"q": "zebra"}, "search-no-results"),
    ],
)
def test_an_empty_wordless_too_long_or_fruitless_query_says_so(team, log, params, notice):
    response = team.client_for(team.alice).get(_url(team, **params))
    assert f'data-testid="{notice}"' in response.content.decode()
    assert not response.context["page_obj"]


def test_results_are_paginated(team, log):
    for n in range(25):
        MessageFactory(engagement=log[1], subject=f"Invoice {n}", body="Please pay")
    client = team.client_for(team.alice)
    first = client.get(_url(team, q="invoice"))
    second = client.get(_url(team, q="invoice", page=2))
    assert len(first.context["page_obj"]) == 20
    assert len(second.context["page_obj"]) == 5
    seen = {h.obj.pk for h in first.context["page_obj"]} | {h.obj.pk for h in second.context["page_obj"]}
    assert len(seen) == 25


@pytest.mark.parametrize("kind", ["messages", "engagements", "providers"])
def test_the_results_page_query_count_does_not_grow_with_the_hits(team, django_assert_max_num_queries, kind):
    def add(n):
        for i in range(n):
            provider = ProviderFactory(workspace=team.workspace, name=f"Invoice agency {i}", notes="invoice")
            engagement = EngagementFactory(workspace=team.workspace, provider=provider, title=f"Invoice {i}")
            MessageFactory(engagement=engagement, subject="Invoice", body="invoice attached")

    client = team.client_for(team.alice)
    add(2)
    with django_assert_max_num_queries(100) as few:
        client.get(_url(team, q="invoice", kind=kind))
    add(15)
    with django_assert_max_num_queries(len(few)):
        response = client.get(_url(team, q="invoice", kind=kind))
    assert len(response.context["page_obj"]) == 17


def test_the_search_box_is_in_the_navigation_of_every_workspace_page(team):
    for name in ("engagements:list", "providers:list", "engagements:attention"):
        content = (
            team.client_for(team.vera).get(reverse(name, kwargs={"ws": team.workspace.slug})).content.decode()
        )
        assert 'data-testid="nav-search"' in content
        assert f'action="{_url(team)}"' in content


def test_highlight_escapes_then_marks():
    assert (
        queries.highlight("a <b>Mailboxes</b>", ["mailbox"]) == "a &lt;b&gt;<mark>Mailboxes</mark>&lt;/b&gt;"
    )


def test_the_index_exists_only_for_the_engine_in_use(db):
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        columns = [
            c.name for c in connection.introspection.get_table_description(cursor, "engagements_message")
        ]
    if connection.vendor == "sqlite":
        assert "engagements_message_fts" in tables
        assert "search_vector" not in columns
    else:
        assert "engagements_message_fts" not in tables
        assert "search_vector" in columns


def test_after_migrate_puts_back_an_index_a_table_rebuild_took_away(team, log):
    from engagements.search import index

    provider = log[0]
    if connection.vendor == "sqlite":
        # What Django's SQLite table rebuild does to an altered table: its triggers go.
        with connection.cursor() as cursor:
            for trigger in index.TRIGGERS:
                cursor.execute(f"DROP TRIGGER providers_provider_fts_{trigger}")
    provider.notes = "Now writes podcasts"
    provider.save(update_fields=["notes"])
    index.after_migrate(sender=None, using="default")
    found = team.client_for(team.alice).get(_url(team, q="podcasts", kind="providers")).context["page_obj"]
    assert [h.obj for h in found] == [provider]


def test_both_ways_of_finding_the_newest_matches_rank_alike(team, log):
    for n in range(5):
        MessageFactory(engagement=log[1], subject="Invoice" if n % 2 else "Status", body=f"invoice {n}")
    kind = queries.KINDS["messages"]
    ranked = [
        queries.ranked_ids(kind, ["invoice"], team.workspace.pk, offset=0, limit=20, plenty=plenty)
        for plenty in (False, True)
    ]
    assert len(ranked[0]) == 5
    assert ranked[0] == ranked[1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is chosen on PostgreSQL only")
def test_whether_words_match_plenty_is_counted_once_then_remembered(team, log, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    monkeypatch.setattr(queries, "PLENTY", 3)
    for n in range(5):
        MessageFactory(engagement=log[1], subject="Invoice", body=f"invoice {n}")
    kind = queries.KINDS["messages"]

    def plenty_counted() -> tuple[bool, int]:
        with CaptureQueriesContext(connection) as run:
            plenty = queries.Results(kind, ["invoice"], team.workspace.pk).plenty()
        return plenty, sum("LIMIT 4" in q["sql"] for q in run.captured_queries)

    assert plenty_counted() == (True, 1)
    assert plenty_counted() == (True, 0)
    # Other words, or the same words in another workspace, are counted for themselves.
    assert queries.Results(kind, ["status"], team.workspace.pk).plenty() is False
    assert queries.Results(kind, ["invoice"], team.other_workspace.pk).plenty() is False


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is chosen on PostgreSQL only")
def test_words_remembered_to_match_plenty_are_past_the_cap_without_counting_again(team, log, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    monkeypatch.setattr(queries, "PLENTY", 3)
    for n in range(5):
        MessageFactory(engagement=log[1], subject="Invoice", body=f"invoice {n}")
    kind = queries.KINDS["messages"]

    def counted() -> tuple[dict[str, int], int]:
        with CaptureQueriesContext(connection) as run:
            counts = queries.search_counts(team.workspace.pk, ["invoice"])
        return counts, sum("engagements_message" in q["sql"] for q in run.captured_queries)

    before, asked = counted()
    assert before["messages"] > queries.COUNT_CAP and asked == 1
    assert queries.Results(kind, ["invoice"], team.workspace.pk).plenty() is True
    after, asked = counted()
    assert after["messages"] == queries.COUNT_CAP + 1 and asked == 0
    assert after["engagements"] == before["engagements"]
    # The other kinds are still counted, and other words too.
    assert after["engagements"] == queries.match_count(
        queries.KINDS["engagements"], ["invoice"], team.workspace.pk
    )
    assert queries.search_counts(team.workspace.pk, ["status"])["messages"] == 0


def test_the_page_speaks_german(team, log, settings):
    client = team.client_for(team.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    content = client.get(_url(team, q="mailbox " * 30)).content.decode()
    assert "Diese Suche ist zu lang" in content
    assert "Hier passt nichts zu „zebra“." in client.get(_url(team, q="zebra")).content.decode()
