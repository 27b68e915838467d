"""Every endpoint × every role × an outsider: roles as on the web pages, another workspace's object 404."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from api.models import ApiToken
from tests.api.conftest import ROLES, ApiTeam, World, client_with

pytestmark = pytest.mark.django_db

Url = Callable[[World], str]
Body = Callable[[World], dict[str, Any]]

READS: dict[str, Url] = {
    "providers": lambda w: "/api/v1/providers/",
    "a provider": lambda w: f"/api/v1/providers/{w.provider.pk}/",
    "a provider's reliability": lambda w: f"/api/v1/providers/{w.provider.pk}/reliability/",
    "engagements": lambda w: "/api/v1/engagements/",
    "an engagement": lambda w: f"/api/v1/engagements/{w.engagement.pk}/",
    "messages": lambda w: "/api/v1/messages/",
    "a message": lambda w: f"/api/v1/messages/{w.message.pk}/",
    "exchanges": lambda w: "/api/v1/exchanges/",
    "an exchange": lambda w: f"/api/v1/exchanges/{w.exchange.pk}/",
    "flags": lambda w: "/api/v1/flags/",
    "a flag": lambda w: f"/api/v1/flags/{w.flag.pk}/",
    "reviews": lambda w: "/api/v1/reviews/",
    "a review": lambda w: f"/api/v1/reviews/{w.review.pk}/",
    "absences": lambda w: "/api/v1/absences/",
    "an absence": lambda w: f"/api/v1/absences/{w.absence.pk}/",
}


def _soon() -> str:
    return (timezone.now() + timedelta(days=3)).isoformat()


# name -> (method, url, body, status on success)
WRITES: dict[str, tuple[str, Url, Body, int]] = {
    "create a provider": (
        "post",
        lambda w: "/api/v1/providers/",
        lambda w: {"name": "Jana Novak", "emails": ["jana@example.net"], "skills": ["seo"]},
        201,
    ),
    "edit a provider": (
        "patch",
        lambda w: f"/api/v1/providers/{w.provider.pk}/",
        lambda w: {"phone": "+49 30 1"},
        200,
    ),
    "create an engagement": (
        "post",
        lambda w: "/api/v1/engagements/",
        lambda w: {"provider": w.provider.pk, "title": "Ten guest posts"},
        201,
    ),
    "edit an engagement": (
        "patch",
        lambda w: f"/api/v1/engagements/{w.engagement.pk}/",
        lambda w: {"title": "Landing page, second draft"},
        200,
    ),
    "log a message": (
        "post",
        lambda w: "/api/v1/messages/",
        lambda w: {
            "engagement": w.engagement.pk,
            "direction": "in",
            "kind": "reply",
            "body": "Draft attached.",
        },
        201,
    ),
    "correct a message": (
        "patch",
        lambda w: f"/api/v1/messages/{w.message.pk}/",
        lambda w: {"body": "Could you send the first draft?"},
        200,
    ),
    "delete a message": ("delete", lambda w: f"/api/v1/messages/{w.message.pk}/", lambda w: {}, 204),
    "snooze a flag": (
        "post",
        lambda w: f"/api/v1/flags/{w.flag.pk}/snooze/",
        lambda w: {"until": _soon()},
        200,
    ),
    "unsnooze a flag": ("post", lambda w: f"/api/v1/flags/{w.flag.pk}/unsnooze/", lambda w: {}, 200),
    "dismiss a flag": (
        "post",
        lambda w: f"/api/v1/flags/{w.flag.pk}/dismiss/",
        lambda w: {"reason": "Agreed on the phone."},
        200,
    ),
    "withdraw a flag": (
        "post",
        lambda w: f"/api/v1/flags/{w.flag.pk}/withdraw/",
        lambda w: {"reason": "Logged against the wrong provider."},
        200,
    ),
    "review an engagement": (
        "post",
        lambda w: "/api/v1/reviews/",
        lambda w: {
            "engagement": w.completed.pk,
            "quality": 3,
            "communication": 2,
            "on_time": False,
            "would_hire_again": False,
        },
        201,
    ),
    "add an absence": (
        "post",
        lambda w: "/api/v1/absences/",
        lambda w: {"provider": w.provider.pk, "starts_on": "2027-08-02", "ends_on": "2027-08-13"},
        201,
    ),
    "remove an absence": ("delete", lambda w: f"/api/v1/absences/{w.absence.pk}/", lambda w: {}, 204),
}


# Taking a flag out of the figures is for managers and owners.
MANAGERS_ONLY = {"withdraw a flag"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", READS)
def test_every_role_reads_every_endpoint(api: ApiTeam, role: str, endpoint: str) -> None:
    response = api.client(role).get(READS[endpoint](api.world))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("endpoint", READS)
def test_an_outsider_reads_nothing_of_the_workspace(api: ApiTeam, endpoint: str) -> None:
    """Charlie's token reads his own workspace: the team's objects are 404, its lists hold none of them."""
    url = READS[endpoint](api.world)
    response = api.client("outsider").get(url)
    if url.rstrip("/").split("/")[-1].isdigit() or url.endswith("/reliability/"):
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        ids = {row["id"] for row in response.json()["results"]}
        assert _listed(api.other, endpoint) in ids
        assert _listed(api.world, endpoint) not in ids


def _listed(world: World, endpoint: str) -> int:
    """The id of the world's row that the list ``endpoint`` shows."""
    row = {
        "providers": world.provider,
        "engagements": world.engagement,
        "messages": world.message,
        "exchanges": world.exchange,
        "flags": world.flag,
        "reviews": world.review,
        "absences": world.absence,
    }[endpoint]
    return int(row.pk)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", WRITES)
def test_members_and_up_write_a_viewer_cannot(api: ApiTeam, role: str, endpoint: str) -> None:
    method, url, body, ok = WRITES[endpoint]
    response = getattr(api.client(role), method)(url(api.world), body(api.world), format="json")
    if role == "viewer" or (role == "member" and endpoint in MANAGERS_ONLY):
        assert response.status_code == 403
    else:
        assert response.status_code == ok, response.content


@pytest.mark.parametrize("endpoint", WRITES)
def test_an_outsider_cannot_write_to_the_workspace(api: ApiTeam, endpoint: str) -> None:
    """Another workspace's object is 404 in the URL, and "does not exist" (400) in the body."""
    method, url, body, _ok = WRITES[endpoint]
    path = url(api.world)
    response = getattr(api.client("outsider"), method)(path, body(api.world), format="json")
    names_an_object = any(part.isdigit() for part in path.split("/"))
    if names_an_object:
        assert response.status_code == 404
    elif endpoint == "create a provider":
        # Nothing of the team's is named: it lands in charlie's own workspace.
        assert response.status_code == 201
        assert response.json()["id"] not in {api.world.provider.pk}
    else:
        assert response.status_code == 400
        assert "does not exist" in str(response.json())


@pytest.mark.parametrize("endpoint", WRITES)
def test_a_read_only_token_writes_nothing(api: ApiTeam, endpoint: str) -> None:
    method, url, body, _ok = WRITES[endpoint]
    response = getattr(api.client("owner", access=ApiToken.Access.READ), method)(
        url(api.world), body(api.world), format="json"
    )
    assert response.status_code == 403
    assert "only read" in response.json()["detail"]


def test_without_a_token_the_api_answers_401(api: ApiTeam) -> None:
    response = client_with(None).get("/api/v1/providers/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_wrong_or_revoked_token_is_refused(api: ApiTeam) -> None:
    from api.services import token_revoke

    client = api.client("owner")
    key = api.keys["owner:write"]
    assert client.get("/api/v1/providers/").status_code == 200
    assert (
        client_with(key[:-1] + ("x" if key[-1] != "x" else "y")).get("/api/v1/providers/").status_code == 401
    )
    token_revoke(token=ApiToken.objects.get(prefix=key.split(".")[0]))
    assert client.get("/api/v1/providers/").status_code == 401


def test_a_token_stops_working_when_its_owner_leaves_the_workspace(api: ApiTeam) -> None:
    client = api.client("member")
    api.team.membership(api.team.bob).delete()
    assert client.get("/api/v1/providers/").status_code == 401


def test_a_workspace_requiring_two_factor_refuses_a_token_of_someone_without(api: ApiTeam) -> None:
    client = api.client("member")
    workspace = api.team.workspace
    workspace.require_two_factor = True
    workspace.save(update_fields=["require_two_factor"])
    response = client.get("/api/v1/providers/")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]


def test_the_token_records_when_it_was_last_used(api: ApiTeam) -> None:
    client = api.client("owner")
    token = ApiToken.objects.get(prefix=api.keys["owner:write"].split(".")[0])
    assert token.last_used_at is None
    client.get("/api/v1/providers/")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(seconds=10)


def test_a_token_is_stored_hashed(api: ApiTeam) -> None:
    api.client("owner")
    key = api.keys["owner:write"]
    token = ApiToken.objects.get(prefix=key.split(".")[0])
    assert key.split(".")[1] not in token.hashed_key
    assert token.hashed_key.startswith("sha512$$")
