"""Long pickers put the likely values first: the provider's country's, then the workspace's."""

from __future__ import annotations

import pytest
from django.utils import translation

from engagements.forms import EngagementForm
from outsourcing.money import grouped_currency_choices
from providers.forms import PolicyForm, ProviderForm
from providers.models import Provider, ResponsePolicy
from tests.factories import ProviderFactory


def _values(group) -> list[str]:
    return [value for value, _label in group[1]]


def test_likely_currencies_come_first_in_their_order_then_all_the_others():
    with translation.override("en"):
        choices = grouped_currency_choices(likely=["PHP", "EUR", "PHP", "XXX"])
    (likely_label, _likely), (all_label, rest) = choices
    assert (likely_label, all_label) == ("Likely", "All currencies")
    assert _values(choices[0]) == ["PHP", "EUR"]
    rest_codes = [code for code, _label in rest]
    assert "PHP" not in rest_codes and "EUR" not in rest_codes
    assert "USD" in rest_codes


def test_a_former_currency_is_never_likely():
    assert _values(grouped_currency_choices(likely=["DEM", "EUR"], keep="DEM")[0]) == ["EUR"]


def test_without_likely_currencies_the_list_stays_flat():
    assert all(isinstance(label, str) for _code, label in grouped_currency_choices())


@pytest.mark.django_db
def test_a_provider_in_germany_gets_berlin_and_the_euro_first_then_the_workspaces(team):
    ProviderFactory(workspace=team.workspace, time_zone="Asia/Manila", rate_currency="PHP")
    ProviderFactory(workspace=team.workspace, time_zone="Asia/Manila", rate_currency="PHP")
    ProviderFactory(workspace=team.workspace, time_zone="America/New_York", rate_currency="USD")
    with translation.override("en"):
        form = ProviderForm(instance=Provider(workspace=team.workspace), initial={"country": "DE"})
        zones = form.fields["time_zone"].choices
        currencies = form.fields["rate_currency"].choices
    # After the empty choice: Germany's zones, then the ones the workspace uses, then every country's.
    assert zones[1][0] == "Germany"
    assert _values(zones[1])[0] == "Europe/Berlin"
    assert zones[2][0] == "Used in this workspace"
    assert _values(zones[2]) == ["Asia/Manila", "America/New_York"]
    assert currencies[1][0] == "Likely"
    assert _values(currencies[1]) == ["EUR", "PHP", "USD"]
    assert currencies[2][0] == "All currencies"


@pytest.mark.django_db
def test_the_engagement_fee_offers_the_workspaces_currencies_first(team):
    ProviderFactory(workspace=team.workspace, rate_currency="GBP")
    with translation.override("en"):
        choices = EngagementForm(workspace=team.workspace).fields["fee_currency"].choices
    assert choices[1][0] == "Likely"
    assert _values(choices[1]) == ["GBP"]


@pytest.mark.django_db
def test_the_workspace_policy_offers_the_workspaces_zones_first(team):
    ProviderFactory(workspace=team.workspace, time_zone="Asia/Manila")
    with translation.override("en"):
        choices = PolicyForm(instance=ResponsePolicy(workspace=team.workspace)).fields["time_zone"].choices
    assert choices[1][0] == "Used in this workspace"
    assert _values(choices[1]) == ["Asia/Manila"]
