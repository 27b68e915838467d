"""The reliability maths: checked against lifelines and statsmodels, by hand, and against docs/metrics.md."""

from __future__ import annotations

import doctest
import math
import re
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.utils import qth_survival_time
from statsmodels.stats.proportion import proportion_confint

from engagements.reliability.statistics import (
    MIN_DATA_POINTS,
    QUANTILE_EPSILON,
    Interval,
    Score,
    ScoreWeights,
    SurvivalCurve,
    bayesian_average,
    kaplan_meier,
    kaplan_meier_grouped,
    naive_mean,
    reliability_score,
    wilson_interval,
)

METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
PRIORS = {"responsiveness": 0.6, "on_time": 0.7, "quality": 0.5}
PROPERTY = settings(max_examples=100, deadline=None)


# --- Wilson interval --------------------------------------------------------------------


def statsmodels_wilson(successes: int, n: int) -> tuple[float, float]:
    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return float(low), float(high)


@PROPERTY
@given(data=st.data(), n=st.integers(1, 10_000))
def test_the_wilson_interval_equals_statsmodels(data, n):
    successes = data.draw(st.integers(0, n))
    ours = wilson_interval(successes, n)
    low, high = statsmodels_wilson(successes, n)
    assert ours.point == successes / n
    assert ours.n == n
    assert ours.low == pytest.approx(low, abs=1e-12)
    assert ours.high == pytest.approx(high, abs=1e-12)


def test_the_wilson_interval_of_no_data_is_empty():
    assert wilson_interval(0, 0) == Interval(point=None, low=None, high=None, n=0)


def test_the_wilson_interval_of_none_out_of_ten_starts_at_exactly_zero():
    assert wilson_interval(0, 10) == Interval(point=0.0, low=0.0, high=pytest.approx(0.2775327999), n=10)


def test_the_wilson_interval_of_ten_out_of_ten_ends_at_exactly_one():
    assert wilson_interval(10, 10) == Interval(point=1.0, low=pytest.approx(0.7224672001), high=1.0, n=10)


def test_the_wilson_interval_of_seven_out_of_ten_is_40_to_89_percent():
    assert wilson_interval(7, 10) == Interval(
        point=0.7, low=pytest.approx(0.3967781475), high=pytest.approx(0.8922087326), n=10
    )


def test_a_higher_confidence_gives_a_wider_wilson_interval():
    narrow, wide = wilson_interval(7, 10, confidence=0.9), wilson_interval(7, 10, confidence=0.99)
    assert None not in (narrow.low, narrow.high, wide.low, wide.high)
    assert wide.low < narrow.low < 0.7 < narrow.high < wide.high  # type: ignore[operator]


@pytest.mark.parametrize(("successes", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_the_wilson_interval_rejects_impossible_counts(successes, n):
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(successes, n)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95])
def test_the_wilson_interval_rejects_a_confidence_outside_zero_and_one(confidence):
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=confidence)


# --- Kaplan–Meier against lifelines ---------------------------------------------------------


def lifelines_fit(durations: list[float], observed: list[bool]) -> pd.Series:
    fitter = KaplanMeierFitter().fit(durations, observed)
    return fitter.survival_function_["KM_estimate"]


def lifelines_quantile(curve: pd.Series, level: float) -> float | None:
    """lifelines' first time with S <= level, inf ("not reached") as None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its ApproximationWarning is about parametric timelines
        time = float(qth_survival_time(level, curve))
    return None if math.isinf(time) else time


# Ties on a small grid of whole numbers, or arbitrary non-negative floats.
durations_strategy = st.one_of(
    st.integers(0, 12).map(float),
    st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)


@st.composite
def censored_samples(draw) -> tuple[list[float], list[bool]]:
    durations = draw(
        st.one_of(
            st.lists(st.integers(0, 12).map(float), min_size=1, max_size=200),
            st.lists(durations_strategy, min_size=1, max_size=200),
        )
    )
    observed = draw(st.lists(st.booleans(), min_size=len(durations), max_size=len(durations)))
    return durations, observed


@PROPERTY
@given(sample=censored_samples())
def test_the_survival_curve_equals_lifelines_at_every_point_of_its_timeline(sample):
    durations, observed = sample
    theirs = lifelines_fit(durations, observed)
    ours = kaplan_meier(durations, observed)
    for time, survival in theirs.items():
        assert ours.survival_at(time) == pytest.approx(survival, abs=1e-9), time
    assert ours.n == len(durations)
    assert ours.n_events == sum(observed)
    assert ours.max_time == max(durations)


@PROPERTY
@given(sample=censored_samples())
def test_the_median_and_90th_percentile_equal_lifelines(sample):
    durations, observed = sample
    theirs = lifelines_fit(durations, observed)
    ours = kaplan_meier(durations, observed)
    for p in (0.5, 0.9):
        level = round(1 - p, 10)
        # An exact tie (S == level) may come out of lifelines' exp(sum(log)) a
        # rounding error above the level, and it then skips to the next time;
        # we count the tie as reached, as lifelines' own curve read with the
        # tolerance does. Everywhere else the answers are lifelines' own.
        tie = any(abs(s - level) <= QUANTILE_EPSILON for s in theirs)
        expected = lifelines_quantile(theirs, level + QUANTILE_EPSILON if tie else level)
        assert ours.quantile_time(p) == expected, p


@PROPERTY
@given(sample=censored_samples())
def test_the_grouped_estimate_equals_the_one_from_single_durations(sample):
    durations, observed = sample
    events = Counter(d for d, o in zip(durations, observed, strict=True) if o)
    censored = Counter(d for d, o in zip(durations, observed, strict=True) if not o)
    rows = [(time, events[time], censored[time]) for time in sorted(set(durations), reverse=True)]
    assert kaplan_meier_grouped(rows) == kaplan_meier(durations, observed)


def test_lifelines_reports_the_next_time_where_a_tie_rounds_above_one_half():
    durations = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert lifelines_quantile(lifelines_fit(durations, [True] * 6), 0.5) == 4.0
    assert kaplan_meier(durations, [True] * 6).quantile_time(0.5) == 3.0


# --- Kaplan–Meier by hand -------------------------------------------------------------------


def test_an_empty_sample_gives_an_empty_curve_with_no_quantiles():
    curve = kaplan_meier([], [])
    assert curve == SurvivalCurve(n=0, n_events=0, max_time=None)
    assert curve.survival_at(100) == 1.0
    assert curve.quantile_time(0.5) is None
    assert curve.quantile_time(0.9) is None
    assert naive_mean([], []) is None


def test_an_all_censored_sample_never_drops_and_has_no_median():
    curve = kaplan_meier([2, 5, 5, 9], [False] * 4)
    assert curve.times == ()
    assert curve.survival_at(0) == curve.survival_at(9) == curve.survival_at(1e9) == 1.0
    assert curve.quantile_time(0.5) is None
    assert (curve.n, curve.n_events, curve.max_time) == (4, 0, 9.0)
    assert naive_mean([2, 5, 5, 9], [False] * 4) is None


def test_an_uncensored_sample_of_odd_size_has_the_middle_value_as_median():
    curve = kaplan_meier([7, 1, 3, 9, 4], [True] * 5)
    assert curve.survival == pytest.approx((0.8, 0.6, 0.4, 0.2, 0.0))
    assert curve.quantile_time(0.5) == 4.0
    assert curve.quantile_time(0.9) == 9.0


def test_an_uncensored_sample_of_even_size_has_the_lower_middle_value_as_median():
    curve = kaplan_meier([4, 3, 2, 1], [True] * 4)
    assert curve.survival == (0.75, 0.5, 0.25, 0.0)
    assert curve.quantile_time(0.5) == 2.0  # the lower median, not 2.5
    assert curve.quantile_time(0.75) == 3.0
    assert curve.quantile_time(0.9) == 4.0


def test_replies_at_a_tied_time_come_before_censorings_at_it():
    # Four requests at day 2: two answered, two censored. The censored pair
    # still counts as open when the replies come, so S(2) = 1 - 2/4.
    curve = kaplan_meier([2, 2, 2, 2, 3], [True, False, True, False, True])
    assert curve.times == (2.0, 3.0)
    assert curve.at_risk == (5, 1)
    assert curve.events == (2, 1)
    assert curve.survival == pytest.approx((0.6, 0.0))
    assert curve.quantile_time(0.5) == 3.0


def test_a_censoring_before_a_reply_shrinks_the_risk_set():
    curve = kaplan_meier([1, 2, 3], [False, True, True])
    assert curve.at_risk == (2, 1)
    assert curve.survival == (0.5, 0.0)
    assert curve.quantile_time(0.5) == 2.0


def test_a_single_answered_request_is_its_own_median():
    curve = kaplan_meier([6.5], [True])
    assert curve == SurvivalCurve(
        times=(6.5,), survival=(0.0,), at_risk=(1,), events=(1,), n=1, n_events=1, max_time=6.5
    )
    assert curve.survival_at(6.4) == 1.0
    assert curve.quantile_time(0.5) == curve.quantile_time(0.9) == 6.5


def test_a_single_unanswered_request_has_no_median():
    curve = kaplan_meier([6.5], [False])
    assert (curve.times, curve.n, curve.n_events, curve.max_time) == ((), 1, 0, 6.5)
    assert curve.quantile_time(0.5) is None


def test_the_seed_story_counts_the_late_reply_as_fifteen_days():
    day = 86400.0
    curve = kaplan_meier([15 * day, 3 * day], [True, False])
    assert curve.at_risk == (1,)
    assert curve.survival_at(14 * day) == 1.0
    assert curve.survival_at(15 * day) == 0.0
    assert curve.quantile_time(0.5) == curve.quantile_time(0.9) == 15 * day
    assert naive_mean([15 * day, 3 * day], [True, False]) == 15 * day


def test_a_reply_at_time_zero_counts():
    curve = kaplan_meier([0, 0, 5], [True, True, False])
    assert curve.survival_at(0) == pytest.approx(1 / 3)
    assert curve.quantile_time(0.5) == 0.0


def test_the_grouped_form_adds_up_repeated_times_and_skips_empty_rows():
    curve = kaplan_meier_grouped([(3, 1, 0), (1, 0, 0), (3, 1, 1), (2, 0, 2)])
    assert curve == kaplan_meier([3, 3, 3, 2, 2], [True, True, False, False, False])
    assert curve.max_time == 3.0


@pytest.mark.parametrize("p", [0.0, -0.5, 1.5])
def test_a_quantile_outside_zero_to_one_is_rejected(p):
    with pytest.raises(ValueError, match="p must be"):
        kaplan_meier([1], [True]).quantile_time(p)


@pytest.mark.parametrize("duration", [-1.0, math.inf, math.nan])
def test_a_negative_or_infinite_duration_is_rejected(duration):
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([1.0, duration], [True, False])


def test_negative_counts_in_grouped_rows_are_rejected():
    with pytest.raises(ValueError, match="counts"):
        kaplan_meier_grouped([(1.0, -1, 0)])


def test_durations_and_flags_of_different_lengths_are_rejected():
    with pytest.raises(ValueError):
        kaplan_meier([1, 2], [True])
    with pytest.raises(ValueError):
        naive_mean([1, 2], [True])


def test_the_naive_mean_ignores_the_requests_still_waiting():
    assert naive_mean([1, 1, 2, 20, 20], [True, True, True, False, False]) == pytest.approx(4 / 3)


# --- Bayesian average -----------------------------------------------------------------------


def test_the_bayesian_average_weighs_the_prior_as_extra_data_points():
    assert bayesian_average(1.0, 1, prior=0.8, weight=5) == pytest.approx(5 / 6)
    assert bayesian_average(0.95, 40, prior=0.8, weight=5) == pytest.approx(42 / 45)


def test_the_bayesian_average_of_no_data_is_the_prior():
    assert bayesian_average(None, 0, prior=0.8, weight=5) == 0.8
    assert bayesian_average(0.1, 0, prior=0.8, weight=5) == 0.8


def test_the_bayesian_average_without_weight_is_the_value_or_nothing():
    assert bayesian_average(0.3, 4, prior=0.8, weight=0) == 0.3
    assert bayesian_average(None, 0, prior=0.8, weight=0) is None


def test_the_bayesian_average_needs_a_value_when_there_is_data():
    with pytest.raises(ValueError, match="value"):
        bayesian_average(None, 3, prior=0.8, weight=5)
    with pytest.raises(ValueError, match="non-negative"):
        bayesian_average(0.5, -1, prior=0.8, weight=5)


# --- Reliability score ----------------------------------------------------------------------


def test_a_score_with_plenty_of_data_is_the_weighted_mean_of_the_shrunk_parts():
    score = reliability_score(responsiveness=(0.8, 10), on_time=(0.75, 4), quality=(0.875, 2), priors=PRIORS)
    parts = {"responsiveness": 11 / 15, "on_time": 6.5 / 9, "quality": 4.25 / 7}
    assert score == Score(value=69.8, n=16, enough=True, parts=pytest.approx(parts))


def test_a_perfect_record_with_little_data_stays_near_the_prior():
    thin = reliability_score(responsiveness=(1.0, 3), on_time=(1.0, 1), quality=(1.0, 1), priors=PRIORS)
    thick = reliability_score(
        responsiveness=(0.95, 60), on_time=(0.95, 20), quality=(0.95, 20), priors=PRIORS
    )
    assert thin.enough and thin.value is not None and thick.value is not None
    assert thin.parts["responsiveness"] == pytest.approx((3 + 5 * 0.6) / 8)
    assert thin.value < thick.value < 95.0


def test_a_score_below_the_minimum_of_data_points_is_withheld():
    score = reliability_score(responsiveness=(1.0, 2), on_time=(None, 0), quality=(1.0, 2), priors=PRIORS)
    assert MIN_DATA_POINTS == 5
    assert score.value is None
    assert score.enough is False
    assert score.n == 4
    assert score.parts["responsiveness"] == pytest.approx(5 / 7)  # still shown, as shrunk shares
    at_minimum = reliability_score(
        responsiveness=(1.0, 3), on_time=(None, 0), quality=(1.0, 2), priors=PRIORS
    )
    assert at_minimum.enough is True
    assert at_minimum.value is not None


def test_the_minimum_can_be_chosen_by_the_caller():
    score = reliability_score(
        responsiveness=(1.0, 1), on_time=(None, 0), quality=(None, 0), priors=PRIORS, minimum=1
    )
    assert score.enough is True
    assert score.value == round(100 * (0.4 * (1 + 3) / 6 + 0.35 * 0.7 + 0.25 * 0.5), 1)


def test_parts_without_data_take_the_workspace_prior():
    score = reliability_score(
        responsiveness=(None, 0), on_time=(None, 0), quality=(None, 0), priors=PRIORS, minimum=0
    )
    assert score.parts == PRIORS
    assert score.n == 0
    assert score.value == round(100 * (0.4 * 0.6 + 0.35 * 0.7 + 0.25 * 0.5), 1) == 61.0


def test_other_weights_change_the_score():
    def score(weights: ScoreWeights) -> Score:
        return reliability_score(
            responsiveness=(1.0, 100), on_time=(0.0, 100), quality=(None, 0), priors=PRIORS, weights=weights
        )

    default = score(ScoreWeights())
    on_time_only = score(ScoreWeights(responsiveness=0, on_time=1, quality=0))
    assert on_time_only.value == round(100 * (5 * 0.7) / 105, 1)
    assert default.value != on_time_only.value


@pytest.mark.parametrize(
    "weights",
    [
        ScoreWeights(responsiveness=0.5, on_time=0.5, quality=0.5),
        ScoreWeights(responsiveness=0.4, on_time=0.35, quality=0.2),
        ScoreWeights(responsiveness=1.5, on_time=-0.5, quality=0.0),
    ],
)
def test_weights_that_do_not_add_up_to_one_are_rejected(weights):
    with pytest.raises(ValueError, match="weights"):
        reliability_score(
            responsiveness=(1.0, 5), on_time=(1.0, 5), quality=(1.0, 5), priors=PRIORS, weights=weights
        )


def test_weights_off_by_a_rounding_error_only_are_accepted():
    weights = ScoreWeights(responsiveness=0.4, on_time=0.35, quality=0.25 + 1e-12)
    assert math.fsum([weights.responsiveness, weights.on_time, weights.quality]) != 1.0
    score = reliability_score(
        responsiveness=(1.0, 5), on_time=(1.0, 5), quality=(1.0, 5), priors=PRIORS, weights=weights
    )
    assert score.enough


def test_missing_priors_and_shares_outside_zero_to_one_are_rejected():
    with pytest.raises(ValueError, match="priors are missing"):
        reliability_score(
            responsiveness=(1.0, 5), on_time=(1.0, 5), quality=(1.0, 5), priors={"quality": 0.5}
        )
    with pytest.raises(ValueError, match="quality must be a share"):
        reliability_score(responsiveness=(1.0, 5), on_time=(1.0, 5), quality=(4.5, 5), priors=PRIORS)
    with pytest.raises(ValueError, match="prior for on_time"):
        reliability_score(
            responsiveness=(1.0, 5), on_time=(1.0, 5), quality=(1.0, 5), priors={**PRIORS, "on_time": 70}
        )


# --- docs/metrics.md -----------------------------------------------------------------------


def worked_examples() -> list[str]:
    """The ```pycon blocks of docs/metrics.md, in order."""
    return re.findall(r"^```pycon\n(.*?)^```$", METRICS_DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_every_formula_section_of_the_metrics_doc_has_a_worked_example():
    text = METRICS_DOC.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    formulas = [s for s in sections if not s.startswith("Where the numbers come from")]
    assert len(formulas) == 7
    for section in formulas:
        assert "```pycon\n>>> " in section, section.splitlines()[0]


def test_every_worked_example_in_the_metrics_doc_gives_the_numbers_it_shows():
    examples = worked_examples()
    assert len(examples) >= 7
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    shared: dict[str, object] = {}
    failures: list[str] = []
    for number, example in enumerate(examples, start=1):
        test = parser.get_doctest(example, shared, f"docs/metrics.md example {number}", str(METRICS_DOC), 0)
        assert test.examples, number
        result = runner.run(test, out=failures.append, clear_globs=False)
        shared = test.globs
        assert result.failed == 0, "".join(failures)
