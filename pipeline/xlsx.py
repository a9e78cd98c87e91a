"""Write XLSX workbooks for people: typed cells, bold frozen header, never a formula.

The sheet XML is streamed straight into the zip: several times faster than pandas
``to_excel``. Text is always stored as text, so a value starting with ``=`` stays that
text. The limits of a sheet (rows, columns, characters in a cell) are checked here,
because no spreadsheet library refuses to break them.
"""

from __future__ import annotations

import logging
import math
import os
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from pipeline.atomic import atomic_path
from pipeline.errors import PipelineError

logger = logging.getLogger(__name__)

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
XLSX_MAX_CELL_CHARS = 32_767
MAX_COLUMN_WIDTH = 60
CHUNK_ROWS = 10_000
ISSUES_SHOWN = 20

# Excel keeps 15 significant digits: a longer integer is written as text instead.
_EXACT_INT_LIMIT = 10**15
# A sheet part past 2 GiB needs ZIP64; turn it on only when that is possible.
_ZIP64_CELLS = 5_000_000

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel decodes _xHHHH_ inside any text, so a literal one must be escaped as _x005F_.
_OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_CARE_CHARS = "[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
_NEEDS_CARE = re.compile(_CARE_CHARS + r"|_x[0-9A-Fa-f]{4}_|^\s|\s\Z")
_CARE_CHAR = re.compile(_CARE_CHARS)
_BAD_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_HEADER_STYLE = 1
_PLAIN_TEXT = ' t="inlineStr" s="2"><is><t>'
_TEXT_STYLE = 2


def cell_text(value: Any) -> str:
    """A value as cell text: empty for None/NaN, ``true``/``false``, ints without .0.

    The CSV writer writes every value this way; the XLSX writer uses it for headers,
    widths and values a cell cannot hold natively (dates, huge integers).
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _float_text(float(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def cell_texts(values: list[Any]) -> list[str]:
    """``cell_text`` of each value, with a fast path for the common case of text."""
    return [value if type(value) is str else cell_text(value) for value in values]


def _float_text(value: float) -> str:
    if math.isnan(value):
        return ""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


@dataclass
class _Workbook:
    """What the sheets share while they are written."""

    file_name: str
    shared_strings: dict[str, int] = field(default_factory=dict)
    issues: dict[str, list[str]] = field(default_factory=dict)

    def note(self, problem: str, place: str) -> None:
        self.issues.setdefault(problem, []).append(place)


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    mode: int | None = None,
    max_rows: int = XLSX_MAX_ROWS,
) -> None:
    """One typed sheet per frame: bold frozen header, autofilter, fitted widths.

    Text is always stored as text, never as a formula. A frame with more rows than a
    sheet holds (``max_rows`` with the header) is refused before anything is written.
    """
    _check_sheets(sheets, max_rows)
    book = _Workbook(Path(path).name)
    # Deflate level 1: a quarter bigger than the default level, a second faster
    # for 100,000 users.
    with (
        atomic_path(path, mode=mode) as temp,
        zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
    ):
        for number, (name, frame) in enumerate(sheets.items(), start=1):
            big = frame.size > _ZIP64_CELLS
            part = f"xl/worksheets/sheet{number}.xml"
            with archive.open(part, "w", force_zip64=big) as handle:
                _write_sheet(handle, name, frame, book, selected=number == 1)
        _write_package(archive, sheets, book.shared_strings)
    _log_issues(book)


def _check_sheets(sheets: Mapping[str, pd.DataFrame], max_rows: int) -> None:
    if not sheets:
        raise PipelineError("an XLSX workbook needs at least one sheet")
    seen: set[str] = set()
    for name, frame in sheets.items():
        if (
            not name
            or len(name) > 31
            or _BAD_SHEET_NAME.search(name)
            or name[0] == "'"
            or name[-1] == "'"
            or name.casefold() in seen
        ):
            raise PipelineError(
                f"{name!r} cannot name an Excel sheet: use 1 to 31 characters, no "
                "[ ] : * ? / \\, no quote at either end, each name once"
            )
        seen.add(name.casefold())
        if len(frame) + 1 > max_rows:
            raise PipelineError(
                f"sheet {name!r} needs {len(frame) + 1:,} rows with its header, more "
                f"than the {max_rows:,} an Excel sheet holds; export it as CSV or "
                "JSON instead"
            )
        if frame.shape[1] > XLSX_MAX_COLUMNS:
            raise PipelineError(
                f"sheet {name!r} has {frame.shape[1]:,} columns, more than the "
                f"{XLSX_MAX_COLUMNS:,} an Excel sheet holds; export it as CSV instead"
            )


def _used_range(frame: pd.DataFrame, *, absolute: bool = False) -> str:
    if frame.shape[1] == 0:
        return "A1"
    column, row = get_column_letter(frame.shape[1]), len(frame) + 1
    return f"$A$1:${column}${row}" if absolute else f"A1:{column}{row}"


def _write_sheet(
    handle: IO[bytes],
    name: str,
    frame: pd.DataFrame,
    book: _Workbook,
    *,
    selected: bool,
) -> None:
    tab = ' tabSelected="1"' if selected else ""
    head = [
        f'{_XML_DECL}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">',
        f'<dimension ref="{_used_range(frame)}"/>',
        f'<sheetViews><sheetView workbookViewId="0"{tab}>',
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>',
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>',
        '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>',
        _cols_xml(frame),
        "<sheetData>",
    ]
    handle.write("".join(head).encode())
    for piece in _sheet_rows(name, frame, book):
        handle.write(piece.encode())

    tail = "</sheetData>"
    if frame.shape[1]:
        tail += f'<autoFilter ref="{_used_range(frame)}"/>'
    handle.write(f"{tail}</worksheet>".encode())


def _cols_xml(frame: pd.DataFrame) -> str:
    """Column widths fitted to the longest value, capped so a note cannot sprawl."""
    cols = []
    for position, name in enumerate(frame.columns, start=1):
        texts = cell_texts(frame.iloc[:, position - 1].tolist())
        longest = max(map(len, texts), default=0)
        width = min(max(len(cell_text(name)) + 4, longest + 2, 6), MAX_COLUMN_WIDTH)
        cols.append(
            f'<col min="{position}" max="{position}" width="{width}" customWidth="1"/>'
        )
    return f"<cols>{''.join(cols)}</cols>" if cols else ""


def _sheet_rows(name: str, frame: pd.DataFrame, book: _Workbook) -> Iterator[str]:
    """The header row, then the data rows in chunks of XML text."""
    letters = [get_column_letter(position) for position in range(1, frame.shape[1] + 1)]
    headers = [cell_text(column) for column in frame.columns]
    header = [
        _text_cell(f"{letter}1", text, book, _HEADER_STYLE, _Where(name, text), 1)
        for letter, text in zip(letters, headers, strict=True)
    ]
    yield f'<row r="1">{"".join(header)}</row>'

    label = next((c for c in ("userName", "id") if c in headers), None)
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        first = start + 2
        labels = chunk.iloc[:, headers.index(label)].tolist() if label else None
        columns = []
        for position, letter in enumerate(letters):
            where = _Where(name, headers[position], label, labels, first)
            columns.append(
                _cells(chunk.iloc[:, position].tolist(), letter, where, book)
            )
        yield "".join(
            f'<row r="{first + offset}">{"".join(cells)}</row>'
            for offset, cells in enumerate(zip(*columns, strict=True))
        )


@dataclass
class _Where:
    """Names a cell in a warning: by the row's userName (or id), else its number."""

    sheet: str
    column: str
    label: str | None = None
    labels: list[Any] | None = None
    first_row: int = 1

    def __call__(self, row: int) -> str:
        place = f"row {row}"
        if self.labels is not None:
            value = self.labels[row - self.first_row]
            if isinstance(value, str) and value:
                place = f"{self.label} {value!r}"
        return f"sheet {self.sheet!r}, column {self.column!r} of {place}"


def _cells(values: list[Any], letter: str, where: _Where, book: _Workbook) -> list[str]:
    """The XML of one column's cells; an empty string for an empty cell."""
    careful = _needs_care([value for value in values if type(value) is str])
    cells = []
    for row, value in enumerate(values, start=where.first_row):
        if type(value) is str:
            if not value:
                cells.append("")
            elif careful and (
                len(value) > XLSX_MAX_CELL_CHARS // 2 or _NEEDS_CARE.search(value)
            ):
                cells.append(
                    _text_cell(f"{letter}{row}", value, book, _TEXT_STYLE, where, row)
                )
            else:
                cells.append(f'<c r="{letter}{row}"{_PLAIN_TEXT}{value}</t></is></c>')
        elif value is None:
            cells.append("")
        else:
            cells.append(_typed_cell(f"{letter}{row}", value, book, where, row))
    return cells


def _needs_care(texts: list[str]) -> bool:
    """Whether any text of a column chunk needs escaping, cleaning or cutting.

    One scan of the joined chunk is much cheaper than a regex search per cell.
    """
    if not texts:
        return False
    joined = "\n".join(texts)
    return (
        max(map(len, texts)) > XLSX_MAX_CELL_CHARS // 2
        or "_x" in joined
        or _CARE_CHAR.search(joined) is not None
        or joined != "\n".join([text.strip() for text in texts])
    )


def _typed_cell(ref: str, value: Any, book: _Workbook, where: _Where, row: int) -> str:
    """Booleans and numbers as such; dates as ISO 8601 text; NaN as empty."""
    if isinstance(value, bool | np.bool_):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | np.integer) and abs(int(value)) < _EXACT_INT_LIMIT:
        return f'<c r="{ref}"><v>{int(value)}</v></c>'
    if isinstance(value, float | np.floating) and math.isfinite(value):
        return f'<c r="{ref}"><v>{float(value)!r}</v></c>'
    text = cell_text(value)
    return _text_cell(ref, text, book, _TEXT_STYLE, where, row) if text else ""


def _text_cell(
    ref: str, text: str, book: _Workbook, style: int, where: _Where, row: int
) -> str:
    """A string cell, whatever its text holds: never a formula."""
    cleaned = _XML_ILLEGAL.sub("", text)
    if cleaned != text:
        book.note("illegal", where(row))
    if len(cleaned) > XLSX_MAX_CELL_CHARS // 2:
        cleaned = _fit_cell(cleaned, book, where(row))
    if not cleaned:
        return ""

    if _OOXML_ESCAPE.search(cleaned):
        # openpyxl undoes _x005F_ only in shared strings, Excel everywhere. Known
        # gap: openpyxl deletes every "x005F_" there, so a value holding both an
        # _xHHHH_ and a literal "x005F_" still reads back wrong in openpyxl.
        escaped = _OOXML_ESCAPE.sub("_x005F_", cleaned)
        index = book.shared_strings.setdefault(escaped, len(book.shared_strings))
        return f'<c r="{ref}" t="s" s="{style}"><v>{index}</v></c>'
    return f'<c r="{ref}" t="inlineStr" s="{style}"><is>{_t_element(cleaned)}</is></c>'


def _fit_cell(text: str, book: _Workbook, place: str) -> str:
    """Cut text to what a cell holds, counted as Excel does, in UTF-16 units."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    if len(encoded) <= 2 * XLSX_MAX_CELL_CHARS:
        return text
    book.note("too long", place)
    return encoded[: 2 * XLSX_MAX_CELL_CHARS].decode("utf-16-le", "ignore")


def _t_element(text: str) -> str:
    space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
    return f"<t{space}>{_escape(text)}</t>"


def _escape(text: str) -> str:
    # A raw CR would come back as LF: XML parsers normalise line ends.
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def _write_package(
    archive: zipfile.ZipFile,
    sheets: Mapping[str, pd.DataFrame],
    shared_strings: dict[str, int],
) -> None:
    """The parts around the sheets: content types, relationships, workbook, styles."""
    parts = [
        (f"worksheets/sheet{n}.xml", "worksheet") for n in range(1, len(sheets) + 1)
    ]
    parts.append(("styles.xml", "styles"))
    if shared_strings:
        parts.append(("sharedStrings.xml", "sharedStrings"))
        archive.writestr("xl/sharedStrings.xml", _shared_strings_xml(shared_strings))

    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = [("workbook.xml", "sheet.main"), *parts]
    archive.writestr(
        "[Content_Types].xml",
        f'{_XML_DECL}<Types xmlns="{_TYPES_NS}"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(
            f'<Override PartName="/xl/{part}" ContentType="{kind}.{name}+xml"/>'
            for part, name in overrides
        )
        + "</Types>",
    )
    archive.writestr(
        "_rels/.rels", _relationships([("xl/workbook.xml", "officeDocument")])
    )
    archive.writestr("xl/_rels/workbook.xml.rels", _relationships(parts))
    archive.writestr("xl/workbook.xml", _workbook_xml(sheets))
    archive.writestr("xl/styles.xml", _STYLES_XML)


def _relationships(targets: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL_NS}/{kind}" Target="{target}"/>'
        for n, (target, kind) in enumerate(targets, start=1)
    )
    return f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">{items}</Relationships>'


def _workbook_xml(sheets: Mapping[str, pd.DataFrame]) -> str:
    """The sheet list, plus the hidden name Excel keeps for each autofilter."""
    entries, filters = [], []
    for index, (name, frame) in enumerate(sheets.items()):
        attribute = _escape(name).replace('"', "&quot;")
        entries.append(
            f'<sheet name="{attribute}" sheetId="{index + 1}" r:id="rId{index + 1}"/>'
        )
        if frame.shape[1]:
            quoted = name.replace("'", "''")
            reference = f"'{quoted}'!{_used_range(frame, absolute=True)}"
            filters.append(
                f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" '
                f'hidden="1">{_escape(reference)}</definedName>'
            )
    names = f"<definedNames>{''.join(filters)}</definedNames>" if filters else ""
    return (
        f'{_XML_DECL}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{''.join(entries)}</sheets>{names}</workbook>"
    )


def _shared_strings_xml(shared_strings: dict[str, int]) -> str:
    items = "".join(f"<si>{_t_element(text)}</si>" for text in shared_strings)
    count = len(shared_strings)
    return (
        f'{_XML_DECL}<sst xmlns="{_MAIN_NS}" count="{count}" uniqueCount="{count}">'
        f"{items}</sst>"
    )


# Style 1 is the bold header; style 2 is the Text format (@) for strings, so that
# editing a cell such as 00912 in Excel keeps it text instead of making it 912.
_STYLES_XML = (
    f'{_XML_DECL}<styleSheet xmlns="{_MAIN_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
    "</borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" '
    'applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)


def _log_issues(book: _Workbook) -> None:
    messages = {
        "illegal": "%s: removed characters an XLSX cannot hold from %s",
        "too long": "%s: cut %s to 32,767 characters, the most an Excel cell holds; "
        "the CSV and JSONL keep the full value",
    }
    for problem, places in book.issues.items():
        for place in places[:ISSUES_SHOWN]:
            logger.warning(messages[problem], book.file_name, place)
        if len(places) > ISSUES_SHOWN:
            logger.warning(
                "%s: %d more cells like these",
                book.file_name,
                len(places) - ISSUES_SHOWN,
            )
