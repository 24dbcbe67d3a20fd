"""An export as an HTTP download, shared by the web page and the API.

Both stream as the rows are read from the database: CSV line by line, XLSX as a zip written
with data descriptors (no seeking back), so the first bytes leave at once and memory stays
flat however many rows there are.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from .exports import Export, csv_pieces, xlsx_pieces

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def filename(kind: str, fmt: str) -> str:
    return f"dealcraft-{kind}-{timezone.localdate():%Y-%m-%d}.{fmt}"


def export_response(export: Export, fmt: str) -> HttpResponseBase:
    name = filename(export.kind, fmt)
    response: HttpResponseBase
    if fmt == "csv":
        response = StreamingHttpResponse(csv_pieces(export), content_type=CSV_TYPE)
    else:
        response = StreamingHttpResponse(xlsx_pieces(export), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
