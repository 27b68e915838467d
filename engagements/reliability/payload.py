"""The one codec of the snapshots' JSON payload: the figures, their monthly trend, the dashboard's charts.

Whatever the background refresh writes into ``MetricSnapshot.payload`` and a
page reads back goes through here, so the format has one definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from engagements.reliability.metrics import Mean, Metrics, MonthFigures, ReplyTimes, Spend
from engagements.reliability.statistics import Interval, Score


def _interval(data: dict[str, Any]) -> Interval:
    return Interval(point=data["point"], low=data["low"], high=data["high"], n=data["n"])


def figures_to_payload(m: Metrics) -> dict[str, Any]:
    """The figures as JSON (the survival curves stay out: the scorecard computes them live)."""

    def interval(i: Interval) -> dict[str, Any]:
        return {"point": i.point, "low": i.low, "high": i.high, "n": i.n}

    def times(t: ReplyTimes | None) -> dict[str, Any] | None:
        if t is None:
            return None
        return {
            "median": t.median,
            "p90": t.p90,
            "naive_mean": t.naive_mean,
            "n": t.n,
            "answered": t.answered,
        }

    score = m.score
    return {
        "requests": m.requests,
        "replies": m.replies,
        "response_rate": interval(m.response_rate),
        "within_policy": interval(m.within_policy),
        "followups": m.followups,
        "ghosted": m.ghosted,
        "business": times(m.business),
        "calendar": times(m.calendar),
        "on_time": interval(m.on_time),
        "quality": [m.quality.value, m.quality.n],
        "communication": [m.communication.value, m.communication.n],
        "would_hire_again": interval(m.would_hire_again),
        "spend": [
            [s.currency, str(s.total), s.completed, str(s.agreed), str(s.paid_of_agreed)] for s in m.spend
        ],
        "score": None
        if score is None
        else {"value": score.value, "n": score.n, "enough": score.enough, "parts": score.parts},
    }


def figures_from_payload(data: dict[str, Any]) -> Metrics:
    def times(t: dict[str, Any] | None) -> ReplyTimes | None:
        return None if t is None else ReplyTimes(**t)

    score = data["score"]
    return Metrics(
        requests=data["requests"],
        replies=data["replies"],
        response_rate=_interval(data["response_rate"]),
        within_policy=_interval(data["within_policy"]),
        followups=data["followups"],
        ghosted=data["ghosted"],
        business=times(data["business"]),
        calendar=times(data["calendar"]),
        on_time=_interval(data["on_time"]),
        quality=Mean(*data["quality"]),
        communication=Mean(*data["communication"]),
        would_hire_again=_interval(data["would_hire_again"]),
        spend=[
            Spend(currency=c, total=Decimal(t), completed=n, agreed=Decimal(a), paid_of_agreed=Decimal(p))
            for c, t, n, a, p in data["spend"]
        ],
        score=None if score is None else Score(**score),
    )


def trend_to_payload(trend: Sequence[MonthFigures]) -> list[dict[str, Any]]:
    def interval(i: Interval) -> list[Any]:
        return [i.point, i.low, i.high, i.n]

    return [
        {
            "month": m.month.isoformat(),
            "requests": m.requests,
            "response_rate": interval(m.response_rate),
            "within_policy": interval(m.within_policy),
            "median_business": m.median_business,
            "median_calendar": m.median_calendar,
            "on_time": interval(m.on_time),
            "quality": [m.quality.value, m.quality.n],
            "followups_per_request": m.followups_per_request,
            "ghosted": m.ghosted,
            "communication": [m.communication.value, m.communication.n],
            "spend": [[currency, str(total)] for currency, total in m.spend],
        }
        for m in trend
    ]


def trend_from_payload(data: Sequence[dict[str, Any]]) -> list[MonthFigures]:
    return [
        MonthFigures(
            month=date.fromisoformat(m["month"]),
            requests=m["requests"],
            response_rate=Interval(*m["response_rate"]),
            within_policy=Interval(*m["within_policy"]),
            median_business=m["median_business"],
            median_calendar=m["median_calendar"],
            on_time=Interval(*m["on_time"]),
            quality=Mean(*m["quality"]),
            followups_per_request=m["followups_per_request"],
            ghosted=m["ghosted"],
            communication=Mean(*m["communication"]),
            spend=[(currency, Decimal(total)) for currency, total in m["spend"]],
        )
        for m in data
    ]


@dataclass(frozen=True)
class Charts:
    """The dashboard's chart data: the reply-time distribution, within the policy per month,
    overdue flags per week, and the monthly trend (months and weeks in ``zone``)."""

    zone: str = ""
    distribution: list[int] = field(default_factory=list)
    within_by_month: list[tuple[date, Interval]] = field(default_factory=list)
    overdue_weeks: list[tuple[date, int]] = field(default_factory=list)
    trend: list[MonthFigures] = field(default_factory=list)


def charts_to_payload(charts: Charts) -> dict[str, Any]:
    return {
        "zone": charts.zone,
        "distribution": list(charts.distribution),
        "within_policy": [
            [month.isoformat(), i.point, i.low, i.high, i.n] for month, i in charts.within_by_month
        ],
        "overdue_weeks": [[week.isoformat(), n] for week, n in charts.overdue_weeks],
        "trend": trend_to_payload(charts.trend),
    }


def charts_from_payload(data: dict[str, Any]) -> Charts:
    return Charts(
        zone=data.get("zone", ""),
        distribution=data.get("distribution", []),
        within_by_month=[
            (date.fromisoformat(month), Interval(point=point, low=low, high=high, n=n))
            for month, point, low, high, n in data.get("within_policy", [])
        ],
        overdue_weeks=[(date.fromisoformat(week), n) for week, n in data.get("overdue_weeks", [])],
        trend=trend_from_payload(data.get("trend", [])),
    )
