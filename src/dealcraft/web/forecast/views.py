"""The forecast pages.

`/forecast/` shows the quarter's forecast over the deals the user may read (won so far, the
category calls, weighted, history-calibrated, P10/P50/P90); a rep's own line with their call
and a form to make one; a manager's roll-up of their teams' reps with each call, the latest
adjustment and its reason, and a form to adjust. The accuracy ledger, the calibration
reliability table and the criteria table are pages of their own. Charts draw the numbers the
tables show.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dealcraft.analytics.registry import get, run
from dealcraft.analytics.team import may_view_team
from dealcraft.deals.models import Deal, ForecastCategory, Status
from dealcraft.deals.services import get_deal_for, update_deal
from dealcraft.domain import forecast as F
from dealcraft.errors import Conflict, InvalidInput, NotAllowed, NotFound
from dealcraft.forecasting.queries import rollup, snapshot_trend
from dealcraft.forecasting.services import (
    adjust_forecast,
    may_adjust,
    may_submit,
    submit_forecast,
)
from dealcraft.people.models import User
from dealcraft.processes.services import active_process

#: The week of the quarter the accuracy page opens on (mid-quarter).
DEFAULT_WEEK = 7
#: At most this many of a rep's own deals are listed for choosing their categories.
OWN_DEALS_LIMIT = 100
#: The categories an owner may choose for an open deal.
CHOICES = [(k, v) for k, v in ForecastCategory.choices if k != ForecastCategory.CLOSED]


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


def _choices(today: Any) -> list[F.Period]:
    """The quarters a call can be looked at and made for here: this one and the next."""
    current = F.period_of(today)
    return [current, current.next()]


def _period(value: str | None, choices: list[F.Period]) -> F.Period:
    for period in choices:
        if value == period.label:
            return period
    return choices[0]


def _back(period: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse('web:forecast')}?period={period}")


def _chart(name: str, result: dict[str, Any]) -> dict[str, Any] | None:
    report = get(name)
    return report.chart(result) if report.chart is not None else None


@require_GET
@login_required
def forecast(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _, process = active_process()
    choices = _choices(timezone.localdate())
    period = _period(request.GET.get("period"), choices)
    report = run("forecast", user)
    rows = [row for row in report["periods"] if row["period"] == period.label]
    currency = request.GET.get("currency") or process.currency
    view = rollup(user, period, currency=currency) if user.role != "viewer" else None
    leads = may_view_team(user)
    return render(request, "web/forecast/forecast.html", {
        "period": period, "choices": choices, "rows": rows, "currency": currency,
        "currencies": sorted({r["currency"] for r in report["periods"]} | {process.currency}),
        "view": view, "leads": leads, "may_submit": may_submit(user),
        "adjustable": {line.rep.pk for line in view.lines if may_adjust(user, line.rep)}
        if view else set(),
        "chart": _chart("forecast", {"periods": rows}),
        "snapshots": snapshot_trend(user, period, currency) if view else [],
        "own_deals": list(Deal.objects.filter(
            owner=user, status=Status.OPEN, expected_close__gte=period.start,
            expected_close__lte=period.end).order_by("expected_close", "id")[:OWN_DEALS_LIMIT])
        if may_submit(user) else [],
        "category_choices": CHOICES,
        "report": report,
    })


@require_POST
@login_required
def submit(request: HttpRequest) -> HttpResponse:
    """A rep's call for a quarter."""
    user = _user(request)
    if not may_submit(user):
        raise PermissionDenied("Only reps submit a forecast call, for their own deals.")
    period = request.POST.get("period") or F.period_of(timezone.localdate()).label
    try:
        call = submit_forecast(acting_user=user, period=period,
                               amount=request.POST.get("amount", ""),
                               currency=request.POST.get("currency") or None,
                               note=request.POST.get("note", ""))
    except InvalidInput as exc:
        messages.error(request, f"Your call was not saved: {exc.message}")
        return _back(period)
    messages.success(request, f"Your call for {call.period} is {call.amount:,.2f} "
                              f"{call.currency}.")
    return _back(call.period)


@require_POST
@login_required
def adjust(request: HttpRequest) -> HttpResponse:
    """A manager's adjustment of one rep's call, with the reason."""
    user = _user(request)
    period = request.POST.get("period") or F.period_of(timezone.localdate()).label
    rep = User.objects.filter(username=request.POST.get("rep", "")).first()
    if rep is None or not may_adjust(user, rep):
        raise PermissionDenied("Only the manager of the rep's team (or an admin) may adjust "
                               "their forecast call.")
    try:
        change = adjust_forecast(acting_user=user, rep=rep, period=period,
                                 amount=request.POST.get("amount", ""),
                                 currency=request.POST.get("currency") or None,
                                 reason=request.POST.get("reason", ""))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except InvalidInput as exc:
        messages.error(request, f"The adjustment was not saved: {exc.message}")
        return _back(period)
    messages.success(request, f"{rep.display_name}'s call for {change.period} is now "
                              f"{change.amount:,.2f} {change.currency}.")
    return _back(change.period)


@require_POST
@login_required
def category(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The owner's choice of a deal's forecast category; later stage changes keep it."""
    user = _user(request)
    period = request.POST.get("period") or F.period_of(timezone.localdate()).label
    try:
        deal = get_deal_for(user, deal_id)
        version = request.POST.get("version", "")
        update_deal(acting_user=user, deal=deal,
                    version=int(version) if version.isdigit() else None,
                    changes={"forecast_category": request.POST.get("category", "")})
    except NotFound:
        raise Http404("No such deal.") from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except (InvalidInput, Conflict) as exc:
        messages.error(request, f"The category was not changed: {exc.message}")
        return _back(period)
    messages.success(request, f"{deal.name} is now in "
                              f"{ForecastCategory(deal.forecast_category).label.lower()}, kept "
                              "when the deal changes stage.")
    return _back(period)


@require_GET
@login_required
def accuracy(request: HttpRequest) -> HttpResponse:
    """The forecast-accuracy ledger at week N: every rep's lines for managers, ops and
    admins; a rep's own lines; and everyone's together over the deals the user may read."""
    report = run("accuracy", _user(request))
    try:
        week = int(request.GET.get("week", DEFAULT_WEEK))
    except ValueError:
        week = DEFAULT_WEEK
    week = min(max(week, 1), F.WEEKS)
    rows = [r for r in report["rows"] if r["week"] == week]
    return render(request, "web/forecast/accuracy.html", {
        "report": report, "week": week, "weeks": range(1, F.WEEKS + 1), "rows": rows,
        "chart": _chart("accuracy", report),
    })


@require_GET
@login_required
def calibration(request: HttpRequest) -> HttpResponse:
    report = run("calibration", _user(request))
    return render(request, "web/forecast/calibration.html", {
        "report": report, "chart": _chart("calibration", report)})


@require_GET
@login_required
def criteria(request: HttpRequest) -> HttpResponse:
    report = run("criteria", _user(request))
    return render(request, "web/forecast/criteria.html", {
        "report": report, "chart": _chart("criteria", report)})
