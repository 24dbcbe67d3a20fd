"""Any CSV, through a mapping file: which column holds which deal field, how values translate,
constants, and the date format. The mapping file's reference is docs/imports.md.

`load_mapping(path)` reads and checks the mapping file (every problem with its line);
`read_csv(files, mapping)` reads the deals file (and the history file the mapping names) into a
`SourceExport`. The deals file is checked once when read — every cell of the mapped columns,
the stages, the date order of each date column — and read again, streamed, whenever the
importer iterates it. The history file is streamed only (its date columns are scanned first
unless the mapping gives the date format or its first rows are ISO dates).

Plain Python (no Django).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from dealcraft.domain.yamlsource import load

from .records import (
    Problem,
    SourceAccount,
    SourceActivity,
    SourceContact,
    SourceDeal,
    SourceHistory,
    SourceRole,
    SourceStage,
    SourceUser,
)
from .tabular import (
    DateOrder,
    DateOrderScan,
    Invalid,
    Table,
    open_table,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
)

DEAL_COLUMNS = ("id", "name", "stage", "owner", "account", "amount", "currency", "close_date",
                "created_at", "closed_at", "stage_entered_at", "probability",
                "forecast_category", "next_step", "loss_reason")
REQUIRED = ("id", "name", "stage")
HISTORY_COLUMNS = ("deal", "at", "stage", "amount", "close_date", "probability",
                   "forecast_category", "by")
DATE_COLUMNS = ("close_date", "created_at", "closed_at", "stage_entered_at", "at")
VALUE_MAPS = ("stage", "owner", "forecast_category", "currency")
TOP_KEYS = ("source", "encoding", "delimiter", "date_format", "decimal_comma", "columns",
            "fields", "constants", "stages", "values", "history")
WON_NAMES = re.compile(r"\b(won|gagn[eé]e?|ganad[oa]|gewonnen|vinto|closed won)\b", re.I)
LOST_NAMES = re.compile(r"\b(lost|perdu|perdid[oa]|verloren|perso|closed lost)\b", re.I)
#: Rows of a history file looked at to decide that its dates need no scan (all ISO).
ISO_SAMPLE_ROWS = 1000


@dataclass
class HistoryMapping:
    file: str = ""
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class Mapping_:
    """A checked mapping file."""

    path: str
    source: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None
    date_format: DateOrder | None = None
    decimal_comma: bool | None = None
    columns: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    stages: list[SourceStage] = field(default_factory=list)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    history: HistoryMapping | None = None

    @property
    def stage_map(self) -> dict[str, str] | None:
        """Source stage → stage of the active process, or None: the stages make a process."""
        return self.values.get("stage") or None

    @property
    def owner_map(self) -> dict[str, str]:
        return self.values.get("owner", {})

    @property
    def value_maps(self) -> dict[str, dict[str, str]]:
        maps = {k: v for k, v in self.values.items() if k in ("forecast_category", "currency")}
        if self.constants.get("currency"):
            maps.setdefault("currency", {})[""] = self.constants["currency"]
        return maps


class MappingInvalid(Exception):
    """The mapping file has problems; `problems` lists every one with its line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the mapping file has {len(problems)} problem(s)")
        self.problems = problems


def load_mapping(path: str | Path, *, date_format: DateOrder | None = None) -> Mapping_:
    """Read and check a mapping file; raises MappingInvalid with every problem. A
    `date_format` given here (the command's --date-format) wins over the file's."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingInvalid([Problem(name, None, "", f"cannot read the mapping file: {exc}")]
                             ) from None
    data, yproblems = load(text)
    problems = [Problem(name, p.line, "", p.message) for p in yproblems]
    if problems:
        raise MappingInvalid(problems)
    if not isinstance(data, Mapping):
        raise MappingInvalid([Problem(name, 1, "", "the mapping file must be a mapping")])
    m = Mapping_(path=str(path))

    def bad(key: str, message: str) -> None:
        where = data.line_of(key.split(".")[0]) if hasattr(data, "line_of") else None
        problems.append(Problem(name, where, key, message))

    for key in data:
        if key not in TOP_KEYS:
            bad(str(key), f"unknown key '{key}' (known: {', '.join(TOP_KEYS)})")
    m.source = _text(data.get("source", "csv")) or "csv"
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,29}", m.source):
        bad("source", "source is a short lower-case name (such as csv or legacy_crm)")
    m.encoding = _text(data.get("encoding")) or None
    if m.encoding:
        import codecs
        try:
            codecs.lookup(m.encoding)
        except LookupError:
            bad("encoding", f"unknown encoding '{m.encoding}'")
    delimiter = data.get("delimiter")
    if delimiter is not None:
        m.delimiter = "\t" if str(delimiter) in ("tab", "\\t") else str(delimiter)
        if len(m.delimiter) != 1:
            bad("delimiter", "delimiter is one character (or `tab`)")
    fmt = date_format or _text(data.get("date_format")) or None
    if fmt not in (None, "dmy", "mdy"):
        bad("date_format", "date_format is dmy or mdy")
    else:
        m.date_format = fmt  # type: ignore[assignment]
    if "decimal_comma" in data:
        if not isinstance(data["decimal_comma"], bool):
            bad("decimal_comma", "decimal_comma is true or false")
        else:
            m.decimal_comma = data["decimal_comma"]
    m.columns = _string_map(data.get("columns"), "columns", bad)
    for key in m.columns:
        if key not in DEAL_COLUMNS:
            bad("columns", f"unknown deal field '{key}' (known: {', '.join(DEAL_COLUMNS)})")
    m.constants = _string_map(data.get("constants"), "constants", bad)
    for key in m.constants:
        if key not in DEAL_COLUMNS or key in ("id", "name"):
            bad("constants", f"'{key}' cannot be a constant")
    for key in REQUIRED:
        if key not in m.columns and key not in m.constants:
            bad("columns", f"columns must name the column of '{key}'")
    m.fields = _string_map(data.get("fields"), "fields", bad)
    for key in m.fields:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            bad("fields", f"'{key}' is not a field key (lower-case letters, digits, _)")
    raw_values = data.get("values") or {}
    if not isinstance(raw_values, Mapping):
        bad("values", "values is a mapping of value maps")
    else:
        for kind, table in raw_values.items():
            if kind not in VALUE_MAPS:
                bad("values", f"unknown value map '{kind}' (known: {', '.join(VALUE_MAPS)})")
                continue
            m.values[str(kind)] = _string_map(table, f"values.{kind}", bad)
    stages = data.get("stages")
    if stages is not None:
        if not isinstance(stages, list):
            bad("stages", "stages is a list of {name, won?, lost?, probability?}")
        else:
            for i, item in enumerate(stages):
                entry = {"name": item} if isinstance(item, str) else item
                if not isinstance(entry, Mapping) or not _text(entry.get("name")):
                    bad("stages", f"stage {i + 1} needs a name")
                    continue
                won, lost = bool(entry.get("won")), bool(entry.get("lost"))
                probability = entry.get("probability")
                if probability is not None and (not isinstance(probability, int)
                                                or not 0 <= probability <= 100):
                    bad("stages", f"stage {i + 1}: probability is a whole number 0–100")
                    probability = None
                m.stages.append(SourceStage(
                    name=_text(entry["name"]), order=float(i), probability=probability,
                    is_closed=won or lost, is_won=won,
                    forecast_category=_text(entry.get("forecast_category"))))
    history = data.get("history")
    if history is not None:
        if not isinstance(history, Mapping) or not _text(history.get("file")):
            bad("history", "history needs `file` (the history CSV, beside the mapping file or "
                "absolute) and `columns`")
        else:
            columns = _string_map(history.get("columns"), "history.columns", bad)
            for key in columns:
                if key not in HISTORY_COLUMNS:
                    bad("history", f"unknown history field '{key}' (known: "
                        f"{', '.join(HISTORY_COLUMNS)})")
            for key in ("deal", "at", "stage"):
                if key not in columns:
                    bad("history", f"history.columns must name the column of '{key}'")
            m.history = HistoryMapping(file=_text(history["file"]), columns=columns)
    if problems:
        raise MappingInvalid(problems)
    return m


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _string_map(value: Any, where: str, bad: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        bad(where, f"{where} is a mapping")
        return {}
    out: dict[str, str] = {}
    for k, v in value.items():
        if v is None or isinstance(v, list | dict):
            bad(where, f"{where}.{k} needs one value")
            continue
        out[str(k)] = str(v)
    return out


# ---------------------------------------------------------------------------- reading


@dataclass
class CsvExport:
    """A CSV (and its history CSV) read through a mapping: a `SourceExport`."""

    mapping: Mapping_
    deals_path: Path
    source: str = "csv"
    stages: list[SourceStage] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = self.deals_path
        self.source = self.mapping.source
        self.table: Table | None = None
        self.history_table: Table | None = None
        self.orders: dict[str, DateOrder | None] = {}
        self.history_orders: dict[str, DateOrder | None] = {}
        self.usable = True
        try:
            self.table = open_table(self.deals_path, delimiter=self.mapping.delimiter,
                                    encoding=self.mapping.encoding)
        except (OSError, ValueError) as exc:
            self.problems.append(Problem(self.deals_path.name, None, "", str(exc)))
            return
        self.idx = self._columns(self.table, {**self.mapping.columns,
                                              **{f"field:{k}": v for k, v in
                                                 self.mapping.fields.items()}})
        if self.mapping.history is not None:
            hpath = Path(self.mapping.history.file)
            if not hpath.is_absolute():
                hpath = Path(self.mapping.path).parent / hpath
            try:
                self.history_table = open_table(hpath, delimiter=self.mapping.delimiter,
                                                encoding=self.mapping.encoding)
            except (OSError, ValueError) as exc:
                self.problems.append(Problem(hpath.name, None, "", str(exc)))
            else:
                self.hidx = self._columns(self.history_table, self.mapping.history.columns)
        if self.usable:
            self._scan()

    def _columns(self, table: Table, columns: Mapping[str, str]) -> dict[str, int]:
        idx: dict[str, int] = {}
        for key, header in columns.items():
            i = table.index(header)
            if i is None:
                self.usable = False
                self.problems.append(Problem(table.name, 1, header,
                                             f"no column '{header}' (mapped to {key}); the "
                                             f"columns are: {', '.join(table.headers)}"))
            else:
                idx[key] = i
        return idx

    # --- the scan

    def _scan(self) -> None:
        assert self.table is not None
        table, idx = self.table, self.idx
        scans = {k: DateOrderScan(given=self.mapping.date_format)
                 for k in DATE_COLUMNS if k in idx}
        seen: Counter[str] = Counter()
        probabilities: dict[str, Counter[int]] = {}
        ids: dict[str, int] = {}
        i_probability = idx.get("probability")
        for row, cells in table.records():
            for key, scan in scans.items():
                scan.add(cells[idx[key]].strip())
            key_id = cells[idx["id"]].strip() if "id" in idx else ""
            if not key_id:
                self.problems.append(table.problem(row, self._header("id"), "no deal id"))
            elif key_id in ids:
                self.problems.append(table.problem(
                    row, self._header("id"), f"the deal id repeats (first on row {ids[key_id]})",
                    key_id))
            else:
                ids[key_id] = row
            stage = self._stage_cell(cells)
            seen[stage] += 1
            if i_probability is not None:
                text = cells[i_probability]
                p = int(text) if text.isascii() and text.isdigit() else parse_int(text)
                if isinstance(p, int):
                    counter = probabilities.get(stage)
                    if counter is None:
                        counter = probabilities[stage] = Counter()
                    counter[p] += 1
        # A column whose dates cannot tell day from month follows the file's other date
        # columns when those agree (a spreadsheet writes all its dates one way).
        decided = {scan.verdict() for scan in scans.values()} & {"dmy", "mdy"}
        file_order = decided.pop() if len(decided) == 1 else None
        for key, scan in scans.items():
            verdict = scan.verdict()
            if isinstance(verdict, Invalid) and file_order and not (
                    scan.count_dmy or scan.count_mdy):
                verdict = file_order
            if isinstance(verdict, Invalid):
                self.problems.append(verdict.at(table.name, None, self._header(key)))
                self.orders[key] = None
            else:
                self.orders[key] = verdict
        self._deal_ids = ids
        self._stages(seen, probabilities)
        self._scan_history()
        self.problems.extend(table.problems)

    def _scan_history(self) -> None:
        table = self.history_table
        if table is None:
            return
        dates = [k for k in ("at", "close_date") if k in self.hidx]
        scans = {k: DateOrderScan(given=self.mapping.date_format) for k in dates}
        sample_iso = True
        for n, (_, cells) in enumerate(table.records()):
            if n >= ISO_SAMPLE_ROWS and sample_iso:
                break
            for key, scan in scans.items():
                text = cells[self.hidx[key]].strip()
                if text and not (text[:4].isdigit() and text[4:5] == "-"):
                    sample_iso = False
                scan.add(text)
        for key, scan in scans.items():
            verdict = scan.verdict()
            if isinstance(verdict, Invalid):
                self.problems.append(verdict.at(table.name, None,
                                                self.mapping.history.columns[key]  # type: ignore
                                                ))
                self.history_orders[key] = None
            else:
                self.history_orders[key] = verdict

    def _stages(self, seen: Counter[str], probabilities: dict[str, Counter[int]]) -> None:
        listed = {s.name: s for s in self.mapping.stages}
        stages = list(self.mapping.stages)
        extra = [name for name in seen if name not in listed]
        if self.mapping.stages and extra and not self.mapping.stage_map:
            for name in extra:
                self.problems.append(Problem(self.deals_path.name, None, self._header("stage"),
                                             f"the stage '{name}' ({seen[name]} deals) is not "
                                             "in the mapping file's stages", name))
        # Unlisted stages: closed ones by their name, open ones by probability, then by the
        # order they first appear in.
        for position, name in enumerate(extra):
            common = probabilities.get(name)
            probability = common.most_common(1)[0][0] if common else None
            won = bool(WON_NAMES.search(name))
            lost = not won and bool(LOST_NAMES.search(name))
            order = 1000.0 + (probability if probability is not None else 0) + position / 1e6
            stages.append(SourceStage(name=name, order=order, probability=probability,
                                      is_closed=won or lost, is_won=won))
        self.stages = stages

    def _header(self, key: str) -> str:
        return self.mapping.columns.get(key, key)

    def _stage_cell(self, cells: list[str]) -> str:
        if "stage" in self.idx:
            value = cells[self.idx["stage"]].strip()
            if value:
                return value
        return self.mapping.constants.get("stage", "")

    # --- SourceExport

    def users(self) -> Iterable[SourceUser]:
        return ()

    def accounts(self) -> Iterable[SourceAccount]:
        return ()

    def contacts(self) -> Iterable[SourceContact]:
        return ()

    def roles(self) -> Iterable[SourceRole]:
        return ()

    def activities(self) -> Iterable[SourceActivity]:
        return ()

    def deals(self) -> Iterator[SourceDeal]:
        if self.table is None or not self.usable:
            return
        table, idx, consts = self.table, self.idx, self.mapping.constants
        name, comma = table.name, self.mapping.decimal_comma
        fields = [(k[6:], i) for k, i in idx.items() if k.startswith("field:")]
        problems = self.problems
        # Each deal field's column (or None) and constant, in DEAL_COLUMNS order: a row's
        # texts come out of one comprehension.
        plan = [(idx.get(key), consts.get(key, "")) for key in DEAL_COLUMNS]
        orders = [self.orders.get(key) for key in ("close_date", "created_at", "closed_at",
                                                   "stage_entered_at")]
        fromiso, fromiso_date = datetime.fromisoformat, date.fromisoformat

        def when(raw: str, order: DateOrder | None, row: int, key: str) -> datetime | None:
            if not raw:
                return None
            if len(raw) >= 19 and raw[4] == "-":  # the common case: ISO 8601, as exported
                try:
                    return fromiso(raw)
                except ValueError:
                    pass
            value = parse_datetime(raw, order)
            if isinstance(value, Invalid):
                problems.append(value.at(name, row, self._header(key)))
                return None
            return value

        for row, cells in table.records():
            (key, deal_name, stage, owner, account, raw_amount, currency, raw_close, raw_created,
             raw_closed, raw_entered, raw_probability, category, next_step, loss_reason) = [
                (cells[i].strip() if i is not None else "") or constant for i, constant in plan]
            amount: Decimal | None = None
            if raw_amount:
                value = parse_decimal(raw_amount, comma)
                if isinstance(value, Invalid):
                    problems.append(value.at(name, row, self._header("amount")))
                else:
                    amount = value
                    if not currency:
                        currency = _currency_in(raw_amount)
            probability: int | None = None
            if raw_probability:
                if raw_probability.isascii() and raw_probability.isdigit():
                    probability = int(raw_probability)
                else:
                    p = parse_decimal(raw_probability, comma)
                    if isinstance(p, Invalid):
                        problems.append(p.at(name, row, self._header("probability")))
                    elif p is not None:
                        if Decimal(0) < p < Decimal(1) and "%" not in raw_probability:
                            p *= 100
                        probability = int(p.to_integral_value())
            close_date: date | None = None
            if len(raw_close) == 10 and raw_close[4] == "-":
                try:
                    close_date = fromiso_date(raw_close)
                except ValueError:
                    close_date = None
            if close_date is None:
                close = when(raw_close, orders[0], row, "close_date")
                close_date = close.date() if close is not None else None
            yield SourceDeal(
                key, deal_name, stage, owner, account, amount, currency, close_date,
                when(raw_created, orders[1], row, "created_at"),
                when(raw_closed, orders[2], row, "closed_at"), probability, category,
                next_step, loss_reason,
                {k: cells[i].strip() for k, i in fields if cells[i].strip()}, name, row,
                when(raw_entered, orders[3], row, "stage_entered_at"))

    def history(self) -> Iterator[SourceHistory]:
        table = self.history_table
        if table is None or not self.usable:
            return
        idx = self.hidx
        name, comma = table.name, self.mapping.decimal_comma
        problems = self.problems
        i_deal, i_at, i_stage = idx["deal"], idx["at"], idx["stage"]
        i_amount, i_close = idx.get("amount"), idx.get("close_date")
        i_probability, i_category, i_by = (idx.get("probability"),
                                           idx.get("forecast_category"), idx.get("by"))
        order_at = self.history_orders.get("at")
        order_close = self.history_orders.get("close_date")
        headers = self.mapping.history.columns if self.mapping.history else {}
        fromiso, utc_tails, make = datetime.fromisoformat, _UTC_TAILS, CsvHistory
        # A deal's rows mostly repeat its amount and close date: parse each text once.
        last_amount_text, last_amount = "", None
        last_close_text, last_close = "", None
        for row, cells in table.records():
            text = cells[i_at]
            at: datetime | Invalid | None = None
            utc = ""
            if len(text) >= 19 and text[4] == "-":  # the common case: ISO 8601, as exported
                try:
                    at = fromiso(text)
                except ValueError:
                    at = None
                else:
                    if text[19:] in utc_tails and text[13] == ":" and text[16] == ":":
                        utc = f"{text[:10]} {text[11:19]}"
            if at is None:
                at = parse_datetime(text, order_at)
            if not isinstance(at, datetime):
                problems.append((at or Invalid("no date", "")).at(name, row, headers["at"]))
                continue
            amount: Decimal | None = None
            if i_amount is not None and cells[i_amount]:
                text = cells[i_amount]
                if text == last_amount_text:
                    amount = last_amount
                else:
                    value = parse_decimal(text, comma)
                    if isinstance(value, Invalid):
                        problems.append(value.at(name, row, headers["amount"]))
                    else:
                        amount = last_amount = value
                        last_amount_text = text
            close: date | None = None
            if i_close is not None and cells[i_close]:
                text = cells[i_close]
                if text == last_close_text:
                    close = last_close
                else:
                    parsed = parse_date(text, order_close)
                    if isinstance(parsed, Invalid):
                        problems.append(parsed.at(name, row, headers["close_date"]))
                    else:
                        close = last_close = parsed
                        last_close_text = text
            probability = None
            if i_probability is not None and cells[i_probability]:
                p = parse_int(cells[i_probability])
                if isinstance(p, Invalid):
                    problems.append(p.at(name, row, headers["probability"]))
                else:
                    probability = p
            yield make(cells[i_deal], at, cells[i_stage].strip(), amount, close, probability,
                       cells[i_category] if i_category is not None else "",
                       cells[i_by] if i_by is not None else "", name, row, utc)


#: How an ISO 8601 cell in UTC ends after its seconds (`…T09:00:00.000Z`, `…+00:00`).
_UTC_TAILS = frozenset({"Z", ".000Z", ".000000Z", "+00:00", ".000+00:00", ".000000+00:00"})


@dataclass(slots=True)
class CsvHistory(SourceHistory):
    """A history row of a mapped CSV. `utc` is its time as UTC text without zone
    (`2024-03-05 14:22:10`) when the cell was ISO 8601 in UTC to the second, else "": the
    importer stores that text as it is instead of formatting the time again."""

    utc: str = ""


def _currency_in(text: str) -> str:
    from .tabular import parse_money

    money = parse_money(text)
    return money[1] if isinstance(money, tuple) else ""


def read_csv(path: str | Path, mapping: Mapping_) -> CsvExport:
    """Read a deals CSV (and the history CSV its mapping names) through a checked mapping."""
    return CsvExport(mapping=mapping, deals_path=Path(path))
