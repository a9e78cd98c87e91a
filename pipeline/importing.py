"""The import job: read a sheet, check it against the server, plan, and apply.

Nothing is sent while any cell has an error: every problem is collected first,
shown, and written to `errors.csv`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from pipeline.apply import FAILED, RowResult, apply_plan
from pipeline.atomic import make_folder
from pipeline.columns import GROUPS, MANAGER, Layout, username_key, username_keys
from pipeline.errors import GuardRefused, IncompleteExport
from pipeline.extract import Listing, group_memberships
from pipeline.journal import Journal, earlier_results, fingerprint
from pipeline.matching import (
    current_frame,
    match_rows,
    resolve_managers,
    username_conflicts,
)
from pipeline.memberships import (
    GroupChange,
    check_group_names,
    plan_group_changes,
    plan_group_sheet,
)
from pipeline.plan import NOTHING, Plan, PlanInputs, check_suspensions, plan_import
from pipeline.reports import (
    write_errors,
    write_failed,
    write_plan,
    write_results,
    write_undo,
)
from pipeline.roster import Roster, read_roster
from pipeline.scim.client import ScimClient
from pipeline.scim.dialect import PSODA, Dialect
from pipeline.scim.schema import builtin_user_schema
from pipeline.sheets import read_groups_sheet, read_sheet
from pipeline.validate import (
    ERROR,
    Problem,
    canonical_warnings,
    changed_cells,
    check_cells,
    duplicate_usernames,
    map_headers,
)

Progress = Callable[[int, int | None], None]
ALREADY = "already as asked"


@dataclass
class ImportOptions:
    sheet: str | None = None
    encoding: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    match_by: str = "userName"
    apply: bool = False
    max_suspend: int = 10
    concurrency: int = 8
    create_groups: bool = False
    exact_groups: bool = False
    suspend_missing: bool = False
    protect: frozenset[str] = frozenset()


@dataclass
class ImportOutcome:
    """What an import found, planned and did; the CLI prints it."""

    report_dir: Path
    problems: list[Problem] = field(default_factory=list)
    plan: Plan | None = None
    results: list[RowResult] | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.results or () if r.outcome == FAILED]


def import_sheet(
    client: ScimClient,
    path: Path,
    report_dir: Path,
    options: ImportOptions,
    progress: Progress | None = None,
    show_plan: Callable[[Plan], None] | None = None,
) -> ImportOutcome:
    """Read, validate, plan and (with `apply`) carry out one sheet of users.

    `show_plan` sees the plan before anything is sent; `progress` follows the writes.
    """
    sheet = read_sheet(path, sheet=options.sheet, encoding=options.encoding)
    groups_sheet = read_groups_sheet(path, sheet.sheet_name)
    return import_frames(
        client,
        sheet.frame,
        groups_sheet,
        lambda: fingerprint(path),
        report_dir,
        options,
        progress,
        show_plan,
    )


def import_frames(
    client: ScimClient,
    frame: pd.DataFrame,
    groups_sheet: pd.DataFrame | None,
    source_digest: Callable[[], str],
    report_dir: Path,
    options: ImportOptions,
    progress: Progress | None = None,
    show_plan: Callable[[Plan], None] | None = None,
) -> ImportOutcome:
    """The import of rows already read: a sheet's, or a backup's (`restore`).

    `source_digest` names the input for the journal, so that a rerun of the same
    input after a crash can report the whole run.
    """
    roster = read_roster(client, client.settings.page_size)
    if not roster.complete:
        raise IncompleteExport(
            "; ".join(roster.problems)
            + "; refusing to plan an import against a partial list of users"
        )
    make_folder(report_dir)
    sheet_changes, sheet_problems = plan_group_sheet(
        groups_sheet if groups_sheet is not None else pd.DataFrame(),
        roster.groups.resources,
    )
    inputs, problems, names = check_sheet(
        frame, roster, options, client.dialect, created_groups(sheet_changes)
    )
    problems = sort_problems([*problems, *sheet_problems])
    outcome = ImportOutcome(report_dir, problems)
    if not outcome.errors:
        group_changes = plan_group_changes(
            changed_in(inputs.frame, inputs.changed, GROUPS),
            inputs.matched,
            inputs.new_users,
            roster.groups.resources,
            group_memberships(roster.groups.resources),
            {i: str(u.get("userName", "")) for i, u in inputs.users.items()},
            options.exact_groups,
            sheet_changes,
        )
        outcome.plan = plan_import(inputs, group_changes)
        planned = in_sheet_terms(outcome.plan.problems, names)
        outcome.problems = sort_problems([*problems, *planned])
    if outcome.errors:
        outcome.plan = None
        write_errors(outcome.errors, report_dir)
        return outcome

    plan = outcome.plan
    assert plan is not None
    write_plan(plan, report_dir)
    if show_plan is not None:
        show_plan(plan)
    check_suspensions(plan, options.max_suspend)
    if options.apply and any(row.delete_after for row in plan.work):
        check_delete_suspends(client)
    if options.apply:
        digest = source_digest()
        earlier = earlier_results(report_dir, digest)
        if plan.empty and not earlier:
            return outcome
        groups = {str(g["id"]): g for g in roster.groups.resources}
        journal = Journal(report_dir, digest)
        try:
            for result in earlier:
                journal.record(result)
            results = apply_plan(
                client,
                plan,
                inputs.users,
                groups,
                report_dir,
                options.concurrency,
                progress,
                journal,
            )
            journal.finish()
        finally:
            journal.close()
        if earlier:
            results = with_earlier(results, earlier, plan)
        outcome.results = results
        write_results(results, report_dir)
        write_failed(frame, results, report_dir)
        write_undo(plan, results, report_dir)
    return outcome


def with_earlier(
    results: list[RowResult], earlier: list[RowResult], plan: Plan
) -> list[RowResult]:
    """This run's results, and the rest of an interrupted run of the same input:
    what its journal says it did, and rows found already as the sheet asks (their
    answer was lost with the interrupted run)."""
    here = {(r.row, r.action) for r in results}
    carried = [r for r in earlier if (r.row, r.action) not in here]
    covered = {r.row for r in [*results, *carried]}
    settled = [
        RowResult(r.row, r.action, ALREADY, None, r.user_id)
        for r in plan.rows
        if r.action == NOTHING and r.row not in covered
    ]
    everything = [*results, *carried, *settled]
    return sorted(everything, key=lambda r: (r.row == 0, r.row))


def check_delete_suspends(client: ScimClient) -> None:
    """Refuse to suspend by DELETE on a server that looks like plain RFC 7644.

    Psoda serves no /ServiceProviderConfig; an RFC server does, and there DELETE
    removes the user for good.
    """
    if client.serves("/ServiceProviderConfig"):
        raise GuardRefused(
            "the server answers /ServiceProviderConfig like a plain RFC 7644 server, "
            "where DELETE removes a user for good; nothing was sent. Add --dialect "
            "rfc to suspend with active=false"
        )


def validate_file(
    client: ScimClient | None, path: Path, options: ImportOptions
) -> list[Problem]:
    """Check a sheet without planning: against the server's schema and users when
    there is a client, else against the RFC schema alone (no groups or managers)."""
    sheet = read_sheet(path, sheet=options.sheet, encoding=options.encoding)
    if client is None:
        roster = offline_roster()
        dialect = PSODA
    else:
        roster = read_roster(client, client.settings.page_size)
        dialect = client.dialect
    _, problems, _ = check_sheet(
        sheet.frame, roster, options, dialect, offline=client is None
    )
    return problems


def offline_roster() -> Roster:
    empty = Listing(endpoint="Users", resources=[], announced=0, complete=True)
    return Roster(
        Layout(builtin_user_schema()), empty, replace(empty, endpoint="Groups")
    )


def check_sheet(
    raw: pd.DataFrame,
    roster: Roster,
    options: ImportOptions,
    dialect: Dialect,
    new_groups: frozenset[str] = frozenset(),
    offline: bool = False,
) -> tuple[PlanInputs, list[Problem], dict[str, str]]:
    """Every check over every cell; the inputs of planning; and the sheet's own
    header for each column. Offline, group and manager names are not checked."""
    mapped = map_headers(raw, roster.layout, options.mapping)
    frame, columns = mapped.frame, mapped.columns
    user_list = roster.users.resources
    users = {str(u["id"]): u for u in user_list}
    usernames = {i: str(u.get("userName", "")) for i, u in users.items()}
    memberships = group_memberships(roster.groups.resources)

    keys = username_keys(frame)
    matched, match_problems = match_rows(frame, user_list, options.match_by, keys)
    new_users = new_user_keys(keys, matched)
    current = current_frame(
        matched, users, roster.layout, usernames, memberships, list(frame.columns)
    )
    changed = changed_cells(frame, current, columns, options.exact_groups)
    creating = matched.isna()
    managers, manager_problems = resolve_managers(
        changed_in(frame, changed, MANAGER),
        matched,
        user_list,
        new_users,
    )
    group_problems = check_group_names(
        changed_in(frame, changed, GROUPS),
        roster.groups.resources,
        options.create_groups,
        new_groups,
    )
    if offline:
        manager_problems = group_problems = []
    found = [
        *mapped.problems,
        *duplicate_usernames(frame, keys),
        *match_problems,
        *username_conflicts(
            frame, matched, user_list, keys[creating | _any(changed, "userName")]
        ),
        *check_cells(frame, changed, columns, creating, current),
        *manager_problems,
        *group_problems,
        *canonical_warnings(columns.values()),
    ]
    inputs = PlanInputs(
        frame=frame,
        changed=changed,
        current=current,
        matched=matched,
        columns=columns,
        users=users,
        layout=roster.layout,
        dialect=dialect,
        managers=managers,
        new_users=new_users,
        protected=frozenset(username_key(p) for p in options.protect),
        suspend_missing=options.suspend_missing,
    )
    names = {h: mapped.source_headers.get(h, h) for h in frame.columns}
    return inputs, sort_problems(in_sheet_terms(found, names)), names


def created_groups(changes: dict[str, GroupChange]) -> frozenset[str]:
    """The case-folded names of the groups the Groups sheet creates."""
    return frozenset(
        username_key(c.display_name) for c in changes.values() if c.group_id is None
    )


def changed_in(frame: pd.DataFrame, changed: pd.DataFrame, header: str) -> pd.Series:
    """The cells of one column that ask for a change (none if there is no column)."""
    if header not in frame:
        return pd.Series(dtype=object)
    return frame.loc[changed[header], header]


def _any(changed: pd.DataFrame, header: str) -> pd.Series:
    if header not in changed:
        return pd.Series(False, index=changed.index)
    return changed[header]


def new_user_keys(usernames: pd.Series, matched: pd.Series) -> dict[int, str]:
    """The userName key of each row that creates a user."""
    keys = usernames[matched.isna()].dropna()
    return dict(zip(map(int, keys.index), map(str, keys), strict=True))


def sort_problems(found: list[Problem]) -> list[Problem]:
    """One problem per cell is enough (a repeated userName also claims a user
    twice), in sheet order."""
    unique = {(p.row, p.column): p for p in reversed(found)}
    return sorted(unique.values(), key=lambda p: (p.row, p.column))


def in_sheet_terms(problems: list[Problem], names: dict[str, str]) -> list[Problem]:
    """Problems named by the sheet's own headers rather than SCIM paths."""
    return [
        Problem(p.row, names.get(p.column, p.column), p.value, p.problem, p.severity)
        for p in problems
    ]
