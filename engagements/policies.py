"""Which response policy applies, and the provider's business calendar under it.

Precedence: the engagement's policy, else the provider's, else the workspace
default (created on first use, so every workspace always has one).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django_countries.fields import Country

from engagements.clock import BusinessCalendar
from engagements.models import Engagement, StatusChange
from outsourcing import zones
from outsourcing.models import Workspace
from providers.models import Absence, Provider, ResponsePolicy, holiday_regions, holiday_subdivision
from providers.services import policy_default

# An engagement still on hold is paused "until further notice".
FOREVER = datetime(9999, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))


def default_policy(workspace: Workspace) -> ResponsePolicy:
    """The workspace default: 2 business days, Mon–Fri 09:00–17:00, provider's zone and holidays."""
    return policy_default(workspace=workspace)


def effective_policy(engagement: Engagement, provider: Provider | None = None) -> ResponsePolicy:
    provider = provider or engagement.provider
    if engagement.response_policy_id:
        return engagement.response_policy  # type: ignore[return-value]
    if provider.response_policy_id:
        return provider.response_policy  # type: ignore[return-value]
    return default_policy(engagement.workspace)


def hold_periods(changes: Iterable[StatusChange]) -> tuple[tuple[datetime, datetime], ...]:
    """Intervals the engagement spent on hold, from its status history (oldest first)."""
    periods: list[tuple[datetime, datetime]] = []
    held_since: datetime | None = None
    for change in changes:
        if change.to_status == Engagement.Status.ON_HOLD and held_since is None:
            held_since = change.changed_at
        elif change.to_status != Engagement.Status.ON_HOLD and held_since is not None:
            periods.append((held_since, change.changed_at))
            held_since = None
    if held_since is not None:
        periods.append((held_since, FOREVER))
    return tuple(periods)


def _holiday_region(country: str, subdivision: str) -> tuple[str, str]:
    """A (country, subdivision) the holidays package knows; unknown parts are dropped.

    A provider in a country without holiday data still gets weekends and hours.
    """
    if country not in holiday_regions():
        return "", ""
    return country, (holiday_subdivision(country, subdivision) or "") if subdivision else ""


def calendar_for(
    *,
    policy: ResponsePolicy,
    provider: Provider,
    absences: Iterable[Absence] = (),
    holds: tuple[tuple[datetime, datetime], ...] = (),
) -> BusinessCalendar:
    """The provider's business calendar under ``policy``; the policy's own zone/country win."""
    return _calendar(
        policy,
        time_zone=provider.time_zone,
        country=str(provider.country or ""),
        absences=absences,
        holds=holds,
    )


def _calendar(
    policy: ResponsePolicy,
    *,
    time_zone: str,
    country: str,
    absences: Iterable[Absence],
    holds: tuple[tuple[datetime, datetime], ...],
) -> BusinessCalendar:
    """``calendar_for`` from the provider's zone and country (its code, as ``str(provider.country)``)."""
    zone_name = policy.time_zone or time_zone or "UTC"
    country, subdivision = _holiday_region(
        str(policy.holiday_country or "") or country, policy.holiday_subdivision
    )
    return BusinessCalendar(
        time_zone=zoneinfo.ZoneInfo(zone_name),
        workdays=policy.workday_numbers,
        day_start=policy.day_start,
        day_end=policy.day_end,
        holiday_country=country,
        holiday_subdivision=subdivision,
        # As ranges, never day by day: a long absence costs the clock one step.
        absences=tuple((absence.starts_on, absence.ends_on) for absence in absences),
        paused=holds,
    )


def our_zone(owner_time_zone: str | None) -> str:
    """The zone our side works in on an engagement: its owner's, else the site's display zone."""
    if owner_time_zone and zones.is_known(owner_time_zone):
        return owner_time_zone
    return settings.DISPLAY_TIME_ZONE


def our_calendar(provider_calendar: BusinessCalendar, zone_name: str) -> BusinessCalendar:
    """Our side's calendar under the same policy: the rule we hold the provider to, on our clock.

    The policy's workdays and hours and the engagement's holds, read in our
    zone, with the public holidays of the country that zone belongs to; the
    provider's absences are theirs, not ours (docs/design.md, "Whose turn").
    """
    country, _subdivision = _holiday_region(zones.zone_country(zone_name), "")
    return replace(
        provider_calendar,
        time_zone=zoneinfo.ZoneInfo(zone_name),
        holiday_country=country,
        holiday_subdivision="",
        absences=(),
    )


def engagement_calendar(engagement: Engagement) -> tuple[ResponsePolicy, BusinessCalendar]:
    """The policy and calendar for one engagement (three small queries)."""
    provider = engagement.provider
    policy = effective_policy(engagement, provider)
    calendar = calendar_for(
        policy=policy,
        provider=provider,
        absences=Absence.objects.filter(provider=provider),
        holds=hold_periods(StatusChange.objects.filter(engagement=engagement).order_by("changed_at", "id")),
    )
    return policy, calendar


def engagement_calendars(engagement_ids: Iterable[int]) -> dict[int, BusinessCalendar]:
    """Calendars for many engagements at once (see ``engagement_policies``).

    For reading elapsed business time in bulk, e.g. how long the still
    unanswered requests have waited so far.
    """
    return {pk: calendar for pk, (_policy, calendar) in engagement_policies(engagement_ids).items()}


def engagement_policies(engagement_ids: Iterable[int]) -> dict[int, tuple[ResponsePolicy, BusinessCalendar]]:
    """What ``engagement_calendar`` gives, for many engagements at once (four queries, whatever their number).

    Engagements whose calendars are made of the same parts (the policy, the
    provider's zone, country and absences, the holds) share one calendar
    object: made once, not once per engagement or provider.
    """
    ids = sorted(set(engagement_ids))
    if not ids:
        return {}
    # With what a calendar reads of the provider: its zone and country, as stored (no model to build).
    rows = list(
        Engagement.objects.filter(pk__in=ids).values_list(
            "pk",
            "workspace_id",
            "provider_id",
            "response_policy_id",
            "provider__response_policy_id",
            "provider__time_zone",
            "provider__country",
        )
    )
    absences: dict[int, tuple[Absence, ...]] = {}
    for absence in Absence.objects.filter(provider_id__in={r[2] for r in rows}):
        absences[absence.provider_id] = (*absences.get(absence.provider_id, ()), absence)
    # Only the moves into and out of a hold shape the calendar.
    changes: dict[int, list[StatusChange]] = {}
    for change in (
        StatusChange.objects.filter(engagement_id__in=ids)
        .filter(Q(to_status=Engagement.Status.ON_HOLD) | Q(from_status=Engagement.Status.ON_HOLD))
        .only("engagement_id", "to_status", "changed_at")
        .order_by("changed_at", "id")
    ):
        changes.setdefault(change.engagement_id, []).append(change)
    policy_ids = {r[3] or r[4] for r in rows} - {None}
    # The workspace defaults come in the same query; policy_default makes one that is missing.
    by_default = {r[1] for r in rows if not (r[3] or r[4])}
    policies: dict[int, ResponsePolicy] = {}
    defaults: dict[int, ResponsePolicy] = {}
    for found in ResponsePolicy.objects.filter(
        Q(pk__in=policy_ids) | Q(workspace_id__in=by_default, is_default=True)
    ):
        policies[found.pk] = found
        if found.is_default and found.workspace_id in by_default:
            defaults[found.workspace_id] = found
    # A country as str(provider.country) writes it (django-countries' spelling of the code).
    codes: dict[str, str] = {}
    shared: dict[tuple[Any, ...], BusinessCalendar] = {}
    calendars: dict[int, tuple[ResponsePolicy, BusinessCalendar]] = {}
    for pk, workspace_id, provider_id, own_policy, provider_policy, time_zone, stored in rows:
        policy_id = own_policy or provider_policy
        if policy_id is None:
            if workspace_id not in defaults:
                defaults[workspace_id] = policy_default(workspace=Workspace(pk=workspace_id))
            policy = defaults[workspace_id]
        else:
            policy = policies[policy_id]
        holds = hold_periods(changes.get(pk, ()))
        country = codes.get(stored)
        if country is None:
            country = codes[stored] = str(Country(stored) or "")
        away = absences.get(provider_id, ())
        key = (policy.pk, time_zone, country, tuple((a.starts_on, a.ends_on) for a in away), holds)
        calendar = shared.get(key)
        if calendar is None:
            calendar = shared[key] = _calendar(
                policy, time_zone=time_zone, country=country, absences=away, holds=holds
            )
        calendars[pk] = policy, calendar
    return calendars
