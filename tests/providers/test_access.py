"""Who may see and do what on every provider page: one line per person and view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from providers.models import Provider

READ_PAGES = ["list", "detail", "document_download"]
EDIT_PAGES = ["create", "edit"]  # GET pages that exist only to edit
ACTIONS = ["status", "absence_add", "absence_delete", "document_upload", "document_delete"]


def url_for(name, provider, absence, document, ws="acme"):
    kwargs = {"ws": ws}
    if name not in ("list", "create"):
        kwargs["pk"] = provider.pk
    if name == "absence_delete":
        kwargs["absence_pk"] = absence.pk
    if name in ("document_download", "document_delete"):
        kwargs["document_pk"] = document.pk
    return reverse(f"providers:{name}", kwargs=kwargs)


@pytest.fixture
def url(provider, absence, document):
    return lambda name, ws="acme": url_for(name, provider, absence, document, ws)


@pytest.mark.parametrize("name", READ_PAGES + EDIT_PAGES + ACTIONS)
def test_an_anonymous_visitor_is_sent_to_log_in(team, url, name):
    response = team.client_for(None).get(url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", READ_PAGES + EDIT_PAGES)
@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owners_and_members_open_every_page(team, url, name, who):
    response = team.client_for(getattr(team, who)).get(url(name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", READ_PAGES)
def test_a_viewer_reads_the_registry(team, url, name):
    assert team.client_for(team.vera).get(url(name)).status_code == 200


@pytest.mark.parametrize("name", EDIT_PAGES)
def test_a_viewer_cannot_open_edit_forms(team, url, name):
    assert team.client_for(team.vera).get(url(name)).status_code == 403


@pytest.mark.parametrize("name", EDIT_PAGES + ACTIONS)
def test_a_viewer_cannot_change_anything(team, url, name, provider, absence, document):
    response = team.client_for(team.vera).post(url(name), {"status": "archived", "name": "Hacked"})
    assert response.status_code == 403
    provider.refresh_from_db()
    assert provider.status == Provider.Status.ACTIVE
    assert provider.name == "Ada Lovelace"
    assert provider.absences.count() == 1
    assert provider.documents.count() == 1


@pytest.mark.parametrize("name", READ_PAGES + EDIT_PAGES)
def test_an_outsider_gets_404_on_every_page(team, url, name):
    assert team.client_for(team.charlie).get(url(name)).status_code == 404


@pytest.mark.parametrize("name", EDIT_PAGES + ACTIONS)
def test_an_outsider_cannot_post_anything(team, url, name, provider, absence, document):
    response = team.client_for(team.charlie).post(url(name), {"status": "archived"})
    assert response.status_code == 404
    provider.refresh_from_db()
    assert provider.status == Provider.Status.ACTIVE
    assert provider.absences.count() == 1
    assert provider.documents.count() == 1


@pytest.mark.parametrize("name", ["detail", "edit", "document_download"])
def test_alices_provider_is_404_under_charlies_own_workspace(team, url, name):
    # Charlie is an owner over there, but the id belongs to alice's workspace.
    assert team.client_for(team.charlie).get(url(name, ws="other")).status_code == 404


def test_charlie_cannot_delete_alices_absence_from_his_workspace(team, url, absence):
    response = team.client_for(team.charlie).post(url("absence_delete", ws="other"))
    assert response.status_code == 404
    assert absence.provider.absences.count() == 1


def test_a_provider_of_another_workspace_is_404_for_alice(team, charlies_provider):
    client = team.client_for(team.alice)
    response = client.get(reverse("providers:detail", kwargs={"ws": "acme", "pk": charlies_provider.pk}))
    assert response.status_code == 404


def test_a_document_of_another_provider_is_404(team, provider, document):
    other = Provider.objects.create(workspace=team.workspace, name="Other")
    path = reverse(
        "providers:document_download", kwargs={"ws": "acme", "pk": other.pk, "document_pk": document.pk}
    )
    assert team.client_for(team.alice).get(path).status_code == 404


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_are_post_only(team, url, name):
    assert team.client_for(team.alice).get(url(name)).status_code == 405
