"""Saved views' pages: the Views menu on both lists, saving, the manage page, rename, share, delete."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import resolve

from engagements import saved_views
from engagements.models import SavedView
from tests.engagements.conftest import url
from tests.factories import EngagementFactory

LIST = SavedView.Page.LIST
ATTENTION = SavedView.Page.ATTENTION


def save(team, user, name="Drafts", *, page=LIST, query="status=draft", shared=False) -> SavedView:
    return saved_views.saved_view_create(
        membership=team.membership(user), page=page, name=name, query=query, shared=shared
    )


def post_save(client, name="Drafts", *, page="list", query="status=draft&page=2", shared=False):
    data = {"name": name, "page": page, "query": query}
    if shared:
        data["shared"] = "on"
    return client.post(url("saved_view_save"), data)


def test_saving_a_view_from_the_list_keeps_its_filters_and_opens_it(team, provider):
    EngagementFactory(workspace=team.workspace, provider=provider, title="A draft", status="draft")
    EngagementFactory(workspace=team.workspace, provider=provider, title="Requested", status="requested")
    client = team.client_for(team.bob)
    response = post_save(client, "Drafts", shared=True)
    view = SavedView.objects.get()
    assert (view.name, view.query, view.shared, view.creator) == ("Drafts", "status=draft", True, team.bob)
    assert response.status_code == 302
    assert response["Location"] == url("list") + "?status=draft"
    page = client.get(response["Location"])
    assert [e.title for e in page.context["page_obj"]] == ["A draft"]
    assert "was saved and shared with the workspace" in page.content.decode()


def test_the_menu_lists_shared_views_and_my_private_ones_and_marks_the_open_one(team):
    save(team, team.alice, "Alice shared", shared=True, query="status=requested")
    save(team, team.alice, "Alice private", query="status=completed")
    save(team, team.bob, "Bob drafts", query="status=draft")
    html = team.client_for(team.bob).get(url("list") + "?status=draft&page=1").content.decode()
    assert "Alice shared" in html
    assert "Bob drafts" in html
    assert "Alice private" not in html
    assert 'href="/w/acme/engagements/?status=draft" aria-current="page"' in html
    assert html.count('aria-current="page" data-testid="saved-view"') == 1


def test_needs_attention_has_its_own_views(team):
    save(team, team.bob, "Only my answers", page=ATTENTION, query="mine=1")
    save(team, team.bob, "Drafts on the list")
    html = team.client_for(team.bob).get(url("attention") + "?mine=1").content.decode()
    assert 'href="/w/acme/engagements/attention/?mine=1" aria-current="page"' in html
    assert "Drafts on the list" not in html


def test_the_menu_says_when_there_are_no_views_yet(team):
    html = team.client_for(team.bob).get(url("list")).content.decode()
    assert 'data-testid="saved-views-empty"' in html
    assert 'data-testid="save-view-form"' in html


def test_a_viewer_is_not_offered_to_share(team):
    viewer = team.client_for(team.vera).get(url("list")).content.decode()
    member = team.client_for(team.bob).get(url("list")).content.decode()
    assert 'name="shared"' not in viewer
    assert 'name="shared"' in member


def test_a_viewer_saves_a_private_view_and_a_posted_share_is_ignored(team):
    response = post_save(team.client_for(team.vera), "Mine", shared=True)
    assert response.status_code == 302
    assert SavedView.objects.get().shared is False


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "Give the view a name."), ("x" * 81, "At most 80 characters"), ("drafts", "already have a view")],
)
def test_a_refused_name_shows_the_error_and_keeps_the_input(team, name, error):
    save(team, team.bob, "Drafts")
    response = post_save(team.client_for(team.bob), name, query="status=requested&sort=title", shared=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert error in html
    assert 'value="status=requested&amp;sort=title"' in html  # the filters are still there
    assert 'name="shared" class="checkboxinput form-check-input" id="id_shared" checked' in html
    if name:
        assert f'value="{name}"' in html
    assert SavedView.objects.count() == 1


def test_the_save_form_only_takes_a_post(team):
    assert team.client_for(team.bob).get(url("saved_view_save")).status_code == 405


def test_the_manage_page_lists_what_i_see_with_what_i_may_do(team):
    shared = save(team, team.alice, "Alice shared", shared=True)
    save(team, team.alice, "Alice private")
    mine = save(team, team.bob, "Bob private")
    html = team.client_for(team.bob).get(url("saved_views")).content.decode()
    assert "Alice shared" in html
    assert "Alice private" not in html
    assert url("saved_view_edit", pk=mine.pk) in html
    assert url("saved_view_edit", pk=shared.pk) not in html  # bob may open it, not change it
    owner = team.client_for(team.alice).get(url("saved_views")).content.decode()
    assert url("saved_view_edit", pk=shared.pk) in owner


def test_the_manage_page_has_an_empty_state_per_page(team):
    html = team.client_for(team.vera).get(url("saved_views")).content.decode()
    assert html.count('data-testid="empty-state"') == 2


def test_the_manage_page_reads_in_one_query_whatever_the_number_of_views(team, django_assert_num_queries):
    client = team.client_for(team.bob)
    save(team, team.bob, "One")
    client.get(url("saved_views"))  # the session and the like settle
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url("saved_views"))
    for n in range(5):
        save(team, team.alice, f"Shared {n}", shared=True)
    with CaptureQueriesContext(connection) as many:
        client.get(url("saved_views"))
    assert len(many) == len(few)


def test_renaming_a_view(team):
    view = save(team, team.bob, "Drafts")
    client = team.client_for(team.bob)
    assert client.get(url("saved_view_edit", pk=view.pk)).status_code == 200
    response = client.post(url("saved_view_edit", pk=view.pk), {"name": "Draft tasks", "shared": "on"})
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.name, view.shared) == ("Draft tasks", True)
    assert "was saved" in client.get(response["Location"]).content.decode()


def test_renaming_to_nothing_or_a_taken_name_shows_the_error(team):
    save(team, team.bob, "Taken")
    view = save(team, team.bob, "Drafts")
    client = team.client_for(team.bob)
    empty = client.post(url("saved_view_edit", pk=view.pk), {"name": ""})
    taken = client.post(url("saved_view_edit", pk=view.pk), {"name": "taken"})
    assert "Give the view a name." in empty.content.decode()
    assert "already have a view" in taken.content.decode()
    assert 'value="taken"' in taken.content.decode()
    view.refresh_from_db()
    assert view.name == "Drafts"


def test_sharing_and_unsharing_from_the_manage_page(team):
    view = save(team, team.bob, "Drafts")
    client = team.client_for(team.bob)
    response = client.post(url("saved_view_share", pk=view.pk))
    assert response.status_code == 302
    assert SavedView.objects.get().shared is True
    assert "now shared with the workspace" in client.get(response["Location"]).content.decode()
    # The owner stops sharing it: it goes back to bob, private.
    owner = team.client_for(team.alice)
    response = owner.post(url("saved_view_share", pk=view.pk))
    assert "only its creator sees it" in owner.get(response["Location"]).content.decode()
    assert SavedView.objects.get().shared is False
    assert owner.post(url("saved_view_share", pk=view.pk)).status_code == 404


def test_a_member_cannot_change_a_colleagues_shared_view(team):
    view = save(team, team.alice, "Alice shared", shared=True)
    client = team.client_for(team.bob)
    assert client.get(url("saved_view_edit", pk=view.pk)).status_code == 403
    assert client.post(url("saved_view_edit", pk=view.pk), {"name": "Mine"}).status_code == 403
    assert client.post(url("saved_view_share", pk=view.pk)).status_code == 403
    assert client.post(url("saved_view_delete", pk=view.pk)).status_code == 403
    assert SavedView.objects.get().name == "Alice shared"


def test_deleting_asks_first(team):
    view = save(team, team.bob, "Drafts", shared=True)
    client = team.client_for(team.bob)
    confirm = client.get(url("saved_view_delete", pk=view.pk)).content.decode()
    assert "disappears for everyone" in confirm
    assert SavedView.objects.exists()
    response = client.post(url("saved_view_delete", pk=view.pk))
    assert not SavedView.objects.exists()
    assert "was deleted" in client.get(response["Location"]).content.decode()


def test_a_manager_deletes_a_members_shared_view(team):
    from outsourcing.models import Role
    from tests.factories import MembershipFactory

    maria = MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user
    view = save(team, team.bob, "Drafts", shared=True)
    assert team.client_for(maria).post(url("saved_view_delete", pk=view.pk)).status_code == 302
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("action", ["saved_view_edit", "saved_view_delete", "saved_view_share"])
def test_another_persons_private_view_does_not_exist_for_me_not_even_for_the_owner(team, action):
    view = save(team, team.bob, "Bob private")
    client = team.client_for(team.alice)
    assert client.get(url(action, pk=view.pk)).status_code in (404, 405)
    assert client.post(url(action, pk=view.pk), {"name": "Taken over"}).status_code == 404
    assert SavedView.objects.get().name == "Bob private"


@pytest.mark.parametrize("action", ["saved_view_edit", "saved_view_delete", "saved_view_share"])
def test_another_workspaces_view_is_a_404(team, action):
    from outsourcing.models import Membership

    theirs = saved_views.saved_view_create(
        membership=Membership.objects.get(user=team.charlie), page=LIST, name="Theirs", query="", shared=True
    )
    client = team.client_for(team.alice)
    assert client.post(url(action, pk=theirs.pk), {"name": "Mine now"}).status_code == 404
    assert SavedView.objects.get().name == "Theirs"


def test_an_outsider_gets_404_and_a_visitor_the_log_in_page(team):
    assert team.client_for(team.charlie).get(url("saved_views")).status_code == 404
    assert post_save(team.client_for(team.charlie)).status_code == 404
    response = team.client_for(None).get(url("saved_views"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not SavedView.objects.exists()


def _request(team, user, path):
    """A request as ``workspace_view`` leaves it: the workspace and membership already read."""
    request = RequestFactory().get(path)
    request.user = user
    request.resolver_match = resolve(request.path)
    request.workspace = team.workspace
    request.membership = team.membership(user)
    return request


def test_the_views_bar_renders_in_one_query_however_many_views(team, django_assert_num_queries):
    for n in range(8):
        save(team, team.alice, f"Shared {n}", shared=True, query=f"q=word{n}")
        save(team, team.bob, f"Mine {n}", query=f"q=other{n}")
    request = _request(team, team.bob, url("list") + "?q=word3")
    with django_assert_num_queries(1):
        html = render_to_string("engagements/_saved_views.html", request=request)
    assert html.count('data-testid="saved-view"') == 16
    assert html.count('aria-current="page"') == 1
    assert team.alice.display_name in html  # the shared ones' creator, read in the same query


def test_the_list_page_does_not_grow_a_query_per_saved_view(team, provider):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = team.client_for(team.bob)
    save(team, team.bob, "One")
    client.get(url("list"))
    with CaptureQueriesContext(connection) as few:
        client.get(url("list"))
    for n in range(6):
        save(team, team.alice, f"Shared {n}", shared=True)
    with CaptureQueriesContext(connection) as many:
        client.get(url("list"))
    assert len(many) == len(few)


def test_the_manage_page_says_what_each_view_shows(team, provider):
    save(
        team,
        team.bob,
        "Mine",
        query=f"owner=me&provider={provider.pk}&status=draft&status=requested&sort=-due&q=logo",
    )
    save(team, team.bob, "Bobs", query=f"owner={team.bob.pk}")
    save(team, team.bob, "Everything", query="")
    save(team, team.bob, "My answers", page=ATTENTION, query="mine=1")
    response = team.client_for(team.bob).get(url("saved_views"))
    summaries = dict(
        zip(
            [v.name for _label, views in response.context["groups"] for v in views],
            [v.summary for _label, views in response.context["groups"] for v in views],
            strict=True,
        )
    )
    assert summaries == {
        "Bobs": [f"Owner: {team.bob.display_name}"],
        "Everything": [],
        "Mine": [
            "Search: “logo”",
            "Status: Draft, Requested",
            "Provider: Vanessa VA",
            "Owner: Me",
            "Sorted by Due ▼",
        ],
        "My answers": ["Only mine"],
    }
    assert "No filters" in response.content.decode()


def test_a_viewer_edits_their_own_view_but_its_share_box_is_off_and_ignored(team):
    view = save(team, team.vera, "Mine")
    client = team.client_for(team.vera)
    page = client.get(url("saved_view_edit", pk=view.pk)).content.decode()
    assert "Viewers keep their views private." in page
    assert (
        client.post(url("saved_view_edit", pk=view.pk), {"name": "Still mine", "shared": "on"}).status_code
        == 302
    )
    view.refresh_from_db()
    assert (view.name, view.shared) == ("Still mine", False)
    response = client.post(url("saved_view_share", pk=view.pk))
    assert "Viewers cannot share views" in client.get(response["Location"]).content.decode()
    assert SavedView.objects.get().shared is False
