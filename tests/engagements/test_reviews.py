"""Reviews of completed engagements: the service, the form page, the card, the nudge after completing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagements import services
from engagements.models import Engagement, MetricsBacklog, Review
from tests.engagements.conftest import url

HTMX = {"HTTP_HX_REQUEST": "true"}
GOOD = {
    "quality": "4",
    "communication": "5",
    "on_time": "True",
    "would_hire_again": "False",
    "final_fee_amount": "1200.00",
    "comment": "Solid copy, one round of changes.",
}


def _move(engagement: Engagement, *statuses: str, by=None) -> Engagement:
    for status in statuses:
        services.engagement_set_status(engagement=engagement, status=status, by=by)
    return engagement


def _complete(engagement: Engagement, by=None) -> Engagement:
    return _move(engagement, "in_progress", "delivered", "completed", by=by)


@pytest.fixture
def priced(engagement) -> Engagement:
    """The engagement with an agreed fee in euros and a due date a week ahead."""
    Engagement.objects.filter(pk=engagement.pk).update(
        fee_amount=Decimal("1000.00"), fee_currency="EUR", due_on=timezone.localdate() + timedelta(days=7)
    )
    engagement.refresh_from_db()
    return engagement


@pytest.fixture
def completed(team, priced) -> Engagement:
    return _complete(priced, by=team.alice)


def _review(engagement: Engagement, by, **changes) -> Review:
    values = {
        "quality": 4,
        "communication": 3,
        "on_time": True,
        "would_hire_again": True,
        "final_fee_amount": None,
        "comment": "",
        **changes,
    }
    return services.review_save(engagement=engagement, by=by, **values)


def _checked(page: str, name: str) -> list[str]:
    """The values of the radio buttons called ``name`` that are checked."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return [re.search(r'value="([^"]*)"', i).group(1) for i in inputs if re.search(r"\bchecked\b", i)]


# --- The service --------------------------------------------------------------


def test_a_review_is_saved_with_a_copy_of_the_workspace(team, completed):
    review = _review(completed, team.bob, quality=5, final_fee_amount=Decimal("950.00"), comment="  Fine.  ")
    stored = Review.objects.get(engagement=completed)
    assert stored.pk == review.pk
    assert stored.workspace_id == team.workspace.pk
    assert (stored.quality, stored.communication) == (5, 3)
    assert stored.on_time is True
    assert stored.would_hire_again is True
    assert stored.final_fee_amount == Decimal("950.00")
    assert stored.comment == "Fine."
    assert stored.reviewer == team.bob


def test_saving_again_updates_the_one_review_and_keeps_when_it_was_first_given(team, completed):
    first_at = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    with time_machine.travel(first_at, tick=False):
        _review(completed, team.alice, quality=2)
    with time_machine.travel(first_at + timedelta(days=2), tick=False):
        _review(completed, team.bob, quality=5, would_hire_again=False)
    assert Review.objects.filter(engagement=completed).count() == 1
    review = Review.objects.get(engagement=completed)
    assert review.quality == 5
    assert review.would_hire_again is False
    assert review.reviewer == team.bob
    assert review.created_at == first_at
    assert review.updated_at == first_at + timedelta(days=2)


@pytest.mark.parametrize("status", ["requested", "in_progress", "delivered", "on_hold", "cancelled"])
def test_a_review_of_an_engagement_that_is_not_completed_is_refused(team, engagement, status):
    path = {
        "requested": (),
        "in_progress": ("in_progress",),
        "delivered": ("in_progress", "delivered"),
        "on_hold": ("on_hold",),
        "cancelled": ("cancelled",),
    }[status]
    _move(engagement, *path)
    with pytest.raises(ValidationError, match="Only a completed engagement can be reviewed"):
        _review(engagement, team.alice)
    assert not Review.objects.exists()


def test_the_service_reads_the_status_from_the_database_not_from_a_stale_object(team, completed):
    stale = Engagement.objects.get(pk=completed.pk)
    Engagement.objects.filter(pk=completed.pk).update(status=Engagement.Status.DELIVERED)
    stale.status = Engagement.Status.COMPLETED
    with pytest.raises(ValidationError):
        _review(stale, team.alice)


@pytest.mark.parametrize(
    ("field", "value"),
    [("quality", 0), ("quality", 6), ("communication", -1), ("communication", True), ("quality", "4")],
)
def test_ratings_outside_one_to_five_are_refused(team, completed, field, value):
    with pytest.raises(ValidationError) as exc:
        _review(completed, team.alice, **{field: value})
    assert exc.value.message_dict == {field: ["Choose a rating from 1 to 5."]}
    assert not Review.objects.exists()


def test_a_negative_fee_is_refused(team, completed):
    with pytest.raises(ValidationError) as exc:
        _review(completed, team.alice, final_fee_amount=Decimal("-1"))
    assert exc.value.message_dict == {"final_fee_amount": ["The fee cannot be negative."]}


def test_a_fee_needs_the_engagements_currency(team, engagement):
    _complete(engagement)
    with pytest.raises(ValidationError) as exc:
        _review(engagement, team.alice, final_fee_amount=Decimal("10"))
    assert "final_fee_amount" in exc.value.message_dict
    assert _review(engagement, team.alice).final_fee_amount is None


def test_a_review_queues_the_providers_figures_for_recomputing(team, completed):
    MetricsBacklog.objects.all().delete()
    _review(completed, team.alice)
    assert list(MetricsBacklog.objects.values_list("provider_id", flat=True)) == [completed.provider_id]


# --- The review page ----------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_a_404(team, completed, method):
    client = team.client_for(team.charlie)
    response = getattr(client, method)(url("review", pk=completed.pk), GOOD if method == "post" else None)
    assert response.status_code == 404
    assert not Review.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(team, completed):
    response = team.client_for(None).get(url("review", pk=completed.pk))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_a_viewer_cannot_post_a_review(team, completed):
    response = team.client_for(team.vera).post(url("review", pk=completed.pk), GOOD)
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_a_viewer_sees_the_review_without_a_form(team, completed):
    _review(completed, team.alice, comment="Readable by all")
    response = team.client_for(team.vera).get(url("review", pk=completed.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Readable by all" in page
    assert 'data-testid="review-form"' not in page
    assert "Edit review" not in page


def test_a_viewer_is_told_there_is_no_review_yet(team, completed):
    page = team.client_for(team.vera).get(url("review", pk=completed.pk)).content.decode()
    assert "Not reviewed yet." in page
    assert 'data-testid="review-form"' not in page
    assert "Add a review" not in page


def test_a_member_saves_a_review(team, completed):
    client = team.client_for(team.bob)
    response = client.post(url("review", pk=completed.pk), GOOD)
    assert response.status_code == 302
    assert response["Location"] == url("detail", pk=completed.pk) + "#review"
    review = Review.objects.get(engagement=completed)
    assert (review.quality, review.communication, review.on_time, review.would_hire_again) == (
        4,
        5,
        True,
        False,
    )
    assert review.final_fee_amount == Decimal("1200.00")
    assert review.comment == "Solid copy, one round of changes."
    assert review.reviewer == team.bob
    assert "Review saved." in client.get(response["Location"]).content.decode()


def test_an_empty_fee_means_the_agreed_one(team, completed):
    team.client_for(team.alice).post(url("review", pk=completed.pk), {**GOOD, "final_fee_amount": ""})
    assert Review.objects.get(engagement=completed).final_fee_amount is None


def test_an_invalid_rating_shows_the_errors_and_keeps_what_was_typed(team, completed):
    response = team.client_for(team.alice).post(
        url("review", pk=completed.pk), {**GOOD, "quality": "9", "would_hire_again": ""}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice. 9 is not one of the available choices." in page
    assert "This field is required." in page
    assert "Solid copy, one round of changes." in page
    assert 'value="1200.00"' in page
    assert _checked(page, "communication") == ["5"]
    assert _checked(page, "on_time") == ["True"]
    assert not Review.objects.exists()


def test_a_second_save_updates_the_review(team, completed):
    client = team.client_for(team.alice)
    client.post(url("review", pk=completed.pk), GOOD)
    client.post(url("review", pk=completed.pk), {**GOOD, "quality": "2", "comment": "Second thoughts"})
    assert Review.objects.count() == 1
    review = Review.objects.get()
    assert review.quality == 2
    assert review.comment == "Second thoughts"


def test_the_form_shows_the_saved_review_for_editing(team, completed):
    _review(completed, team.bob, quality=2, communication=5, on_time=False, would_hire_again=True)
    page = team.client_for(team.alice).get(url("review", pk=completed.pk)).content.decode()
    assert _checked(page, "quality") == ["2"]
    assert _checked(page, "communication") == ["5"]
    assert _checked(page, "on_time") == ["False"]
    assert _checked(page, "would_hire_again") == ["True"]
    assert "Edit review" in page


def test_the_form_offers_worded_ratings_and_the_fee_in_the_engagements_currency(team, completed):
    page = team.client_for(team.alice).get(url("review", pk=completed.pk)).content.decode()
    assert "1 – poor" in page
    assert "5 – excellent" in page
    assert "Fee paid (EUR)" in page
    assert "Empty: the agreed fee, €1,000.00." in page


def test_on_time_starts_from_what_the_delivery_date_said(team, completed):
    assert completed.delivered_on_time is True
    page = team.client_for(team.alice).get(url("review", pk=completed.pk)).content.decode()
    assert _checked(page, "on_time") == ["True"]
    assert _checked(page, "quality") == []


def test_a_late_delivery_starts_the_form_at_not_on_time(team, priced):
    Engagement.objects.filter(pk=priced.pk).update(due_on=timezone.localdate() - timedelta(days=3))
    priced.refresh_from_db()
    _complete(priced)
    page = team.client_for(team.alice).get(url("review", pk=priced.pk)).content.decode()
    assert _checked(page, "on_time") == ["False"]


def test_without_a_due_date_on_time_is_left_for_the_reviewer(team, engagement):
    _complete(engagement)
    page = team.client_for(team.alice).get(url("review", pk=engagement.pk)).content.decode()
    assert _checked(page, "on_time") == []


def test_without_a_currency_the_fee_cannot_be_entered(team, engagement):
    _complete(engagement)
    client = team.client_for(team.alice)
    page = client.get(url("review", pk=engagement.pk)).content.decode()
    assert re.search(r'<input[^>]*name="final_fee_amount"[^>]*disabled', page)
    assert client.post(url("review", pk=engagement.pk), GOOD).status_code == 302
    assert Review.objects.get(engagement=engagement).final_fee_amount is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_engagement_that_is_not_completed_sends_back_with_a_message(team, engagement, method):
    client = team.client_for(team.alice)
    response = getattr(client, method)(url("review", pk=engagement.pk), GOOD if method == "post" else None)
    assert response.status_code == 302
    assert response["Location"] == url("detail", pk=engagement.pk)
    page = client.get(response["Location"]).content.decode()
    assert "An engagement can be reviewed once it is completed." in page
    assert not Review.objects.exists()


def test_another_workspaces_engagement_is_a_404(team, completed):
    response = team.client_for(team.charlie).get(url("review", pk=completed.pk).replace("/acme/", "/other/"))
    assert response.status_code == 404


# --- Completing through the status view -------------------------------------


def test_completing_an_engagement_leads_to_the_review_form(team, priced):
    _move(priced, "in_progress", "delivered")
    client = team.client_for(team.bob)
    response = client.post(url("status", pk=priced.pk), {"status": "completed"})
    assert response.status_code == 302
    assert response["Location"] == url("review", pk=priced.pk)
    page = client.get(response["Location"]).content.decode()
    assert "Status changed to Completed." in page
    assert "Take a minute to review the work" in page
    assert "How did it go?" in page
    assert 'data-testid="review-form"' in page


def test_completing_through_htmx_redirects_the_whole_page(team, priced):
    _move(priced, "in_progress", "delivered")
    response = team.client_for(team.alice).post(url("status", pk=priced.pk), {"status": "completed"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("review", pk=priced.pk)


def test_other_status_moves_still_go_back_to_the_engagement(team, priced):
    response = team.client_for(team.alice).post(url("status", pk=priced.pk), {"status": "in_progress"})
    assert response["Location"] == url("detail", pk=priced.pk)


def test_completing_an_engagement_that_has_a_review_goes_back_to_the_engagement(team, priced):
    _move(priced, "in_progress", "delivered")
    # Reviews arrive only after completion through the service; an import may bring one earlier.
    Review.objects.create(
        workspace=team.workspace,
        engagement=priced,
        quality=3,
        communication=3,
        on_time=True,
        would_hire_again=True,
    )
    response = team.client_for(team.alice).post(url("status", pk=priced.pk), {"status": "completed"})
    assert response["Location"] == url("detail", pk=priced.pk)


# --- The card on the engagement page -------------------------------------------


def test_the_engagement_page_shows_the_review(team, completed):
    _review(
        completed,
        team.bob,
        quality=4,
        communication=2,
        on_time=False,
        would_hire_again=True,
        final_fee_amount=Decimal("1200.00"),
        comment="Needed <b>two</b> reminders",
    )
    page = team.client_for(team.alice).get(url("detail", pk=completed.pk)).content.decode()
    assert 'data-testid="review-quality">4/5<' in page
    assert 'data-testid="review-communication">2/5<' in page
    assert re.search(r'data-testid="review-on-time">No<', page)
    assert re.search(r'data-testid="review-hire-again">Yes<', page)
    fee = re.search(r'data-testid="review-fee">(.*?)</dd>', page, re.S).group(1)
    assert "€1,200.00" in fee
    assert "agreed: €1,000.00" in fee
    assert "Needed &lt;b&gt;two&lt;/b&gt; reminders" in page
    assert f"Reviewed by {team.bob.display_name}" in page
    assert url("review", pk=completed.pk) in page
    assert "Edit review" in page


def test_a_review_without_a_fee_says_the_agreed_one_was_paid(team, completed):
    _review(completed, team.alice)
    page = team.client_for(team.alice).get(url("detail", pk=completed.pk)).content.decode()
    fee = re.search(r'data-testid="review-fee">(.*?)</dd>', page, re.S).group(1)
    assert "€1,000.00" in fee
    assert "as agreed" in fee


def test_a_viewer_sees_the_review_card_without_the_edit_link(team, completed):
    _review(completed, team.alice)
    page = team.client_for(team.vera).get(url("detail", pk=completed.pk)).content.decode()
    assert 'data-testid="review-quality"' in page
    assert url("review", pk=completed.pk) not in page


def test_a_completed_engagement_without_a_review_offers_to_add_one(team, completed):
    page = team.client_for(team.bob).get(url("detail", pk=completed.pk)).content.decode()
    assert "Add a review" in page
    assert url("review", pk=completed.pk) in page


def test_an_open_engagement_has_no_review_card(team, engagement):
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert 'data-testid="review"' not in page
    assert url("review", pk=engagement.pk) not in page


def _detail_queries(client, engagement) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("detail", pk=engagement.pk)).status_code == 200
    return len(ctx)


def test_the_review_costs_the_engagement_page_no_extra_query(team, completed):
    client = team.client_for(team.alice)
    _detail_queries(client, completed)
    without = _detail_queries(client, completed)
    _review(completed, team.bob, comment="Fine")
    page = client.get(url("detail", pk=completed.pk)).content.decode()
    assert f"Reviewed by {team.bob.display_name}" in page
    assert _detail_queries(client, completed) == without


# --- Admin ------------------------------------------------------------------------


def test_the_admin_lists_reviews_and_keeps_the_workspace_copy_true(team, completed, admin_client):
    review = _review(completed, team.alice, comment="Admin sees this")
    changelist = admin_client.get(reverse("admin:engagements_review_changelist"))
    assert changelist.status_code == 200
    assert "Landing page copy" in changelist.content.decode()
    Review.objects.filter(pk=review.pk).update(workspace=team.other_workspace)
    response = admin_client.post(
        reverse("admin:engagements_review_change", args=[review.pk]),
        {
            "engagement": completed.pk,
            "quality": 5,
            "communication": 4,
            "on_time": "on",
            "would_hire_again": "on",
            "final_fee_amount": "",
            "comment": "Corrected",
            "reviewer": team.alice.pk,
        },
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.quality, review.comment, review.workspace_id) == (5, "Corrected", team.workspace.pk)
