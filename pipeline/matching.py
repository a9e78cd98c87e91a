"""Which user each sheet row is about, and the references rows make to users.

Rows match by `id` when the cell is given, else by userName (case-insensitively) or
externalId. Managers are named by userName and resolve to an id on the server, or
to a user another row creates in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.columns import ID, MANAGER, Layout, username_key
from pipeline.validate import Problem


def match_rows(
    frame: pd.DataFrame,
    users: list[dict[str, Any]],
    match_by: str,
    usernames: pd.Series,
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
    blank = pd.Series(None, index=frame.index, dtype=object)
    cells = frame.get(match_by, blank)
    keys = cells if match_by == "externalId" else usernames
    found = keys.map(index)
    matched = found.astype(object).where(found.notna(), None)
    by = pd.Series(match_by, index=frame.index, dtype=object)
    problems: list[Problem] = []
    if ID in frame:
        ids = frame[ID]
        unknown = ids.notna() & ~ids.isin(known_ids)
        problems += [
            Problem(int(r), ID, str(ids[r]), "no user with this id on the server")
            for r in unknown[unknown].index
        ]
        given = ids.notna() & ~unknown
        matched = (
            ids.where(given, matched)
            .astype(object)
            .where(given | matched.notna(), None)
        )
        cells = ids.where(given, cells)
        by = by.where(~given, ID)
    claimed = matched.dropna()
    first_row = pd.Series(claimed.index, index=claimed.values).groupby(level=0).first()
    for row in claimed[claimed.duplicated()].index:
        message = f"updates the same user as row {int(first_row[claimed[row]])}"
        problems.append(Problem(int(row), by[row], str(cells[row]), message))
    return matched, problems


def current_frame(
    matched: pd.Series,
    users: dict[str, dict[str, Any]],
    layout: Layout,
    usernames: dict[str, str],
    memberships: dict[str, list[str]],
    headers: list[str],
) -> pd.DataFrame:
    """The current value of every sheet cell, row by row, as our export shows it."""
    columns = {h: np.full(len(matched), None, dtype=object) for h in headers}
    for position, user_id in enumerate(matched):
        if user_id is None:
            continue
        row = layout.flatten(users[user_id], usernames, memberships.get(user_id, ()))
        for header in headers:
            columns[header][position] = row.get(header)
    return pd.DataFrame(columns, index=matched.index, columns=headers, dtype=object)


@dataclass(frozen=True)
class ManagerRef:
    """A manager: an existing user's id, or the userName key of a user created now."""

    user_id: str | None = None
    new_user: str | None = None


def resolve_managers(
    cells: pd.Series,
    matched: pd.Series,
    users: list[dict[str, Any]],
    new_users: dict[int, str],
) -> tuple[dict[int, ManagerRef], list[Problem]]:
    """The manager each changed `manager` cell names; an unknown one is a row error."""
    by_name = {username_key(str(u.get("userName", ""))): str(u["id"]) for u in users}
    ids = {str(u["id"]) for u in users}
    created = set(new_users.values())
    resolved: dict[int, ManagerRef] = {}
    problems: list[Problem] = []
    for row, cell in cells.items():
        key = username_key(str(cell))
        own = matched.get(row) or new_users.get(int(row))
        if key in by_name:
            ref = ManagerRef(user_id=by_name[key])
        elif key in created:
            ref = ManagerRef(new_user=key)
        elif str(cell) in ids:
            ref = ManagerRef(user_id=str(cell))
        else:
            message = f"no user {cell!r} on the server or in this sheet"
            problems.append(Problem(int(row), MANAGER, str(cell), message))
            continue
        if own is not None and own in (ref.user_id, ref.new_user):
            problems.append(
                Problem(int(row), MANAGER, str(cell), "a user cannot manage themself")
            )
            continue
        resolved[int(row)] = ref
    return resolved, problems


def username_conflicts(
    frame: pd.DataFrame,
    matched: pd.Series,
    users: list[dict[str, Any]],
    usernames: pd.Series,
) -> list[Problem]:
    """A userName another user on the server already has, for a different row's user.

    `usernames` holds the userName keys of the rows to check: new or renamed users.
    """
    if "userName" not in frame:
        return []
    owners = {username_key(str(u.get("userName", ""))): str(u["id"]) for u in users}
    owner = usernames.map(owners)
    clash = owner.notna() & (owner.astype(object) != matched.reindex(owner.index))
    return [
        Problem(
            int(row),
            "userName",
            str(frame.at[row, "userName"]),
            f"userName already belongs to another user (id {owner[row]})",
        )
        for row in clash[clash].index
    ]


def creation_waves(
    rows: dict[int, str], managers: dict[int, ManagerRef]
) -> tuple[list[list[int]], list[Problem]]:
    """Rows creating users, in waves: a manager is created before those it manages.

    `rows` maps each creating row to its userName key. Rows whose managers form a
    cycle among new users are row errors.
    """
    row_of = {key: row for row, key in rows.items()}
    waiting = dict(rows)
    done: set[str] = set()
    waves: list[list[int]] = []
    while waiting:
        wave = [
            row
            for row in waiting
            if (ref := managers.get(row)) is None
            or ref.new_user is None
            or ref.new_user in done
            or ref.new_user not in row_of
        ]
        if not wave:
            break
        waves.append(sorted(wave))
        for row in wave:
            done.add(waiting.pop(row))
    problems = [
        Problem(row, MANAGER, "", "managers among new users form a cycle")
        for row in sorted(waiting)
    ]
    return waves, problems
