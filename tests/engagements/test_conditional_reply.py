"""Is a reply still coming? The conditional Kaplan–Meier figures, checked against lifelines and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter

from engagements.reliability.statistics import MIN_AT_RISK, conditional_reply, kaplan_meier

PROPERTY = settings(max_examples=150, deadline=None)


@st.composite
def histories(draw) -> tuple[list[float], list[bool], float, float]:
    """Requests on a grid of whole hours (many ties), a silence and a window on the same grid."""
    durations = draw(st.lists(st.integers(0, 40).map(float), min_size=1, max_size=120))
    observed = draw(st.lists(st.booleans(), min_size=len(durations), max_size=len(durations)))
    silent = float(draw(st.integers(0, 45)))
    within = float(draw(st.integers(1, 16)))
    return durations, observed, silent, within


def lifelines_conditional(durations, observed, silent, within) -> tuple[float, float, float, float] | None:
    """lifelines' KM of the requests at risk after ``silent``, times shifted by it: S(within), its CI, the plateau."""
    times = np.asarray(durations)
    answered = np.asarray(observed)
    at_risk = times > silent
    if not at_risk.any():
        return None
    fitter = KaplanMeierFitter().fit(times[at_risk] - silent, answered[at_risk])
    survival = float(fitter.survival_function_at_times([within]).iloc[0])
    bounds = fitter.confidence_interval_survival_function_
    low, high = bounds[bounds.index <= within].iloc[-1]
    plateau = float(fitter.survival_function_["KM_estimate"].iloc[-1])
    return survival, float(low), float(high), plateau


@PROPERTY
@given(histories())
def test_the_point_is_the_ratio_of_lifelines_survival_function(history):
    durations, observed, silent, within = history
    result = conditional_reply(durations, observed, silent=silent, within=within)
    fitter = KaplanMeierFitter().fit(durations, observed)
    s_silent, s_later = fitter.survival_function_at_times([silent, silent + within]).tolist()
    if result.n == 0:
        assert result.answered_within is None and result.never is None
        return
    # Nobody at risk after the silence is the only way S(silent) reaches 0.
    assert s_silent > 0
    assert result.answered_within == pytest.approx(1 - s_later / s_silent, abs=1e-9)
    last = fitter.survival_function_["KM_estimate"].iloc[-1]
    assert result.never == pytest.approx(last / s_silent, abs=1e-9)


@PROPERTY
@given(histories())
def test_the_interval_is_lifelines_for_the_restarted_curve(history):
    durations, observed, silent, within = history
    result = conditional_reply(durations, observed, silent=silent, within=within)
    expected = lifelines_conditional(durations, observed, silent, within)
    if expected is None:
        assert result.n == 0 and result.low is None and result.high is None
        return
    survival, low, high, plateau = expected
    assert result.n == sum(d > silent for d in durations)
    assert result.answered_within == pytest.approx(1 - survival, abs=1e-9)
    # The answered share's interval is the survival's, turned round.
    assert result.low == pytest.approx(1 - high, abs=1e-6)
    assert result.high == pytest.approx(1 - low, abs=1e-6)
    assert result.never == pytest.approx(plateau, abs=1e-9)
    assert result.low is not None and result.high is not None and result.answered_within is not None
    assert result.low <= result.answered_within <= result.high


def test_floats_agree_with_lifelines_on_seeded_random_reply_times():
    rng = np.random.default_rng(17)
    for _ in range(50):
        n = int(rng.integers(1, 300))
        durations = rng.exponential(40.0, size=n).round(3)
        observed = rng.random(n) < rng.uniform(0.2, 1.0)
        silent, within = float(rng.uniform(0, 60)), float(rng.uniform(1, 24))
        result = conditional_reply(durations, observed, silent=silent, within=within)
        fitter = KaplanMeierFitter().fit(durations, observed)
        s_silent, s_later = fitter.survival_function_at_times([silent, silent + within]).tolist()
        if result.n:
            assert result.answered_within == pytest.approx(1 - s_later / s_silent, abs=1e-9)


def test_a_worked_example_by_hand():
    # Answered after 18, 20, 22, 24, 30, 40 and 60 hours; unanswered after 50, 80 and 100;
    # answered early (2, 3, 5) and the request being asked about (silent 17 hours) drop out.
    durations = [2, 3, 5, 17, 18, 20, 22, 24, 30, 40, 50, 60, 80, 100]
    observed = [True, True, True, False, True, True, True, True, True, True, False, True, False, False]
    result = conditional_reply(durations, observed, silent=17, within=8)
    assert result.n == 10
    assert result.answered_within == pytest.approx(1 - 6 / 10)  # 9/10 · 8/9 · 7/8 · 6/7
    assert result.never == pytest.approx(6 / 10 * 5 / 6 * 4 / 5 * 2 / 3)
    assert (round(result.low, 3), round(result.high, 3)) == (0.173, 0.747)
    curve = kaplan_meier(durations, observed)
    assert result.answered_within == pytest.approx(1 - curve.survival_at(25) / curve.survival_at(17))


def test_nobody_at_risk_gives_no_figures():
    result = conditional_reply([1, 2, 3], [True, True, False], silent=3, within=8)
    assert (result.n, result.answered_within, result.low, result.high, result.never) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert not result.enough


def test_all_answered_before_the_silence_gives_no_figures():
    assert conditional_reply([1, 2, 3], [True] * 3, silent=5, within=8).n == 0


def test_a_silence_beyond_the_longest_wait_gives_no_figures():
    assert conditional_reply([10, 20], [True, False], silent=20.5, within=8).n == 0
    assert conditional_reply([], [], silent=0, within=8).n == 0


def test_replies_and_censorings_at_exactly_the_silence_are_behind_us():
    result = conditional_reply([5, 5, 5, 6, 9], [True, False, True, True, False], silent=5, within=2)
    assert result.n == 2
    assert result.answered_within == pytest.approx(0.5)


def test_ties_inside_the_window_count_together():
    result = conditional_reply([6, 6, 6, 7, 20], [True, True, False, True, False], silent=5, within=1)
    assert result.n == 5
    assert result.answered_within == pytest.approx(2 / 5)


def test_no_reply_in_the_window_is_zero_with_lifelines_zero_width_interval():
    result = conditional_reply([30, 40], [True, False], silent=5, within=8)
    assert (result.answered_within, result.low, result.high) == (0.0, 0.0, 0.0)
    assert result.never == pytest.approx(0.5)


def test_every_one_at_risk_answered_in_the_window_is_a_hundred_percent():
    result = conditional_reply([6, 7, 8], [True] * 3, silent=5, within=8)
    assert (result.answered_within, result.low, result.high, result.never) == (1.0, 1.0, 1.0, 0.0)


def test_the_figures_are_shown_from_the_minimum_at_risk_on():
    assert MIN_AT_RISK == 10
    assert not conditional_reply([10] * 9, [True] * 9, silent=1, within=8).enough
    assert conditional_reply([10] * 10, [True] * 10, silent=1, within=8).enough


@pytest.mark.parametrize(
    ("silent", "within", "confidence"), [(-1, 8, 0.95), (1, 0, 0.95), (1, -2, 0.95), (1, 8, 1.0)]
)
def test_nonsense_arguments_are_refused(silent, within, confidence):
    with pytest.raises(ValueError):
        conditional_reply([1, 2], [True, True], silent=silent, within=within, confidence=confidence)


def test_a_wider_confidence_gives_a_wider_interval():
    durations = list(range(1, 41))
    observed = [i % 3 != 0 for i in durations]
    narrow = conditional_reply(durations, observed, silent=5, within=8, confidence=0.8)
    wide = conditional_reply(durations, observed, silent=5, within=8, confidence=0.99)
    assert None not in (wide.low, wide.high, narrow.low, narrow.high)
    assert wide.low < narrow.low < narrow.high < wide.high  # type: ignore[operator]
    assert not math.isclose(wide.low, narrow.low)
