"""Saved views, the model and the service: normalised query strings, names, who may share and change."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict

from engagements import saved_views
from engagements.models import SavedView
from tests.factories import ProviderFactory

LIST = SavedView.Page.LIST
ATTENTION = SavedView.Page.ATTENTION


def save(team, user, name="Overdue SEO", *, page=LIST, query="", shared=False) -> SavedView:
    return saved_views.saved_view_create(
        membership=team.membership(user), page=page, name=name, query=query, shared=shared
    )


def test_it_keeps_only_known_filters_in_the_forms_order_and_drops_the_page(team):
    provider = ProviderFactory(workspace=team.workspace)
    view = save(
        team,
        team.alice,
        query=f"page=3&sort=title&status=requested&q=+logo+&evil=1&status=draft&provider={provider.pk}&format=csv",
    )
    assert view.query == f"q=logo&status=draft&status=requested&provider={provider.pk}&sort=title"


def test_invalid_values_are_dropped_as_the_list_drops_them(team):
    foreign = ProviderFactory(workspace=team.other_workspace)
    view = save(
        team, team.alice, query=f"status=nonsense&provider={foreign.pk}&owner=99999&sort=-bogus&awaiting=x"
    )
    assert view.query == ""


def test_the_default_sort_is_no_filter(team):
    assert save(team, team.alice, query="sort=-created").query == ""
    assert save(team, team.alice, "Due first", query="sort=due&owner=me").query == "owner=me&sort=due"


def test_needs_attention_keeps_only_mine(team):
    assert save(team, team.alice, page=ATTENTION, query="mine=1&page=2&sort=title").query == "mine=1"
    assert save(team, team.alice, "All", page=ATTENTION, query="mine=yes").query == ""


def test_the_current_query_is_normalised_like_a_stored_one_without_a_query(team, django_assert_num_queries):
    provider = ProviderFactory(workspace=team.workspace)
    raw = f"status=requested&page=2&q=logo&status=draft&provider={provider.pk}&sort=title"
    stored = save(team, team.alice, query=raw).query
    with django_assert_num_queries(0):
        assert saved_views.current_query(page=LIST, params=QueryDict(raw)) == stored


def test_a_name_is_unique_per_person_and_page_whatever_its_case(team):
    save(team, team.alice, "Overdue SEO")
    with pytest.raises(ValidationError) as error:
        save(team, team.alice, "overdue seo ")
    assert "already have a view" in str(error.value)
    # Another page, another person: the same name is fine.
    save(team, team.alice, "Overdue SEO", page=ATTENTION)
    save(team, team.bob, "Overdue SEO")
    assert SavedView.objects.count() == 3


def test_the_database_refuses_a_duplicate_name_too(team):
    save(team, team.alice, "Mine")
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedView.objects.create(workspace=team.workspace, creator=team.alice, page=LIST, name="MINE")


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_an_empty_or_too_long_name_is_refused(team, name):
    with pytest.raises(ValidationError):
        save(team, team.alice, name)
    assert not SavedView.objects.exists()


def test_a_viewer_saves_private_views_but_cannot_share(team):
    assert save(team, team.vera, "Mine").shared is False
    with pytest.raises(ValidationError) as error:
        save(team, team.vera, "Ours", shared=True)
    assert "shared" in error.value.message_dict


def test_a_member_shares_and_everyone_sees_it_but_nobody_sees_anothers_private_view(team):
    shared = save(team, team.bob, "Team view", shared=True)
    private = save(team, team.bob, "Bob only")
    seen_by_vera = set(saved_views.visible(workspace=team.workspace, user=team.vera))
    assert seen_by_vera == {shared}
    assert set(saved_views.visible(workspace=team.workspace, user=team.bob)) == {shared, private}
    assert not saved_views.visible(workspace=team.other_workspace, user=team.bob).exists()


def test_the_creator_and_owners_and_managers_change_a_shared_view_other_members_cannot(team):
    shared = save(team, team.bob, "Team view", shared=True)
    with pytest.raises(PermissionDenied):
        saved_views.saved_view_update(
            membership=team.membership(team.vera), view=shared, name="Mine", shared=True
        )
    saved_views.saved_view_update(
        membership=team.membership(team.alice), view=shared, name="Renamed", shared=True
    )
    saved_views.saved_view_update(
        membership=team.membership(team.bob), view=shared, name="Renamed", shared=False
    )
    shared.refresh_from_db()
    assert (shared.name, shared.shared, shared.creator) == ("Renamed", False, team.bob)
    # Private again: now only bob may change it, the owner no longer.
    with pytest.raises(PermissionDenied):
        saved_views.saved_view_delete(membership=team.membership(team.alice), view=shared)
    saved_views.saved_view_delete(membership=team.membership(team.bob), view=shared)
    assert not SavedView.objects.exists()


def test_a_viewer_renames_and_deletes_their_own_private_view(team):
    view = save(team, team.vera, "Mine")
    saved_views.saved_view_update(
        membership=team.membership(team.vera), view=view, name="Still mine", shared=False
    )
    assert SavedView.objects.get().name == "Still mine"
    saved_views.saved_view_delete(membership=team.membership(team.vera), view=view)
    assert not SavedView.objects.exists()


def test_renaming_to_a_name_already_taken_is_refused(team):
    save(team, team.alice, "One")
    two = save(team, team.alice, "Two")
    with pytest.raises(ValidationError):
        saved_views.saved_view_update(
            membership=team.membership(team.alice), view=two, name="ONE", shared=False
        )
    # Its own name, in another case, is fine.
    saved_views.saved_view_update(membership=team.membership(team.alice), view=two, name="TWO", shared=False)


def test_a_saved_view_opens_its_page_with_the_stored_query(team):
    view = save(team, team.alice, query="status=draft&sort=title")
    assert view.get_absolute_url() == "/w/acme/engagements/?status=draft&sort=title"
    attention = save(team, team.alice, page=ATTENTION)
    assert attention.get_absolute_url() == "/w/acme/engagements/attention/"


def test_only_the_two_pages_can_be_saved(team):
    with pytest.raises(ValidationError):
        save(team, team.alice, page="providers")


def test_someone_who_leaves_takes_their_private_views_and_leaves_the_shared_ones(team):
    save(team, team.bob, "Bob private")
    shared = save(team, team.bob, "Bob shared", shared=True)
    save(team, team.alice, "Alice private")
    team.membership(team.bob).delete()
    assert set(SavedView.objects.values_list("name", flat=True)) == {"Bob shared", "Alice private"}
    assert list(saved_views.visible(workspace=team.workspace, user=team.vera)) == [shared]


def test_the_bar_lists_the_shared_and_own_views_of_one_page_by_name_compiled_once(team, request):
    save(team, team.alice, "b shared", shared=True)
    save(team, team.alice, "A own")
    save(team, team.bob, "Bob's own")
    save(team, team.bob, "c shared by Bob", shared=True)
    save(team, team.alice, "On attention", page=ATTENTION)
    saved_views.for_bar(workspace=team.workspace, user=team.alice, page=LIST)  # compiled here, if not before
    compiled = request.getfixturevalue("compiles")
    names = {
        (user.email, page): [
            v.name for v in saved_views.for_bar(workspace=team.workspace, user=user, page=page)
        ]
        for user in (team.alice, team.bob)
        for page in (LIST, ATTENTION)
    }
    others = saved_views.for_bar(workspace=team.other_workspace, user=team.charlie, page=LIST)
    assert not compiled
    assert names[(team.alice.email, LIST)] == ["A own", "b shared", "c shared by Bob"]
    assert names[(team.bob.email, LIST)] == ["b shared", "Bob's own", "c shared by Bob"]
    assert names[(team.alice.email, ATTENTION)] == ["On attention"]
    assert names[(team.bob.email, ATTENTION)] == []
    assert others == []  # another workspace's
