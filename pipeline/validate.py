"""Schema-driven checks of every cell of a sheet, before anything is sent (pure).

Only cells that differ from the server's current value are checked, so a tenant's
own odd data round-trips. Checks run column by column over the whole frame.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
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
    username_keys,
)
from pipeline.headers import friendly_target

ERROR = "error"
WARNING = "warning"
HEADER_ROW = 1
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
INTEGER = r"^[+-]?\d+$"
DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


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
    changed = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for header, column in columns.items():
        cells = frame[header]
        if header in current:
            now = current[header]
        else:
            now = pd.Series(None, index=frame.index, dtype=object)
        # A value where there is none is a change; clearing nothing is not.
        fresh = cells.notna() & now.isna() & (cells != CLEAR)
        both = cells.notna() & now.notna()
        differs = pd.Series(False, index=frame.index)
        if both.any():
            wanted, had = normalised(cells[both], column), normalised(now[both], column)
            if column.kind == GROUPS and not exact_groups:
                pairs = zip(wanted, had, cells[both], strict=True)
                compared = [_adds_groups(w, h, c) for w, h, c in pairs]
            else:
                compared = list(~wanted.eq(had))
            differs[both] = compared
        changed[header] = (fresh | differs).to_numpy()
    return changed


def _adds_groups(wanted: Any, had: Any, cell: str) -> bool:
    if cell == CLEAR:
        return bool(had)
    return not set(wanted) <= set(had or ())


def normalised(values: pd.Series, column: Column) -> pd.Series:
    """Cells in the form two equal values share; None where there is no value."""

    def one(value: Any) -> Any:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return None
        if isinstance(value, bool):
            return value if column.value_type == "boolean" else str(value).lower()
        text = unicodedata.normalize("NFC", str(value).strip())
        if column.kind == GROUPS:
            return tuple(
                sorted({username_key(n) for n in text.split(";") if n.strip()})
            )
        if column.kind == MANAGER:
            return username_key(text)
        if column.value_type == "boolean":
            parsed = parse_bool(text)
            return text if parsed is None else parsed
        if column.value_type in ("integer", "decimal"):
            try:
                return float(text)
            except ValueError:
                return text
        return text

    return values.map(one).astype(object)


def check_cells(
    frame: pd.DataFrame,
    changed: pd.DataFrame,
    columns: dict[str, Column],
    creating: pd.Series,
) -> list[Problem]:
    """Type, format, mutability and required checks on the cells that change
    something."""
    problems: list[Problem] = []
    for header, column in columns.items():
        mask = changed[header]
        if not mask.any():
            continue
        cells = frame.loc[mask, header].astype(str)
        clear = cells == CLEAR
        problems += _column_problems(cells[~clear], column)
        if clear.any() and _required(column):
            problems += _rows(cells[clear], header, f"{header} is required")
        if _immutable(column):
            existing = cells[~creating[mask]]
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
        bad = cells.map(lambda text: parse_bool(text) is None).astype(bool)
        return _rows(cells[bad], header, "not a boolean: use true/false, yes/no or 1/0")
    if kind == "integer":
        bad = ~cells.str.fullmatch(INTEGER)
        return _rows(cells[bad], header, "not a whole number")
    if kind == "decimal":
        bad = ~cells.str.fullmatch(DECIMAL)
        return _rows(cells[bad], header, "not a number")
    if kind == "dateTime":
        parsed = pd.to_datetime(cells, format="ISO8601", errors="coerce", utc=True)
        return _rows(
            cells[parsed.isna()], header, "not an ISO 8601 date, e.g. 2026-01-31"
        )
    if is_email(column):
        bad = ~cells.str.fullmatch(EMAIL)
        return _rows(cells[bad], header, "not an email address")
    return []


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


def duplicate_usernames(frame: pd.DataFrame) -> list[Problem]:
    """userNames equal after trim, NFC and case folding, reported on the later rows."""
    if "userName" not in frame:
        return []
    names = frame["userName"].dropna()
    keys = username_keys(names)
    first_row = pd.Series(keys.index, index=keys.values).groupby(level=0).first()
    repeated = keys.duplicated()
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
