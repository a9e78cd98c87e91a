"""The `groups` column -> one change per group, carried by one PUT of the whole group.

A cell names the user's groups by display name, separated by `;`. Names add the
user; with `exact` the user also leaves the direct groups the cell does not name.
A blank cell keeps the memberships; `<clear>` means none (it needs `exact`).
Users created in the same run are members by userName until they have an id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.columns import CLEAR, GROUPS, username_key
from pipeline.columns import ID as ID_COLUMN
from pipeline.validate import Problem


@dataclass
class GroupChange:
    """What one group gains and loses in this run."""

    group_id: str | None  # None: a group created in this run
    display_name: str
    add_ids: list[str] = field(default_factory=list)
    add_new_users: list[str] = field(default_factory=list)  # userName keys
    remove_ids: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # id or key -> userName
    # From the Groups sheet: attribute -> (before, after); after None removes it.
    attributes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return "create group" if self.group_id is None else "update group"

    @property
    def changes_members(self) -> bool:
        return bool(self.add_ids or self.add_new_users or self.remove_ids)

    def summary(self) -> str:
        added = [self.names.get(i, i) for i in [*self.add_ids, *self.add_new_users]]
        removed = [self.names.get(i, i) for i in self.remove_ids]
        parts = [f"+{name}" for name in added] + [f"-{name}" for name in removed]
        return ", ".join(parts)


def split_names(cell: str) -> list[str]:
    return [name.strip() for name in cell.split(";") if name.strip()]


def index_groups(groups: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Groups by case-folded display name; a name may match several."""
    index: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        key = username_key(str(group.get("displayName") or ""))
        index.setdefault(key, []).append(group)
    return index


def check_group_names(
    cells: pd.Series,
    groups: list[dict[str, Any]],
    create_groups: bool,
    created: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Unknown names (unless `create_groups`, or the Groups sheet creates them) and
    names that match two groups. `created` holds case-folded names."""
    index = index_groups(groups)
    problems = []
    for row, cell in cells.items():
        if cell == CLEAR:
            continue
        for name in split_names(str(cell)):
            found = index.get(username_key(name), [])
            if len(found) > 1:
                ids = ", ".join(str(g.get("id")) for g in found)
                message = f"group {name!r} matches {len(found)} groups ({ids})"
                problems.append(Problem(int(row), GROUPS, str(cell), message))
            elif not found and not create_groups and username_key(name) not in created:
                message = (
                    f"no group named {name!r}; check the name, or add "
                    "--create-groups to create it"
                )
                problems.append(Problem(int(row), GROUPS, str(cell), message))
    return problems


def plan_group_changes(
    cells: pd.Series,
    matched: pd.Series,
    new_users: dict[int, str],
    groups: list[dict[str, Any]],
    memberships: dict[str, list[str]],
    usernames: dict[str, str],
    exact: bool,
    from_sheet: dict[str, GroupChange] | None = None,
) -> list[GroupChange]:
    """One GroupChange per group whose members or attributes change.

    `cells` are the changed `groups` cells by row; `matched` the user id per row;
    `new_users` the userName key of each row that creates a user; `from_sheet` the
    changes the Groups sheet asks for, by `group_key`.
    """
    index = index_groups(groups)
    changes: dict[str, GroupChange] = dict(from_sheet or {})

    def change_for(name: str) -> GroupChange:
        found = index.get(username_key(name))
        key = group_key(str(found[0]["id"]) if found else None, name)
        if key not in changes:
            group_id = str(found[0]["id"]) if found else None
            shown = str(found[0].get("displayName")) if found else name
            changes[key] = GroupChange(group_id, shown)
        return changes[key]

    for row, cell in cells.items():
        wanted = [] if cell == CLEAR else split_names(str(cell))
        user_id = matched.get(row)
        member = user_id if user_id is not None else new_users[int(row)]
        now = memberships.get(user_id, []) if user_id is not None else []
        now_keys = {username_key(n) for n in now}
        for name in wanted:
            if username_key(name) in now_keys:
                continue
            change = change_for(name)
            target = change.add_ids if user_id is not None else change.add_new_users
            target.append(member)
            change.rows.append(int(row))
            change.names[member] = usernames.get(member, member)
        if exact and user_id is not None:
            wanted_keys = {username_key(n) for n in wanted}
            for name in now:
                if username_key(name) not in wanted_keys:
                    change = change_for(name)
                    change.remove_ids.append(user_id)
                    change.rows.append(int(row))
                    change.names[user_id] = usernames.get(user_id, user_id)
    return list(changes.values())


def group_key(group_id: str | None, name: str) -> str:
    """How a group's change is filed: its id, or its name while it has none."""
    return group_id if group_id is not None else f"new:{username_key(name)}"


GROUP_SHEET_ATTRIBUTES = ("displayName", "externalId")
GROUP_SHEET_IGNORED = frozenset({"members", "memberCount"})


def plan_group_sheet(
    frame: pd.DataFrame, groups: list[dict[str, Any]]
) -> tuple[dict[str, GroupChange], list[Problem]]:
    """Groups the workbook's Groups sheet creates or renames, by `group_key`.

    Rows with an `id` change that group; rows without one match by displayName or
    create the group. Problems name the sheet: `Groups!displayName`.
    """
    problems = [
        Problem(1, f"Groups!{h}", h, "unknown column; use id, displayName, externalId")
        for h in frame.columns
        if h not in (ID_COLUMN, *GROUP_SHEET_ATTRIBUTES, *GROUP_SHEET_IGNORED)
    ]
    by_id = {str(g.get("id")): g for g in groups}
    index = index_groups(groups)
    changes: dict[str, GroupChange] = {}
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row, cells in zip(frame.index, records, strict=True):
        group_id = cells.get(ID_COLUMN)
        name = cells.get("displayName")
        if group_id is not None and group_id not in by_id:
            message = "no group with this id on the server"
            problems.append(Problem(int(row), "Groups!id", group_id, message))
            continue
        if group_id is None:
            if name is None:
                continue
            found = index.get(username_key(name), [])
            if len(found) > 1:
                message = f"matches {len(found)} groups; give the id"
                problems.append(Problem(int(row), "Groups!displayName", name, message))
                continue
            group_id = str(found[0]["id"]) if found else None
        current = by_id.get(group_id) if group_id else None
        change = GroupChange(group_id, str(name or (current or {}).get("displayName")))
        for attribute in GROUP_SHEET_ATTRIBUTES:
            wanted = cells.get(attribute)
            before = (current or {}).get(attribute)
            if (
                wanted is None
                or wanted == before
                or (wanted == CLEAR and before is None)
            ):
                continue
            change.attributes[attribute] = (before, None if wanted == CLEAR else wanted)
        key = group_key(group_id, change.display_name)
        if key in changes:
            message = "names the same group as an earlier row"
            problems.append(Problem(int(row), "Groups!displayName", str(name), message))
        elif current is None or change.attributes:
            changes[key] = change
    return changes, problems


def group_body(
    group: dict[str, Any] | None,
    change: GroupChange,
    created_ids: dict[str, str],
    schema_id: str,
) -> dict[str, Any]:
    """The whole group as it should be: current members, less removals, plus adds."""
    body = {k: v for k, v in (group or {}).items() if k != "meta"}
    body.setdefault("schemas", [schema_id])
    body.setdefault("displayName", change.display_name)
    for attribute, (_, after) in change.attributes.items():
        if after is None:
            body.pop(attribute, None)
        else:
            body[attribute] = after
    removed = set(change.remove_ids)
    members = [
        m
        for m in body.get("members") or []
        if not (isinstance(m, dict) and str(m.get("value")) in removed)
    ]
    present = {str(m.get("value")) for m in members if isinstance(m, dict)}
    adds = change.add_ids + [
        created_ids[k] for k in change.add_new_users if k in created_ids
    ]
    for user_id in adds:
        if user_id not in present:
            members.append({"value": user_id, "type": "User"})
            present.add(user_id)
    body["members"] = members
    return body
