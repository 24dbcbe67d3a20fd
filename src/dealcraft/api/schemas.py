"""Request and response shapes of the API; they are also what the OpenAPI description shows."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict


def _strip_nul(value: str) -> str:
    # NUL cannot be stored in PostgreSQL text; services strip it too, but not every path does.
    return value.replace("\x00", "")


def _strip_nul_deep(value: Any) -> Any:
    if isinstance(value, str):
        return _strip_nul(value)
    if isinstance(value, dict):
        return {_strip_nul(str(k)): _strip_nul_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul_deep(v) for v in value]
    return value


_NUMBER_RE = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_timestamp(value: Any) -> Any:
    # pydantic reads a number, or a string of one, as seconds since 1970 ("0.5" would be a
    # moment in 1970); the API takes dates and times as ISO 8601 text, as it documents.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) or (
            isinstance(value, str) and _NUMBER_RE.fullmatch(value)):
        raise ValueError("expected an ISO 8601 date or date-time (e.g. 2026-03-31), "
                         "not a number")
    return value


Text = Annotated[str, AfterValidator(_strip_nul)]
IsoDate = Annotated[date, BeforeValidator(_not_a_timestamp)]
IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_timestamp)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_strip_nul_deep)]
DecimalString = Annotated[str, Field(examples=["48000.00"], pattern=r"^-?\d+\.\d{2}$")]


class Input(Schema):
    """Input bodies refuse unknown keys, so a misspelt or unsupported field is an error."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- problems


class ProblemDetails(Schema):
    """RFC 9457 problem details."""

    type: str = Field(examples=["/api/v1/problems/not-allowed"])
    title: str
    status: int
    detail: str
    instance: str | None = None


class FieldProblem(ProblemDetails):
    field: str | None = Field(None, description="The input field at fault, when known.")
    errors: list[dict[str, Any]] | None = Field(
        None, description="Schema validation errors: each with `loc`, `msg` and `type`.")


class ProblemLine(Schema):
    line: int
    message: str


class ProcessProblem(ProblemDetails):
    problems: list[ProblemLine]


class UnmetOut(Schema):
    key: str
    label: str
    message: str
    stage: str


class GateProblem(ProblemDetails):
    unmet: list[UnmetOut] = Field(description="Blocking criteria: the move needs these met.")
    warnings: list[UnmetOut] = Field(description="Unmet criteria of warn-mode gates.")
    to: str


class TooLargeProblem(ProblemDetails):
    max_bytes: int | None = None


# ---------------------------------------------------------------------------- deals


class NextStepOut(Schema):
    text: str
    due: date
    owner: str | None
    buyer_confirmed: bool


class DealOut(Schema):
    id: int
    name: str
    account: str | None
    account_id: int | None
    owner: str
    owner_id: int
    team_id: int | None
    stage: str
    status: Literal["open", "won", "lost"]
    amount: DecimalString
    currency: str
    expected_close: date
    forecast_category: str
    forecast_category_overridden: bool = Field(
        description="The owner chose the category; stage changes no longer set it.")
    probability: int
    next_step: NextStepOut | None
    stage_entered_at: datetime
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    fields: dict[str, Any]
    lost_reason: str
    lost_reason_category: str
    lost_from_stage: str
    external_source: str
    external_id: str
    process_version: int | None
    version: int


class ConflictProblem(ProblemDetails):
    version: int = Field(description="The deal's current version.")
    current: DealOut


class AdvanceConflictProblem(ProblemDetails):
    """A 409 on a stage move: either a gate refusal (`unmet`) or a stale `version`."""

    unmet: list[UnmetOut] | None = None
    warnings: list[UnmetOut] | None = None
    to: str | None = None
    version: int | None = None
    current: DealOut | None = None


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page.")


MAX_AMOUNT = Decimal("9999999999999999.99")
DEAL_SORTS = ("id", "created_at", "updated_at", "amount", "expected_close", "name",
              "probability")


class DealFilters(Schema):
    stage: Text | None = Field(None, description="Stage key, or `won` / `lost`.")
    owner: Text | None = Field(None, description="The owner's username or id.")
    team_id: int | None = Field(None, ge=1, le=2**63 - 1, description="The deal's team.")
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    status: Literal["open", "won", "lost"] | None = None
    forecast_category: Literal["pipeline", "best_case", "commit", "closed", "omitted"] | None \
        = None
    currency: Text | None = Field(None, description="ISO 4217 code, e.g. `EUR`.")
    expected_close_from: IsoDate | None = Field(None,
                                                description="Expected close on or after.")
    expected_close_to: IsoDate | None = Field(None, description="Expected close on or before.")
    amount_min: Decimal | None = Field(None, ge=0, le=MAX_AMOUNT, decimal_places=2,
                                       description="Amount at least (in the deal's own "
                                                   "currency).")
    amount_max: Decimal | None = Field(None, ge=0, le=MAX_AMOUNT, decimal_places=2,
                                       description="Amount at most.")
    updated_since: IsoDateTime | None = Field(None, description="Changed at or after this "
                                                             "moment (UTC unless an offset "
                                                             "is given).")
    sort: Text = Field("-id", description="One of " + ", ".join(DEAL_SORTS)
                       + "; prefix `-` for descending. Ties are broken by id. "
                       "Default `-id` (newest first).")
    cursor: Text | None = Field(None, description="`next_cursor` of the previous page, with "
                                                  "the same filters and sort.")
    limit: int = Field(50, ge=1, le=200)


class DealCreateIn(Input):
    name: Text
    amount: Decimal = Field(examples=["48000.00"])
    currency: Text = Field(examples=["EUR"])
    expected_close: IsoDate
    owner: Text | None = Field(None, description="Username; only managers and admins may "
                                                 "create deals for someone else.")
    account_id: int | None = None
    fields: JsonObject | None = None


class DealPatchIn(Input):
    version: int | None = Field(None, description="The version you read; required unless "
                                                  "sent as `If-Match`.")
    name: Text | None = None
    amount: Decimal | None = None
    currency: Text | None = None
    expected_close: IsoDate | None = None
    owner: Text | None = Field(None, description="Username of the new owner.")
    account_id: int | None = Field(None, description="null removes the account.")
    forecast_category: Literal["pipeline", "best_case", "commit", "omitted"] | None = None
    probability: int | None = None
    fields: JsonObject | None = Field(None, description="Merged into the deal's fields; a null "
                                                        "value removes that field.")


class EvidenceIn(Input):
    criterion: Text
    kind: Literal["text", "link"] = "text"
    text: Text = ""
    url: Text = ""


class EvidenceOut(Schema):
    id: int
    deal_id: int
    criterion: str
    stage: str
    kind: Literal["text", "link", "file"]
    text: str
    url: str
    file_name: str
    content_type: str
    size: int
    recorded_by: str | None
    recorded_at: datetime


class NextStepIn(Input):
    text: Text
    due: IsoDate
    owner: Text | None = Field(None, description="Username; defaults to the deal's owner.")
    buyer_confirmed: bool = False


class ActivityIn(Input):
    kind: Text = Field(examples=["call"], description="call, email, meeting, note or task")
    subject: Text
    body: Text = ""
    due_at: IsoDateTime | None = None
    done: bool | None = Field(None, description="Default: done now, except for tasks.")


class ActivityOut(Schema):
    id: int
    deal_id: int
    kind: str
    subject: str
    body: str
    owner: str | None
    due_at: datetime | None
    done_at: datetime | None
    created_at: datetime


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class ActivityFilters(Schema):
    kind: Literal["call", "email", "meeting", "note", "task"] | None = None
    open: bool | None = Field(None, description="true: only what is not done yet (open "
                                                "tasks); false: only what is done.")
    cursor: Text | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=200)


class EvidencePage(Schema):
    items: list[EvidenceOut]
    next_cursor: str | None


class EvidenceFilters(Schema):
    criterion: Text | None = Field(None, description="Only evidence for this exit criterion.")
    cursor: Text | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=200)


class NextStepRecordOut(Schema):
    id: int
    deal_id: int
    text: str
    due: date
    owner: str | None
    buyer_confirmed: bool
    set_by: str | None
    set_at: datetime
    current: bool = Field(description="True for the deal's current next step.")


class NextStepPage(Schema):
    current: NextStepRecordOut | None = Field(description="The deal's current next step.")
    items: list[NextStepRecordOut] = Field(description="Every next step set, newest first.")
    next_cursor: str | None


class PageFilters(Schema):
    cursor: Text | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=200)


class NewContactIn(Input):
    first_name: Text = ""
    last_name: Text = ""
    email: Text = ""
    title: Text = ""


class StakeholderIn(Input):
    contact_id: int | None = Field(None, description="An existing contact, or…")
    contact: NewContactIn | None = Field(None, description="…a new one (on the deal's account).")
    role: Text
    influence: int = Field(2, description="1 low – 3 high")
    support: int = Field(0, description="-1 opposes, 0 neutral, 1 supports")


class ContactOut(Schema):
    id: int
    account_id: int | None
    account: str | None
    name: str
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str
    created_at: datetime


class StakeholderOut(Schema):
    id: int
    deal_id: int
    contact: ContactOut
    role: str
    influence: int
    support: int
    added_by: str | None
    added_at: datetime


class StakeholderPage(Schema):
    items: list[StakeholderOut]
    next_cursor: str | None


class QualificationIn(Input):
    framework: Text
    criterion: Text
    level: int = Field(description="0 unknown … 3 confirmed with evidence")
    evidence: Text = ""


class QualificationOut(Schema):
    deal_id: int
    framework: str
    criterion: str
    level: int
    evidence: str
    answered_by: str | None
    answered_at: datetime


class GateOut(Schema):
    stage: str
    mode: Literal["enforce", "warn"]
    passed: bool
    met: list[str]
    unmet: list[UnmetOut]


class TransitionOut(Schema):
    from_: str = Field(serialization_alias="from")
    to: str
    direction: Literal["forward", "skip", "backward", "won"]
    allowed: bool = Field(description="True when nothing blocks the move.")
    needs_reason: bool = Field(description="Moving back needs a `reason`.")
    gates: list[GateOut]
    blocking: list[UnmetOut]
    warnings: list[UnmetOut]


class AdvanceIn(Input):
    to: Text = Field(description="A stage key, or `won`.")
    override_reason: Text = Field("", description="Managers of the deal's team and admins: "
                                                  "move past unmet criteria, with this reason.")
    reason: Text = Field("", description="Why the deal moves back (when the process asks).")
    version: int | None = None


class CloseIn(Input):
    outcome: Literal["won", "lost"]
    reason: Text = Field("", description="Required when lost.")
    category: Text = Field("", description="A loss-reason key of the process.")
    override_reason: Text = Field("", description="Close won past unmet criteria.")
    version: int | None = None


class ReopenIn(Input):
    reason: Text
    to: Text = Field("", description="Stage to reopen in; default the stage it was lost from.")
    version: int | None = None


class HistoryOut(Schema):
    id: int
    kind: str
    from_: str | None = Field(serialization_alias="from")
    to: str
    at: datetime
    by: str | None
    override_reason: str
    amount: DecimalString
    currency: str
    expected_close: date | None
    forecast_category: str
    probability: int
    gate_result: dict[str, Any]
    process_version: int | None


# ---------------------------------------------------------------------------- process


class KeyName(Schema):
    key: str
    name: str


class ProcessCriterionOut(Schema):
    key: str
    kind: str
    label: str
    prompt: str
    description: str = Field(description="The rule in words.")
    field: str
    op: str
    value: Any
    roles: list[str]
    count: int
    framework: str
    min: float
    within_days: int
    buyer_confirmed: bool
    activities: list[str]
    since_stage: str
    approval: str
    milestone: str
    item: str = Field(default="", description="For `workspace` criteria: the workspace item.")
    layer: str = Field(default="", description="For `workspace` criteria: the question layer.")


class StageOut(Schema):
    key: str
    name: str
    purpose: str
    probability: int
    forecast_category: str
    rotting_days: int
    gate: str
    guidance: list[str]
    next: list[str]
    exit_criteria: list[ProcessCriterionOut]


class CustomFieldOut(Schema):
    key: str
    label: str
    type: str
    choices: list[str]
    help: str


class FrameworkCriterionOut(Schema):
    key: str
    name: str
    weight: float
    prompt: str


class FrameworkOut(Schema):
    key: str
    name: str
    criteria: list[FrameworkCriterionOut]


class SettingsOut(Schema):
    visibility: str
    skip: str
    backward: str
    override: str


class QualificationSettingsOut(Schema):
    framework: str
    threshold: float


class WonOut(Schema):
    gate: str
    criteria: list[ProcessCriterionOut]
    checkins_days: list[int]


class LostOut(Schema):
    reasons: list[KeyName]


class OutcomesOut(Schema):
    won: WonOut
    lost: LostOut


class ProcessDocOut(Schema):
    name: str
    description: str
    currency: str
    settings: SettingsOut
    stages: list[StageOut]
    stakeholder_roles: list[KeyName]
    fields: list[CustomFieldOut]
    frameworks: list[FrameworkOut]
    qualification: QualificationSettingsOut
    outcomes: OutcomesOut
    library: dict[str, Any]
    discovery_questions: list[dict[str, Any]]
    capabilities: list[dict[str, Any]]


class ProcessOut(Schema):
    version: int
    name: str
    applied_at: datetime
    applied_by: str | None
    note: str
    sha256: str
    process: ProcessDocOut


class ProcessIn(Input):
    source: str = Field(description="The whole process file (YAML).")
    note: Text = ""


# ---------------------------------------------------------------------------- reports


class DealCounts(Schema):
    total: int
    open: int
    won: int
    lost: int


class StageReportOut(Schema):
    key: str
    name: str
    reached: int
    advanced: int
    conversion: float | None
    median_days_in_stage: float | None


class CurrencyAmounts(Schema):
    open: DecimalString
    won: DecimalString
    lost: DecimalString


class PipelineReportOut(Schema):
    process_version: int | None = None
    deals: DealCounts
    win_rate: float | None
    stages: list[StageReportOut]
    amounts_by_currency: dict[str, CurrencyAmounts]


# ---------------------------------------------------------------------------- crm


class AccountOut(Schema):
    id: int
    name: str
    domain: str
    industry: str
    employees: int | None
    country: str
    owner: str | None
    external_source: str
    external_id: str
    created_at: datetime


class AccountIn(Input):
    name: Text
    domain: Text = ""
    industry: Text = ""
    # The column is a 4-byte integer on PostgreSQL: a larger count is refused, not a 500.
    employees: int | None = Field(None, ge=0, le=2_147_483_647)
    country: Text = Field("", description="ISO 3166 two-letter code")


class AccountPage(Schema):
    items: list[AccountOut]
    next_cursor: str | None


class AccountFilters(Schema):
    q: Text | None = Field(None, description="Part of the account name.")
    cursor: Text | None = None
    limit: int = Field(50, ge=1, le=200)


class ContactIn(Input):
    account_id: int | None = None
    first_name: Text = ""
    last_name: Text = ""
    email: Text = ""
    title: Text = ""


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ContactFilters(Schema):
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    q: Text | None = Field(None, description="Part of the name or email.")
    cursor: Text | None = None
    limit: int = Field(50, ge=1, le=200)

