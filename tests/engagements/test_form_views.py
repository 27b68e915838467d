"""Delegating a task and editing it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engagements import services
from engagements.models import Engagement, Flag
from providers import services as provider_services
from providers.models import Provider
from tests.engagements.conftest import url
from tests.factories import ProviderFactory


def form_data(provider, owner, **overrides):
    data = {
        "title": "Write five blog posts",
        "provider": provider.pk,
        "owner": owner.pk,
        "category": "content_writing",
        "priority": "3",
        "brief": "About <b>SEO</b>",
        "fee_amount": "250.00",
        "fee_currency": "EUR",
        "due_on": "2031-05-01",
        "client_name": "Globex",
    }
    data.update(overrides)
    return data


def test_an_anonymous_visitor_cannot_open_the_create_form(team):
    assert team.client_for(None).get(url("create")).status_code == 302


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("vera", 403), ("charlie", 404)])
def test_the_create_form_is_for_members(team, who, status):
    assert team.client_for(getattr(team, who)).get(url("create")).status_code == status


def test_the_create_form_preselects_the_provider_and_the_current_user(team, provider):
    response = team.client_for(team.bob).get(url("create"), {"provider": provider.pk})
    form = response.context["form"]
    assert form.initial["provider"] == provider.pk
    assert form.initial["owner"] == team.bob.pk


@pytest.mark.parametrize("value", ["abc", "999999"])
def test_a_bad_provider_in_the_query_string_is_ignored(team, provider, value):
    response = team.client_for(team.bob).get(url("create"), {"provider": value})
    assert response.status_code == 200
    assert "provider" not in response.context["form"].initial


def test_a_member_delegates_a_task(team, provider):
    response = team.client_for(team.bob).post(url("create"), form_data(provider, team.alice))
    engagement = Engagement.objects.get(title="Write five blog posts")
    assert response.status_code == 302
    assert response["Location"] == url("detail", pk=engagement.pk)
    assert (engagement.provider, engagement.owner, engagement.status) == (provider, team.alice, "draft")
    assert str(engagement.fee_amount) == "250.00"
    assert engagement.status_changes.get().changed_by == team.bob


def test_a_viewer_cannot_delegate(team, provider):
    response = team.client_for(team.vera).post(url("create"), form_data(provider, team.alice))
    assert response.status_code == 403
    assert not Engagement.objects.exists()


def test_a_foreign_provider_or_owner_is_a_form_error(team, provider):
    foreign = ProviderFactory(workspace=team.other_workspace)
    client = team.client_for(team.alice)
    response = client.post(url("create"), form_data(foreign, team.alice))
    assert response.status_code == 200
    assert "provider" in response.context["form"].errors
    response = client.post(url("create"), form_data(provider, team.charlie))
    assert "owner" in response.context["form"].errors
    assert not Engagement.objects.exists()


def test_an_archived_provider_cannot_be_chosen(team):
    archived = ProviderFactory(workspace=team.workspace, status=Provider.Status.ARCHIVED)
    response = team.client_for(team.alice).post(url("create"), form_data(archived, team.alice))
    assert "provider" in response.context["form"].errors


def test_form_errors_keep_what_was_typed(team, provider):
    data = form_data(provider, team.alice, title="", fee_amount="-5", client_name="Kept Client")
    response = team.client_for(team.alice).post(url("create"), data)
    form = response.context["form"]
    assert {"title", "fee_amount"} <= set(form.errors)
    assert 'value="Kept Client"' in response.content.decode()


def test_a_fee_needs_a_currency(team, provider):
    response = team.client_for(team.alice).post(
        url("create"), form_data(provider, team.alice, fee_currency="")
    )
    assert "fee_currency" in response.context["form"].errors


def test_an_over_long_title_is_a_field_error(team, provider):
    response = team.client_for(team.alice).post(
        url("create"), form_data(provider, team.alice, title="x" * 201)
    )
    assert "title" in response.context["form"].errors


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("vera", 403), ("charlie", 404)])
def test_the_edit_form_is_for_members(team, engagement, who, status):
    assert team.client_for(getattr(team, who)).get(url("edit", pk=engagement.pk)).status_code == status


def test_a_member_edits_an_engagement(team, engagement, provider):
    data = form_data(provider, team.bob, title="Renamed")
    response = team.client_for(team.bob).post(url("edit", pk=engagement.pk), data)
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert (engagement.title, engagement.owner, engagement.client_name) == ("Renamed", team.bob, "Globex")


def test_editing_keeps_an_archived_current_provider_choosable(team, engagement, provider):
    Provider.objects.filter(pk=provider.pk).update(status=Provider.Status.ARCHIVED)
    data = form_data(provider, team.alice, title="Still here")
    assert team.client_for(team.alice).post(url("edit", pk=engagement.pk), data).status_code == 302


def test_a_viewer_cannot_edit_and_an_outsider_gets_a_404(team, engagement, provider):
    data = form_data(provider, team.alice, title="Hacked")
    assert team.client_for(team.vera).post(url("edit", pk=engagement.pk), data).status_code == 403
    assert team.client_for(team.charlie).post(url("edit", pk=engagement.pk), data).status_code == 404
    engagement.refresh_from_db()
    assert engagement.title == "Landing page copy"


def test_choosing_a_response_policy_on_the_form_moves_the_open_reply_due_time(team, engagement, provider):
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(hours=1),
    )
    before = engagement.exchanges.get().reply_due_at
    slow = provider_services.policy_create(workspace=team.workspace, name="Slow", reply_within=10)
    data = form_data(provider, team.alice, response_policy=slow.pk, due_on="")
    assert team.client_for(team.bob).post(url("edit", pk=engagement.pk), data).status_code == 302
    engagement.refresh_from_db()
    assert engagement.response_policy == slow
    assert engagement.exchanges.get().reply_due_at > before + timedelta(days=7)


def test_another_workspaces_policy_is_not_a_choice(team, engagement, provider):
    foreign = provider_services.policy_create(workspace=team.other_workspace, name="Theirs")
    data = form_data(provider, team.alice, response_policy=foreign.pk)
    response = team.client_for(team.alice).post(url("edit", pk=engagement.pk), data)
    assert response.status_code == 200
    assert "response_policy" in response.context["form"].errors
    engagement.refresh_from_db()
    assert engagement.response_policy is None


def test_moving_the_due_date_ahead_on_the_form_withdraws_the_delivery_flag(team, engagement, provider):
    flag = Flag.objects.create(
        workspace=team.workspace,
        engagement=engagement,
        kind=Flag.Kind.DELIVERY_OVERDUE,
        due_at=engagement.created_at,
    )
    data = form_data(provider, team.alice, due_on="2031-06-01")
    assert team.client_for(team.alice).post(url("edit", pk=engagement.pk), data).status_code == 302
    flag.refresh_from_db()
    assert flag.resolution == Flag.Resolution.WITHDRAWN


@pytest.fixture
def paid_in_pesos(team):
    return ProviderFactory(
        workspace=team.workspace,
        name="Maria Santos",
        country="PH",
        time_zone="Asia/Manila",
        rate_currency="PHP",
    )


def test_a_new_engagement_for_a_provider_starts_in_their_rate_currency(team, paid_in_pesos):
    response = team.client_for(team.bob).get(url("create"), {"provider": paid_in_pesos.pk})
    assert response.context["form"]["fee_currency"].value() == "PHP"


def test_a_fee_left_without_a_currency_is_in_the_providers_rate_currency(team, paid_in_pesos):
    data = form_data(paid_in_pesos, team.alice, fee_currency="")
    assert team.client_for(team.alice).post(url("create"), data).status_code == 302
    assert Engagement.objects.get().fee_currency == "PHP"


def test_a_currency_chosen_on_the_form_wins_over_the_providers(team, paid_in_pesos):
    team.client_for(team.alice).post(url("create"), form_data(paid_in_pesos, team.alice, fee_currency="USD"))
    assert Engagement.objects.get().fee_currency == "USD"


def test_each_provider_option_carries_its_rate_currency_for_the_browser(
    team, provider, paid_in_pesos, django_assert_max_num_queries
):
    client = team.client_for(team.alice)
    client.get(url("create"))  # warm the session and the site's caches
    with django_assert_max_num_queries(20) as few:
        html = client.get(url("create")).content.decode()
    assert f'<option value="{paid_in_pesos.pk}" data-currency="PHP">Maria Santos</option>' in html
    assert f'<option value="{provider.pk}">Vanessa VA</option>' in html
    assert 'data-fills-currency="id_fee_currency"' in html
    for n in range(5):
        ProviderFactory(workspace=team.workspace, name=f"More {n}", rate_currency="EUR")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url("create"))


def test_the_engagement_form_offers_no_former_currency(team, provider):
    client = team.client_for(team.alice)
    offered = [
        code for code, _label in client.get(url("create")).context["form"].fields["fee_currency"].choices
    ]
    assert "EUR" in offered
    assert "DEM" not in offered
    response = client.post(url("create"), form_data(provider, team.alice, fee_currency="DEM"))
    assert "Select a valid choice." in response.context["form"].errors["fee_currency"][0]
