"""The manager view: the team's pipeline by stage and forecast category, stuck deals, moves
made by override, gate adherence per rep, and the stage funnel, as tables and charts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dealcraft.analytics.reports import pipeline_report
from dealcraft.analytics.team import WINDOW_DAYS, TeamView, may_view_team, team_view
from dealcraft.processes.services import active_process


def chart_data(view: TeamView, report: dict[str, Any]) -> dict[str, Any]:
    """The numbers the charts draw, the same as the tables show (counts only: amounts in
    different currencies do not share an axis)."""
    pipeline = view.pipeline
    return {
        "pipeline": {
            "labels": [row.name for row in pipeline.rows],
            "series": [
                {"key": key, "label": name, "data": [row.cells[i].count for row in pipeline.rows]}
                for i, (key, name) in enumerate(pipeline.categories)
            ],
        },
        "funnel": {
            "labels": [stage["name"] for stage in report["stages"]],
            "reached": [stage["reached"] for stage in report["stages"]],
            "advanced": [stage["advanced"] for stage in report["stages"]],
            "conversion": [stage["conversion"] for stage in report["stages"]],
        },
        "adherence": {
            "labels": [person.name for person in view.adherence],
            "passed": [person.passed for person in view.adherence],
            "warned": [person.warned for person in view.adherence],
            "overridden": [person.overridden for person in view.adherence],
        },
    }


@require_GET
@login_required
def team(request: HttpRequest) -> HttpResponse:
    """Managers see the teams they manage; revenue operations and admins every team."""
    if not may_view_team(request.user):
        raise PermissionDenied("The team view is for sales managers, revenue operations and "
                               "admins. Your own deals are on My day and the pipeline.")
    _, process = active_process()
    view = team_view(request.user, process)
    report = pipeline_report(request.user)
    win_rate = report["win_rate"]
    return render(request, "web/team/team.html", {
        "view": view,
        "report": report,
        "win_rate": "—" if win_rate is None else f"{win_rate:.0%}",
        "funnel": [{**stage, "conversion_percent": "—" if stage["conversion"] is None
                    else f"{stage['conversion']:.0%}"} for stage in report["stages"]],
        "window_days": WINDOW_DAYS,
        "charts": chart_data(view, report),
    })
