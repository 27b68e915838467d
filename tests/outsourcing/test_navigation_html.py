"""The navigation bar, written in Python (``{% navigation %}``), reads exactly as base.html's markup did.

tests/outsourcing/fixtures/old_base.html is base.html as it was before the tag, with the language
switcher partial it included inlined: each page is rendered with it and with today's base.html,
for the same request, and the two must be the same, byte for byte.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.template import RequestContext, Template
from django.template.loader import get_template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from outsourcing.models import Role
from tests.factories import MembershipFactory, WorkspaceFactory

OLD_BASE = (Path(__file__).parent / "fixtures" / "old_base.html").read_text()
PAGE = "{% extends base %}{% block title %}A page{% endblock %}{% block content %}<p>x</p>{% endblock %}"
# A CSRF token is masked anew each time it is written: compare the pages without them.
TOKEN = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+"')

BADGES = [
    None,
    {"attention": 0, "unread": 0},
    {"attention": 7, "unread": 1},
    {"attention": "99+", "unread": "99+"},
]


def both(response, language: str, counts: dict[str, object] | None = None) -> tuple[str, str, int, int]:
    """The page of ``response``'s request drawn by the old base.html and today's, and their queries."""
    request = response.wsgi_request
    extra = {} if counts is None else {"nav_counts": counts}
    pages, queries = [], []
    with translation.override(language):
        for base in (Template(OLD_BASE), get_template("base.html").template):
            with CaptureQueriesContext(connection) as captured:
                pages.append(
                    TOKEN.sub(r"\1-", Template(PAGE).render(RequestContext(request, {"base": base, **extra})))
                )
            queries.append(len(captured))
    return pages[0], pages[1], queries[0], queries[1]


def assert_same(response, language: str, counts: dict[str, object] | None = None) -> str:
    before, after, queries_before, queries_after = both(response, language, counts)
    assert after == before
    assert queries_after == queries_before
    return after


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("counts", BADGES)
@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_a_workspace_page_has_the_navigation_it_had(team, language, counts, who):
    user = getattr(team, who)
    # Several workspaces in the switcher, one with a name to escape; a name of its own.
    MembershipFactory(user=user, workspace=WorkspaceFactory(name="O'Brien & <Sons>"), role=Role.MANAGER)
    user.first_name, user.last_name = "Ada <b>", "L'Ovelace"
    user.save()
    client = team.client_for(user)
    slug = team.workspace.slug
    for path in (
        f"/w/{slug}/engagements/attention/",
        f"/w/{slug}/engagements/",
        f"/w/{slug}/providers/",
        f"/w/{slug}/mail/unsorted/",
        f"/w/{slug}/notifications/",
        f"/w/{slug}/members/",
        f"/w/{slug}/reliability/",
        f"/w/{slug}/settings/?tab=a&b=<c>",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = assert_same(response, language, counts)
        assert 'data-testid="nav-attention"' in html
        assert ("nav-mailboxes" in html) == (who == "alice")
        assert ("nav-mail-upload" in html) == (who != "vera")


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_manager_sees_the_mail_settings_but_not_the_archive(team, language):
    manager = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    html = assert_same(team.client_for(manager).get(f"/w/{team.workspace.slug}/mail/unsorted/"), language)
    assert "nav-mailboxes" in html
    assert "nav-archive" not in html


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_sample_workspace_banner_and_its_badges_are_as_they_were(team, language):
    team.workspace.is_sample = True
    team.workspace.save()
    for user in (team.alice, team.bob):
        response = team.client_for(user).get(f"/w/{team.workspace.slug}/engagements/")
        html = assert_same(response, language, {"attention": 3, "unread": 12})
        assert 'data-testid="sample-banner"' in html
        assert ('data-testid="sample-delete"' in html) == (user == team.alice)


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_page_outside_a_workspace_has_the_navigation_it_had(team, language):
    response = team.client_for(team.alice).get("/workspaces/new/")
    assert response.status_code == 200
    html = assert_same(response, language)
    assert 'data-testid="workspace-switcher"' in html
    assert "nav-attention" not in html


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_person_without_a_workspace_has_the_navigation_it_had(user, language):
    client = Client()
    client.force_login(user)
    html = assert_same(client.get("/workspaces/new/"), language)
    assert "account-menu" in html
    assert "nav-members" not in html


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_signed_out_page_has_the_navigation_it_had(db, client, language):
    response = client.get("/accounts/login/?next=/w/x/")
    assert response.status_code == 200
    html = assert_same(response, language)
    assert "/accounts/signup/" in html
    assert "account-menu" not in html
