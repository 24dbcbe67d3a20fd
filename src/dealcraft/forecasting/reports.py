"""The forecasting reports in the report registry: `forecast`, `accuracy`, `calibration` and
`criteria` (API `/api/v1/reports/<name>`, `dealcraft report <name>`, `/reports/<name>/`)."""

from __future__ import annotations

from typing import Any

from ninja import Schema

from dealcraft.analytics.registry import register
from dealcraft.analytics.schemas import ParamsOut
from dealcraft.analytics.scope import Params

from . import queries


class PeriodOut(Schema):
    period: str
    start: str
    end: str
    currency: str
    won: str
    commit: str
    best_case: str
    pipeline: str
    omitted: str
    open_deals: int
    weighted: str
    calibrated: str
    calibrated_deals: int
    p10: str
    p50: str
    p90: str
    exact: bool


class ForecastOut(Schema):
    params: ParamsOut
    today: str
    periods: list[PeriodOut]
    min_sample: int
    prior_strength: float


class LedgerRowOut(Schema):
    currency: str
    rep: str | None
    category: str
    week: int
    periods: int
    forecast: str
    actual: str
    error: float | None
    bias: float | None


class AccuracyOut(Schema):
    params: ParamsOut
    today: str
    periods: list[str]
    weeks: int
    categories: list[str]
    rows: list[LedgerRowOut]


class SegmentOut(Schema):
    segment: str
    count: int
    won: int
    actual: float | None
    calibrated: float
    source: str


class StageCalibrationOut(Schema):
    stage: str
    name: str
    default: float
    count: int
    won: int
    predicted: float | None
    actual: float | None
    interval: list[float] | None
    calibrated: float
    source: str
    segments: list[SegmentOut]


class CalibrationOut(Schema):
    params: ParamsOut
    process_version: int
    stages: list[StageCalibrationOut]
    brier: float | None
    min_sample: int
    prior_strength: float


class CriterionOut(Schema):
    stage: str
    stage_name: str
    criterion: str
    label: str
    met: int
    won_met: int
    not_met: int
    won_not_met: int
    win_rate_met: float | None
    win_rate_not_met: float | None
    interval_met: list[float] | None
    interval_not_met: list[float] | None
    difference: float | None
    interval: list[float] | None


class CriteriaOut(Schema):
    params: ParamsOut
    process_version: int
    criteria: list[CriterionOut]


def _forecast_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    rows = result.get("periods") or []
    if not rows:
        return None
    return {
        "type": "bar",
        "labels": [f"{r['period']} {r['currency']}" for r in rows],
        "series": [{"key": k, "label": label, "data": [float(r[k]) for r in rows]}
                   for k, label in (("won", "Won"), ("weighted", "Weighted"),
                                    ("calibrated", "Calibrated"), ("p10", "P10"),
                                    ("p50", "P50"), ("p90", "P90"))],
        "y_title": "Amount",
    }


def _calibration_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    rows = [r for r in result.get("stages") or [] if r["count"]]
    if not rows:
        return None
    return {
        "type": "bar",
        "labels": [r["name"] for r in rows],
        "series": [{"key": "predicted", "label": "Predicted win rate",
                    "data": [r["predicted"] for r in rows]},
                   {"key": "actual", "label": "Actual win rate",
                    "data": [r["actual"] for r in rows]}],
        "y_title": "Win rate",
    }


def _criteria_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    rows = [r for r in result.get("criteria") or [] if r["met"] and r["not_met"]]
    if not rows:
        return None
    return {
        "type": "bar",
        "labels": [r["label"] for r in rows],
        "series": [{"key": "win_rate_met", "label": "Win rate when met",
                    "data": [r["win_rate_met"] for r in rows]},
                   {"key": "win_rate_not_met", "label": "Win rate when not met",
                    "data": [r["win_rate_not_met"] for r in rows]}],
        "y_title": "Win rate",
    }


def _accuracy_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    rows = [r for r in result.get("rows") or [] if r["rep"] is None]
    if not rows:
        return None
    weeks = sorted({r["week"] for r in rows})
    currency = rows[0]["currency"]
    series = []
    for category in result["categories"]:
        by_week = {r["week"]: r["error"] for r in rows
                   if r["category"] == category and r["currency"] == currency}
        if by_week:
            series.append({"key": category, "label": f"{category} error ({currency})",
                           "data": [by_week.get(w) for w in weeks]})
    return {"type": "line", "labels": [f"week {w}" for w in weeks], "series": series,
            "y_title": "Error (share of what closed)"}


@register("forecast", "Forecast", ForecastOut, chart=_forecast_chart,
          description="This quarter and the next, per currency: won so far, the category "
                      "calls, the weighted and history-calibrated forecasts and the P10/P50/"
                      "P90 of the quarter's outcome.")
def forecast(user: Any, params: Params) -> dict[str, Any]:
    return {"params": params.as_dict(),
            **queries.forecast_report(user, today=params.now.date(), params=params)}


@register("accuracy", "Forecast accuracy", AccuracyOut, chart=_accuracy_chart,
          description="The forecast-accuracy ledger: at week N of each of the last four "
                      "quarters, what each category call said (replayed from stage history) "
                      "against what closed — error and bias per rep and for everyone.")
def accuracy(user: Any, params: Params) -> dict[str, Any]:
    return {"params": params.as_dict(),
            **queries.accuracy_report(user, today=params.now.date(), params=params)}


@register("calibration", "Stage probability calibration", CalibrationOut,
          chart=_calibration_chart,
          description="Per stage, the win probability the process gave against the win rate "
                      "of its closed deals, with counts and intervals, and the calibrated "
                      "probability per segment.")
def calibration(user: Any, params: Params) -> dict[str, Any]:
    return {"params": params.as_dict(), **queries.calibration_report(user, params=params)}


@register("criteria", "Criteria that predict winning", CriteriaOut, chart=_criteria_chart,
          description="For each exit criterion, the win rate of closed deals that met it at "
                      "the gate against those that did not, with counts and intervals.")
def criteria(user: Any, params: Params) -> dict[str, Any]:
    return {"params": params.as_dict(), **queries.criteria_report(user, params=params)}
