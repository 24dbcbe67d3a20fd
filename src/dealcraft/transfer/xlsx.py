"""A streaming XLSX writer: one sheet, typed cells, rows written as they come.

openpyxl's write-only mode keeps memory flat but, without lxml, spends about a millisecond a
row serialising XML through a pure-Python tree; an export of 100,000 deals would take minutes.
The sheet of an export is simple (a header row, then numbers, dates, times and text), so it
is written here directly as SpreadsheetML into the zip, a row at a time, with text as inline
string cells (`t="inlineStr"`): text is always a string, never a formula. The workbook opens
in Excel, LibreOffice, Google Sheets and openpyxl.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

#: Characters XML 1.0 cannot carry; replaced by U+FFFD.
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EPOCH = datetime(1899, 12, 30)
#: Style indexes in styles.xml: 0 plain, 1 date, 2 date and time, 3 bold (the header).
DATE_STYLE, DATETIME_STYLE, HEADER_STYLE = 1, 2, 3

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>\
<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
SHEET_START = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" \
activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>"""
SHEET_END = "</sheetData></worksheet>"


def column_letters(n: int) -> list[str]:
    """A, B, …, Z, AA, … for the first `n` columns."""
    out = []
    for i in range(1, n + 1):
        name = ""
        while i:
            i, rest = divmod(i - 1, 26)
            name = chr(65 + rest) + name
        out.append(name)
    return out


_NEEDS_ESCAPE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    text = ILLEGAL.sub("\ufffd", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # XML readers turn a bare carriage return into a line feed.
    return text.replace("\r", "&#13;")


def _serial(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        delta = moment - EPOCH
        return repr(delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400)
    return str((moment - EPOCH.date()).days)


def _text_cell(ref: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    text = escape(value if isinstance(value, str) else str(value))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _number_cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def _date_cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    return f'<c r="{ref}" s="{DATE_STYLE}"><v>{_serial(value)}</v></c>'


def _datetime_cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    return f'<c r="{ref}" s="{DATETIME_STYLE}"><v>{_serial(value)}</v></c>'


def cell(ref: str, value: Any) -> str:
    """One `<c>` element for a value of any supported type (None: no element)."""
    if isinstance(value, str):
        return _text_cell(ref, value)
    if isinstance(value, bool | int | Decimal | float):
        return _number_cell(ref, value)
    if isinstance(value, datetime):
        return _datetime_cell(ref, value)
    if isinstance(value, date):
        return _date_cell(ref, value)
    return _text_cell(ref, value)


#: The cell writer of each column type; `any` looks at each value.
CELLS = {"text": _text_cell, "number": _number_cell, "date": _date_cell,
         "datetime": _datetime_cell, "any": cell}


class _Sink(io.RawIOBase):
    """Where the zip is written when it is streamed: bytes taken out as they come."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def workbook_pieces(sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                    kinds: Sequence[str] | None = None) -> Iterator[bytes]:
    """The workbook as a stream of bytes, written as the rows come (a zip with data
    descriptors, so nothing needs to be seeked back to). `kinds` gives each column's type
    (text, number, date, datetime); without it each value's own type decides. Rows hold str,
    int/Decimal/float, date and datetime values (written in UTC), or None for no value."""
    letters = column_letters(len(headers))
    writers = [CELLS[k] for k in (kinds or ["any"] * len(headers))]
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK.format(name=escape(sheet[:31])))
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", STYLES)
        # No ZIP64 (some versions of Excel refuse it in a workbook): the sheet's XML may
        # reach 2 GB, about two million deals; larger exports are for CSV.
        with zf.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write(SHEET_START.encode())
            head = "".join(
                f'<c r="{c}1" t="inlineStr" s="{HEADER_STYLE}"><is><t>{escape(h)}</t></is></c>'
                for c, h in zip(letters, headers, strict=True))
            out.write(f'<row r="1">{head}</row>'.encode())
            yield sink.take()
            buffer: list[str] = []
            plan = list(zip(writers, letters, strict=True))
            for r, row in enumerate(rows, 2):
                buffer.append(f'<row r="{r}">')
                buffer.extend([w(f"{c}{r}", v) for (w, c), v in zip(plan, row, strict=True)])
                buffer.append("</row>")
                if len(buffer) > 20_000:
                    out.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
                    yield sink.take()
            out.write("".join(buffer).encode("utf-8"))
            out.write(SHEET_END.encode())
    yield sink.take()


def write_workbook(target: Path | IO[bytes], sheet: str, headers: Sequence[str],
                   rows: Iterable[Sequence[Any]], kinds: Sequence[str] | None = None) -> int:
    """Write a workbook of one sheet to a file; returns the number of data rows."""
    counted = _Count(rows)
    with (target.open("wb") if isinstance(target, Path) else nullcontext(target)) as out:
        for piece in workbook_pieces(sheet, headers, counted, kinds):
            out.write(piece)
    return counted.n


class _Count:
    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self.rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self.rows:
            self.n += 1
            yield row
