"""The maths behind the reliability numbers: pure functions, no database.

``engagements.metrics`` decides which rows count and calls these; some figures
(Kaplan–Meier medians per provider) are also computed in SQL, so every
definition here is spelled out precisely enough to be reproduced there.
``docs/metrics.md`` explains each formula with a worked example.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

# A provider's score is shown only from this many data points on (decided
# requests + deliveries + reviews): below it one late reply would swing the
# number by tens of points, and a number that jumpy misleads more than a blank.
MIN_DATA_POINTS = 5

# Survival values within this distance of a quantile's level count as reaching
# it. The product-limit estimate is a product of fractions, so an exact tie
# (S = 0.5 after 3 of 6 replies) comes out as 0.5000000000000001 or
# 0.4999999999999999 depending on how it is accumulated (a running product
# here, exp(sum(ln ...)) in SQL and in lifelines); without a tolerance the
# median would jump to the next event time on rounding noise. Real differences
# between survival values are far larger (1/n² or so for n below millions).
QUANTILE_EPSILON = 1e-9


# --- Proportions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """An observed share with its confidence interval; all None when there is no data (n == 0)."""

    point: float | None
    low: float | None
    high: float | None
    n: int


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> Interval:
    """The Wilson score interval for ``successes`` out of ``n``, so small samples show wide ranges.

    Wilson rather than the textbook normal interval because it stays inside
    [0, 1] and does not collapse to a zero-width range at 0/n or n/n — exactly
    the small, lopsided samples a provider with three requests produces. The
    point is the observed share ``successes / n``; the bounds equal statsmodels'
    ``proportion_confint(successes, n, alpha=1 - confidence, method="wilson")``.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n == 0:
        return Interval(point=None, low=None, high=None, n=0)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    z2 = z * z
    share = successes / n
    denominator = 1 + z2 / n
    centre = (share + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / denominator
    # At 0/n the low bound is exactly 0 and at n/n the high bound exactly 1;
    # the formula gets there only up to rounding (2.8e-17 for 0/10).
    low = 0.0 if successes == 0 else max(centre - half_width, 0.0)
    high = 1.0 if successes == n else min(centre + half_width, 1.0)
    return Interval(point=share, low=low, high=high, n=n)


# --- Time to reply: Kaplan–Meier ----------------------------------------------------------


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan–Meier estimate: the share of requests still unanswered after each reply time.

    ``times`` are the distinct times at which at least one reply came
    (ascending); ``survival[i]`` is S just after ``times[i]``, ``at_risk[i]``
    the requests still open just before it and ``events[i]`` the replies at it.
    ``n`` counts all requests, ``n_events`` the answered ones, and ``max_time``
    is the longest time observed, answered or not (None when empty), so a chart
    can draw the flat tail after the last reply.
    """

    times: tuple[float, ...] = ()
    survival: tuple[float, ...] = ()
    at_risk: tuple[int, ...] = ()
    events: tuple[int, ...] = ()
    n: int = 0
    n_events: int = 0
    max_time: float | None = None

    def survival_at(self, t: float) -> float:
        """S(t): the share still unanswered at ``t``, replies at exactly ``t`` included (1 before the first)."""
        i = bisect.bisect_right(self.times, t)
        return 1.0 if i == 0 else self.survival[i - 1]

    def quantile_time(self, p: float) -> float | None:
        """The time by which a share ``p`` of requests is answered, or None when the data never gets there.

        Defined as the smallest reply time t with S(t) <= 1 - p, counting S
        within ``QUANTILE_EPSILON`` of 1 - p as reaching it. So p = 0.5 is the
        median time to reply and p = 0.9 its 90th percentile. This is
        lifelines' convention (``KaplanMeierFitter.median_survival_time_`` and
        ``percentile(1 - p)``: the first time the curve is at or below the
        level, no interpolation), and on uncensored data it is the lower
        sample median: replies after 1, 2, 3 and 4 days give 2, not 2.5. When
        S lands exactly on the level the answer is that time — lifelines, which
        compares without a tolerance, sometimes reports the next time instead
        because its S came out a rounding error above the level. None
        (lifelines: infinity) when too few requests were answered for S to
        drop that far — "not reached", not zero and not the longest wait.
        """
        if not 0 < p <= 1:
            raise ValueError(f"p must be in (0, 1], got {p}")
        level = 1 - p + QUANTILE_EPSILON
        for time, survival in zip(self.times, self.survival, strict=True):
            if survival <= level:
                return time
        return None


def kaplan_meier_grouped(rows: Iterable[tuple[float, int, int]]) -> SurvivalCurve:
    """The Kaplan–Meier estimate from ``(time, replies_at_time, unanswered_at_time)`` rows.

    This is the shape a SQL ``GROUP BY time`` returns; rows may come in any
    order and repeat a time (they are added up). An unanswered request is
    censored at the time it has been waiting so far. At a tie, replies happen
    before censorings, so a request censored at t still counts as at risk for
    the replies at t: S(t) = S(t-) × (1 − d / n) with n everyone whose time is
    >= t. The running product is accumulated left to right in floating point.
    """
    table = np.array([(float(t), e, c) for t, e, c in rows], dtype=np.float64).reshape(-1, 3)
    if (table[:, 1:] < 0).any():
        raise ValueError("counts must be non-negative")
    return _estimate(table[:, 0], table[:, 1], table[:, 2])


def kaplan_meier(
    durations: Iterable[float] | np.ndarray, observed: Iterable[bool] | np.ndarray
) -> SurvivalCurve:
    """The Kaplan–Meier estimate from one duration per request and whether it was answered.

    ``observed[i]`` False means request i is still unanswered and has waited
    ``durations[i]`` so far (right-censored, typically at "now"). See
    ``kaplan_meier_grouped`` for the tie rule. Takes lists or numpy arrays: the
    reliability snapshots run this for thousands of groups at a time.
    """
    times = np.asarray(durations if isinstance(durations, np.ndarray) else list(durations), dtype=np.float64)
    answered = np.asarray(observed if isinstance(observed, np.ndarray) else list(observed), dtype=bool)
    if times.shape != answered.shape:
        raise ValueError(f"{times.size} durations but {answered.size} observed flags")
    return _estimate(times, answered.astype(np.float64), (~answered).astype(np.float64))


def _estimate(times: np.ndarray, events: np.ndarray, censored: np.ndarray) -> SurvivalCurve:
    """The product-limit estimate from per-observation (time, replies, censorings), in any order."""
    if times.size and not (np.isfinite(times).all() and (times >= 0).all()):
        raise ValueError("durations must be finite and non-negative")
    keep = (events > 0) | (censored > 0)
    times, events, censored = times[keep], events[keep], censored[keep]
    if not times.size:
        return SurvivalCurve()
    distinct, where = np.unique(times, return_inverse=True)
    d = np.bincount(where, weights=events, minlength=distinct.size)
    c = np.bincount(where, weights=censored, minlength=distinct.size)
    # Counts are whole numbers held as floats (bincount's weights): exact below 2**53.
    n = int(d.sum() + c.sum())
    # Still open just before each time: everyone not replied or censored earlier.
    at_risk = n - np.concatenate(([0.0], np.cumsum(d + c)[:-1]))
    replied = d > 0
    # (n - d) / n per reply time, multiplied left to right: the same floating-point
    # steps as a running product, so every caller gets the very same numbers.
    survival = np.cumprod((at_risk[replied] - d[replied]) / at_risk[replied])
    return SurvivalCurve(
        times=tuple(distinct[replied].tolist()),
        survival=tuple(survival.tolist()),
        at_risk=tuple(at_risk[replied].astype(np.int64).tolist()),
        events=tuple(d[replied].astype(np.int64).tolist()),
        n=n,
        n_events=int(d.sum()),
        max_time=float(distinct[-1]),
    )


def naive_mean(durations: Iterable[float], observed: Iterable[bool]) -> float | None:
    """The mean time to reply over answered requests only, None when none was answered.

    Shown once beside the Kaplan–Meier median to make a point: it drops every
    request still waiting, so a provider who leaves the hard questions
    unanswered looks faster than one who answers them late.
    """
    answered = [duration for duration, done in zip(durations, observed, strict=True) if done]
    if not answered:
        return None
    return math.fsum(answered) / len(answered)


# --- Scoring ----------------------------------------------------------------------------


def bayesian_average(value: float | None, n: int, *, prior: float, weight: float) -> float | None:
    """``value`` (a mean over ``n`` data points) shrunk toward ``prior`` as if ``weight`` more points had it.

    (n × value + weight × prior) / (n + weight): with little data the result
    sits near the prior, with much data near the value, so a provider with one
    perfect job does not outrank one with forty good ones. With n == 0 the
    value is ignored (it may be None) and the result is the prior — or None
    when ``weight`` is 0 too, as there is then nothing to average.
    """
    if n < 0 or weight < 0:
        raise ValueError(f"n and weight must be non-negative, got {n} and {weight}")
    if n == 0:
        return prior if weight > 0 else None
    if value is None:
        raise ValueError(f"a value is needed when n = {n}")
    return (n * value + weight * prior) / (n + weight)


@dataclass(frozen=True)
class ScoreWeights:
    """How much each part counts in the reliability score; they must add up to 1."""

    responsiveness: float = 0.4
    on_time: float = 0.35
    quality: float = 0.25

    def as_dict(self) -> dict[str, float]:
        """The weights by part name, in the order the score lists its parts."""
        return {"responsiveness": self.responsiveness, "on_time": self.on_time, "quality": self.quality}


@dataclass(frozen=True)
class Score:
    """A reliability score out of 100 (None when not ``enough`` data), its data points and shrunk parts."""

    value: float | None
    n: int
    enough: bool
    parts: dict[str, float | None] = field(default_factory=dict)


def reliability_score(
    *,
    responsiveness: tuple[float | None, int],
    on_time: tuple[float | None, int],
    quality: tuple[float | None, int],
    priors: dict[str, float],
    weights: ScoreWeights = ScoreWeights(),
    prior_weight: float = 5.0,
    minimum: int = MIN_DATA_POINTS,
) -> Score:
    """One number out of 100 for how far a provider can be relied on, honest about thin data.

    Each part is a (share in [0, 1], data points) pair: responsiveness is the
    share of requests answered within policy, on_time the share of deliveries
    on time, quality (mean rating − 1) / 4. Each is shrunk toward the
    workspace's own share in ``priors`` with ``bayesian_average`` (weight
    ``prior_weight``; a part with no data is the prior), and the score is 100 ×
    their weighted mean, rounded to one decimal. ``n`` adds up the parts' data
    points; below ``minimum`` the score is None and ``enough`` False, while
    ``parts`` still holds the shrunk shares.
    """
    weight_of = weights.as_dict()
    if any(w < 0 for w in weight_of.values()) or not math.isclose(
        math.fsum(weight_of.values()), 1.0, abs_tol=1e-9
    ):
        raise ValueError(f"weights must be non-negative and add up to 1, got {weights}")
    missing = weight_of.keys() - priors.keys()
    if missing:
        raise ValueError(f"priors are missing {sorted(missing)}")
    data = {"responsiveness": responsiveness, "on_time": on_time, "quality": quality}

    parts: dict[str, float | None] = {}
    total = 0.0
    for name, (value, n) in data.items():
        prior = priors[name]
        if not 0 <= prior <= 1:
            raise ValueError(f"the prior for {name} must be a share in [0, 1], got {prior}")
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{name} must be a share in [0, 1], got {value}")
        average = bayesian_average(value, n, prior=prior, weight=prior_weight)
        shrunk = prior if average is None else average
        parts[name] = shrunk
        total += weight_of[name] * shrunk

    n_total = sum(n for _value, n in data.values())
    enough = n_total >= minimum
    return Score(value=round(100 * total, 1) if enough else None, n=n_total, enough=enough, parts=parts)


# --- Is a reply still coming? Conditional survival ------------------------------------------

# A conditional figure is shown only when at least this many requests of the
# provider were still unanswered past the current silence: with fewer, one
# reply more or less moves the share by over ten points.
MIN_AT_RISK = 10


@dataclass(frozen=True)
class ConditionalReply:
    """What a provider's past says about a request unanswered for ``silent`` so far.

    Among the requests still unanswered after ``silent`` (``n`` of them,
    answered or censored later), the Kaplan–Meier estimate restarted at
    ``silent``: ``answered_within`` is the share answered within a further
    ``within`` (1 − S(silent + within) / S(silent)), ``low``/``high`` its
    confidence interval, and ``never`` the restarted curve's plateau
    S(longest wait) / S(silent), the share it leaves unanswered for good. All
    None when nobody was at risk after ``silent``.
    """

    silent: float
    within: float
    n: int
    answered_within: float | None
    low: float | None
    high: float | None
    never: float | None

    @property
    def enough(self) -> bool:
        """Whether there is enough history behind the figures to show them."""
        return self.n >= MIN_AT_RISK

    @classmethod
    def restarted(
        cls, silent: float, within: float, n: int, survival: float, bounds: tuple[float, float], never: float
    ) -> ConditionalReply:
        """From the restarted curve's survival at ``silent + within``, its interval and its plateau."""
        low, high = bounds
        return cls(
            silent=silent,
            within=within,
            n=n,
            answered_within=1.0 - survival,
            # The survival's upper bound is the answered share's lower one.
            low=1.0 - high,
            high=1.0 - low,
            never=never,
        )


def conditional_reply(
    durations: Iterable[float] | np.ndarray,
    observed: Iterable[bool] | np.ndarray,
    *,
    silent: float,
    within: float,
    confidence: float = 0.95,
) -> ConditionalReply:
    """The chance a request silent for ``silent`` is answered within a further ``within``, and never.

    ``durations``/``observed`` are a provider's requests as for
    ``kaplan_meier``. The risk set is every request with a time strictly
    greater than ``silent``: a reply or a censoring at exactly ``silent`` is
    already behind us (so the request being asked about, censored at its own
    silence, never counts itself). The Kaplan–Meier estimate of that risk set
    equals S(silent + u) / S(silent) of the whole curve. The interval is
    Greenwood's on the log(−log) scale (lifelines' default, exponential
    Greenwood) for the conditional survival, turned into one for the answered
    share; a conditional survival of exactly 1 (no reply in the window) or 0
    has the zero-width interval lifelines reports there.
    """
    if silent < 0 or within <= 0:
        raise ValueError(f"need silent >= 0 and within > 0, got {silent} and {within}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    times = np.asarray(durations if isinstance(durations, np.ndarray) else list(durations), dtype=np.float64)
    answered = np.asarray(observed if isinstance(observed, np.ndarray) else list(observed), dtype=bool)
    if times.shape != answered.shape:
        raise ValueError(f"{times.size} durations but {answered.size} observed flags")
    at_risk = times > silent
    n = int(at_risk.sum())
    if not n:
        return ConditionalReply(silent, within, 0, None, None, None, None)
    curve = kaplan_meier(times[at_risk], answered[at_risk])
    horizon = silent + within
    survival = curve.survival_at(horizon)
    never = curve.survival[-1] if curve.survival else 1.0
    upto = bisect.bisect_right(curve.times, horizon)
    terms = (d / (n * (n - d)) for n, d in zip(curve.at_risk[:upto], curve.events[:upto], strict=True))
    return ConditionalReply.restarted(
        silent, within, n, survival, log_log_bounds(survival, terms, confidence), never
    )


def log_log_bounds(survival: float, greenwood: Iterable[float], confidence: float) -> tuple[float, float]:
    """Greenwood's interval for a survival S on the log(−log S) scale, as lifelines computes it.

    ``greenwood`` are the terms d / (n (n − d)) of the reply times up to S's, added exactly
    (``math.fsum``, so their order does not matter); at S of exactly 1 or 0 the interval has no
    width and they are not read.
    """
    if survival >= 1.0 or survival <= 0.0:
        return survival, survival
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    log_s = math.log(survival)
    spread = z * math.sqrt(math.fsum(greenwood)) / log_s  # negative: log S < 0
    low = math.exp(-math.exp(math.log(-log_s) - spread))
    high = math.exp(-math.exp(math.log(-log_s) + spread))
    return low, high
