"""Schema-driven checks of every cell of a sheet, before anything is sent (pure).

Only cells that differ from the server's current value are checked, so a tenant's
own odd data round-trips. Checks run column by column over the whole frame.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.columns import (
    CLEAR,
    ENTRY,
    GROUPS,
    ID,
    IGNORED,
    MANAGER,
    PRIMARY,
    Column,
    Layout,
    UnknownColumn,
    parse_bool,
    username_key,
)
from pipeline.headers import friendly_target

ERROR = "error"
WARNING = "warning"
HEADER_ROW = 1
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
INTEGER = re.compile(r"[+-]?\d+")
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Problem:
    """One finding, located by the sheet's own row number and column header."""

    row: int
    column: str
    value: str
    problem: str
    severity: str = ERROR


@dataclass
class MappedSheet:
    """A sheet whose headers are resolved to columns; unknown ones are problems."""

    frame: pd.DataFrame  # canonical headers, str or None cells, sheet row index
    columns: dict[str, Column]
    source_headers: dict[str, str]  # canonical header -> header as the sheet had it
    problems: list[Problem]


def map_headers(
    frame: pd.DataFrame, layout: Layout, mapping: dict[str, str] | None = None
) -> MappedSheet:
    """Resolve every header: the mapping file first, then SCIM paths, then friendly
    names. An unknown or read-only header is an error on row 1."""
    problems: list[Problem] = []
    columns: dict[str, Column] = {}
    source: dict[str, str] = {}
    renames: dict[str, str] = {}
    for header in map(str, frame.columns):
        try:
            column = resolve_header(header, layout, mapping or {})
        except UnknownColumn as error:
            problems.append(Problem(HEADER_ROW, header, header, str(error)))
            continue
        if column.kind == IGNORED:
            problems.append(
                Problem(HEADER_ROW, header, header, "read-only; skipped", WARNING)
            )
            continue
        if not column.writable:
            message = f"{column.header} is read-only on the server; remove the column"
            problems.append(Problem(HEADER_ROW, header, header, message))
            continue
        if column.header in columns:
            message = f"names the same attribute as column {source[column.header]!r}"
            problems.append(Problem(HEADER_ROW, header, header, message))
            continue
        columns[column.header] = column
        source[column.header] = header
        renames[header] = column.header
    mapped = frame[list(renames)].rename(columns=renames)
    return MappedSheet(mapped, columns, source, problems)


def resolve_header(header: str, layout: Layout, mapping: dict[str, str]) -> Column:
    """The column a sheet header stands for; UnknownColumn names the closest one."""
    target = mapping.get(header)
    if target is not None:
        try:
            return layout.column(target)
        except UnknownColumn as error:
            raise UnknownColumn(
                header, error.suggestion, f"the mapping file maps it to {target!r}"
            ) from error
    try:
        return layout.column(header)
    except UnknownColumn as error:
        friendly = friendly_target(header)
        if friendly is None:
            raise
        try:
            return layout.column(friendly)
        except UnknownColumn:
            raise error from None


def changed_cells(
    frame: pd.DataFrame,
    current: pd.DataFrame,
    columns: dict[str, Column],
    exact_groups: bool = False,
) -> pd.DataFrame:
    """True where a non-blank cell asks for something other than the current value.

    A `groups` cell only adds memberships unless `exact_groups`, so it changes
    something only when it names a group the user is not in.
    """
    known = current.reindex(columns=frame.columns).notna()
    # A value where there is none is a change; clearing nothing is not.
    changed = frame.notna() & ~known & frame.ne(CLEAR)
    both = frame.notna() & known
    for header, column in columns.items():
        rows = both[header]
        if not rows.any():
            continue
        cells = frame.loc[rows, header]
        wanted = normalised(cells, column)
        had = normalised(current.loc[rows, header], column)
        if column.kind == GROUPS and not exact_groups:
            pairs = zip(wanted, had, cells, strict=True)
            differs = [_adds_groups(w, h, c) for w, h, c in pairs]
        else:
            differs = list(~wanted.eq(had))
        changed.loc[rows, header] = differs
    return changed


def _adds_groups(wanted: Any, had: Any, cell: str) -> bool:
    if cell == CLEAR:
        return bool(had)
    return not set(wanted) <= set(had or ())


def normalised(values: pd.Series, column: Column) -> pd.Series:
    """Cells in the form two equal values share; None where there is no value."""
    kind = column.value_type
    form: Callable[[Any], Any]
    if column.kind == GROUPS:
        form = _group_set
    elif column.kind == MANAGER:
        form = username_key
    elif kind == "boolean":
        form = _boolean
    elif kind in ("integer", "decimal"):
        form = _number
    else:
        form = _text
    cells = [
        None if value is None or value != value else form(_as_text(value, kind))
        for value in values
    ]
    return pd.Series(cells, index=values.index, dtype=object)


def _as_text(value: Any, kind: str) -> Any:
    if isinstance(value, bool):
        return value if kind == "boolean" else str(value).lower()
    return value if isinstance(value, str) else str(value)


def _text(text: str) -> str:
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _group_set(text: str) -> tuple[str, ...]:
    return tuple(sorted({username_key(n) for n in text.split(";") if n.strip()}))


def _boolean(value: str | bool) -> Any:
    if isinstance(value, bool):
        return value
    parsed = parse_bool(value)
    return value.strip() if parsed is None else parsed


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text.strip()


def check_cells(
    frame: pd.DataFrame,
    changed: pd.DataFrame,
    columns: dict[str, Column],
    creating: pd.Series,
    current: pd.DataFrame,
) -> list[Problem]:
    """Type, format, mutability and required checks on the cells that change
    something. An immutable attribute may be set once, where it has no value."""
    problems: list[Problem] = []
    cleared = frame.eq(CLEAR)
    for header, column in columns.items():
        mask = changed[header]
        if not mask.any():
            continue
        clear = mask & cleared[header]
        problems += _column_problems(frame.loc[mask & ~clear, header], column)
        if _required(column) and clear.any():
            problems += _rows(frame.loc[clear, header], header, f"{header} is required")
        if _immutable(column):
            was_set = current[header].notna() if header in current else ~creating
            existing = frame.loc[mask & ~creating & was_set, header]
            message = f"{header} cannot change once set (immutable)"
            problems += _rows(existing, header, message)
    problems += _missing_required(frame, columns, creating)
    return problems


def _immutable(column: Column) -> bool:
    return any(
        a is not None and a.mutability == "immutable"
        for a in (column.attribute, column.sub)
    )


def _column_problems(cells: pd.Series, column: Column) -> list[Problem]:
    header = column.header
    kind = column.value_type
    if cells.empty or column.kind in (GROUPS, MANAGER, ID):
        return []
    if column.kind == PRIMARY:
        return []
    if kind == "boolean":
        valid = [word for word in pd.unique(cells) if parse_bool(word) is not None]
        bad = ~cells.isin(valid)
        return _rows(cells[bad], header, "not a boolean: use true/false, yes/no or 1/0")
    if kind == "integer":
        bad = _mismatches(cells, INTEGER)
        return _rows(cells[bad], header, "not a whole number")
    if kind == "decimal":
        bad = _mismatches(cells, DECIMAL)
        return _rows(cells[bad], header, "not a number")
    if kind == "dateTime":
        parsed = pd.to_datetime(cells, format="ISO8601", errors="coerce", utc=True)
        return _rows(
            cells[parsed.isna()], header, "not an ISO 8601 date, e.g. 2026-01-31"
        )
    if is_email(column):
        bad = _mismatches(cells, EMAIL)
        return _rows(cells[bad], header, "not an email address")
    return []


def _mismatches(cells: pd.Series, pattern: re.Pattern[str]) -> pd.Series:
    """True for the cells the pattern does not match whole."""
    match = pattern.fullmatch
    return pd.Series([match(c) is None for c in cells], index=cells.index, dtype=bool)


def is_email(column: Column) -> bool:
    attribute, sub = column.attribute, column.sub
    return (
        column.kind == ENTRY
        and attribute is not None
        and attribute.name == "emails"
        and sub is not None
        and sub.name == "value"
    )


def _required(column: Column) -> bool:
    attribute = column.value_attribute
    return bool(attribute and attribute.required and column.kind != ENTRY)


def _missing_required(
    frame: pd.DataFrame, columns: dict[str, Column], creating: pd.Series
) -> list[Problem]:
    """A new user needs every required attribute, userName first of all."""
    problems: list[Problem] = []
    required = ["userName"] + [
        h for h, c in columns.items() if _required(c) and h != "userName"
    ]
    for header in required:
        cells = (
            frame[header]
            if header in frame
            else pd.Series(None, index=frame.index, dtype=object)
        )
        missing = creating & (cells.isna() | (cells == CLEAR))
        problems += [
            Problem(int(row), header, "", f"{header} is required for a new user")
            for row in missing[missing].index
        ]
    return problems


def duplicate_usernames(frame: pd.DataFrame, usernames: pd.Series) -> list[Problem]:
    """userNames equal after trim, NFC and case folding, reported on the later rows."""
    if "userName" not in frame:
        return []
    keys = usernames.dropna()
    repeated = keys.duplicated()
    if not repeated.any():
        return []
    names = frame["userName"]
    first_row = pd.Series(keys.index, index=keys.values).groupby(level=0).first()
    return [
        Problem(
            int(row),
            "userName",
            str(names[row]),
            f"duplicate of row {int(first_row[keys[row]])}",
        )
        for row in repeated[repeated].index
    ]


def canonical_warnings(columns: Iterable[Column]) -> list[Problem]:
    """Entry types outside the schema's canonical values: allowed, but worth a look."""
    warnings = []
    for column in columns:
        if column.kind != ENTRY or column.attribute is None:
            continue
        types = column.attribute.sub("type")
        canonical = types.canonical_values if types else ()
        if canonical and column.entry_type not in canonical:
            message = (
                f"type {column.entry_type!r} is not one of "
                f"{', '.join(canonical)}; the server may refuse it"
            )
            warnings.append(
                Problem(HEADER_ROW, column.header, column.header, message, WARNING)
            )
    return warnings


def _rows(cells: pd.Series, header: str, message: str) -> list[Problem]:
    return [
        Problem(int(row), header, str(value), message) for row, value in cells.items()
    ]
