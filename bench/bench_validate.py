"""Validation of a 100,000-row sheet, against validating each row with scim2-models.

Run: .venv/bin/python bench/bench_validate.py [--rows 100000]

Both sides check the same rows of new users. Ours runs the whole check of an import
(headers, matching against the server's users, every cell, duplicates) on the
DataFrame a sheet reads into; the baseline builds each row's JSON body and
validates it with scim2-models' User model with the enterprise extension.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from pipeline.columns import Layout
from pipeline.extract import Listing
from pipeline.importing import ImportOptions, check_sheet
from pipeline.plan import PlanInputs, plan_import
from pipeline.roster import Roster
from pipeline.scim.dialect import PSODA
from pipeline.scim.schema import builtin_user_schema


def sheet(rows: int) -> pd.DataFrame:
    index = pd.RangeIndex(2, rows + 2)
    numbers = [f"{i:06d}" for i in range(rows)]
    frame = pd.DataFrame(
        {
            "userName": [f"user{n}@example.com" for n in numbers],
            "First name": [f"Given{n}" for n in numbers],
            "Last name": ["Müller" if i % 2 else "Ødegård" for i in range(rows)],
            "displayName": [f"Given{n} Family" for n in numbers],
            "title": ["Associate"] * rows,
            "Email": [f"user{n}+work@example.com" for n in numbers],
            "Mobile": [f"+44 7700 {n}" for n in numbers],
            "Employee ID": numbers,
            "Department": ["Sales", "Finance", "People", "Data"] * (rows // 4),
            "costCenter": [f"CC-{i % 7}" for i in range(rows)],
            "Active": ["yes", "TRUE", "1", "false"] * (rows // 4),
        },
        dtype=object,
    )
    frame.index = index
    return frame


def empty_roster() -> Roster:
    users = Listing("Users", [], 0, True)
    groups = Listing("Groups", [], 0, True)
    return Roster(Layout(builtin_user_schema()), users, groups)


def ours(frame: pd.DataFrame, roster: Roster) -> tuple[float, PlanInputs]:
    started = time.perf_counter()
    inputs, problems, _ = check_sheet(frame, roster, ImportOptions(), PSODA)
    elapsed = time.perf_counter() - started
    assert not [p for p in problems if p.severity == "error"], problems[:3]
    return elapsed, inputs


def baseline(bodies: list[dict]) -> float:
    from scim2_models import EnterpriseUser, User

    model = User[EnterpriseUser]
    started = time.perf_counter()
    for body in bodies:
        model.model_validate(body)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    frame = sheet(rows)
    timings = [ours(frame, empty_roster()) for _ in range(3)]
    best = min(t for t, _ in timings)
    plan = plan_import(timings[0][1], [])
    bodies = [r.body for r in plan.rows if r.body is not None]
    reference = baseline(bodies)
    print(f"rows: {rows}")
    print(f"ours, new users (best of 3): {best:.3f} s")
    print(f"scim2-models, one row at a time: {reference:.3f} s")
    print(f"ratio: {reference / best:.1f}x faster")

    # The same sheet once every row already exists: each cell is compared with
    # the user's current value first, as an import of an edited export does.
    existing = [{**body, "id": f"id{n}"} for n, body in enumerate(bodies)]
    roster = empty_roster()
    roster.users.resources = existing
    again = min(ours(frame, roster)[0] for _ in range(3))
    print(f"ours, every row an existing user (best of 3): {again:.3f} s")


if __name__ == "__main__":
    main()
