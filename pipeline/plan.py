"""Desired rows vs current users -> a plan of creates, updates and suspensions (pure).

An update is the user's current full object with the sheet's changed cells merged in:
nothing the sheet does not name is lost. `meta` and `groups` are never sent.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.columns import (
    CLEAR,
    ID,
    PRIMARY,
    Column,
    Layout,
    parse_bool,
    username_key,
)
from pipeline.errors import GuardRefused
from pipeline.scim.dialect import Dialect
from pipeline.validate import Problem

CREATE = "create"
UPDATE = "update"
SUSPEND = "suspend"
REACTIVATE = "reactivate"
NOTHING = "nothing"
NOT_SENT = frozenset({"meta", "groups"})


@dataclass(frozen=True)
class FieldChange:
    column: str
    before: Any
    after: Any


@dataclass
class RowPlan:
    """What one sheet row asks for, and the requests that carry it out."""

    row: int
    action: str
    user_id: str | None
    user_name: str
    changes: list[FieldChange] = field(default_factory=list)
    body: dict[str, Any] | None = None  # POST or PUT body; None when no PUT
    delete_after: bool = False  # Psoda: suspend with DELETE after any PUT


@dataclass
class Plan:
    rows: list[RowPlan]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def work(self) -> list[RowPlan]:
        return [r for r in self.rows if r.action != NOTHING]


def match_rows(
    frame: pd.DataFrame, users: list[dict[str, Any]], match_by: str = "userName"
) -> tuple[pd.Series, list[Problem]]:
    """The id of the current user each row updates, or None for a new one.

    `id` wins when the cell is given; otherwise userName (case-insensitively) or
    externalId. An unknown id, or two rows on one user, are row errors.
    """
    known_ids = {str(u["id"]) for u in users if u.get("id")}
    if match_by == "externalId":
        index = {
            str(u["externalId"]): str(u["id"]) for u in users if u.get("externalId")
        }
    else:
        index = {username_key(str(u.get("userName", ""))): str(u["id"]) for u in users}
    cells = frame[match_by] if match_by in frame else pd.Series(None, index=frame.index)
    normalise = (lambda v: v) if match_by == "externalId" else username_key
    matched = pd.Series(
        [None if _blank(v) else index.get(normalise(v)) for v in cells],
        index=frame.index,
        dtype=object,
    )
    problems: list[Problem] = []
    if ID in frame:
        ids = frame[ID]
        unknown = ids.notna() & ~ids.isin(known_ids)
        problems += [
            Problem(int(r), ID, str(ids[r]), "no user with this id on the server")
            for r in unknown[unknown].index
        ]
        given = ids.notna() & ~unknown
        matched = pd.Series(
            [ids[r] if given[r] else matched[r] for r in frame.index],
            index=frame.index,
            dtype=object,
        )
    claimed = matched.dropna()
    first = claimed.drop_duplicates()
    for row in claimed[claimed.duplicated()].index:
        first_row = int(first[first == claimed[row]].index[0])
        message = f"updates the same user as row {first_row}"
        problems.append(
            Problem(int(row), match_by, str(frame.at[row, match_by]), message)
        )
    return matched, problems


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def current_frame(
    matched: pd.Series,
    users: dict[str, dict[str, Any]],
    layout: Layout,
    usernames: dict[str, str],
    memberships: dict[str, list[str]],
    headers: list[str],
) -> pd.DataFrame:
    """The current value of every sheet cell, row by row, as our export shows it."""
    rows = {
        row: layout.flatten(users[user_id], usernames, memberships.get(user_id, ()))
        for row, user_id in matched.dropna().items()
    }
    return pd.DataFrame(
        {h: [rows.get(r, {}).get(h) for r in matched.index] for h in headers},
        index=matched.index,
        columns=headers,
        dtype=object,
    )


def typed_value(text: str | bool, column: Column) -> Any:
    """A cell's text as the JSON value the server expects."""
    kind = column.value_type
    if isinstance(text, bool):
        return text
    if kind == "boolean":
        return parse_bool(text)
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return float(text)
    return text


def plan_import(
    frame: pd.DataFrame,
    changed: pd.DataFrame,
    current: pd.DataFrame,
    matched: pd.Series,
    columns: dict[str, Column],
    users: dict[str, dict[str, Any]],
    layout: Layout,
    dialect: Dialect,
) -> Plan:
    """One RowPlan per row; rows that change nothing plan `nothing`."""
    order = sorted(columns, key=lambda h: columns[h].kind == PRIMARY)
    rows = []
    for row in frame.index:
        user_id = matched[row]
        edits = [
            FieldChange(h, current.at[row, h], _shown(frame.at[row, h], columns[h]))
            for h in order
            if changed.at[row, h] and columns[h].kind != ID
        ]
        if user_id is None:
            rows.append(_create(row, frame, edits, columns, layout))
        else:
            current_user = users[user_id]
            rows.append(_update(row, current_user, edits, columns, layout, dialect))
    return Plan(rows)


def _shown(text: str, column: Column) -> Any:
    """A cell as the plan shows it: booleans parsed, everything else as written."""
    if column.value_type == "boolean" and text != CLEAR:
        return parse_bool(text)
    return text


def _create(
    row: int,
    frame: pd.DataFrame,
    edits: list[FieldChange],
    columns: dict[str, Column],
    layout: Layout,
) -> RowPlan:
    body: dict[str, Any] = {"schemas": [layout.schema.core.id]}
    for edit in edits:
        if edit.after != CLEAR:
            layout.apply_cell(
                body,
                columns[edit.column],
                typed_value(edit.after, columns[edit.column]),
            )
    user_name = str(frame.at[row, "userName"]) if "userName" in frame else ""
    return RowPlan(row, CREATE, None, user_name, edits, body)


def _update(
    row: int,
    user: dict[str, Any],
    edits: list[FieldChange],
    columns: dict[str, Column],
    layout: Layout,
    dialect: Dialect,
) -> RowPlan:
    user_id = str(user["id"])
    user_name = str(user.get("userName", ""))
    if not edits:
        return RowPlan(row, NOTHING, user_id, user_name)
    wants_active = next((e.after for e in edits if e.column == "active"), None)
    was_active = user.get("active") is not False
    action = UPDATE
    if wants_active is False and was_active:
        action = SUSPEND
    elif wants_active is True and not was_active:
        action = REACTIVATE
    delete_after = action == SUSPEND and dialect.suspend_by_delete
    body = {k: copy.deepcopy(v) for k, v in user.items() if k not in NOT_SENT}
    for edit in edits:
        if delete_after and edit.column == "active":
            continue  # the DELETE that follows suspends
        column = columns[edit.column]
        value = None if edit.after == CLEAR else typed_value(edit.after, column)
        layout.apply_cell(body, column, value)
    put_needed = any(not (delete_after and e.column == "active") for e in edits)
    return RowPlan(
        row,
        action,
        user_id,
        user_name,
        edits,
        body if put_needed else None,
        delete_after,
    )


def check_suspensions(plan: Plan, max_suspend: int) -> None:
    """Refuse the whole run when it would suspend more users than allowed."""
    count = plan.count(SUSPEND)
    if count > max_suspend:
        raise GuardRefused(
            f"the plan suspends {count} users, more than --max-suspend {max_suspend}; "
            "check the sheet's active column, or raise --max-suspend"
        )
