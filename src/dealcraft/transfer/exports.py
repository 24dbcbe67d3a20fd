"""Exports: deals, their stage history, activities and evidence as CSV or XLSX.

Rows are read in keyset pages of `CHUNK` (ordered by id), so an export of a million rows holds
one page in memory at a time; CSV is written as it is read, XLSX row by row into its zip.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return) as
a formula, which lets anyone who can name a deal plant one in a manager's spreadsheet. Every
*text* cell starting with such a character is written with a leading `'`, as OWASP's CSV
injection guidance recommends. Numeric columns (ids, amounts, probabilities) come from numeric
database columns, are written as numbers and never changed, so a negative amount stays a
number. XLSX cells are typed (see `xlsx.py`): text is a string cell, never a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from django.db.models import QuerySet

from dealcraft.deals.models import Activity, Deal, Evidence, StageHistory

from .kinds import FORMATS, KINDS
from .xlsx import workbook_pieces, write_workbook

__all__ = ["FORMATS", "KINDS", "Export", "csv_pieces", "export_for", "neutralise",
           "write_csv", "write_xlsx", "xlsx_pieces"]

CHUNK = 2000
#: Rows per piece of a streamed CSV response.
ROWS_PER_PIECE = 500
BOM = "\ufeff"

#: First characters that make a spreadsheet read a cell as a formula (OWASP), and their
#: full-width forms, which some spreadsheets also accept.
FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")


def neutralise(text: str) -> str:
    """`text`, prefixed with `'` when a spreadsheet would otherwise run it as a formula."""
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, where its value comes from, and its type."""

    header: str
    source: str  # a `values_list` path
    kind: str = "text"  # text | number | date | datetime


def _cols(*spec: tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*item) for item in spec)


DEAL_COLUMNS = _cols(
    ("id", "id", "number"), ("name", "name"), ("account", "account__name"),
    ("owner", "owner__username"), ("team", "team__name"), ("stage", "stage"),
    ("stage_name", "stage"), ("status", "status"), ("amount", "amount", "number"),
    ("currency", "currency"), ("probability", "probability", "number"),
    ("forecast_category", "forecast_category"), ("expected_close", "expected_close", "date"),
    ("created_at", "created_at", "datetime"),
    ("stage_entered_at", "stage_entered_at", "datetime"),
    ("closed_at", "closed_at", "datetime"), ("lost_reason", "lost_reason"),
    ("lost_reason_category", "lost_reason_category"), ("lost_from_stage", "lost_from_stage"),
    ("next_step", "next_step__text"), ("next_step_due", "next_step__due", "date"),
    ("external_source", "external_source"), ("external_id", "external_id"),
)
HISTORY_COLUMNS = _cols(
    ("id", "id", "number"), ("deal_id", "deal_id", "number"), ("deal", "deal__name"),
    ("kind", "kind"), ("from_stage", "from_stage"), ("to_stage", "to_stage"),
    ("at", "at", "datetime"), ("by", "by__username"), ("amount", "amount", "number"),
    ("currency", "currency"), ("expected_close", "expected_close", "date"),
    ("forecast_category", "forecast_category"), ("probability", "probability", "number"),
    ("override_reason", "override_reason"),
    ("process_version", "process_version__number", "number"),
)
ACTIVITY_COLUMNS = _cols(
    ("id", "id", "number"), ("deal_id", "deal_id", "number"), ("deal", "deal__name"),
    ("kind", "kind"), ("subject", "subject"), ("body", "body"), ("owner", "owner__username"),
    ("due_at", "due_at", "datetime"), ("done_at", "done_at", "datetime"),
    ("created_at", "created_at", "datetime"), ("external_source", "external_source"),
    ("external_id", "external_id"),
)
EVIDENCE_COLUMNS = _cols(
    ("id", "id", "number"), ("deal_id", "deal_id", "number"), ("deal", "deal__name"),
    ("criterion", "criterion"), ("stage", "stage"), ("kind", "kind"), ("text", "text"),
    ("url", "url"), ("file_name", "file_name"), ("size", "size", "number"),
    ("recorded_by", "recorded_by__username"), ("recorded_at", "recorded_at", "datetime"),
)
COLUMNS: dict[str, tuple[Column, ...]] = {
    "deals": DEAL_COLUMNS, "history": HISTORY_COLUMNS, "activities": ACTIVITY_COLUMNS,
    "evidence": EVIDENCE_COLUMNS,
}
MODELS: dict[str, Any] = {"deals": Deal, "history": StageHistory, "activities": Activity,
                          "evidence": Evidence}


@dataclass
class Export:
    """What one export writes: its columns and a queryset read page by page."""

    kind: str
    rows_query: QuerySet[Any]
    stage_names: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[Column, ...]:
        return COLUMNS[self.kind]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def count(self) -> int:
        return self.rows_query.count()

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        """Database values in column order, a keyset page of `CHUNK` rows at a time.

        Each page is two queries: the page's ids (an index range scan, however the reader's
        visibility filters it), then those rows with their joined names by primary key.
        One query joining everything lets SQLite's planner drive the join from the users
        table and sort every remaining deal for every page.
        """
        sources = list(dict.fromkeys(c.source for c in self.columns))
        assert sources[0] == "id"
        index = [sources.index(c.source) for c in self.columns]
        stage_at = [i for i, c in enumerate(self.columns) if c.header == "stage_name"]
        names = self.stage_names
        ids_query = self.rows_query.order_by("id").values_list("id", flat=True)
        rows_query = self.rows_query.model._base_manager.order_by().values_list(*sources)
        last = 0
        while True:
            ids = list(ids_query.filter(id__gt=last)[:CHUNK])
            if not ids:
                return
            page = sorted(rows_query.filter(id__in=ids), key=itemgetter(0))
            for values in page:
                row = [values[i] for i in index]
                for i in stage_at:
                    row[i] = names.get(row[i], row[i])
                yield tuple(row)
            last = ids[-1]
            if len(ids) < CHUNK:
                return


def export_for(kind: str, deals: QuerySet[Deal], *, all_deals: bool,
               stage_names: dict[str, str] | None = None) -> Export:
    """The export of `kind` over `deals` (already limited to what the reader may see).

    `all_deals` says `deals` is every deal, so records need not be limited to them.
    """
    if kind == "deals":
        query: QuerySet[Any] = deals
    else:
        query = MODELS[kind]._base_manager.all()
        if not all_deals:
            query = query.filter(deal_id__in=deals.order_by().values("id"))
    return Export(kind=kind, rows_query=query.order_by(), stage_names=stage_names or {})


# ---------------------------------------------------------------------------- cells


def _text(value: Any) -> Any:
    if value is None:
        return ""
    return neutralise(value if isinstance(value, str) else str(value))


def _plain(value: Any) -> Any:
    return "" if value is None else str(value)


def _day(value: Any) -> Any:
    return "" if value is None else value.isoformat()


def _moment(value: Any) -> Any:
    if value is None:
        return ""
    if value.tzinfo is not UTC:  # the database hands back UTC already, as a rule
        value = value.astimezone(UTC)
    return value.isoformat(" ", "seconds")[:19]


def _same(value: Any) -> Any:
    return value


CSV_CELLS: dict[str, Callable[[Any], Any]] = {
    "text": _text, "number": _plain, "date": _day, "datetime": _moment}
XLSX_CELLS: dict[str, Callable[[Any], Any]] = {
    "text": _text, "number": _same, "date": _same, "datetime": _same}


def _converter(export: Export, cells: dict[str, Callable[[Any], Any]]
               ) -> Callable[[tuple[Any, ...]], list[Any]]:
    funcs = [cells[c.kind] for c in export.columns]

    def convert(row: tuple[Any, ...]) -> list[Any]:
        return [f(v) for f, v in zip(funcs, row, strict=True)]

    return convert


# ---------------------------------------------------------------------------- writers


def csv_pieces(export: Export, rows: Iterable[tuple[Any, ...]] | None = None) -> Iterator[bytes]:
    """The CSV file in pieces: a UTF-8 byte-order mark and the header, then rows in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(export.headers)
    convert = _converter(export, CSV_CELLS)
    pending = 0
    for row in export.raw_rows() if rows is None else rows:
        writer.writerow(convert(row))
        pending += 1
        if pending >= ROWS_PER_PIECE:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def write_csv(export: Export, out: IO[bytes]) -> int:
    """Write the CSV to a binary stream; returns the number of data rows."""
    counted = _Counter(export.raw_rows())
    for piece in csv_pieces(export, counted):
        out.write(piece)
    return counted.n


def xlsx_pieces(export: Export) -> Iterator[bytes]:
    """The XLSX workbook in pieces, written as the rows are read."""
    convert = _converter(export, XLSX_CELLS)
    return workbook_pieces(export.kind, export.headers,
                           (convert(row) for row in export.raw_rows()),
                           [c.kind for c in export.columns])


def write_xlsx(export: Export, path: Path | IO[bytes]) -> int:
    """Write an XLSX workbook with one sheet; returns the number of data rows."""
    convert = _converter(export, XLSX_CELLS)
    return write_workbook(path, export.kind, export.headers,
                          (convert(row) for row in export.raw_rows()),
                          [c.kind for c in export.columns])


class _Counter:
    """Counts the rows an iterator hands out."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self.rows:
            self.n += 1
            yield row
