"""The files an import leaves behind: errors, plan, results, failed rows and undo.

`failed.csv` holds the failed rows in the input's own columns, importable as is;
`undo.csv` holds the prior value of everything changed, so importing it (with
`--exact-groups`) puts the users back as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.apply import DONE, FAILED, RowResult
from pipeline.columns import CLEAR, GROUPS, ID
from pipeline.export import write_csv, write_xlsx
from pipeline.plan import CREATE, Plan
from pipeline.validate import Problem

PLAN_COLUMNS = ["row", "action", "field", "before", "after"]
ERROR_COLUMNS = ["row", "column", "value", "problem"]
RESULT_COLUMNS = ["row", "action", "outcome", "status", "id", "error"]


def write_errors(problems: list[Problem], report_dir: Path) -> None:
    frame = pd.DataFrame(
        [(p.row, p.column, p.value, p.problem) for p in problems],
        columns=ERROR_COLUMNS,
        dtype=object,
    )
    write_csv(frame, report_dir / "errors.csv")


def plan_frame(plan: Plan) -> pd.DataFrame:
    """One line per changed field and per group change; nothing else."""
    lines: list[tuple[Any, ...]] = [
        (row.row or "", row.action, change.column, change.before, change.after)
        for row in plan.work
        for change in row.changes
    ]
    for change in plan.groups:
        lines += [
            ("", change.action, f"group {attribute}", before, after)
            for attribute, (before, after) in change.attributes.items()
        ]
        if change.changes_members:
            lines.append(
                ("", change.action, "members", change.display_name, change.summary())
            )
    return pd.DataFrame(lines, columns=PLAN_COLUMNS, dtype=object)


def write_plan(plan: Plan, report_dir: Path) -> None:
    frame = plan_frame(plan)
    write_csv(frame, report_dir / "plan.csv")
    write_xlsx({"Plan": frame}, report_dir / "plan.xlsx")


def write_results(results: list[RowResult], report_dir: Path) -> None:
    frame = pd.DataFrame(
        [
            (r.row or "", r.action, r.outcome, r.status, r.user_id, r.error)
            for r in results
        ],
        columns=RESULT_COLUMNS,
        dtype=object,
    )
    write_csv(frame, report_dir / "results.csv")


def write_failed(
    sheet: pd.DataFrame, results: list[RowResult], report_dir: Path
) -> None:
    """The failed rows as the input had them, to fix and import again."""
    failed = sorted({r.row for r in results if r.outcome == FAILED and r.row})
    write_csv(sheet.loc[failed].reset_index(drop=True), report_dir / "failed.csv")


def write_undo(plan: Plan, results: list[RowResult], report_dir: Path) -> None:
    """What every changed user had before; users created now are to be suspended.

    A blank prior value becomes `<clear>`, so the undo removes what the run added.
    """
    done = {(r.row, r.user_id) for r in results if r.outcome == DONE}
    created = {
        r.row: r.user_id for r in results if r.outcome == DONE and r.action == CREATE
    }
    rows: list[dict[str, Any]] = []
    for row in plan.work:
        if row.action == CREATE:
            if row.row in created:
                suspend: dict[str, Any] = {
                    ID: created[row.row],
                    "userName": row.user_name,
                    "active": False,
                }
                if any(c.column == GROUPS for c in row.changes):
                    suspend[GROUPS] = CLEAR
                rows.append(suspend)
            continue
        if (row.row, row.user_id) not in done:
            continue
        undo: dict[str, Any] = {ID: row.user_id, "userName": row.user_name}
        for change in row.changes:
            before = change.before
            blank = before is None or before == ""
            undo[change.column] = CLEAR if blank else before
        rows.append(undo)
    columns = list(dict.fromkeys(h for r in rows for h in r)) or [ID, "userName"]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    write_csv(frame.where(frame.notna(), None), report_dir / "undo.csv")
