"""What the API promises beyond access: the same services as the pages, idempotent POSTs, ETags,
rate limits, 400s that say what is wrong, and list pages whose query count does not grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import IdempotentRequest
from api.tasks import purge_idempotent_requests
from engagements.models import Engagement, Exchange, Flag, Message
from tests.api.conftest import ApiTeam
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def _reply(api: ApiTeam) -> dict:
    return {
        "engagement": api.world.engagement.pk,
        "direction": "in",
        "kind": "reply",
        "body": "Draft attached.",
    }


# --- The same services as the pages ---------------------------------------------------------


def test_a_reply_logged_through_the_api_answers_the_request_and_resolves_its_flag(api: ApiTeam) -> None:
    response = api.client("member").post("/api/v1/messages/", _reply(api), format="json")
    assert response.status_code == 201
    message = Message.objects.get(pk=response.json()["id"])
    assert message.source == Message.Source.API
    assert message.author == api.team.bob
    exchange = Exchange.objects.get(pk=api.world.exchange.pk)
    assert exchange.replied_at == message.occurred_at
    assert exchange.reply_message_id == message.pk
    flag = Flag.objects.get(pk=api.world.flag.pk)
    assert flag.resolved_at is not None
    assert flag.resolution == Flag.Resolution.REPLIED
    # And the figures count it.
    figures = api.client("viewer").get(f"/api/v1/providers/{api.world.provider.pk}/reliability/").json()
    assert figures["replies"] == 1
    assert figures["response_rate"]["n"] == 1


def test_correcting_or_deleting_a_request_keeps_history_and_the_exchanges_follow(api: ApiTeam) -> None:
    client = api.client("member")
    url = f"/api/v1/messages/{api.world.message.pk}/"
    corrected = client.patch(url, {"body": "Could you send the first draft?"}, format="json")
    assert corrected.json()["version"] == 2
    assert api.world.message.versions.get().body == "Could you send the draft?"
    assert client.patch(url, {"engagement": api.world.completed.pk}, format="json").status_code == 400
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert Message.objects.get(pk=api.world.message.pk).deleted_by == api.team.bob
    # The request is gone from the log: so is its exchange, and its flag is withdrawn.
    assert not Exchange.objects.filter(pk=api.world.exchange.pk).exists()
    assert Flag.objects.get(pk=api.world.flag.pk).resolution == Flag.Resolution.WITHDRAWN


def test_the_first_request_of_a_draft_sends_it_on_its_way(api: ApiTeam) -> None:
    created = api.client("owner").post(
        "/api/v1/engagements/", {"provider": api.world.provider.pk, "title": "Webinar"}, format="json"
    )
    assert created.json()["status"] == Engagement.Status.DRAFT
    api.client("owner").post(
        "/api/v1/messages/",
        {"engagement": created.json()["id"], "direction": "out", "kind": "request", "body": "Can you?"},
        format="json",
    )
    engagement = api.client("owner").get(f"/api/v1/engagements/{created.json()['id']}/").json()
    assert engagement["status"] == Engagement.Status.REQUESTED
    assert engagement["awaiting_reply"] is True


def test_the_reliability_figures_are_the_scorecards(api: ApiTeam) -> None:
    from engagements.reliability import metrics
    from engagements.reliability import pages as reliability

    now = timezone.now()
    card = reliability.scorecard(
        api.team.workspace,
        api.world.provider,
        metrics.Period.standard("365", now),
        now=now,
        zone=timezone.UTC,
    )
    figures = (
        api.client("viewer").get(f"/api/v1/providers/{api.world.provider.pk}/reliability/?period=365").json()
    )
    assert figures["requests"] == card.m.requests == 1
    assert figures["response_rate"] == {
        "point": card.m.response_rate.point,
        "low": card.m.response_rate.low,
        "high": card.m.response_rate.high,
        "n": card.m.response_rate.n,
    }
    assert (
        figures["quality"] == {"value": card.m.quality.value, "n": card.m.quality.n} == {"value": 4.0, "n": 1}
    )


# --- Idempotency ---------------------------------------------------------------------------------


def test_a_retried_post_with_the_same_idempotency_key_logs_nothing_twice(api: ApiTeam) -> None:
    client = api.client("member")
    first = client.post("/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "zap-1"})
    again = client.post("/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "zap-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Message.objects.filter(engagement=api.world.engagement, direction="in").count() == 1
    other = client.post("/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "zap-2"})
    assert other.json()["id"] != first.json()["id"]


def test_the_same_idempotency_key_with_another_body_is_refused(api: ApiTeam) -> None:
    client = api.client("member")
    client.post("/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "k"})
    changed = {**_reply(api), "body": "Something else"}
    response = client.post("/api/v1/messages/", changed, format="json", headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert Message.objects.filter(engagement=api.world.engagement, direction="in").count() == 1


def test_a_failed_post_keeps_its_idempotency_key_free_for_the_retry(api: ApiTeam) -> None:
    client = api.client("member")
    future = {**_reply(api), "occurred_at": (timezone.now() + timedelta(days=2)).isoformat()}
    assert (
        client.post("/api/v1/messages/", future, format="json", headers={"Idempotency-Key": "k"}).status_code
        == 400
    )
    fixed = client.post("/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "k"})
    assert fixed.status_code == 201


def test_answers_older_than_the_retry_window_are_purged_and_newer_ones_kept(api: ApiTeam, settings) -> None:
    settings.API_IDEMPOTENCY_HOURS = 24
    client = api.client("member")
    for key in ("old", "new"):
        client.post("/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": key})
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    assert purge_idempotent_requests() == 1

    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]
    # A retry after the window is a new request: the client logs it again, knowingly.
    again = client.post("/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "new"})
    assert again["Idempotent-Replayed"] == "true"


def test_idempotency_keys_are_each_tokens_own(api: ApiTeam) -> None:
    one = api.client("member").post(
        "/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "k"}
    )
    two = api.client("owner").post(
        "/api/v1/messages/", _reply(api), format="json", headers={"Idempotency-Key": "k"}
    )
    assert one.json()["id"] != two.json()["id"]


# --- ETags -----------------------------------------------------------------------------------------------


def test_an_unchanged_list_answers_304_to_its_etag_and_a_changed_one_200(api: ApiTeam) -> None:
    client = api.client("viewer")
    first = client.get("/api/v1/providers/")
    etag = first["ETag"]
    assert etag.startswith('"')
    unchanged = client.get("/api/v1/providers/", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    api.client("member").patch(f"/api/v1/providers/{api.world.provider.pk}/", {"phone": "123"}, format="json")
    changed = client.get("/api/v1/providers/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


# --- Rate limits ---------------------------------------------------------------------------------------


def test_a_token_over_its_rate_limit_gets_429_with_retry_after_and_others_go_on(
    api: ApiTeam, settings
) -> None:
    settings.RATE_LIMITS = {"api_token": "3/m"}
    member, owner = api.client("member"), api.client("owner")
    assert [member.get("/api/v1/flags/").status_code for _ in range(3)] == [200, 200, 200]
    refused = member.get("/api/v1/flags/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert owner.get("/api/v1/flags/").status_code == 200


def test_a_call_refused_in_the_last_instant_of_its_window_still_says_when_to_retry(
    api: ApiTeam, settings
) -> None:
    from unittest import mock

    from api import throttling

    settings.RATE_LIMITS = {"api_token": "3/m"}
    at_the_edge = {"count": 4, "limit": 3, "should_limit": True, "time_left": 0}
    with mock.patch.object(throttling, "get_usage", return_value=at_the_edge):
        refused = api.client("member").get("/api/v1/flags/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"


def test_writes_have_a_tighter_limit_of_their_own(api: ApiTeam, settings) -> None:
    settings.RATE_LIMITS = {"api_token_write": "1/m"}
    client = api.client("member")
    assert client.post("/api/v1/messages/", _reply(api), format="json").status_code == 201
    assert client.post("/api/v1/messages/", _reply(api), format="json").status_code == 429
    assert client.get("/api/v1/messages/").status_code == 200


# --- Validation: 400 with what is wrong, never 500 ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        (
            "/api/v1/messages/",
            {"direction": "in", "kind": "reply", "occurred_at": "2999-01-01T00:00:00Z"},
            "occurred_at",
            "future",
        ),
        ("/api/v1/messages/", {"direction": "sideways", "kind": "reply"}, "direction", "not a valid choice"),
        ("/api/v1/providers/", {"name": "X", "time_zone": "Mars/Olympus"}, "time_zone", ""),
        ("/api/v1/providers/", {"name": "X", "emails": ["not an address"]}, "emails", "valid email"),
        (
            "/api/v1/absences/",
            {"starts_on": "2027-05-10", "ends_on": "2027-05-01"},
            "ends_on",
            "before it starts",
        ),
        (
            "/api/v1/reviews/",
            {"quality": 9, "communication": 1, "on_time": True, "would_hire_again": True},
            "quality",
            "",
        ),
    ],
)
def test_a_bad_write_is_a_400_naming_the_field(
    api: ApiTeam, path: str, body: dict, field: str, words: str
) -> None:
    body = dict(body)
    if path == "/api/v1/messages/":
        body["engagement"] = api.world.engagement.pk
    if path == "/api/v1/absences/":
        body["provider"] = api.world.provider.pk
    if path == "/api/v1/reviews/":
        body["engagement"] = api.world.completed.pk
    response = api.client("member").post(path, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert words in str(response.json()[field])


def test_reviewing_unfinished_work_or_a_forbidden_status_move_is_a_400(api: ApiTeam) -> None:
    client = api.client("member")
    review = client.post(
        "/api/v1/reviews/",
        {
            "engagement": api.world.engagement.pk,
            "quality": 3,
            "communication": 3,
            "on_time": True,
            "would_hire_again": True,
        },
        format="json",
    )
    assert review.status_code == 400
    assert "completed" in str(review.json())
    move = client.patch(f"/api/v1/engagements/{api.world.completed.pk}/", {"status": "draft"}, format="json")
    assert move.status_code == 400
    assert "cannot go from" in str(move.json())


def test_flag_actions_refuse_what_the_pages_refuse(api: ApiTeam) -> None:
    client = api.client("member")
    flag = api.world.flag.pk
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert client.post(f"/api/v1/flags/{flag}/snooze/", {"until": past}, format="json").status_code == 400
    assert client.post(f"/api/v1/flags/{flag}/dismiss/", {"reason": " "}, format="json").status_code == 400
    assert client.post(f"/api/v1/flags/{flag}/dismiss/", {"reason": "Done"}, format="json").status_code == 200
    again = client.post(f"/api/v1/flags/{flag}/dismiss/", {"reason": "Done"}, format="json")
    assert again.status_code == 400
    assert "already resolved" in str(again.json())


def test_a_withdrawn_flag_leaves_the_figures_and_names_who_and_why(api: ApiTeam) -> None:
    flag = api.world.flag.pk
    response = api.client("manager").post(
        f"/api/v1/flags/{flag}/withdraw/", {"reason": "Sent to the wrong provider."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["resolution"] == Flag.Resolution.WITHDRAWN
    assert response.json()["resolved_by"] == api.manager.pk
    assert response.json()["reason"] == "Sent to the wrong provider."
    again = api.client("manager").post(f"/api/v1/flags/{flag}/withdraw/", {"reason": "Again"}, format="json")
    assert again.status_code == 400


def test_a_body_that_is_not_json_is_a_400(api: ApiTeam) -> None:
    response = api.client("member").post("/api/v1/messages/", "{oops", content_type="application/json")
    assert response.status_code == 400


# --- Filtering, ordering, cursor pages -------------------------------------------------------------------


def test_lists_filter_order_and_page_by_cursor(api: ApiTeam) -> None:
    workspace = api.team.workspace
    for n in range(5):
        ProviderFactory(workspace=workspace, name=f"Zed {n}", kind="agency")
    client = api.client("viewer")
    names = [
        row["name"] for row in client.get("/api/v1/providers/?kind=agency&ordering=-name").json()["results"]
    ]
    assert names == [f"Zed {n}" for n in reversed(range(5))]
    first = client.get("/api/v1/providers/?kind=agency&page_size=2").json()
    assert len(first["results"]) == 2
    second = client.get(first["next"]).json()
    assert {r["id"] for r in first["results"]}.isdisjoint({r["id"] for r in second["results"]})
    assert client.get("/api/v1/providers/?kind=unicorn").status_code == 400


# --- Query counts -------------------------------------------------------------------------------------------


LISTS = ["providers", "engagements", "messages", "exchanges", "flags", "reviews", "absences"]


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("endpoint", LISTS)
def test_a_list_page_costs_the_same_queries_for_many_rows_as_for_few(
    api: ApiTeam, endpoint: str, django_assert_max_num_queries
) -> None:
    client = api.client("viewer")
    client.get("/api/v1/providers/")  # the token's last use is written once a minute, not per call
    few = _queries(client, f"/api/v1/{endpoint}/")
    for _n in range(8):
        provider = ProviderFactory(workspace=api.team.workspace)
        ProviderEmailFactory(provider=provider)
        EngagementFactory(workspace=api.team.workspace, provider=provider)
    from engagements import services

    for engagement in Engagement.objects.filter(workspace=api.team.workspace):
        services.message_log(
            engagement=engagement, direction="out", kind="request", body="?", author=api.team.alice
        )
    with django_assert_max_num_queries(few):
        client.get(f"/api/v1/{endpoint}/")
    assert few <= 6


def test_a_moment_with_an_offset_postgresql_refuses_is_still_filtered(api: ApiTeam) -> None:
    """Found by schemathesis: -22:17 is a valid ISO offset, but PostgreSQL takes none beyond ±16 h."""
    response = api.client("viewer").get("/api/v1/exchanges/?requested_before=2026-03-03T11:54:06-22:17")
    assert response.status_code == 200


def test_an_id_that_is_not_a_number_is_a_json_404(api: ApiTeam) -> None:
    response = api.client("viewer").get("/api/v1/providers/abc/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
