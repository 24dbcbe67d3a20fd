"""The JSON each report returns, as schemas: the API declares them, so the OpenAPI description
is exact, and docs/reports.md explains each figure. Amounts are strings with two decimals in
one currency, keyed by ISO 4217 code; rates are fractions (0.25 is 25%) or null when there is
nothing to divide by; days are decimal days."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema


class ParamsOut(Schema):
    since: date | None
    until: date | None
    team: str | None
    rep: str | None
    segment: str | None
    lead_source: str | None


class DealCounts(Schema):
    total: int
    open: int
    won: int
    lost: int


class StageRow(Schema):
    key: str
    name: str
    reached: int
    advanced: int
    conversion: float | None
    median_days_in_stage: float | None


class CurrencyAmounts(Schema):
    open: str
    won: str
    lost: str


class FunnelRow(Schema):
    key: str
    name: str
    reached: int
    direct: int
    direct_conversion: float | None
    reached_later: int
    later_conversion: float | None


class TimeInStageRow(Schema):
    key: str
    name: str
    stays: int
    median_days: float | None
    p90_days: float | None


class Velocity(Schema):
    open_deals: int
    won: int
    lost: int
    win_rate: float | None
    average_won: str | None
    cycle_days: float | None
    per_day: str | None


class PipelineOut(Schema):
    process_version: int | None = None
    params: ParamsOut
    deals: DealCounts
    win_rate: float | None
    stages: list[StageRow]
    amounts_by_currency: dict[str, CurrencyAmounts]
    funnel: list[FunnelRow]
    time_in_stage: list[TimeInStageRow]
    velocity: dict[str, Velocity]


class Reason(Schema):
    code: str
    text: str


class StuckDeal(Schema):
    id: int
    name: str
    owner: str | None
    owner_name: str | None
    team: str | None
    stage: str
    stage_name: str
    days_in_stage: float
    rotting_days: int
    p90_days: float | None
    reasons: list[Reason]
    amount: str
    currency: str


class StuckStage(Schema):
    key: str
    name: str
    rotting_days: int
    p90_days: float | None
    open: int
    stuck: int


class StuckOut(Schema):
    params: ParamsOut
    as_of: datetime
    count: int
    stages: list[StuckStage]
    deals: list[StuckDeal]


class VelocityGroup(Schema):
    key: str | None
    label: str
    currencies: dict[str, Velocity]


class VelocityOut(Schema):
    params: ParamsOut
    overall: dict[str, Velocity]
    by_team: list[VelocityGroup]
    by_segment: list[VelocityGroup]


class CohortRow(Schema):
    key: str | int | None
    label: str
    deals: int
    open: int
    won: int
    lost: int
    win_rate: float | None
    cycle_days: float | None
    cycle_days_median: float | None


class CohortDimensions(Schema):
    rep: list[CohortRow]
    team: list[CohortRow]
    segment: list[CohortRow]
    lead_source: list[CohortRow]
    cohort: list[CohortRow]


class CohortsOut(Schema):
    params: ParamsOut
    dimensions: CohortDimensions


class LossReason(Schema):
    category: str | None
    label: str
    deals: int
    share: float | None


class LossStage(Schema):
    stage: str | None
    name: str
    deals: int
    share: float | None


class ReasonPair(Schema):
    rep_reason: str | None
    buyer_reason: str
    deals: int
    agree: bool


class RepVsBuyer(Schema):
    known: int
    agree: int
    agreement_rate: float | None
    pairs: list[ReasonPair]


class LossesOut(Schema):
    params: ParamsOut
    lost: int
    amounts_by_currency: dict[str, str]
    by_reason: list[LossReason]
    by_stage: list[LossStage]
    rep_vs_buyer: RepVsBuyer


class RepAdherence(Schema):
    owner: str | None
    name: str | None
    team: str | None
    gated_moves: int
    overrides: int
    override_rate: float | None
    skips: int
    skipped_stages: int
    warned: int
    criteria_judged: int
    criteria_met: int
    evidence_completeness: float | None
    open_deals: int
    without_next_step: int
    won: int
    lost: int
    win_rate: float | None
    won_amounts: dict[str, str]


class AdherenceOut(Schema):
    params: ParamsOut
    reps: list[RepAdherence]


class OpenPipeline(Schema):
    deals: int
    amount: str


class ChangeRow(Schema):
    key: str
    label: str
    deals: int
    amounts_by_currency: dict[str, str]


class ChangesOut(Schema):
    params: ParamsOut
    since: date
    until: date
    open_at_since: dict[str, OpenPipeline]
    open_at_until: dict[str, OpenPipeline]
    changes: list[ChangeRow]
