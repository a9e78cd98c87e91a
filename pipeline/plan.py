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
    GROUPS,
    ID,
    MANAGER,
    PRIMARY,
    SIMPLE,
    Column,
    Layout,
    parse_bool,
    username_key,
)
from pipeline.errors import GuardRefused
from pipeline.matching import ManagerRef, creation_waves
from pipeline.memberships import GroupChange
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

    row: int  # the sheet's row; 0 for a user absent from the sheet
    action: str
    user_id: str | None
    user_name: str
    changes: list[FieldChange] = field(default_factory=list)
    body: dict[str, Any] | None = None  # POST or PUT body; None when no PUT
    delete_after: bool = False  # Psoda: suspend with DELETE after any PUT
    manager_new_user: str | None = None  # userName key of a manager created now


@dataclass
class Plan:
    rows: list[RowPlan]
    groups: list[GroupChange] = field(default_factory=list)
    waves: list[list[int]] = field(default_factory=list)  # creating rows, in order
    problems: list[Problem] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def work(self) -> list[RowPlan]:
        return [r for r in self.rows if r.action != NOTHING]

    @property
    def empty(self) -> bool:
        return not self.work and not self.groups


@dataclass
class PlanInputs:
    """Everything planning needs, read and checked beforehand."""

    frame: pd.DataFrame  # the sheet's cells under canonical headers
    changed: pd.DataFrame  # which cells ask for a change
    current: pd.DataFrame  # the current value of each cell
    matched: pd.Series  # user id per row, None for a new user
    columns: dict[str, Column]
    users: dict[str, dict[str, Any]]
    layout: Layout
    dialect: Dialect
    managers: dict[int, ManagerRef] = field(default_factory=dict)
    new_users: dict[int, str] = field(default_factory=dict)  # row -> userName key
    protected: frozenset[str] = frozenset()  # userName keys never suspended
    suspend_missing: bool = False


def typed_value(text: str | bool, column: Column) -> Any:
    """A cell's text as the JSON value the server expects."""
    if isinstance(text, bool):
        return text
    attribute = column.value_attribute
    if column.kind == SIMPLE and attribute is not None and attribute.multi_valued:
        return [_scalar(part.strip(), column.value_type) for part in text.split(";")]
    return _scalar(text, column.value_type)


def _scalar(text: str, kind: str) -> Any:
    if kind == "boolean":
        return parse_bool(text)
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return float(text)
    return text


def plan_import(inputs: PlanInputs, group_changes: list[GroupChange]) -> Plan:
    """One RowPlan per row (rows that change nothing plan `nothing`), the users
    `suspend_missing` reaches, the group changes and the order of creation."""
    columns = inputs.columns
    order = sorted(columns, key=lambda h: columns[h].kind == PRIMARY)
    plan = Plan(rows=[], groups=group_changes)
    for row in inputs.frame.index:
        edits = [
            FieldChange(
                h,
                inputs.current.at[row, h],
                _shown(inputs.frame.at[row, h], columns[h]),
            )
            for h in order
            if inputs.changed.at[row, h] and columns[h].kind not in (ID, GROUPS)
        ]
        edits += _group_edit(inputs, row)
        user_id = inputs.matched[row]
        if user_id is None:
            row_plan = _create(inputs, int(row), edits)
        else:
            row_plan = _update(inputs, int(row), inputs.users[user_id], edits)
        plan.problems += _entry_problems(row_plan, inputs.layout)
        plan.rows.append(row_plan)
    if inputs.suspend_missing:
        plan.rows += _missing_users(inputs)
    plan.problems += _protected(plan.rows, inputs.protected)
    creating = {
        r.row: username_key(r.user_name) for r in plan.rows if r.action == CREATE
    }
    plan.waves, cycles = creation_waves(creating, inputs.managers)
    plan.problems += cycles
    return plan


def _group_edit(inputs: PlanInputs, row: Any) -> list[FieldChange]:
    """The `groups` cell shows in the plan; the change itself is the group's PUT."""
    if GROUPS not in inputs.columns or not inputs.changed.at[row, GROUPS]:
        return []
    return [
        FieldChange(
            GROUPS, inputs.current.at[row, GROUPS], inputs.frame.at[row, GROUPS]
        )
    ]


def _shown(text: str, column: Column) -> Any:
    """A cell as the plan shows it: booleans parsed, everything else as written."""
    if column.value_type == "boolean" and text != CLEAR:
        return parse_bool(text)
    return text


def _create(inputs: PlanInputs, row: int, edits: list[FieldChange]) -> RowPlan:
    body: dict[str, Any] = {"schemas": [inputs.layout.schema.core.id]}
    manager_new_user = _apply_edits(inputs, row, body, edits, skip_active=False)
    user_name = (
        str(inputs.frame.at[row, "userName"]) if "userName" in inputs.frame else ""
    )
    return RowPlan(
        row, CREATE, None, user_name, edits, body, manager_new_user=manager_new_user
    )


def _update(
    inputs: PlanInputs, row: int, user: dict[str, Any], edits: list[FieldChange]
) -> RowPlan:
    user_id = str(user["id"])
    user_name = str(user.get("userName", ""))
    if not edits:
        return RowPlan(row, NOTHING, user_id, user_name)
    wants_active = next((e.after for e in edits if e.column == "active"), None)
    action = _status_action(user, wants_active)
    delete_after = action == SUSPEND and inputs.dialect.suspend_by_delete
    body = {k: copy.deepcopy(v) for k, v in user.items() if k not in NOT_SENT}
    manager_new_user = _apply_edits(inputs, row, body, edits, skip_active=delete_after)
    user_edits = [e for e in edits if e.column != GROUPS]
    put_needed = any(not (delete_after and e.column == "active") for e in user_edits)
    return RowPlan(
        row,
        action,
        user_id,
        user_name,
        edits,
        body if put_needed else None,
        delete_after,
        manager_new_user,
    )


def _status_action(user: dict[str, Any], wants_active: Any) -> str:
    was_active = user.get("active") is not False
    if wants_active is False and was_active:
        return SUSPEND
    if wants_active is True and not was_active:
        return REACTIVATE
    return UPDATE


def _apply_edits(
    inputs: PlanInputs,
    row: int,
    body: dict[str, Any],
    edits: list[FieldChange],
    skip_active: bool,
) -> str | None:
    """Merge the edits into a body; returns the key of a manager created this run."""
    manager_new_user = None
    for edit in edits:
        column = inputs.columns.get(edit.column)
        if column is None or column.kind == GROUPS:
            continue
        if skip_active and edit.column == "active":
            continue  # the DELETE that follows suspends
        if edit.after == CLEAR:
            inputs.layout.apply_cell(body, column, None)
        elif column.kind == MANAGER:
            ref = inputs.managers[row]
            manager_new_user = ref.new_user
            # A new manager replaces the old one whole, display name included.
            inputs.layout.apply_cell(body, column, None)
            inputs.layout.apply_cell(body, column, ref.user_id or "")
        else:
            inputs.layout.apply_cell(body, column, typed_value(edit.after, column))
    return manager_new_user


def _entry_problems(row: RowPlan, layout: Layout) -> list[Problem]:
    """At most one primary entry per multi-valued attribute, in the merged body."""
    if row.body is None:
        return []
    problems = []
    for schema in layout.schema.schemas:
        container = (
            row.body if schema is layout.schema.core else row.body.get(schema.id)
        )
        if not isinstance(container, dict):
            continue
        for attribute in schema.attributes:
            entries = container.get(attribute.name)
            if not (attribute.multi_valued and isinstance(entries, list)):
                continue
            primaries = [e for e in entries if isinstance(e, dict) and e.get("primary")]
            if len(primaries) > 1:
                message = (
                    f"{len(primaries)} {attribute.name} are marked primary; mark one"
                )
                problems.append(
                    Problem(row.row, f"{attribute.name}.primary", "", message)
                )
    return problems


def _missing_users(inputs: PlanInputs) -> list[RowPlan]:
    """Active users no row names, to suspend (`--suspend-missing`)."""
    named = set(inputs.matched.dropna())
    rows = []
    for user_id, user in inputs.users.items():
        if user_id in named or user.get("active") is False:
            continue
        if username_key(str(user.get("userName", ""))) in inputs.protected:
            continue
        change = FieldChange("active", True, False)
        delete = inputs.dialect.suspend_by_delete
        body = None if delete else {**_sendable(user), "active": False}
        rows.append(
            RowPlan(
                0,
                SUSPEND,
                user_id,
                str(user.get("userName", "")),
                [change],
                body,
                delete,
            )
        )
    return rows


def merge_into(user: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A user with a new user's body merged in: nested objects key by key,
    multi-valued entries by type; everything else the user had is kept."""
    merged = _sendable(user)
    for key, value in body.items():
        now = merged.get(key)
        if key == "schemas":
            merged[key] = list(dict.fromkeys([*(now or []), *value]))
        elif isinstance(value, dict) and isinstance(now, dict):
            merged[key] = {**now, **value}
        elif isinstance(value, list) and isinstance(now, list):
            types = {e.get("type") for e in value if isinstance(e, dict)}
            kept = [
                e for e in now if not (isinstance(e, dict) and e.get("type") in types)
            ]
            merged[key] = kept + value
        else:
            merged[key] = value
    return merged


def _sendable(user: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in user.items() if k not in NOT_SENT}


def _protected(rows: list[RowPlan], protected: frozenset[str]) -> list[Problem]:
    return [
        Problem(r.row, "active", "false", f"{r.user_name} is protected (--protect)")
        for r in rows
        if r.action == SUSPEND and username_key(r.user_name) in protected
    ]


def check_suspensions(plan: Plan, max_suspend: int) -> None:
    """Refuse the whole run when it would suspend more users than allowed."""
    count = plan.count(SUSPEND)
    if count > max_suspend:
        raise GuardRefused(
            f"the plan suspends {count} users, more than --max-suspend {max_suspend}; "
            "check the sheet's active column and --suspend-missing, or raise "
            "--max-suspend"
        )
