"""A known month of requests for the report tests: three providers, one client, November 2026 in Berlin."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from engagements.models import ReliabilityReport
from providers.models import Provider
from tests.engagements.test_reliability_views import exchange
from tests.factories import EngagementFactory, ProviderFactory

# Early December: the last whole month is November.
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
CLIENT = "Globex"


def provider_with_history(
    team, name: str, *, answered: int, unanswered: int, client: str = "", start_days_ago: int = 28
) -> Provider:
    """``answered`` requests answered after 2, 5, 8 … hours and ``unanswered`` still waiting, all in November."""
    provider = ProviderFactory(workspace=team.workspace, name=name, time_zone="Europe/Berlin")
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, client_name=client
    )
    for i in range(answered):
        exchange(engagement, days_ago=start_days_ago - i, answered_after_hours=2 + 3 * i, now=NOW)
    for i in range(unanswered):
        waiting = EngagementFactory(
            workspace=team.workspace, provider=provider, owner=team.alice, client_name=client
        )
        exchange(waiting, days_ago=start_days_ago - 12 - i, answered_after_hours=None, now=NOW)
    return provider


def month_of_history(team) -> dict[str, Provider]:
    return {
        "quick": provider_with_history(team, "Quick Quinn", answered=7, unanswered=1, client=CLIENT),
        "slow": provider_with_history(team, "Slow Sam", answered=2, unanswered=4),
        "new": provider_with_history(team, "New Nora", answered=1, unanswered=0, client=CLIENT),
        # Asked in October only: not in November's report.
        "old": provider_with_history(team, "October Otto", answered=2, unanswered=0, start_days_ago=50),
    }


def make_report(team, **values) -> ReliabilityReport:
    report = ReliabilityReport.objects.create(
        workspace=team.workspace,
        name=values.pop("name", "Monthly providers"),
        time_zone="Europe/Berlin",
        created_by=team.alice,
        **values,
    )
    return report
