"""What the Salesforce, HubSpot and Pipedrive readers share: one export file with its known
columns, read twice — once to check every cell and learn the stages, then on demand to hand
records to the importer.

A `SourceFile` opens a CSV (through `tabular`) or an XLSX sheet, finds each column it knows by
any of its names, and reports what it cannot use: a missing required column is fatal (with its
name and the file), an unknown column is a warning. `SourceFile.cells(row, cells, scanning)`
gives a `Cells` whose typed getters parse one cell; while scanning they record every problem
with file, row, column and value, afterwards they only parse.

Dates written with numbers (`05/03/2024`) are settled per column over the whole file: the scan
feeds every cell to a `DateOrderScan`, and the records are then read with the order it found
(or the one given with `date_format`).

Plain Python, no Django: readers are tested without a database.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from .records import Problem
from .tabular import (
    DateOrder,
    DateOrderScan,
    Invalid,
    Table,
    date_evidence,
    normalise_header,
    open_table,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
)

FORECAST_CATEGORIES = {
    # Salesforce API values and labels, HubSpot labels and internal values
    "pipeline": "pipeline",
    "bestcase": "best_case", "best_case": "best_case", "best case": "best_case",
    "commit": "commit", "forecast": "commit", "mostlikely": "commit", "most likely": "commit",
    "closed": "closed", "closed won": "closed", "closedwon": "closed",
    "omitted": "omitted", "not forecasted": "omitted", "omit": "omitted",
}


def forecast_category(text: str) -> str | None:
    """dealcraft's forecast category for an exported one ("BestCase", "Best Case", "Commit",
    "Omitted"…), "" for an empty cell, None when it names none of them."""
    folded = " ".join(text.lower().split())
    if not folded:
        return ""
    return FORECAST_CATEGORIES.get(folded) or FORECAST_CATEGORIES.get(folded.replace(" ", ""))


@dataclass(slots=True, frozen=True)
class Column:
    """A column a reader knows: the names it is exported under (matched after normalising:
    case, accents, spaces and punctuation do not matter), and whether the file is unusable
    without it."""

    key: str
    names: tuple[str, ...]
    required: bool = False


class XlsxTable:
    """The first sheet of an .xlsx workbook, read in read-only mode (rows streamed), shaped
    like `tabular.Table`. Cells become text as a CSV export would write them."""

    def __init__(self, path: str) -> None:
        from openpyxl import load_workbook  # imported here: only XLSX files need it

        self.path = path
        self.problems: list[Problem] = []
        self._load = load_workbook
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            first = next(sheet.iter_rows(max_row=1, values_only=True), None)
        finally:
            workbook.close()
        if not first or not any(v not in (None, "") for v in first):
            raise ValueError(f"{os.path.basename(path)}: the file is empty")
        from .tabular import clean_header

        self.headers = [clean_header(_xlsx_text(v)) or f"column {i}"
                        for i, v in enumerate(first, start=1)]
        while self.headers and self.headers[-1].startswith("column "):
            self.headers.pop()
        self._keys: dict[str, str] = {}
        for header in self.headers:
            self._keys.setdefault(normalise_header(header), header)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def index(self, name: str) -> int | None:
        header = self._keys.get(normalise_header(name))
        return None if header is None else self.headers.index(header)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        workbook = self._load(self.path, read_only=True, data_only=True)
        width = len(self.headers)
        try:
            sheet = workbook.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True),
                                            start=2):
                cells = [_xlsx_text(v) for v in values[:width]]
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                yield number, cells
        finally:
            workbook.close()


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value)


AnyTable = Table | XlsxTable
EXCEL_EPOCH = datetime(1899, 12, 30)
_SERIAL = re.compile(r"[1-9]\d{4}(\.\d+)?")  # 1927 to 2173


def open_any(path: Path) -> AnyTable:
    """A CSV or XLSX export file; raises ValueError when it cannot be read as either."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            return XlsxTable(os.fspath(path))
        except ValueError:
            raise
        except Exception as error:  # openpyxl raises many kinds for a damaged workbook
            raise ValueError(f"{path.name}: not a readable Excel workbook ({error})") from None
    if path.suffix.lower() == ".xls":
        raise ValueError(f"{path.name}: the old Excel format (.xls) is not read; export CSV "
                         "or XLSX instead")
    return open_table(path)


@dataclass(slots=True)
class SourceFile:
    """One export file and the columns found in it (`idx[key]`: position or None)."""

    path: Path
    table: AnyTable | None
    idx: dict[str, int | None] = field(default_factory=dict)
    date_format: DateOrder | None = None
    date_scans: dict[str, DateOrderScan] = field(default_factory=dict)
    orders: dict[str, DateOrder | None] = field(default_factory=dict)
    unusable: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    def has(self, key: str) -> bool:
        return self.idx.get(key) is not None

    def header(self, key: str) -> str:
        i = self.idx.get(key)
        return self.table.headers[i] if self.table is not None and i is not None else key

    def records(self) -> Iterator[tuple[int, list[str]]]:
        if self.table is None or self.unusable:
            return iter(())
        return self.table.records()

    def cells(self, row: int, cells: list[str], sink: list[Problem] | None) -> Cells:
        return Cells(self, row, cells, sink)

    def settle_dates(self, problems: list[Problem]) -> None:
        """After the scan: the day/month order of every date column. A column whose dates
        could all be read either way follows the file's other date columns when they agree;
        otherwise (or when a column holds both orders) it is a fatal problem."""
        verdicts = {key: scan.verdict() for key, scan in self.date_scans.items()}
        settled: set[DateOrder] = {v for v in verdicts.values() if v == "dmy" or v == "mdy"}
        for key, verdict in verdicts.items():
            scan = self.date_scans[key]
            if isinstance(verdict, Invalid):
                if len(settled) == 1 and not (scan.count_dmy and scan.count_mdy):
                    self.orders[key] = next(iter(settled))
                    continue
                problems.append(verdict.at(self.name, None, self.header(key)))
                self.orders[key] = None
            else:
                self.orders[key] = verdict


def open_source(path: Path, columns: Sequence[Column], problems: list[Problem], *,
                what: str, date_format: DateOrder | None = None,
                known: Callable[[int, str], bool] = lambda index, header: False,
                ignored: frozenset[str] = frozenset(),
                looks_like: Callable[[set[str]], str] = lambda keys: "",
                optional: bool = False) -> SourceFile:
    """Open `path` as the export of `what` ("Opportunity.csv", "a HubSpot deals export"),
    find `columns`, and record in `problems`: the file unreadable or empty (fatal), required
    columns missing (fatal, each by name; when none of them is there the file is called the
    wrong one, with what it `looks_like` if that can tell), and every column neither read,
    `known(position, header)` nor `ignored` (a warning: its values are not imported). An
    `optional` file that is empty is only a warning."""
    source = SourceFile(path=path, table=None, date_format=date_format)
    try:
        table = open_any(path)
    except FileNotFoundError:
        problems.append(Problem(path.name, None, "", f"{what}: the file does not exist"))
        source.unusable = True
        return source
    except (ValueError, OSError) as error:
        message = str(error).removeprefix(f"{path.name}: ")
        empty = message == "the file is empty"
        if empty and optional:
            message += ": nothing is imported from it"
        problems.append(Problem(path.name, None, "", f"{what}: {message}",
                                fatal=not (empty and optional)))
        source.unusable = True
        return source
    source.table = table
    problems.extend(table.problems)
    table.problems.clear()
    for column in columns:
        source.idx[column.key] = next(
            (i for i in (table.index(n) for n in column.names) if i is not None), None)
    required = [c for c in columns if c.required]
    missing = [c for c in required if source.idx[c.key] is None]
    if missing:
        source.unusable = True
        guess = looks_like({normalise_header(h) for h in table.headers})
        if guess or len(missing) == len(required):
            hint = f"; it looks like {guess}" if guess else ""
            problems.append(Problem(
                path.name, 1, "",
                f"this is not {what}: its required columns "
                f"{', '.join(repr(c.names[0]) for c in missing)} are missing{hint}",
                ", ".join(table.headers[:8])))
        else:
            for column in missing:
                problems.append(Problem(
                    path.name, 1, column.names[0],
                    f"required column '{column.names[0]}' is missing from {what}"))
        return source
    used = {i for i in source.idx.values() if i is not None}
    for i, header in enumerate(table.headers):
        if i in used or known(i, header) or normalise_header(header) in ignored:
            continue
        problems.append(Problem(path.name, 1, header,
                                "column not read: its values are not imported", fatal=False))
    return source


class Cells:
    """One record of a `SourceFile`, read cell by cell. With a `sink` (the scan) every cell
    that cannot be read is recorded there; `ok` turns False on a fatal one either way."""

    __slots__ = ("file", "row", "values", "sink", "ok")

    def __init__(self, file: SourceFile, row: int, values: list[str],
                 sink: list[Problem] | None) -> None:
        self.file, self.row, self.values, self.sink, self.ok = file, row, values, sink, True

    def text(self, key: str) -> str:
        i = self.file.idx.get(key)
        return self.values[i].strip() if i is not None else ""

    def raw(self, key: str) -> str:
        """The cell as exported, spaces kept (stage names are kept exactly)."""
        i = self.file.idx.get(key)
        return self.values[i] if i is not None else ""

    def problem(self, key: str, message: str, value: str = "", *, fatal: bool = True) -> None:
        if fatal:
            self.ok = False
        if self.sink is not None:
            self.sink.append(Problem(self.file.name, self.row, self.file.header(key), message,
                                     value, fatal))

    def require(self, key: str, what: str) -> str:
        value = self.text(key)
        if not value:
            self.problem(key, f"{what} is empty")
        return value

    def decimal(self, key: str) -> Decimal | None:
        value = parse_decimal(self.text(key))
        if isinstance(value, Invalid):
            self.problem(key, value.message, value.value)
            return None
        return value

    def percent(self, key: str, *, fractions: bool = False) -> int | None:
        """A probability 0–100 as a whole number; with `fractions`, values from 0 to 1 are
        fractions of one (HubSpot writes 0.4 for 40 %)."""
        text = self.text(key)
        value = parse_decimal(text)
        if isinstance(value, Invalid):
            self.problem(key, "not a percentage", text)
            return None
        if value is None:
            return None
        if fractions and value <= 1 and "%" not in text:
            value *= 100
        if not 0 <= value <= 100:
            self.problem(key, "a probability must be between 0 and 100", text)
            return None
        return int(value.to_integral_value())

    def boolean(self, key: str) -> bool | None:
        value = parse_bool(self.text(key))
        if isinstance(value, Invalid):
            self.problem(key, value.message, value.value)
            return None
        return value

    def _order(self, key: str, text: str) -> DateOrder | None:
        if self.sink is not None:
            scan = self.file.date_scans.get(key)
            if scan is None:
                scan = self.file.date_scans[key] = DateOrderScan(given=self.file.date_format)
            scan.add(text)
            return self.file.date_format
        return self.file.orders.get(key, self.file.date_format)

    def _serial(self, text: str) -> datetime | None:
        """An Excel date serial (days since 1899-12-30), as a workbook holds a date cell that
        was not formatted as one."""
        if isinstance(self.file.table, XlsxTable) and _SERIAL.fullmatch(text):
            return EXCEL_EPOCH + timedelta(days=float(text))
        return None

    def date(self, key: str) -> date | None:
        text = self.text(key)
        if not text:
            return None
        value = parse_date(text, self._order(key, text))
        if isinstance(value, Invalid) and (serial := self._serial(text)) is not None:
            return serial.date()
        if isinstance(value, Invalid):
            if self.sink is not None and date_evidence(text) == "ambiguous":
                return None  # the column's verdict decides, after the scan
            self.problem(key, value.message, value.value)
            return None
        return value

    def datetime(self, key: str, zone: tzinfo | None) -> datetime | None:
        """A date and time; one written without a zone is taken in `zone` (left naive when
        `zone` is None); a date alone is midnight."""
        text = self.text(key)
        if not text:
            return None
        value = parse_datetime(text, self._order(key, text))
        if isinstance(value, Invalid) and (serial := self._serial(text)) is not None:
            value = serial.replace(microsecond=0)
        if isinstance(value, Invalid):
            if self.sink is not None and date_evidence(text) == "ambiguous":
                return None
            self.problem(key, value.message, value.value)
            return None
        if value is None:
            return None
        if value.tzinfo is None and zone is not None:
            value = value.replace(tzinfo=zone)
        return value


def midnight(day: date | None, zone: tzinfo | None = UTC) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=zone)


def count_problem(problems: list[Problem], file: str, column: str, counter: Counter[str],
                  message: str, *, limit: int = 20) -> None:
    """One warning per distinct value of `counter` (the most frequent first, at most `limit`,
    then one line for the rest): "owner X is unknown (3 rows)"."""
    for value, n in counter.most_common(limit):
        problems.append(Problem(file, None, column, f"{message} ({n} row{'s' * (n != 1)})",
                                value, fatal=False))
    rest = len(counter) - limit
    if rest > 0:
        problems.append(Problem(file, None, column, f"{message}: {rest} more values",
                                "", fatal=False))


@dataclass(slots=True)
class StageTally:
    """What an export says about one stage, gathered row by row."""

    name: str
    first_seen: int
    probabilities: Counter[int] = field(default_factory=Counter)
    closed: Counter[bool] = field(default_factory=Counter)
    won: Counter[bool] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    sort_orders: Counter[float] = field(default_factory=Counter)

    def probability(self) -> int | None:
        return self.probabilities.most_common(1)[0][0] if self.probabilities else None

    def category(self) -> str:
        return self.categories.most_common(1)[0][0] if self.categories else ""


class StageBook:
    """Stages in the order they are first met, with their tallies."""

    def __init__(self) -> None:
        self.tallies: dict[str, StageTally] = {}

    def see(self, name: str) -> StageTally:
        tally = self.tallies.get(name)
        if tally is None:
            tally = self.tallies[name] = StageTally(name, len(self.tallies))
        return tally
