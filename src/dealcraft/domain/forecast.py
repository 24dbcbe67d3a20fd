"""Forecast maths: plain functions over plain data, no Django.

- periods (calendar quarters) and the week of a period;
- the weighted forecast (amount × stage probability);
- history-calibrated stage-to-win probabilities and time-to-close per segment, with a minimum
  sample and shrinkage toward the whole team (a beta prior centred on the team's rate);
- the exact distribution of a period's outcome (each open deal wins or not, independently,
  with its calibrated probability) and its P10/P50/P90;
- Wilson score intervals for win rates and Newcombe's interval for a difference of two;
- the accuracy of a forecast against what closed: error and bias.

Reading the history (which deal was where, when) is the caller's business; these functions
take the counts, medians and amounts it yields.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from statistics import median

import pyarrow as pa
import pyarrow.compute as pc

#: z for a two-sided 95% interval.
Z95 = 1.959963984540054
#: Below this many closed deals a segment's own rate is not used at all.
MIN_SAMPLE = 20
#: Weight of the team's rate in a segment's estimate, in deals (the beta prior's strength).
PRIOR_STRENGTH = 10.0
#: The outcome distribution is kept on at most this many amount steps.
MAX_BUCKETS = 4000

#: Weeks in every quarter (90 to 92 days).
WEEKS = 13

CENT = Decimal("0.01")
PERIOD_RE = re.compile(r"^(\d{4})-Q([1-4])$")


# ---------------------------------------------------------------------------- periods


@dataclass(frozen=True, order=True)
class Period:
    """A calendar quarter, `2026-Q4`: the unit forecasts are made and judged in."""

    year: int
    quarter: int

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    @cached_property
    def start(self) -> date:
        return date(self.year, 3 * (self.quarter - 1) + 1, 1)

    @cached_property
    def end(self) -> date:
        """The last day of the quarter."""
        return self.next().start - timedelta(days=1)

    @property
    def weeks(self) -> int:
        """Weeks in a quarter: 13, the last one running to the quarter's end (6 to 8 days)."""
        return WEEKS

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.quarter == 4 else Period(self.year,
                                                                         self.quarter + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 4) if self.quarter == 1 else Period(self.year,
                                                                         self.quarter - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def week_start(self, week: int) -> date:
        """The first day of week `week` (1 = the week the quarter starts)."""
        return self.start + timedelta(days=7 * (week - 1))

    def week_of(self, day: date) -> int:
        return min((day - self.start).days // 7 + 1, WEEKS)

    def __str__(self) -> str:
        return self.label


def period_of(day: date) -> Period:
    return Period(day.year, (day.month - 1) // 3 + 1)


def parse_period(text: str) -> Period:
    """`2026-Q4` → Period; ValueError naming the expected form otherwise."""
    match = PERIOD_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"period {text!r} is not a quarter like 2026-Q4")
    year = int(match.group(1))
    if not 1900 <= year <= 9998:  # a quarter's dates, and the next one's, must exist
        raise ValueError(f"period {text!r}: the year must be between 1900 and 9998")
    return Period(year, int(match.group(2)))


# ---------------------------------------------------------------------------- intervals


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion; None when there are no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(k1: int, n1: int, k2: int, n2: int,
                        z: float = Z95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval for p1 − p2 (method 10), built from the two Wilson
    intervals; None when either side has no trials."""
    a, b = wilson(k1, n1, z), wilson(k2, n2, z)
    if a is None or b is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = a, b
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


# ---------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class StageOutcome:
    """A closed deal that was in `stage`: its segment and whether it was won."""

    stage: str
    segment: str
    won: bool


@dataclass(frozen=True)
class Estimate:
    """A stage's win probability for one segment (or the whole team, segment "")."""

    stage: str
    segment: str
    trials: int
    wins: int
    probability: float
    source: str  # "history" | "shrunk" | "team" | "default"

    @property
    def raw(self) -> float | None:
        return self.wins / self.trials if self.trials else None


@dataclass
class Calibration:
    """Stage-to-win probabilities from the team's own closed deals.

    The whole team's rate for a stage is its own history once `min_sample` closed deals
    reached it, else the process's default probability. A segment's rate is the team's until
    the segment has `min_sample` deals in the stage; from there it is the posterior mean of a
    beta prior worth `prior_strength` deals centred on the team's rate:
    (wins + k·team) ÷ (trials + k), so small segments lean on the team and large ones on
    themselves.
    """

    team: dict[str, Estimate]
    segments: dict[tuple[str, str], Estimate]
    min_sample: int
    prior_strength: float

    def probability(self, stage: str, segment: str = "") -> float:
        return self.estimate(stage, segment).probability

    def estimate(self, stage: str, segment: str = "") -> Estimate:
        found = self.segments.get((stage, segment))
        if found is not None:
            return found
        team = self.team.get(stage)
        if team is None:
            return Estimate(stage, segment, 0, 0, 0.0, "default")
        return Estimate(stage, segment, 0, 0, team.probability, "team")


def calibrate(outcomes: Iterable[StageOutcome], defaults: dict[str, float], *,
              min_sample: int = MIN_SAMPLE, prior_strength: float = PRIOR_STRENGTH,
              ) -> Calibration:
    """Calibrate each stage of `defaults` (stage → default probability 0–1) from outcomes."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        counts[(o.stage, o.segment)][0] += 1
        counts[(o.stage, o.segment)][1] += int(o.won)
    return calibrate_counts({k: (n, w) for k, (n, w) in counts.items()}, defaults,
                            min_sample=min_sample, prior_strength=prior_strength)


def calibrate_counts(by_segment: dict[tuple[str, str], tuple[int, int]],
                     defaults: dict[str, float], *, min_sample: int = MIN_SAMPLE,
                     prior_strength: float = PRIOR_STRENGTH) -> Calibration:
    """The same from (stage, segment) → (closed deals, won) counts; the team's counts are
    their sums over segments. Deals without a segment (segment "") count for the team only."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (stage, _), (n, w) in by_segment.items():
        totals[stage][0] += n
        totals[stage][1] += w
    team: dict[str, Estimate] = {}
    for stage, default in defaults.items():
        n, w = totals.get(stage, (0, 0))
        if n >= min_sample:
            team[stage] = Estimate(stage, "", n, w, w / n, "history")
        else:
            team[stage] = Estimate(stage, "", n, w, default, "default")
    segments: dict[tuple[str, str], Estimate] = {}
    for (stage, segment), (n, w) in by_segment.items():
        if not segment or stage not in team:
            continue
        base = team[stage].probability
        if n >= min_sample:
            p = (w + prior_strength * base) / (n + prior_strength)
            segments[(stage, segment)] = Estimate(stage, segment, n, w, p, "shrunk")
        else:
            segments[(stage, segment)] = Estimate(stage, segment, n, w, base, "team")
    return Calibration(team, segments, min_sample, prior_strength)


@dataclass(frozen=True)
class CloseTime:
    """Days from entering a stage to winning, for one won deal."""

    stage: str
    segment: str
    days: float


@dataclass
class CloseTimes:
    """Median days from a stage to close, per segment, shrunk toward the whole team's median
    like the probabilities: a segment below `min_sample` uses the team's median, above it
    (n·segment + k·team) ÷ (n + k). Stages with too few won deals have no estimate (None)."""

    team: dict[str, tuple[int, float]]
    segments: dict[tuple[str, str], tuple[int, float]]
    min_sample: int
    prior_strength: float

    def days(self, stage: str, segment: str = "") -> float | None:
        team = self.team.get(stage)
        if team is None or team[0] < self.min_sample:
            return None
        seg = self.segments.get((stage, segment))
        if seg is None or seg[0] < self.min_sample:
            return team[1]
        n, m = seg
        return (n * m + self.prior_strength * team[1]) / (n + self.prior_strength)


def close_times(samples: Iterable[CloseTime], *, min_sample: int = MIN_SAMPLE,
                prior_strength: float = PRIOR_STRENGTH) -> CloseTimes:
    whole: dict[str, list[float]] = defaultdict(list)
    by: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in samples:
        whole[s.stage].append(s.days)
        if s.segment:
            by[(s.stage, s.segment)].append(s.days)
    team = {stage: (len(v), float(median(v))) for stage, v in whole.items()}
    segments = {k: (len(v), float(median(v))) for k, v in by.items()}
    return CloseTimes(team, segments, min_sample, prior_strength)


def close_times_from_medians(team: dict[str, tuple[int, float]],
                             segments: dict[tuple[str, str], tuple[int, float]], *,
                             min_sample: int = MIN_SAMPLE,
                             prior_strength: float = PRIOR_STRENGTH) -> CloseTimes:
    """Close times from (count, median days) already computed per stage and per segment."""
    return CloseTimes(dict(team), dict(segments), min_sample, prior_strength)


# ---------------------------------------------------------------------------- forecasts


@dataclass(frozen=True)
class OpenDeal:
    """An open deal as the forecast sees it. `probability` is 0–1."""

    amount: Decimal
    probability: float
    category: str = "pipeline"


def weighted(deals: Iterable[OpenDeal]) -> Decimal:
    """Σ amount × probability, to the cent."""
    total = sum((d.amount * Decimal(str(d.probability)) for d in deals), Decimal("0"))
    return total.quantize(CENT, ROUND_HALF_UP)


def expected(amounts: Sequence[Decimal], probabilities: Sequence[float]) -> Decimal:
    return weighted(OpenDeal(a, p) for a, p in zip(amounts, probabilities, strict=True))


@dataclass(frozen=True)
class Distribution:
    """The distribution of the amount won from a set of independent deals, on a grid of
    `unit` (exact when every amount is a multiple of the unit, which `outcome_distribution`
    arranges whenever the amounts allow it within MAX_BUCKETS steps)."""

    unit: Decimal
    probabilities: tuple[float, ...]
    exact: bool

    def quantile(self, q: float) -> Decimal:
        """The smallest amount x with P(won ≤ x) ≥ q."""
        running = 0.0
        for i, p in enumerate(self.probabilities):
            running += p
            if running >= q - 1e-12:
                return (self.unit * i).quantize(CENT, ROUND_HALF_UP)
        return (self.unit * (len(self.probabilities) - 1)).quantize(CENT, ROUND_HALF_UP)

    def mean(self) -> Decimal:
        total = sum(i * p for i, p in enumerate(self.probabilities))
        return (self.unit * Decimal(str(total))).quantize(CENT, ROUND_HALF_UP)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def outcome_distribution(amounts: Sequence[Decimal], probabilities: Sequence[float],
                         max_buckets: int = MAX_BUCKETS) -> Distribution:
    """The exact distribution of Σ amountᵢ·Bernoulli(pᵢ), computed by adding deals one at a
    time to the distribution of the others (a convolution, deterministic, no sampling).

    The grid is the greatest common divisor of the amounts when the total fits in
    `max_buckets` steps of it (then the result is exact); otherwise the total divided by
    `max_buckets`, each amount rounded to the nearest step.
    """
    pairs = [(_cents(a), min(max(float(p), 0.0), 1.0))
             for a, p in zip(amounts, probabilities, strict=True)]
    pairs = [(c, p) for c, p in pairs if c > 0 and p > 0.0]
    if not pairs:
        return Distribution(Decimal("0.01"), (1.0,), True)
    total = sum(c for c, _ in pairs)
    step = 0
    for c, _ in pairs:
        step = math.gcd(step, c)
    exact = total // step <= max_buckets
    if not exact:
        step = -(-total // max_buckets)
    # Arrow's compute kernels do the element-wise work, so a pipeline of thousands of deals
    # over thousands of steps takes milliseconds rather than seconds of Python loops.
    dist = pa.array([1.0], type=pa.float64())
    for cents, p in pairs:
        shift = round(cents / step)
        if shift == 0:
            continue
        zeros = pa.array([0.0] * shift, type=pa.float64())
        lost = pa.concat_arrays([pc.multiply(dist, 1.0 - p), zeros])
        won = pa.concat_arrays([zeros, pc.multiply(dist, p)])
        dist = pc.add(lost, won)
    return Distribution(Decimal(step) / 100, tuple(dist.to_pylist()), exact)


@dataclass(frozen=True)
class Interval:
    """P10/P50/P90 of a period's outcome: what is won already plus the open deals' draw."""

    p10: Decimal
    p50: Decimal
    p90: Decimal
    mean: Decimal
    exact: bool


def interval(won: Decimal, amounts: Sequence[Decimal], probabilities: Sequence[float],
             max_buckets: int = MAX_BUCKETS) -> Interval:
    dist = outcome_distribution(amounts, probabilities, max_buckets)
    won = won.quantize(CENT, ROUND_HALF_UP)
    return Interval(p10=won + dist.quantile(0.10), p50=won + dist.quantile(0.50),
                    p90=won + dist.quantile(0.90), mean=won + dist.mean(), exact=dist.exact)


# ---------------------------------------------------------------------------- accuracy


@dataclass
class Accuracy:
    """How far forecasts were from what closed, over some (forecast, actual) pairs.

    `error` is the weighted absolute percentage error Σ|F − A| ÷ ΣA; `bias` the signed
    Σ(F − A) ÷ ΣA (above zero: the forecast ran high). Both None when nothing closed.
    """

    pairs: list[tuple[Decimal, Decimal]] = field(default_factory=list)

    def add(self, forecast: Decimal, actual: Decimal) -> None:
        self.pairs.append((forecast, actual))

    @property
    def forecast(self) -> Decimal:
        return sum((f for f, _ in self.pairs), Decimal("0"))

    @property
    def actual(self) -> Decimal:
        return sum((a for _, a in self.pairs), Decimal("0"))

    @property
    def error(self) -> float | None:
        actual = self.actual
        if not actual:
            return None
        return float(sum((abs(f - a) for f, a in self.pairs), Decimal("0")) / actual)

    @property
    def bias(self) -> float | None:
        actual = self.actual
        if not actual:
            return None
        return float((self.forecast - actual) / actual)
