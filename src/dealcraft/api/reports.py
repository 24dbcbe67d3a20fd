"""`/api/v1/reports`: read-only analytics over the deals the caller may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from dealcraft.analytics.reports import pipeline_report

from .auth import caller
from .responses import responses
from .schemas import PipelineReportOut

router = Router()


@router.get("/pipeline", response=responses({200: PipelineReportOut}),
            summary="Pipeline report")
def pipeline(request: HttpRequest) -> dict[str, Any]:
    """Deal counts, win rate, stage-to-stage conversion and time in stage, and amounts per
    currency (never summed across currencies), over the deals the caller may see."""
    return pipeline_report(user=caller(request))
