"""The jobs the command line runs, each a sequence of the pipeline's stages.

`export_roster` reads the whole roster and writes it; `import_sheet` reads a sheet,
validates it against the server, plans, and with `apply` carries the plan out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.apply import RowResult, apply_plan
from pipeline.columns import Layout
from pipeline.export import write_csv, write_jsonl, write_xlsx
from pipeline.extract import (
    Listing,
    fetch_all,
    group_memberships,
    groups_frame,
    members_frame,
    users_frame,
)
from pipeline.plan import (
    Plan,
    check_suspensions,
    current_frame,
    match_rows,
    plan_import,
)
from pipeline.scim.client import ScimClient
from pipeline.scim.schema import user_schema_from_json
from pipeline.sheets import read_sheet
from pipeline.validate import (
    ERROR,
    Problem,
    canonical_warnings,
    changed_cells,
    check_cells,
    duplicate_usernames,
    map_headers,
)

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "json")
PLAN_COLUMNS = ["row", "action", "field", "before", "after"]
ERROR_COLUMNS = ["row", "column", "value", "problem"]
Progress = Callable[[int, int | None], None]


@dataclass
class Roster:
    """Everything the server holds, as read in one go."""

    layout: Layout
    users: Listing
    groups: Listing

    @property
    def complete(self) -> bool:
        return self.users.complete and self.groups.complete

    @property
    def problems(self) -> list[str]:
        return [p for p in (self.users.problem, self.groups.problem) if p]


def read_roster(
    client: ScimClient, page_size: int, progress: Progress | None = None
) -> Roster:
    layout = Layout(user_schema_from_json(client.schemas()))
    users = fetch_all(client, "Users", page_size, progress)
    groups = fetch_all(client, "Groups", page_size)
    return Roster(layout, users, groups)


@dataclass
class ExportResult:
    users: int
    groups: int
    members: int
    files: list[Path]
    problems: list[str]

    @property
    def complete(self) -> bool:
        return not self.problems


def export_roster(
    client: ScimClient,
    out_dir: Path,
    formats: tuple[str, ...] = FORMATS,
    excel_safe: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Write users, groups and members in the chosen formats; incomplete is reported,
    not hidden."""
    roster = read_roster(client, client.settings.page_size, progress)
    users, groups = roster.users.resources, roster.groups.resources
    frames = {
        "Users": users_frame(users, groups, roster.layout),
        "Groups": groups_frame(groups),
        "Members": members_frame(users, groups),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    if "csv" in formats:
        for name, frame in frames.items():
            path = out_dir / f"{name.lower()}.csv"
            write_csv(frame, path, excel_safe=excel_safe)
            files.append(path)
    if "xlsx" in formats:
        write_xlsx(frames, out_dir / "roster.xlsx")
        files.append(out_dir / "roster.xlsx")
    if "json" in formats:
        for name, listing in (("users", roster.users), ("groups", roster.groups)):
            write_jsonl(listing.resources, out_dir / f"{name}.jsonl")
            files.append(out_dir / f"{name}.jsonl")
    return ExportResult(
        len(users), len(groups), len(frames["Members"]), files, roster.problems
    )


@dataclass
class ImportOptions:
    sheet: str | None = None
    encoding: str | None = None
    match_by: str = "userName"
    apply: bool = False
    max_suspend: int = 10
    concurrency: int = 8


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
        return [r for r in self.results or () if r.outcome != "done"]


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
    roster = read_roster(client, client.settings.page_size)
    if not roster.complete:
        raise_incomplete(roster)
    mapped = map_headers(sheet.frame, roster.layout)
    frame, columns = mapped.frame, mapped.columns
    users = {str(u["id"]): u for u in roster.users.resources}
    usernames = {i: str(u.get("userName", "")) for i, u in users.items()}
    memberships = group_memberships(roster.groups.resources)

    matched, match_problems = match_rows(frame, list(users.values()), options.match_by)
    current = current_frame(
        matched, users, roster.layout, usernames, memberships, list(frame.columns)
    )
    changed = changed_cells(frame, current, columns)
    found = [
        *mapped.problems,
        *duplicate_usernames(frame),
        *match_problems,
        *check_cells(frame, changed, columns, matched.isna()),
        *canonical_warnings(columns.values()),
    ]
    # One problem per cell is enough: a repeated userName also claims a user twice.
    problems = list({(p.row, p.column): p for p in reversed(found)}.values())
    problems.sort(key=lambda p: (p.row, p.column))
    outcome = ImportOutcome(report_dir, problems)
    report_dir.mkdir(parents=True, exist_ok=True)
    if outcome.errors:
        write_csv(problems_frame(outcome.errors), report_dir / "errors.csv")
        return outcome

    plan = plan_import(
        frame, changed, current, matched, columns, users, roster.layout, client.dialect
    )
    outcome.plan = plan
    check_suspensions(plan, options.max_suspend)
    write_plan(plan, report_dir)
    if show_plan is not None:
        show_plan(plan)
    if options.apply and plan.work:
        outcome.results = apply_plan(
            client, plan, users, report_dir, options.concurrency, progress
        )
    return outcome


def raise_incomplete(roster: Roster) -> None:
    from pipeline.errors import IncompleteExport

    raise IncompleteExport(
        "; ".join(roster.problems)
        + "; refusing to plan an import against a partial list of users"
    )


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    return pd.DataFrame(
        [(p.row, p.column, p.value, p.problem) for p in problems],
        columns=ERROR_COLUMNS,
        dtype=object,
    )


def plan_frame(plan: Plan) -> pd.DataFrame:
    """One line per changed field; rows with nothing to do are left out."""
    lines: list[tuple[Any, ...]] = [
        (row.row, row.action, change.column, change.before, change.after)
        for row in plan.work
        for change in row.changes
    ]
    return pd.DataFrame(lines, columns=PLAN_COLUMNS, dtype=object)


def write_plan(plan: Plan, report_dir: Path) -> None:
    frame = plan_frame(plan)
    write_csv(frame, report_dir / "plan.csv")
    write_xlsx({"Plan": frame}, report_dir / "plan.xlsx")
