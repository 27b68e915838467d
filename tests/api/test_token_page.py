"""The "API tokens" page: made by the member, shown once, revocable, nobody else's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from api.models import ApiToken
from tests.api.conftest import client_with
from tests.conftest import Team

pytestmark = pytest.mark.django_db


def _url(team: Team) -> str:
    return reverse("api_tokens", kwargs={"ws": team.workspace.slug})


def test_a_member_makes_a_token_sees_its_key_once_and_it_works(team: Team) -> None:
    client = team.client_for(team.bob)
    response = client.post(_url(team), {"name": "Zapier", "access": "write"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key and key in response.content.decode()
    token = ApiToken.objects.get(user=team.bob, workspace=team.workspace)
    assert (token.name, token.access) == ("Zapier", "write")
    assert key not in token.hashed_key
    again = client.get(_url(team))
    assert key not in again.content.decode()
    assert "Zapier" in again.content.decode()
    assert client_with(key).get("/api/v1/providers/").status_code == 200


def test_a_viewer_can_only_make_a_read_token(team: Team) -> None:
    client = team.client_for(team.vera)
    refused = client.post(_url(team), {"name": "Report", "access": "write"})
    assert not ApiToken.objects.exists()
    assert "access" in refused.context["form"].errors
    assert client.post(_url(team), {"name": "Report", "access": "read"}).status_code == 200
    assert ApiToken.objects.get(user=team.vera).access == "read"


def test_revoking_stops_the_token_at_once(team: Team) -> None:
    client = team.client_for(team.alice)
    key = client.post(_url(team), {"name": "Script", "access": "read"}).context["new_key"]
    prefix = key.split(".")[0]
    response = client.post(reverse("api_tokens_revoke", kwargs={"ws": team.workspace.slug, "prefix": prefix}))
    assert response.status_code == 302
    token = ApiToken.objects.get(prefix=prefix)
    assert token.revoked and token.revoked_at is not None
    assert client_with(key).get("/api/v1/providers/").status_code == 401
    assert "Revoked" in client.get(_url(team)).content.decode()


def test_nobody_sees_or_revokes_anothers_token(team: Team) -> None:
    key = team.client_for(team.alice).post(_url(team), {"name": "Mine", "access": "read"}).context["new_key"]
    prefix = key.split(".")[0]
    bob = team.client_for(team.bob)
    assert "Mine" not in bob.get(_url(team)).content.decode()
    revoke = reverse("api_tokens_revoke", kwargs={"ws": team.workspace.slug, "prefix": prefix})
    assert bob.post(revoke).status_code == 404
    assert team.client_for(team.charlie).get(_url(team)).status_code == 404
    assert team.client_for(team.charlie).post(revoke).status_code == 404
    assert not ApiToken.objects.get(prefix=prefix).revoked


def test_the_page_asks_for_a_login(team: Team) -> None:
    assert team.client_for(None).get(_url(team)).status_code == 302


def test_the_menu_links_to_the_page(team: Team) -> None:
    page = team.client_for(team.vera).get(reverse("workspace_settings", kwargs={"ws": team.workspace.slug}))
    assert _url(team) in page.content.decode()


def test_the_page_speaks_german(team: Team) -> None:
    team.client_for(team.bob)
    client = team.client_for(team.bob)
    page = client.get(_url(team), headers={"Accept-Language": "de"})
    assert "API-Schlüssel" in page.content.decode()
