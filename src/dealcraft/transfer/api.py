"""`/api/v1/exports/{kind}`: deals and their records as a CSV or XLSX download."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Query, Router, Schema

from dealcraft.api.auth import caller
from dealcraft.api.responses import responses

from .responses import CSV_TYPE, XLSX_TYPE, export_response
from .services import DealScope, start_export

router = Router()

_FILE = {"schema": {"type": "string", "format": "binary"}}
_DOWNLOAD = {200: {"description": "The export, as an attachment (CSV: UTF-8 with a "
                                  "byte-order mark).",
                   "content": {CSV_TYPE.split(";")[0]: _FILE, XLSX_TYPE: _FILE}}}


class ExportQuery(Schema):
    format: Literal["csv", "xlsx"] = "csv"
    status: Literal["open", "won", "lost"] | None = None


@router.get("/{kind}", response=responses({200: None}, 422), summary="Export",
            openapi_extra={"responses": _DOWNLOAD})
def export(request: HttpRequest, kind: Literal["deals", "history", "activities", "evidence"],
           query: Query[ExportQuery]) -> HttpResponseBase:
    """Deals, their stage history, activities or evidence, limited to what the caller may see,
    as CSV (streamed) or XLSX. Text cells that a spreadsheet would run as a formula start
    with `'`. Every export is written to the audit log."""
    started = start_export(acting_user=caller(request), kind=kind, fmt=query.format,
                           via="api", scope=DealScope(status=query.status or ""))
    return export_response(started, query.format)
