"""Read a CSV or XLSX sheet for import into a DataFrame of text.

Every value comes out as ``str`` or ``None`` (an empty cell), exactly as the sheet shows
it: no guessing of numbers, dates or missing-value markers. The index is the sheet's own
row number (the header is row 1), so messages can point at the row a person sees.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import math
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from pipeline.errors import InputFileError, UsageError
from pipeline.export import FORMULA_STARTS

logger = logging.getLogger(__name__)

CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
DEFAULT_SHEET = "Users"
GROUPS_SHEET = "Groups"
DELIMITERS = ",;\t"

_ZERO_PADDING = re.compile(r"0+")
_TIME_TOKENS = re.compile(r"[hs]", re.IGNORECASE)
_TOO_MANY_CELLS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass
class Sheet:
    """A sheet read for import; ``frame`` holds text only, indexed by row number."""

    frame: pd.DataFrame
    path: Path
    sheet_name: str | None
    encoding: str | None


def read_sheet(
    path: str | Path, *, sheet: str | None = None, encoding: str | None = None
) -> Sheet:
    """Read ``path`` (CSV by its encoding and delimiter, or an XLSX sheet) as text."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise UsageError(f"{path} {what}; give the path of a .csv or .xlsx file")

    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        header, columns, used = _read_csv(path, encoding)
        return Sheet(_build_frame(path, header, columns), path, None, used)
    if suffix in XLSX_SUFFIXES:
        header, columns, name = _read_xlsx(path, sheet)
        return Sheet(_build_frame(path, header, columns), path, name, None)
    raise InputFileError(
        f"{path.name}: cannot read {suffix or 'a file without extension'} files; "
        "save the sheet as .xlsx or .csv"
    )


def read_groups_sheet(path: str | Path, users_sheet: str | None) -> pd.DataFrame | None:
    """The workbook's `Groups` sheet, if it has one besides the users' sheet."""
    path = Path(path)
    if path.suffix.lower() not in XLSX_SUFFIXES:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        book = openpyxl.load_workbook(path, read_only=True)
    names = list(book.sheetnames)
    book.close()
    wanted = next((n for n in names if n.casefold() == GROUPS_SHEET.casefold()), None)
    if wanted is None or wanted == users_sheet:
        return None
    header, columns, _ = _read_xlsx(path, wanted)
    return _build_frame(path, header, columns)


def _read_csv(
    path: Path, encoding: str | None
) -> tuple[list[str | None], list[list[str | None]], str]:
    """Parse a CSV into its header and columns of trimmed text."""
    text, used = _decode(path, encoding)
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=_find_delimiter(text),
            header=None,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,  # blank lines still count as sheet rows
            skipinitialspace=True,  # `a, "Doe, Jane"` is two cells, not three
            quoting=csv.QUOTE_MINIMAL,
            engine="c",
        )
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(
            f"{path.name} is empty; row 1 must hold the column headers"
        ) from exc
    except pd.errors.ParserError as exc:
        raise InputFileError(f"{path.name}: {_parser_problem(exc)}") from exc

    header = [_clean_header(value) for value in grid.iloc[0].tolist()]
    columns = [_clean_csv_column(grid[c].tolist()[1:]) for c in grid.columns]
    return header, columns, used


def _decode(path: Path, encoding: str | None) -> tuple[str, str]:
    """Decode by the given encoding, else by BOM, else UTF-8, else cp1252 (warned)."""
    raw = path.read_bytes()
    if encoding:
        return _decode_as(path, raw, encoding), encoding

    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            return _decode_as(path, raw, name), name

    if b"\x00" in raw[:4096]:
        raise InputFileError(
            f"{path.name} looks like UTF-16 without a byte order mark; "
            "give its encoding with --encoding utf-16-le (or utf-16-be)"
        )
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass

    text = _decode_as(path, raw, "cp1252")
    logger.warning(
        "%s is not UTF-8; read it as cp1252 (Windows Western European). If accented "
        "letters look wrong, give the right encoding with --encoding",
        path.name,
    )
    return text, "cp1252"


def _decode_as(path: Path, raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except LookupError as exc:
        raise InputFileError(
            f"unknown encoding {encoding!r}; use one such as utf-8, utf-16 or cp1252"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path.name} is not valid {encoding} (byte {exc.start}); give the "
            "file's real encoding with --encoding, or save it as UTF-8 CSV"
        ) from exc


def _find_delimiter(text: str) -> str:
    """The most frequent of ``, ; tab`` in the header line, outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text[:65536]:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char in "\r\n":
                break
            if char in counts:
                counts[char] += 1

    best = max(counts, key=counts.__getitem__)
    if counts[best]:
        return best
    # One column: any delimiter absent from the file keeps each line whole.
    return next((d for d in DELIMITERS if d not in text), ",")


def _parser_problem(exc: Exception) -> str:
    found = _TOO_MANY_CELLS.search(str(exc))
    if found:
        expected, line, seen = found.groups()
        return (
            f"line {line} has {seen} cells but the header has {expected}; add the "
            "missing headers or remove the extra cells"
        )
    return f"cannot parse it as CSV ({exc}); check the quoting or save it again"


def _clean_header(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).replace("\ufeff", "").strip() or None


def _clean_csv_column(values: list[str]) -> list[str | None]:
    """Trim, turn empty into None and undo our own ``--csv-excel-safe`` quote."""
    cleaned = [value.strip() or None for value in values]
    if "'" in "".join(values):
        cleaned = [_strip_excel_safe_quote(value) for value in cleaned]
    return cleaned


def _strip_excel_safe_quote(value: str | None) -> str | None:
    # Export doubles the quote of a value that already starts with quotes before
    # a formula sign, so stripping exactly one gives the original back.
    if value and value[0] == "'" and value.lstrip("'")[:1] in FORMULA_STARTS:
        return value[1:]
    return value


def _read_xlsx(
    path: Path, sheet: str | None
) -> tuple[list[str | None], list[list[str | None]], str]:
    """Read the chosen worksheet into its header and columns of text."""
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, ...),
            # none of which matter for reading values.
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputFileError(
            f"{path.name} is not a readable XLSX workbook ({exc}); open it in "
            "Excel and save it again as .xlsx, or export the sheet as CSV"
        ) from exc

    try:
        name = _pick_sheet(path, book.sheetnames, sheet)
        rows = _xlsx_rows(path, book[name])
    finally:
        book.close()

    if not rows:
        raise InputFileError(
            f"{path.name}: sheet {name!r} is empty; row 1 must hold the column headers"
        )
    width = max(len(row) for row in rows)
    padded = [row + [None] * (width - len(row)) for row in rows]
    header = [_clean_header(value) for value in padded[0]]
    columns = [list(column) for column in zip(*padded[1:], strict=True)]
    return header, columns or [[] for _ in header], name


def _xlsx_rows(path: Path, worksheet: Any) -> list[list[str | None]]:
    # The stored dimension can be wrong (some writers always say A1:A1).
    worksheet.reset_dimensions()
    try:
        return [[_xlsx_text(cell) for cell in row] for row in worksheet.iter_rows()]
    except Exception as exc:  # a damaged sheet part fails only while iterating
        raise InputFileError(
            f"{path.name}: cannot read sheet {worksheet.title!r} ({exc}); open it "
            "in Excel and save it again as .xlsx"
        ) from exc


def _pick_sheet(path: Path, names: list[str], wanted: str | None) -> str:
    if wanted is not None:
        if wanted in names:
            return wanted
        raise InputFileError(
            f"{path.name} has no sheet {wanted!r}; its sheets are "
            f"{', '.join(repr(n) for n in names)}; pick one with --sheet"
        )
    for name in names:
        if name.casefold() == DEFAULT_SHEET.casefold():
            return name
    return names[0]


def _xlsx_text(cell: Any) -> str | None:
    """The text a cell shows, without Excel's guesses about numbers."""
    value = cell.value
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(value, cell.number_format or "General")
    if isinstance(value, datetime):
        midnight = value.time() == time(0)
        if midnight and not _TIME_TOKENS.search(cell.number_format or ""):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip() or None


def _number_text(value: int | float, number_format: str) -> str:
    """1001 as "1001", 0.5 as "0.5", and 417 shown through ``000000`` as "000417"."""
    if _ZERO_PADDING.fullmatch(number_format):
        # Excel rounds half away from zero before padding.
        whole = int(math.copysign(math.floor(abs(value) + 0.5), value))
        digits = str(abs(whole)).zfill(len(number_format))
        return f"-{digits}" if whole < 0 else digits
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _build_frame(
    path: Path, header: list[str | None], columns: list[list[str | None]]
) -> pd.DataFrame:
    """Check the headers, drop empty unnamed columns and fully empty rows."""
    data: dict[str, list[str | None]] = {}
    letters: dict[str, str] = {}
    for position, (name, values) in enumerate(zip(header, columns, strict=True)):
        letter = get_column_letter(position + 1)
        if name is None:
            if any(value is not None for value in values):
                raise InputFileError(
                    f"{path.name}: column {letter} has values but no header; add a "
                    "header in row 1 or delete the column"
                )
            continue
        if name in letters:
            raise InputFileError(
                f"{path.name}: the header {name!r} appears twice (columns "
                f"{letters[name]} and {letter}); rename or remove one of them"
            )
        letters[name] = letter
        data[name] = values

    if not data:
        raise InputFileError(
            f"{path.name}: row 1 has no column headers; put the headers in row 1"
        )
    rows = len(columns[0])
    frame = pd.DataFrame(data, index=pd.RangeIndex(2, rows + 2), dtype=object)
    return frame[frame.notna().any(axis=1)]
