"""The paced people of `make load` (cluster/pacing.py): clicks at the set rate on average, at random
moments, planned from the previous plan so that a late answer neither slows the rate nor puts
the people in step."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from cluster.pacing import PoissonPacing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def clicks(pacing: PoissonPacing, clock: Clock, n: int, answer: float = 0.0) -> list[float]:
    """When each of n clicks starts, each answered ``answer`` seconds after it."""
    starts = []
    for _ in range(n):
        starts.append(clock.now)
        clock.now += answer
        clock.now += pacing()
    return starts


def test_a_person_clicks_at_the_rate_on_average_with_gaps_as_random_as_independent_peoples():
    clock = Clock()
    starts = clicks(PoissonPacing(3.0, random.Random(1), clock), clock, 6000)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert statistics.fmean(gaps) == pytest.approx(1 / 3.0, rel=0.05)
    # Exponential gaps: their spread equals their mean (a fixed period, locust's constant_throughput, has none).
    assert statistics.pstdev(gaps) / statistics.fmean(gaps) == pytest.approx(1.0, abs=0.08)


def test_slow_answers_do_not_lower_the_rate_while_the_host_keeps_up():
    clock = Clock()
    starts = clicks(PoissonPacing(3.0, random.Random(2), clock), clock, 6000, answer=0.1)
    assert (len(starts) - 1) / (starts[-1] - starts[0]) == pytest.approx(3.0, rel=0.05)


def test_a_person_behind_the_plan_clicks_at_once_and_the_plan_goes_on_from_where_it_was():
    clock = Clock()
    pacing = PoissonPacing(2.0, random.Random(3), clock)
    pacing()
    planned = pacing.planned
    assert planned is not None
    clock.now = planned + 5.0  # that click's answer took five seconds
    assert pacing() == 0.0
    assert (
        pacing.planned is not None and pacing.planned < clock.now
    )  # still catching up, not replanned from now


def test_two_people_who_start_together_do_not_click_together():
    first_clock, second_clock = Clock(), Clock()
    first = clicks(PoissonPacing(3.3, random.Random(4), first_clock), first_clock, 300)
    second = clicks(PoissonPacing(3.3, random.Random(5), second_clock), second_clock, 300)
    # With a fixed period each of the first's clicks would coincide with one of the second's; at
    # random moments, about 2 × 0.02 s × 3.3 clicks/s = 13 % fall within 20 ms of one by chance.
    together = sum(any(abs(a - b) < 0.02 for b in second) for a in first[1:]) / (len(first) - 1)
    assert together < 0.3


def test_a_pace_must_be_above_zero():
    with pytest.raises(ValueError, match="above 0"):
        PoissonPacing(0)
