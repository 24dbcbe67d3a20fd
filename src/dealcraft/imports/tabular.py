"""Reading real CSV files: encodings, delimiters, headers, row numbers, dates and numbers.

Pure Python, no Django: every reader (Salesforce, HubSpot, Pipedrive, a mapped CSV) opens its
files here and parses cells with the helpers below, so that messy files are handled the same way
everywhere.

The API::

    table = open_table(path)                 # or open_table(path, delimiter=";", encoding="cp1252")
    table.headers                            # the header cells, cleaned ("Stage Name")
    table.column("stage name")               # the header as written, found by its normalised key
    for row_number, row in table.rows():     # row: {header: cell}; header is row 1
        ...
    for row_number, cells in table.records():   # the same as lists, faster

    parse_date(text, order=None)             # date | None | Invalid
    parse_datetime(text, order=None)         # datetime | None | Invalid (aware when the text
                                             #   carries a zone, e.g. 2024-03-05T14:22:10.000Z)
    parse_decimal(text, decimal_comma=None)  # Decimal | None | Invalid
    parse_money(text)                        # (Decimal, "EUR") | None | Invalid
    parse_int(text), parse_bool(text)
    DateOrderScan / scan_date_order(values)  # settles D/M/Y against M/D/Y over a whole column

Every helper returns None for an empty cell, and an `Invalid` (a message and the value) for a
cell it cannot read; `Invalid.at(file, row, column)` turns it into a `Problem` for the report.

Row numbers are those a spreadsheet shows: the header is row 1, the first record row 2, and a
record whose quoted cell spans several lines is still one row. Blank lines count as rows (a
spreadsheet shows them) but are not yielded.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Literal

from .records import Problem

DateOrder = Literal["dmy", "mdy"]
DELIMITERS = (",", ";", "\t", "|")
#: How much of a file the encoding and delimiter are guessed from before a full check.
SAMPLE_BYTES = 256 * 1024
CHUNK_BYTES = 1024 * 1024

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(slots=True, frozen=True)
class Invalid:
    """A cell that could not be read: why, and the text as found."""

    message: str
    value: str

    def at(self, file: str, row: int | None, column: str, *, fatal: bool = True) -> Problem:
        return Problem(file=file, row=row, column=column, message=self.message,
                       value=self.value, fatal=fatal)


# --- encodings ---------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Bytes that Windows-1252 leaves undefined: a file holding one is Latin-1.
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")


def detect_encoding(path: str | os.PathLike[str]) -> str:
    """The encoding of a text file: a byte-order mark decides (UTF-8, UTF-16, UTF-32); else
    UTF-8 when the whole file decodes as UTF-8; else Windows-1252 (what Excel writes on
    Windows), or Latin-1 when the file holds a byte Windows-1252 does not define.

    The whole file is checked in chunks, so a stray Latin-1 byte on row two million still
    decides, in constant memory."""
    with open(path, "rb") as f:
        head = f.read(4)
        for bom, name in _BOMS:
            if head.startswith(bom):
                return name
        f.seek(0)
        sample = f.read(SAMPLE_BYTES)
        if _looks_utf16_without_bom(sample):
            return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        holes = False
        utf8 = True
        while chunk := f.read(CHUNK_BYTES):
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8:
                holes = holes or any(b in _CP1252_HOLES for b in chunk if b >= 0x80)
                if holes:
                    break
        if utf8:
            try:
                decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
    return "latin-1" if holes else "cp1252"


def _looks_utf16_without_bom(sample: bytes) -> bool:
    if len(sample) < 4:
        return False
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    return max(even, odd) > half * 0.4 and min(even, odd) < half * 0.05


# --- headers -----------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def clean_header(text: str) -> str:
    """A header cell as shown: no BOM, no surrounding or repeated white space."""
    text = text.replace("\ufeff", "").replace("\u00a0", " ").replace("\u202f", " ")
    return _SPACES.sub(" ", text).strip()


def normalise_header(text: str) -> str:
    """A header's key for lookups: lower case, accents and punctuation folded to `_`
    ("Stage Name", "stage_name" and "STAGE-NAME" all give `stage_name`)."""
    folded = unicodedata.normalize("NFKD", clean_header(text)).encode("ascii", "ignore")
    return _NON_WORD.sub("_", folded.decode("ascii").lower()).strip("_")


# --- delimiters --------------------------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    """The delimiter among `,` `;` tab `|` that splits the sample's header into the most
    columns and keeps every following complete record at the same width."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last record
    sample = "".join(lines[:200])
    best, best_score = ",", (-1, -1, -1)
    for candidate in DELIMITERS:
        try:
            records = list(csv.reader(io.StringIO(sample), delimiter=candidate))
        except csv.Error:
            continue
        records = [r for r in records if r]
        if not records:
            continue
        width = len(records[0])
        if width < 2:
            score = (0, 0, 0)
        else:
            body = records[1:-1] if len(records) > 2 else records[1:]
            same = sum(1 for r in body if len(r) == width)
            score = (1, same * 2 >= len(body), width)
        if score > best_score:
            best, best_score = candidate, score
    return best


# --- tables ------------------------------------------------------------------------------


@dataclass(slots=True)
class Table:
    """An opened CSV file: its encoding, delimiter and headers; rows are read on demand, each
    call starting again from the top of the file (a million rows never sit in memory)."""

    path: str
    encoding: str
    delimiter: str
    headers: list[str]
    problems: list[Problem] = field(default_factory=list)
    _keys: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file's name, as problems report it."""
        return os.path.basename(self.path)

    def column(self, name: str) -> str | None:
        """The header as written whose normalised key matches `name`'s, or None."""
        return self._keys.get(normalise_header(name))

    def index(self, name: str) -> int | None:
        """The 0-based position of the column `name` (matched like `column`), or None."""
        header = self.column(name)
        return None if header is None else self.headers.index(header)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every non-blank record after the header. Short records are
        padded with empty cells; extra cells are kept (and reported once in `problems`)."""
        width = len(self.headers)
        with open(self.path, encoding=self.encoding, newline="") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            try:
                next(reader)
            except StopIteration:
                return
            row = 1
            try:
                for cells in reader:
                    row += 1
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue
                    n = len(cells)
                    if n < width:
                        cells.extend([""] * (width - n))
                    elif n > width and any(c.strip() for c in cells[width:]):
                        self._report_extra(row, cells[width:])
                    yield row, cells
            except csv.Error as error:
                self.problems.append(Problem(self.name, row + 1, "",
                                             f"unreadable CSV: {error}"))

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, {header: cell}) for every non-blank record after the header."""
        headers = self.headers
        for row, cells in self.records():
            yield row, dict(zip(headers, cells, strict=False))

    def problem(self, row: int | None, column: str, message: str, value: str = "",
                *, fatal: bool = True) -> Problem:
        return Problem(self.name, row, column, message, value, fatal)

    def _report_extra(self, row: int, extra: list[str]) -> None:
        if not any(p.message.startswith("more cells than") for p in self.problems):
            self.problems.append(Problem(
                self.name, row, "",
                f"more cells than the {len(self.headers)} headers (first such row)",
                "|".join(extra)[:200], fatal=False))


def open_table(path: str | os.PathLike[str], *, delimiter: str | None = None,
               encoding: str | None = None) -> Table:
    """Open a CSV file: detect its encoding and delimiter unless given, and read its header.

    Raises FileNotFoundError for a missing file and ValueError for an empty one or one that is
    not text."""
    path = os.fspath(path)
    enc = encoding or detect_encoding(path)
    with open(path, encoding=enc, newline="", errors="strict") as f:
        try:
            sample = f.read(SAMPLE_BYTES)
        except UnicodeDecodeError as error:
            raise ValueError(f"{os.path.basename(path)}: not readable as {enc}: {error}") from None
    if not sample.strip():
        raise ValueError(f"{os.path.basename(path)}: the file is empty")
    if "\x00" in sample:
        raise ValueError(f"{os.path.basename(path)}: not a text file")
    delim = delimiter or sniff_delimiter(sample)
    header_cells = next(csv.reader(io.StringIO(sample), delimiter=delim), [])
    table = Table(path=path, encoding=enc, delimiter=delim, headers=[])
    seen: dict[str, int] = {}
    for position, cell in enumerate(header_cells, start=1):
        header = clean_header(cell) or f"column {position}"
        if header in seen:
            seen[header] += 1
            renamed = f"{header} ({seen[header]})"
            table.problems.append(table.problem(
                1, header, f"the header repeats; the later column is read as '{renamed}'",
                header, fatal=False))
            header = renamed
        else:
            seen[header] = 1
        table.headers.append(header)
        table._keys.setdefault(normalise_header(header), header)
    return table


# --- dates -------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})$")
_YMD_SLASH = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_MONTHS = {name: i for i, names in enumerate((
    (), ("jan", "january", "janv", "janvier", "januar", "enero", "gennaio"),
    ("feb", "february", "fev", "fevr", "fevrier", "februar", "febrero", "febbraio"),
    ("mar", "march", "mars", "marz", "maerz", "marzo"),
    ("apr", "april", "avr", "avril", "abril", "aprile"),
    ("may", "mai", "mayo", "maggio"),
    ("jun", "june", "juin", "juni", "junio", "giugno"),
    ("jul", "july", "juil", "juillet", "juli", "julio", "luglio"),
    ("aug", "august", "aout", "agosto"),
    ("sep", "sept", "september", "septembre", "septiembre", "settembre"),
    ("oct", "october", "octobre", "oktober", "octubre", "ottobre"),
    ("nov", "november", "novembre", "noviembre"),
    ("dec", "december", "decembre", "dezember", "diciembre", "dicembre"),
)) for name in names}
_DATE_HEAD = re.compile(r" |(?<=\d)T")
_WORD_DATE = re.compile(r"(\d{1,2})[ \-.]+([^\W\d_]+)\.?[ \-.,]+(\d{4})$")
_WORD_DATE_US = re.compile(r"([^\W\d_]+)\.?[ \-]+(\d{1,2}),?[ \-]+(\d{4})$")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        y += 2000 if y < 70 else 1900
    return y


def _make_date(y: int, m: int, d: int, text: str) -> date | Invalid:
    try:
        return date(y, m, d)
    except ValueError:
        return Invalid("not a date", text)


def date_evidence(text: str) -> DateOrder | Literal["ambiguous"] | None:
    """What one cell says about the column's order: "dmy" (the first number is above 12),
    "mdy" (the second is), "ambiguous" (both 12 or less and different), or None (ISO, a
    written month, equal numbers or not a numeric date at all)."""
    m = _NUMERIC_DATE.match(text.strip().split(" ")[0].split("T")[0])
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if a > 12 and b <= 12:
        return "dmy"
    if b > 12 and a <= 12:
        return "mdy"
    if a != b and a <= 12 and b <= 12:
        return "ambiguous"
    return None


@dataclass(slots=True)
class DateOrderScan:
    """Settles whether a column's numeric dates are D/M/Y or M/D/Y, over the whole column.

    Feed every cell to `add`; `verdict()` then gives the order, or an `Invalid` when the column
    holds ambiguous dates and nothing decides (or cells that contradict each other). An order
    given by the user (`--date-format`) always wins."""

    given: DateOrder | None = None
    dmy: str = ""
    mdy: str = ""
    ambiguous: str = ""
    count_dmy: int = 0
    count_mdy: int = 0

    def add(self, text: str) -> None:
        if not text or text[0:4].isdigit() and text[4:5] == "-":
            return  # the common ISO case, checked without a regular expression
        evidence = date_evidence(text)
        if evidence == "dmy":
            self.count_dmy += 1
            self.dmy = self.dmy or text
        elif evidence == "mdy":
            self.count_mdy += 1
            self.mdy = self.mdy or text
        elif evidence == "ambiguous":
            self.ambiguous = self.ambiguous or text

    def verdict(self) -> DateOrder | None | Invalid:
        """The order to read the column with (None when no cell needs one)."""
        if self.given:
            return self.given
        if self.count_dmy and self.count_mdy:
            return Invalid(
                f"dates are written both day first ({self.dmy!r}, {self.count_dmy} cells) and "
                f"month first ({self.mdy!r}, {self.count_mdy} cells)", self.dmy)
        if self.count_dmy:
            return "dmy"
        if self.count_mdy:
            return "mdy"
        if self.ambiguous:
            return Invalid("ambiguous dates: day/month or month/day cannot be told apart in "
                           "this column; settle it with --date-format dmy or mdy",
                           self.ambiguous)
        return None


def scan_date_order(values: Iterable[str], given: DateOrder | None = None
                    ) -> DateOrder | None | Invalid:
    """`DateOrderScan` over an iterable of cells, in one call."""
    scan = DateOrderScan(given=given)
    for value in values:
        scan.add(value)
    return scan.verdict()


def parse_date(text: str, order: DateOrder | None = None) -> date | None | Invalid:
    """A date from ISO (`2024-03-05`), `2024/03/05`, numeric D/M/Y or M/D/Y (`order` says
    which; without it only a cell that cannot be the other way is read), or with a written
    month (`5 March 2024`, `Mar 5, 2024`, `5-mars-2024`). A time part is ignored."""
    if len(text) == 10 and text[4] == "-":  # the common case first: ISO, nothing around it
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    text = text.strip()
    if not text:
        return None
    if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        text_date = text[:10]
        if len(text) == 10 or text[10] in "T ":
            try:
                return date.fromisoformat(text_date)
            except ValueError:
                return Invalid("not a date", text)
    head = _DATE_HEAD.split(text, maxsplit=1)[0]
    if m := _ISO_DATE.match(head) or _YMD_SLASH.match(head):
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    if m := _NUMERIC_DATE.match(head):
        a, b, y = int(m.group(1)), int(m.group(2)), _year(m.group(3))
        if a > 12 and b > 12 or a == 0 or b == 0:
            return Invalid("not a valid date: neither day/month nor month/day", text)
        if order is None:
            if a > 12 and b <= 12:
                order = "dmy"
            elif b > 12 and a <= 12:
                order = "mdy"
            elif a == b:
                order = "dmy"
            else:
                return Invalid("ambiguous date: day/month or month/day? settle it with "
                               "--date-format dmy or mdy", text)
        return _make_date(y, b, a, text) if order == "dmy" else _make_date(y, a, b, text)
    words = _strip_time_words(text)
    if m := _WORD_DATE.match(words):
        month = _MONTHS.get(_fold(m.group(2)).rstrip("."))
        if month:
            return _make_date(int(m.group(3)), month, int(m.group(1)), text)
    if m := _WORD_DATE_US.match(words):
        month = _MONTHS.get(_fold(m.group(1)).rstrip("."))
        if month:
            return _make_date(int(m.group(3)), month, int(m.group(2)), text)
    return Invalid("not a date", text)


def _strip_time_words(text: str) -> str:
    return re.sub(r"[ T,]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?$", "", text).strip()


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?\s*([AaPp][Mm])?"
                   r"\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)?$")


def parse_datetime(text: str, order: DateOrder | None = None) -> datetime | None | Invalid:
    """A date and time: ISO 8601 (`2024-03-05T14:22:10.000Z`, `2024-03-05 14:22:10+01:00`,
    Salesforce's and HubSpot's exports), spreadsheet forms (`05/03/2024 14:22`,
    `3/5/2024 2:22 PM`), or a date alone (midnight). The result is aware when the text names a
    zone (Z, +01:00, UTC) and naive otherwise — the caller decides the local zone."""
    if len(text) >= 19 and text[4] == "-":  # the common case first: ISO 8601 as exported
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    text = text.strip()
    if not text:
        return None
    if len(text) >= 19 and text[4] == "-" and text[10] in "T ":
        iso = text.replace(" UTC", "Z").replace(" GMT", "Z")
        try:
            return datetime.fromisoformat(iso)
        except ValueError:
            pass
    parts = _DATE_HEAD.split(text, maxsplit=1)
    date_part, time_part = parts[0], (parts[1] if len(parts) > 1 else "")
    if not time_part:
        when = parse_date(text, order)
        if isinstance(when, date):
            return datetime(when.year, when.month, when.day)
        return when
    when = parse_date(date_part, order)
    if not isinstance(when, date):
        # "Mar 5, 2024 2:22 PM": a written month with its time
        when = parse_date(_strip_time_words(text), order)
        match = re.search(r"\d{1,2}:\d{2}.*$", text)
        if not isinstance(when, date) or not match:
            message = when.message if isinstance(when, Invalid) else "not a date and time"
            return Invalid(message, text)
        time_part = match.group(0)
    m = _TIME.match(time_part.strip())
    if not m:
        return Invalid("not a date and time", text)
    hour, minute = int(m.group(1)), int(m.group(2))
    second = int(m.group(3) or 0)
    micro = int((m.group(4) or "0").ljust(6, "0"))
    if m.group(5):
        if not 1 <= hour <= 12:
            return Invalid("not a date and time", text)
        hour = hour % 12 + (12 if m.group(5).lower() == "pm" else 0)
    try:
        result = datetime(when.year, when.month, when.day, hour, minute, second, micro)
    except ValueError:
        return Invalid("not a date and time", text)
    zone = m.group(6)
    if zone:
        if zone in ("Z", "UTC", "GMT"):
            return result.replace(tzinfo=UTC)
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return result.replace(tzinfo=timezone(sign * offset))
    return result


# --- numbers -----------------------------------------------------------------------------

CURRENCY_SYMBOLS = {
    "€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW",
    "CHF": "CHF", "Fr.": "CHF", "kr": "SEK", "R$": "BRL", "A$": "AUD", "C$": "CAD",
    "zł": "PLN", "₽": "RUB", "₺": "TRY",
}
_SYMBOLS_LONGEST_FIRST = sorted(CURRENCY_SYMBOLS, key=len, reverse=True)
_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_NUMBER_CHARS = re.compile(r"[^0-9.,\-+()'’]")
_SPACE_CHARS = str.maketrans("", "", " \u00a0\u202f\u2009")


def parse_decimal(text: str, decimal_comma: bool | None = None) -> Decimal | None | Invalid:
    """A number as people write it: `1234.5`, `1,234.50`, `1.234,50`, `1 234,5`, `1'234.50`,
    `-12`, `(12)`, `12%`, `€ 1.200` (a currency sign or code is ignored; `parse_money` keeps it).

    With one kind of separator only, a comma followed by exactly three digits groups thousands
    (`1,234` is 1234) and otherwise marks decimals (`1,5`); `decimal_comma=True` reads every
    comma as the decimal mark and every dot as grouping, `False` the reverse."""
    raw = text
    if text and (text[0].isdigit() or text[0] == "-") and (
            decimal_comma is not True or "." not in text):  # the common case first: plain
        try:
            value = Decimal(text)
            if value.is_finite() and "e" not in text and "E" not in text:
                return value
        except InvalidOperation:
            pass
    text = text.strip()
    if not text:
        return None
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    text = _CODE.sub("", text.translate(_SPACE_CHARS).replace("%", ""))
    for symbol in _SYMBOLS_LONGEST_FIRST:
        text = text.replace(symbol, "")
    if any(c.isalpha() for c in text):
        return Invalid("not a number", raw)
    text = _NUMBER_CHARS.sub("", text).replace("'", "").replace("’", "")
    if text.startswith("-"):
        negative, text = not negative, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    if text.endswith("-"):
        negative, text = not negative, text[:-1]
    if not text or not any(c.isdigit() for c in text) or "-" in text or "+" in text:
        return Invalid("not a number", raw)
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif commas:
        if decimal_comma is False or (decimal_comma is None and (
                commas > 1 or re.fullmatch(r"\d{1,3}(,\d{3})+", text))):
            text = text.replace(",", "")
        else:
            if commas > 1:
                return Invalid("not a number", raw)
            text = text.replace(",", ".")
    elif dots > 1 or (dots == 1 and decimal_comma is True):
        if not re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
            return Invalid("not a number", raw)
        text = text.replace(".", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return Invalid("not a number", raw)
    return -value if negative else value


def parse_money(text: str, decimal_comma: bool | None = None
                ) -> tuple[Decimal, str] | None | Invalid:
    """An amount with the currency its text names (`€1.200,50` gives (1200.50, "EUR"),
    `1200 USD` gives (1200, "USD"), a bare number gives (n, "")."""
    stripped = text.strip()
    if not stripped:
        return None
    currency = ""
    if m := _CODE.search(stripped):
        currency = m.group(1)
    else:
        for symbol in sorted(CURRENCY_SYMBOLS, key=len, reverse=True):
            if symbol in stripped:
                currency = CURRENCY_SYMBOLS[symbol]
                break
    amount = parse_decimal(stripped, decimal_comma)
    if amount is None or isinstance(amount, Invalid):
        return amount if amount is not None else Invalid("not an amount", text)
    return amount, currency


def parse_int(text: str) -> int | None | Invalid:
    """A whole number (`12`, `12.0`, `1,200`, `50%`)."""
    value = parse_decimal(text)
    if value is None or isinstance(value, Invalid):
        return value
    if value != value.to_integral_value():
        return Invalid("not a whole number", text)
    return int(value)


_TRUE = frozenset({"1", "true", "yes", "y", "t", "x", "oui", "ja", "si", "sí", "vrai", "wahr"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "non", "nein", "faux", "falsch"})


def parse_bool(text: str) -> bool | None | Invalid:
    """True/false as exports write it (`true`, `1`, `Yes`, `x`, `false`, `0`, `No`)."""
    folded = text.strip().lower()
    if not folded:
        return None
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    return Invalid("not yes or no", text)
