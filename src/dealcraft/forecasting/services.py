"""The only code that writes forecasts: a rep's call, a manager's adjustment, the weekly
snapshot. Each is atomic, checks who is acting and writes its audit row."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dealcraft.audit.services import record
from dealcraft.cleaning import clean_text
from dealcraft.deals.models import Deal, Status
from dealcraft.deals.services import clean_amount, clean_currency
from dealcraft.domain import forecast as F
from dealcraft.errors import InvalidInput, NotAllowed
from dealcraft.people.models import User
from dealcraft.people.permissions import managed_team_ids
from dealcraft.processes.services import active_process

from .models import ForecastAdjustment, ForecastSnapshot, ForecastSnapshotLine, ForecastSubmission
from .queries import start_of

NOTE_MAX = 2000
CENT = Decimal("0.01")


def clean_period(value: Any, *, today: date | None = None) -> F.Period:
    """A quarter that has not ended yet: calls are made before the quarter is over."""
    try:
        period = F.parse_period(str(value or ""))
    except ValueError as exc:
        raise InvalidInput(str(exc), "period") from None
    today = today or timezone.localdate()
    if period.end < today:
        raise InvalidInput(f"{period} has ended; calls are made for this quarter or a later "
                           "one", "period")
    if period.start > today + timedelta(days=366):
        raise InvalidInput(f"{period} is more than a year away", "period")
    return period


def may_submit(user: Any) -> bool:
    """Reps make their own call from their own deals."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and user.role == "rep")


def may_adjust(user: Any, rep: User) -> bool:
    """A manager adjusts the calls of their teams' reps; an admin anyone's."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role == "admin":
        return True
    return user.role == "manager" and rep.team_id in managed_team_ids(user)


def submit_forecast(*, acting_user: User, period: Any, amount: Any, currency: str | None = None,
                    note: str = "", today: date | None = None) -> ForecastSubmission:
    """A rep's call for a quarter: what they expect to close from their own deals. Every call
    is kept; the latest counts."""
    if not may_submit(acting_user):
        raise NotAllowed("Only reps submit a forecast call, for their own deals; managers "
                         "adjust their reps' calls on the roll-up.")
    quarter = clean_period(period, today=today)
    _, process = active_process()
    with transaction.atomic():
        submission = ForecastSubmission.objects.create(
            rep=acting_user, team_id=acting_user.team_id, period=quarter.label,
            currency=clean_currency(currency or process.currency), amount=clean_amount(amount),
            note=clean_text(note, "note", max_length=NOTE_MAX, required=False))
        record(actor=acting_user, action="forecast.submit", obj=submission,
               changes={"period": submission.period, "amount": submission.amount,
                        "currency": submission.currency, "note": submission.note})
    return submission


def adjust_forecast(*, acting_user: User, rep: User | int, period: Any, amount: Any,
                    reason: str, currency: str | None = None,
                    today: date | None = None) -> ForecastAdjustment:
    """A manager's adjustment of one rep's call for a quarter, with the reason; the rep's own
    call stays as it was and both show on the roll-up."""
    target = rep if isinstance(rep, User) else User.objects.filter(pk=rep).first()
    if target is None or target.role != "rep":
        raise InvalidInput("adjust the call of a rep", "rep")
    if not may_adjust(acting_user, target):
        raise NotAllowed("Only the manager of the rep's team (or an admin) may adjust their "
                         "forecast call.")
    quarter = clean_period(period, today=today)
    _, process = active_process()
    with transaction.atomic():
        adjustment = ForecastAdjustment.objects.create(
            rep=target, team_id=target.team_id, period=quarter.label,
            currency=clean_currency(currency or process.currency), amount=clean_amount(amount),
            reason=clean_text(reason, "reason", max_length=NOTE_MAX, when_empty="say why"),
            by=acting_user)
        record(actor=acting_user, action="forecast.adjust", obj=adjustment,
               changes={"rep": target.username, "period": adjustment.period,
                        "amount": adjustment.amount, "currency": adjustment.currency,
                        "reason": adjustment.reason})
    return adjustment


def week_of(day: date) -> date:
    """The Monday of the week `day` is in: a snapshot's key."""
    return day - timedelta(days=day.weekday())


def take_snapshot(*, acting_user: User | None, today: date | None = None,
                  ) -> tuple[ForecastSnapshot, bool]:
    """Keep what the forecast says this week: per owner, category and currency, the
    quarter's open deals expected to close in it and the deals won in it so far. Once per
    week: when this week's snapshot exists it is returned unchanged (created False).

    Only an admin or revenue operations may take it (the console acts as nobody)."""
    if acting_user is not None and acting_user.role not in ("admin", "ops"):
        raise NotAllowed("Snapshots are taken by the scheduled job, revenue operations or an "
                         "admin.")
    today = today or timezone.localdate()
    week = week_of(today)
    period = F.period_of(today)
    existing = ForecastSnapshot.objects.filter(week=week).first()
    if existing is not None:
        return existing, False
    lines: dict[tuple[int, int | None, str, str], list[Any]] = defaultdict(
        lambda: [0, Decimal("0"), Decimal("0")])
    open_deals = Deal.objects.filter(status=Status.OPEN, expected_close__gte=period.start,
                                     expected_close__lte=period.end)
    for owner, team, category, currency, amount, prob in open_deals.values_list(
            "owner_id", "team_id", "forecast_category", "currency", "amount", "probability"):
        line = lines[(owner, team, category, currency)]
        line[0] += 1
        line[1] += amount
        line[2] += amount * prob / 100
    won = Deal.objects.filter(status=Status.WON, closed_at__gte=start_of(period.start),
                              closed_at__lt=start_of(period.end + timedelta(days=1)))
    for owner, team, currency, amount in won.values_list("owner_id", "team_id", "currency",
                                                         "amount"):
        line = lines[(owner, team, "closed", currency)]
        line[0] += 1
        line[1] += amount
        line[2] += amount
    try:
        with transaction.atomic():
            snapshot = ForecastSnapshot.objects.create(week=week, period=period.label,
                                                       taken_by=acting_user)
            ForecastSnapshotLine.objects.bulk_create(
                ForecastSnapshotLine(snapshot=snapshot, owner_id=owner, team_id=team,
                                     category=category, currency=currency, deals=n,
                                     amount=amount,
                                     weighted=weighted.quantize(CENT, ROUND_HALF_UP))
                for (owner, team, category, currency), (n, amount, weighted)
                in sorted(lines.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][3])))
            record(actor=acting_user, action="forecast.snapshot", obj=snapshot,
                   changes={"week": week.isoformat(), "period": period.label,
                            "lines": len(lines)})
    except IntegrityError:
        # Another run took this week's snapshot between the check and the insert.
        return ForecastSnapshot.objects.get(week=week), False
    return snapshot, True
