"""`/api/v1/reports/<name>`: read-only analytics over the deals the caller may see, one
operation per report in the registry (`dealcraft.analytics.registry`), each with its own
response schema. Parameters are the same for every report; a bad one is a 422 naming it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from dealcraft.analytics.registry import Report, reports, run
from dealcraft.analytics.scope import MAX_LIMIT, Params

from .auth import caller
from .query import reject_unknown
from .responses import responses
from .schemas import IsoDate

router = Router()


class ReportQuery(Schema):
    since: IsoDate | None = Field(None, description="Deals created on or after this date; for "
                                                 "`changes`, the first of the two dates "
                                                 "(default: 30 days before `until`).")
    until: IsoDate | None = Field(None, description="Deals created on or before this date; for "
                                                 "`changes`, the second date (default: "
                                                 "today).")
    team: str | None = Field(None, max_length=150, description="A team's name.")
    rep: str | None = Field(None, max_length=150, description="A deal owner's username.")
    segment: str | None = Field(None, max_length=150,
                                description="The deals' `segment` process field.")
    lead_source: str | None = Field(None, max_length=150,
                                    description="The deals' `lead_source` process field.")
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT,
                              description="How many deals lists hold (stuck deals); "
                                          "default 100.")


def _operation(report: Report) -> Callable[..., dict[str, Any]]:
    def operation(request: HttpRequest, filters: Query[ReportQuery]) -> dict[str, Any]:
        reject_unknown(request, ReportQuery)
        values = {k: v for k, v in filters.dict().items() if v is not None}
        return run(report.name, caller(request), Params.parse(values))

    operation.__name__ = f"report_{report.name}"
    operation.__doc__ = (f"{report.description} Over the deals the caller may see; "
                         "see docs/reports.md for every figure.")
    return operation


for _report in reports().values():
    router.get(f"/{_report.name}", response=responses({200: _report.schema}, 422),
               summary=_report.title, operation_id=f"report_{_report.name}")(
        _operation(_report))
