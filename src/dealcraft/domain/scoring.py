"""Qualification scoring: a framework's answers, weighted, as a score from 0 to 100."""

from __future__ import annotations

from collections.abc import Mapping

from .process import QUALIFICATION_LEVEL_MAX, Framework

LEVELS = {
    0: "unknown",
    1: "assumed",
    2: "partly confirmed",
    3: "confirmed with evidence",
}


def framework_score(framework: Framework, levels: Mapping[str, int]) -> float:
    """Weighted share of the best possible answers, 0–100, rounded to one decimal.

    `levels` maps criterion keys to 0..3; missing criteria count as unknown (0) and keys the
    framework does not have are ignored, so an answer for a criterion removed from a later
    process version cannot inflate the score.
    """
    total = sum(c.weight for c in framework.criteria)
    if total <= 0:
        return 0.0
    earned = 0.0
    for criterion in framework.criteria:
        level = levels.get(criterion.key, 0)
        level = max(0, min(QUALIFICATION_LEVEL_MAX, int(level)))
        earned += criterion.weight * level / QUALIFICATION_LEVEL_MAX
    return round(100 * earned / total, 1)
