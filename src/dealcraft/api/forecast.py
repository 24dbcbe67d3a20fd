"""`/api/v1/forecast`: the forecast roll-up, the history of calls and adjustments, and making
and adjusting calls — what the `/forecast/` pages do, for revenue-operations integrations.

Who sees what follows the forecast page: a rep their own line and calls, a manager the reps
of the teams they manage, admins and revenue operations every rep; viewers see the quarter's
figures without calls (`GET /reports/forecast`), so the roll-up and the calls are refused to
them. Only reps make calls (their own); the rep's manager or an admin adjusts one, with a
reason. Every write goes through `dealcraft.forecasting.services`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from dealcraft.domain import forecast as F
from dealcraft.errors import InvalidInput, NotAllowed
from dealcraft.forecasting.models import ForecastAdjustment, ForecastSubmission
from dealcraft.forecasting.queries import RepLine, money, rollup, rollup_scope
from dealcraft.forecasting.services import adjust_forecast, may_adjust, submit_forecast
from dealcraft.people.models import User
from dealcraft.processes.services import active_process

from .auth import caller
from .query import reject_unknown
from .responses import responses
from .schemas import DecimalString, Input, Text

router = Router()

MAX_ID = 2**63 - 1
_ID_RE = re.compile(r"[0-9]{1,18}")
#: Quarters the API reads and writes: four-digit years a date can hold on both sides.
FIRST_YEAR, LAST_YEAR = 1900, 9998
PERIOD_PATTERN = r"^[0-9]{4}-Q[1-4]$"
PeriodText = Field(None, pattern=PERIOD_PATTERN, examples=["2026-Q4"],
                   description="A calendar quarter, e.g. 2026-Q4; this quarter if left out.")
CurrencyText = Field(None, min_length=3, max_length=3, examples=["EUR"],
                     description="ISO 4217 code; the process's currency if left out.")


# ---------------------------------------------------------------------------- shapes


class ForecastPerson(Schema):
    id: int
    username: str
    name: str


class ForecastCallOut(Schema):
    """A rep's call."""

    id: int
    rep: ForecastPerson
    period: str
    amount: DecimalString
    currency: str
    note: str
    submitted_at: datetime


class ForecastAdjustmentOut(Schema):
    """A manager's (or admin's) adjustment of a rep's call, with its reason."""

    id: int
    rep: ForecastPerson
    period: str
    amount: DecimalString
    currency: str
    reason: str
    by: ForecastPerson | None = Field(description="Who adjusted; null if since removed.")
    at: datetime


class ForecastRollupLine(Schema):
    rep: ForecastPerson
    team: str | None
    won: DecimalString = Field(description="Won in the quarter so far.")
    commit: DecimalString = Field(description="Won + open commit deals closing in it.")
    best_case: DecimalString = Field(description="Commit + open best-case deals.")
    pipeline: DecimalString = Field(description="Best case + open pipeline deals.")
    weighted: DecimalString = Field(description="Won + Σ amount × probability of open deals.")
    call: DecimalString | None = Field(
        description="The call that counts: the latest adjustment, else the rep's latest call.")
    submission: ForecastCallOut | None = Field(description="The rep's latest call.")
    adjustment: ForecastAdjustmentOut | None = Field(description="The latest adjustment.")
    adjustable: bool = Field(description="Whether the caller may adjust this rep's call.")


class ForecastRollupTotals(Schema):
    won: DecimalString
    commit: DecimalString
    best_case: DecimalString
    pipeline: DecimalString
    weighted: DecimalString
    submitted: DecimalString = Field(description="Σ of the reps' own latest calls.")
    call: DecimalString = Field(description="Σ of the calls that count.")


class ForecastRollupOut(Schema):
    period: str
    currency: str = Field(description="Every amount of the roll-up is in this currency.")
    teams: list[str] = Field(description="The teams the roll-up covers (none for a rep).")
    lines: list[ForecastRollupLine]
    totals: ForecastRollupTotals


class ForecastRollupQuery(Schema):
    period: str | None = PeriodText
    currency: str | None = CurrencyText


class ForecastHistoryItem(Schema):
    """One call (`kind: call`, with `note`) or adjustment (`kind: adjustment`, with `reason`
    and `by`)."""

    kind: Literal["call", "adjustment"]
    id: int
    rep: ForecastPerson
    period: str
    amount: DecimalString
    currency: str
    at: datetime
    note: str | None = None
    reason: str | None = None
    by: ForecastPerson | None = None


class ForecastHistoryPage(Schema):
    items: list[ForecastHistoryItem]
    next_cursor: str | None


class ForecastHistoryQuery(Schema):
    period: str | None = Field(None, pattern=PERIOD_PATTERN, examples=["2026-Q4"],
                               description="Only this quarter's calls.")
    rep: Text | None = Field(None, max_length=150, description="The rep's username or id.")
    cursor: Text | None = None
    limit: int = Field(50, ge=1, le=200)


class ForecastCallIn(Input):
    period: str | None = PeriodText
    amount: Decimal = Field(examples=["120000.00"])
    currency: str | None = CurrencyText
    note: Text = Field("", max_length=2000)


class ForecastAdjustmentIn(Input):
    rep: Text = Field(max_length=150, description="The rep's username or id.")
    period: str | None = PeriodText
    amount: Decimal = Field(examples=["110000.00"])
    currency: str | None = CurrencyText
    reason: Text = Field(max_length=2000, description="Why; required.")


# ---------------------------------------------------------------------------- helpers


def _period(value: str | None, field: str = "period") -> F.Period:
    if not value:
        return F.period_of(timezone.localdate())
    try:
        period = F.parse_period(value)
    except ValueError as exc:
        raise InvalidInput(str(exc), field) from None
    if not FIRST_YEAR <= period.year <= LAST_YEAR:
        raise InvalidInput(f"period {value!r} is not a quarter between {FIRST_YEAR} and "
                           f"{LAST_YEAR}", field)
    return period


def _may_read_calls(user: User) -> None:
    if user.role == "viewer":
        raise NotAllowed("Viewers see the quarter's figures without calls "
                         "(GET /api/v1/reports/forecast).")


def _rep(value: str, field: str) -> User:
    rows = User.objects.select_related("team")
    found = (rows.filter(pk=int(value)).first() if _ID_RE.fullmatch(value)
             else rows.filter(username=value).first())
    if found is None:
        raise InvalidInput(f"there is no user '{value}'", field)
    return found


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.display_name}


def _call_out(call: ForecastSubmission) -> dict[str, Any]:
    return {"id": call.pk, "rep": _person(call.rep), "period": call.period,
            "amount": money(call.amount), "currency": call.currency, "note": call.note,
            "submitted_at": call.submitted_at}


def _adjustment_out(change: ForecastAdjustment) -> dict[str, Any]:
    return {"id": change.pk, "rep": _person(change.rep), "period": change.period,
            "amount": money(change.amount), "currency": change.currency,
            "reason": change.reason, "by": _person(change.by), "at": change.at}


def _line_out(user: User, line: RepLine) -> dict[str, Any]:
    # The line's rows belong to its rep: reuse the loaded user rather than a query per row.
    for row in (line.submission, line.adjustment):
        if row is not None:
            row.rep = line.rep
    call = line.call
    return {
        "rep": _person(line.rep),
        "team": line.rep.team.name if line.rep.team_id and line.rep.team else None,
        "won": money(line.won), "commit": money(line.commit),
        "best_case": money(line.best_case), "pipeline": money(line.pipeline),
        "weighted": money(line.weighted),
        "call": money(call) if call is not None else None,
        "submission": _call_out(line.submission) if line.submission else None,
        "adjustment": _adjustment_out(line.adjustment) if line.adjustment else None,
        "adjustable": line.rep.role == "rep" and may_adjust(user, line.rep),
    }


def _visible(user: User, rows: QuerySet[Any]) -> QuerySet[Any]:
    """The calls (or adjustments) of the reps whose roll-up lines the user sees."""
    team_ids = rollup_scope(user)
    if team_ids is None:
        return rows
    if team_ids:
        return rows.filter(rep__team_id__in=team_ids)
    return rows.filter(rep=user)


# ---------------------------------------------------------------------------- cursor

#: Newest first; at the same moment adjustments before calls, then by id.
_KIND_RANK = {"call": 0, "adjustment": 1}


def _encode(moment: datetime, kind: str, row_id: int) -> str:
    raw = json.dumps([moment.isoformat(), kind, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(cursor: str) -> tuple[datetime, str, int]:
    bad = InvalidInput("cursor is not one this API returned", "cursor")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise bad from None
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], str)
            and data[1] in _KIND_RANK and type(data[2]) is int and 0 < data[2] <= MAX_ID):
        raise bad
    try:
        moment = datetime.fromisoformat(data[0])
        if moment.tzinfo is None:
            raise ValueError("naive")
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad from None
    return moment, data[1], data[2]


def _after(rows: QuerySet[Any], field: str, kind: str,
           cursor: tuple[datetime, str, int] | None) -> QuerySet[Any]:
    if cursor is None:
        return rows
    moment, last_kind, last_id = cursor
    same = Q(**{field: moment})
    if _KIND_RANK[kind] < _KIND_RANK[last_kind]:
        later = same
    elif kind == last_kind:
        later = same & Q(pk__lt=last_id)
    else:
        later = Q(pk__in=[])
    return rows.filter(Q(**{f"{field}__lt": moment}) | later)


# ---------------------------------------------------------------------------- operations


@router.get("/rollup", response=responses({200: ForecastRollupOut}, 422),
            summary="The forecast roll-up for a quarter")
def get_rollup(request: HttpRequest, filters: Query[ForecastRollupQuery]) -> dict[str, Any]:
    """Per rep the caller oversees (a rep: their own line; a manager: their teams' reps;
    admins and revenue operations: every rep): the quarter's won amount, commit, best case,
    pipeline and weighted figures from their deals, their latest call, the latest adjustment
    (who, why, when) and the call that counts, with the totals. One currency per request
    (`currency`, the process's by default); amounts are never added across currencies."""
    reject_unknown(request, ForecastRollupQuery)
    user = caller(request)
    _may_read_calls(user)
    period = _period(filters.period)
    _, process = active_process()
    currency = (filters.currency or process.currency).upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidInput(f"currency {filters.currency!r} is not a three-letter ISO 4217 "
                           "code", "currency")
    view = rollup(user, period, currency=currency)
    reps = {u.pk: u for u in User.objects.filter(pk__in=[ln.rep.pk for ln in view.lines])
            .select_related("team")}
    for line in view.lines:
        line.rep = reps.get(line.rep.pk, line.rep)
    totals = view.totals[currency]
    return {
        "period": period.label, "currency": currency, "teams": view.teams,
        "lines": [_line_out(user, line) for line in view.lines],
        "totals": {key: money(value) for key, value in totals.items()},
    }


@router.get("/calls", response=responses({200: ForecastHistoryPage}, 422),
            summary="The history of forecast calls and adjustments")
def list_calls(request: HttpRequest, filters: Query[ForecastHistoryQuery]) -> dict[str, Any]:
    """Every call and adjustment of the reps whose roll-up the caller sees, newest first,
    optionally of one quarter (`period`) or one rep (`rep`, username or id)."""
    reject_unknown(request, ForecastHistoryQuery)
    user = caller(request)
    _may_read_calls(user)
    calls = _visible(user, ForecastSubmission.objects.select_related("rep"))
    changes = _visible(user, ForecastAdjustment.objects.select_related("rep", "by"))
    if filters.period:
        label = _period(filters.period).label
        calls, changes = calls.filter(period=label), changes.filter(period=label)
    if filters.rep:
        rep = _rep(filters.rep, "rep")
        if not _sees(user, rep):
            raise NotAllowed(f"You may not see {rep.username}'s forecast calls.")
        calls, changes = calls.filter(rep=rep), changes.filter(rep=rep)
    cursor = _decode(filters.cursor) if filters.cursor else None
    limit = filters.limit
    found: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for call in _after(calls, "submitted_at", "call", cursor).order_by(
            "-submitted_at", "-pk")[: limit + 1]:
        item = _call_out(call)
        found.append((call.submitted_at, _KIND_RANK["call"], call.pk,
                      {"kind": "call", "id": call.pk, "rep": item["rep"],
                       "period": call.period, "amount": item["amount"],
                       "currency": call.currency, "at": call.submitted_at,
                       "note": call.note}))
    for change in _after(changes, "at", "adjustment", cursor).order_by("-at", "-pk")[
            : limit + 1]:
        item = _adjustment_out(change)
        found.append((change.at, _KIND_RANK["adjustment"], change.pk,
                      {"kind": "adjustment", **{k: item[k] for k in (
                          "id", "rep", "period", "amount", "currency", "reason", "by", "at")}}))
    found.sort(key=lambda row: (row[0], row[1], row[2]), reverse=True)
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        last = found[-1]
        next_cursor = _encode(last[0], last[3]["kind"], last[2])
    return {"items": [row[3] for row in found], "next_cursor": next_cursor}


def _sees(user: User, rep: User) -> bool:
    team_ids = rollup_scope(user)
    if team_ids is None:
        return True
    if team_ids:
        return rep.team_id in team_ids
    return rep.pk == user.pk


@router.post("/calls", response=responses({201: ForecastCallOut}, 422),
             summary="Make your forecast call")
def post_call(request: HttpRequest, payload: ForecastCallIn) -> Status:
    """A rep's call for this quarter or a later one (at most a year ahead): the amount they
    expect to close from their own deals. Every call is kept; the latest counts. Only reps
    make calls."""
    user = caller(request)
    call = submit_forecast(acting_user=user, period=_period(payload.period).label,
                           amount=payload.amount, currency=payload.currency,
                           note=payload.note)
    call.rep = user
    return Status(201, _call_out(call))


@router.post("/adjustments", response=responses({201: ForecastAdjustmentOut}, 422),
             summary="Adjust a rep's forecast call")
def post_adjustment(request: HttpRequest, payload: ForecastAdjustmentIn) -> Status:
    """The rep's manager (of the rep's team) or an admin sets the call that counts for a rep,
    with the reason (required). The rep's own call stays as it was."""
    user = caller(request)
    rep = _rep(payload.rep, "rep")
    change = adjust_forecast(acting_user=user, rep=rep, period=_period(payload.period).label,
                             amount=payload.amount, currency=payload.currency,
                             reason=payload.reason)
    change.rep, change.by = rep, user
    return Status(201, _adjustment_out(change))
