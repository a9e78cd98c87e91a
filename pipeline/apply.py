"""Carry out a plan against the server, concurrently, and account for every row.

Stages, each with bounded concurrency on the client's shared connection pool:
creates (in waves, so a manager exists before those it manages), then updates,
suspensions and reactivations, then one PUT (or POST) per changed group. Before the
first write, every user about to change is saved as it was in `before.jsonl`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipeline.columns import username_key
from pipeline.errors import ConnectionFailed, ScimError, ScimHttpError
from pipeline.export import write_jsonl
from pipeline.extract import fetch_all
from pipeline.memberships import GroupChange, group_body
from pipeline.plan import CREATE, Plan, RowPlan, merge_into
from pipeline.scim.client import ScimClient
from pipeline.scim.schema import CORE_GROUP, ENTERPRISE_USER

log = logging.getLogger(__name__)

DONE = "done"
SETTLE_ROUNDS = 3  # reads of the users to settle creates whose outcome is unknown
SETTLE_PAUSE = 5.0  # seconds given to writes that timed out before reading
FAILED = "failed"
Progress = Callable[[int, int | None], None]


class Recorder(Protocol):
    def record(self, result: RowResult) -> None: ...


@dataclass(frozen=True)
class RowResult:
    row: int  # 0 for a user absent from the sheet, or a group
    action: str
    outcome: str
    status: int | None
    user_id: str | None
    error: str = ""


class _Run:
    """The state one apply shares between its threads."""

    def __init__(
        self,
        client: ScimClient,
        total: int,
        progress: Progress | None,
        journal: Recorder | None,
    ):
        self.client = client
        self.journal = journal
        self.created: dict[str, str] = {}  # userName key -> new id
        self.unsettled: list[tuple[RowPlan, ScimError]] = []
        self.results: list[RowResult] = []
        self.total = total
        self.progress = progress
        self.lock = threading.Lock()

    def record(self, result: RowResult) -> None:
        with self.lock:
            self.results.append(result)
            if self.journal is not None:
                self.journal.record(result)
            if self.progress is not None:
                self.progress(len(self.results), self.total)


def apply_plan(
    client: ScimClient,
    plan: Plan,
    users: dict[str, dict[str, Any]],
    groups: dict[str, dict[str, Any]],
    report_dir: Path,
    concurrency: int,
    progress: Progress | None = None,
    journal: Recorder | None = None,
) -> list[RowResult]:
    """Send the plan's writes; returns one result per row and per group, each also
    given to `journal` as it completes."""
    work = plan.work
    write_jsonl(
        [users[r.user_id] for r in work if r.user_id is not None]
        + [groups[g.group_id] for g in plan.groups if g.group_id is not None],
        report_dir / "before.jsonl",
    )
    run = _Run(client, len(work) + len(plan.groups), progress, journal)
    by_row = {r.row: r for r in work if r.action == CREATE}
    with ThreadPoolExecutor(max_workers=max(concurrency, 1)) as pool:
        for wave in plan.waves:
            _stage(pool, [by_row[row] for row in wave], lambda r: _create(run, r))
            for _ in range(SETTLE_ROUNDS):
                _settle_creates(run, client.settings.page_size)
            for row, error in run.unsettled:
                run.record(_failure(row.row, row.action, None, row.user_name, error))
            run.unsettled = []
        others = [r for r in work if r.action != CREATE]
        _stage(pool, others, lambda r: _update(run, r))
        _stage(pool, plan.groups, lambda g: _group(run, g, groups))
    run.results.sort(key=lambda r: (r.row == 0, r.row))
    return run.results


def _stage(pool: ThreadPoolExecutor, items: Iterable[Any], task: Callable) -> None:
    for _ in pool.map(task, items):
        pass


def _create(run: _Run, row: RowPlan) -> None:
    """POST a new user. A 409, or an answer that never came, is settled later by
    reading the users: the user may exist already, and must not be created twice."""
    assert row.body is not None
    try:
        _resolve_manager(run, row)
        response = run.client.create("Users", row.body)
    except (ConnectionFailed, ScimHttpError) as error:
        if _outcome_unknown(error) or _conflict(error):
            with run.lock:
                run.unsettled.append((row, error))
            return
        run.record(_failure(row.row, row.action, row.user_id, row.user_name, error))
        return
    except ScimError as error:
        run.record(_failure(row.row, row.action, row.user_id, row.user_name, error))
        return
    _created(run, row, str(response.json_body.get("id")), response.status)


def _created(run: _Run, row: RowPlan, user_id: str, status: int | None) -> None:
    with run.lock:
        run.created[username_key(row.user_name)] = user_id
    run.record(RowResult(row.row, row.action, DONE, status, user_id))


def _outcome_unknown(error: ScimError) -> bool:
    """No answer, or a server error: the POST may or may not have been applied."""
    if isinstance(error, ConnectionFailed):
        return True
    return isinstance(error, ScimHttpError) and error.status >= 500


def _conflict(error: ScimError) -> bool:
    return isinstance(error, ScimHttpError) and error.status == 409


def _settle_creates(run: _Run, page_size: int) -> None:
    """Read the users once and settle every create whose outcome was in doubt.

    A user that exists now was created by the lost POST (or, after a 409, existed
    already and is updated with the row's values); one that does not is sent once
    more.
    """
    pending, run.unsettled = run.unsettled, []
    if not pending:
        return
    log.warning(
        "%d creates got no clear answer; reading the users to see which exist",
        len(pending),
    )
    if any(isinstance(e, ConnectionFailed) and e.timed_out for _, e in pending):
        # A request that timed out may still be on its way to being applied: give
        # it a moment (at most SETTLE_PAUSE) before reading what happened.
        run.client.pause(min(run.client.settings.timeout, SETTLE_PAUSE))
    try:
        users = fetch_all(run.client, "Users", page_size).resources
    except ScimError as failure:
        for row, _ in pending:
            run.record(_failure(row.row, row.action, None, row.user_name, failure))
        return
    by_name = {username_key(str(u.get("userName", ""))): u for u in users}
    for row, cause in pending:
        existing = by_name.get(username_key(row.user_name))
        if existing is None:
            _retry_create(run, row)
        elif _conflict(cause):
            _update_existing(run, row, existing)
        else:
            _created(run, row, str(existing["id"]), None)


def _retry_create(run: _Run, row: RowPlan) -> None:
    """Send a create again, now that the user is known not to exist."""
    _create(run, row)


def _update_existing(run: _Run, row: RowPlan, existing: dict[str, Any]) -> None:
    """A 409 on create: the user exists; PUT it with the row's values merged in."""
    assert row.body is not None
    body = merge_into(existing, row.body)
    try:
        status = run.client.replace("Users", str(existing["id"]), body).status
    except ScimError as error:
        run.record(
            _failure(row.row, row.action, str(existing["id"]), row.user_name, error)
        )
        return
    _created(run, row, str(existing["id"]), status)


def _update(run: _Run, row: RowPlan) -> None:
    """PUT the merged user, then (Psoda's suspension) DELETE it."""
    assert row.user_id is not None
    status: int | None = None
    try:
        if row.body is not None:
            _resolve_manager(run, row)
            status = run.client.replace("Users", row.user_id, row.body).status
        if row.delete_after:
            status = run.client.delete("Users", row.user_id).status
    except ScimError as error:
        run.record(_failure(row.row, row.action, row.user_id, row.user_name, error))
        return
    run.record(RowResult(row.row, row.action, DONE, status, row.user_id))


def _group(run: _Run, change: GroupChange, groups: dict[str, dict[str, Any]]) -> None:
    current = groups.get(change.group_id) if change.group_id else None
    body = group_body(current, change, run.created, CORE_GROUP)
    try:
        if change.group_id is None:
            response = run.client.create("Groups", body)
            group_id = str(response.json_body.get("id"))
        else:
            response = run.client.replace("Groups", change.group_id, body)
            group_id = change.group_id
    except ScimError as error:
        run.record(
            _failure(0, change.action, change.group_id, change.display_name, error)
        )
        message = f"group {change.display_name!r} was not changed: {error}"
        with run.lock:
            run.results += [
                RowResult(row, "groups", FAILED, None, None, message)
                for row in sorted(set(change.rows))
            ]
        return
    run.record(RowResult(0, change.action, DONE, response.status, group_id))


def _resolve_manager(run: _Run, row: RowPlan) -> None:
    """Put the id of a manager created in this run into the body."""
    if row.manager_new_user is None or row.body is None:
        return
    manager_id = run.created.get(row.manager_new_user)
    if manager_id is None:
        raise ScimError(f"its manager {row.manager_new_user!r} was not created")
    row.body[ENTERPRISE_USER]["manager"] = {"value": manager_id}


def _failure(
    row: int, action: str, target: str | None, name: str, error: ScimError
) -> RowResult:
    status = error.status if isinstance(error, ScimHttpError) else None
    where = f"row {row}" if row else action
    log.warning("%s (%s): %s", where, name, error)
    return RowResult(row, action, FAILED, status, target, str(error))
