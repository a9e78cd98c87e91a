"""Carry out a plan against the server, concurrently, and report every row.

Creates go first, then updates, suspensions and reactivations, each stage with
bounded concurrency on the client's shared connection pool. Before the first write,
the current state of every user about to change is saved in `before.jsonl`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import ScimError, ScimHttpError
from pipeline.export import write_csv, write_jsonl
from pipeline.plan import CREATE, Plan, RowPlan
from pipeline.scim.client import ScimClient

log = logging.getLogger(__name__)

DONE = "done"
FAILED = "failed"
RESULT_COLUMNS = ["row", "action", "outcome", "status", "id", "error"]


@dataclass(frozen=True)
class RowResult:
    row: int
    action: str
    outcome: str
    status: int | None
    user_id: str | None
    error: str = ""


def apply_plan(
    client: ScimClient,
    plan: Plan,
    users: dict[str, dict[str, Any]],
    report_dir: Path,
    concurrency: int,
    progress: Callable[[int, int | None], None] | None = None,
) -> list[RowResult]:
    """Send the plan's writes and write `before.jsonl` and `results.csv`."""
    work = plan.work
    changing = [users[r.user_id] for r in work if r.user_id is not None]
    write_jsonl(changing, report_dir / "before.jsonl")
    results: list[RowResult] = []
    creates = [r for r in work if r.action == CREATE]
    others = [r for r in work if r.action != CREATE]
    with ThreadPoolExecutor(max_workers=max(concurrency, 1)) as pool:
        for stage in (creates, others):
            for result in pool.map(lambda r: carry_out(client, r), stage):
                results.append(result)
                if progress is not None:
                    progress(len(results), len(work))
    results.sort(key=lambda r: r.row)
    write_results(results, report_dir / "results.csv")
    return results


def carry_out(client: ScimClient, row: RowPlan) -> RowResult:
    """The requests of one row: POST, or PUT then (Psoda's suspension) DELETE."""
    status: int | None = None
    user_id = row.user_id
    try:
        if row.action == CREATE:
            assert row.body is not None
            response = client.create("Users", row.body)
            status, user_id = response.status, str(response.json_body.get("id"))
        else:
            assert user_id is not None
            if row.body is not None:
                status = client.replace("Users", user_id, row.body).status
            if row.delete_after:
                status = client.delete("Users", user_id).status
    except ScimError as error:
        failed_status = error.status if isinstance(error, ScimHttpError) else None
        log.warning("row %d (%s): %s", row.row, row.user_name, error)
        return RowResult(
            row.row, row.action, FAILED, failed_status, user_id, str(error)
        )
    return RowResult(row.row, row.action, DONE, status, user_id)


def write_results(results: list[RowResult], path: Path) -> None:
    frame = pd.DataFrame(
        [(r.row, r.action, r.outcome, r.status, r.user_id, r.error) for r in results],
        columns=RESULT_COLUMNS,
        dtype=object,
    )
    write_csv(frame, path)
