"""An HR workbook of 500 rows with friendly headers, a mapping file and 20 planted
errors: every error is found, nothing is sent; fixed, it applies, a second run plans
nothing, and importing undo.csv puts the users back."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from pipeline.headers import read_mapping
from pipeline.importing import ImportOptions, import_sheet
from pipeline.roster import export_roster
from tests.sandbox_kit import seeded_app

SEED = Path(__file__).parent.parent / "samples" / "seed.json"
HEADERS = [
    "Username",
    "First name",
    "Last name",
    "Email",
    "Employee ID",
    "Department",
    "Job title",
    "Manager",
    "Mobile",
    "Active",
    "Groups",
    "Kostenstelle",
    "Standort",
]
MAPPING = (
    '[columns]\n"Kostenstelle" = "costCenter"\n"Standort" = "addresses.work.locality"\n'
)


def build_rows(existing: list[str]) -> list[dict]:
    rows = []
    for i, user_name in enumerate(existing[:40]):
        rows.append({"Username": user_name, "Job title": f"Title {i}"})
    for i in range(460):
        rows.append(
            {
                "Username": f"hire{i:03d}@example.com",
                "First name": f"Hire{i}",
                "Last name": "Müller" if i % 2 else "Ødegård",
                "Email": f"hire{i:03d}+work@example.com",
                "Employee ID": f"{i:06d}",
                "Department": "Sales",
                "Job title": "Associate",
                "Manager": existing[0] if i % 3 or i == 0 else "hire000@example.com",
                "Mobile": f"+44 7700 9{i:05d}",
                "Active": "yes",
                "Groups": "Sales" if i % 4 else "Sales;Finance",
                "Kostenstelle": f"CC-{i % 7}",
                "Standort": "Zürich",
            }
        )
    return rows


# (data row index, header, bad value, expected problem)
PLANTED = [
    (45, "Email", "not-an-email", "not an email address"),
    (46, "Email", "a@b", "not an email address"),
    (47, "Email", "two words@example.com", "not an email address"),
    (64, "Username", "HIRE000@example.com", "duplicate of row 42"),
    (65, "Username", "hire001@example.com ", "duplicate of row 43"),
    (67, "Username", "hire002@example.com", "duplicate of row 44"),
    (51, "Active", "maybe", "not a boolean: use true/false, yes/no or 1/0"),
    (52, "Active", "2", "not a boolean: use true/false, yes/no or 1/0"),
    (53, "Active", "ja", "not a boolean: use true/false, yes/no or 1/0"),
    (
        54,
        "Groups",
        "Sales;Nonexistent",
        "no group named 'Nonexistent'; check the name, "
        "or add --create-groups to create it",
    ),
    (
        55,
        "Groups",
        "Marketing",
        "no group named 'Marketing'; check the name, "
        "or add --create-groups to create it",
    ),
    (
        56,
        "Manager",
        "ghost@example.com",
        "no user 'ghost@example.com' on the server or in this sheet",
    ),
    (57, "Manager", "nobody", "no user 'nobody' on the server or in this sheet"),
    (58, "Username", None, "userName is required for a new user"),
    (59, "Username", None, "userName is required for a new user"),
    (5, "Username", "<clear>", "userName is required for a new user"),
    (60, "Manager", "hire018@example.com", "a user cannot manage themself"),
    (61, "Email", "x@@example.com", "not an email address"),
    (62, "Email", "@example.com", "not an email address"),
    (63, "Active", "t", "not a boolean: use true/false, yes/no or 1/0"),
]


def write_workbook(path: Path, rows: list[dict]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Users"
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(h) for h in HEADERS])
    book.save(path)


def planted_rows(rows: list[dict]) -> list[dict]:
    bad = [dict(r) for r in rows]
    for index, header, value, _ in PLANTED:
        bad[index - 2][header] = value
    return bad


def test_hr_workbook_errors_fix_apply_rerun_and_undo(wsgi_client, tmp_path):
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    app = seeded_app(tmp_path, seed["users"], seed["groups"])
    existing = [u["userName"] for u in seed["users"]]
    rows = build_rows(existing)
    assert len(rows) == 500
    mapping_file = tmp_path / "map.toml"
    mapping_file.write_text(MAPPING, encoding="utf-8")
    mapping = read_mapping(mapping_file)
    client = wsgi_client(app)
    export_roster(client, tmp_path / "before", ("json",))

    write_workbook(tmp_path / "bad.xlsx", planted_rows(rows))
    bad = import_sheet(
        client, tmp_path / "bad.xlsx", tmp_path / "r0", ImportOptions(mapping=mapping)
    )

    found = [(p.row, p.column, p.problem) for p in bad.errors]
    assert found == sorted((r, h, m) for r, h, _, m in PLANTED)
    assert app.writes() == []

    write_workbook(tmp_path / "good.xlsx", rows)
    options = ImportOptions(mapping=mapping, apply=True)
    good = import_sheet(client, tmp_path / "good.xlsx", tmp_path / "r1", options)

    assert good.errors == []
    assert good.plan is not None
    assert (good.plan.count("create"), good.plan.count("update")) == (460, 40)
    assert good.failed == []
    title_change = [c for c in good.plan.rows[0].changes if c.column == "title"]
    assert title_change[0].after == "Title 0"

    again = import_sheet(client, tmp_path / "good.xlsx", tmp_path / "r2", options)
    assert again.plan is not None and again.plan.empty

    undo = ImportOptions(apply=True, exact_groups=True, max_suspend=500)
    restored = import_sheet(client, tmp_path / "r1" / "undo.csv", tmp_path / "r3", undo)
    assert restored.failed == []
    export_roster(client, tmp_path / "after", ("json",))
    before = read_jsonl(tmp_path / "before" / "users.jsonl")
    after = read_jsonl(tmp_path / "after" / "users.jsonl")
    for user_id, user in before.items():
        assert strip_meta(after[user_id]) == strip_meta(user)
    new = [u for i, u in after.items() if i not in before]
    assert len(new) == 460 and all(u["active"] is False for u in new)
    groups_before = read_jsonl(tmp_path / "before" / "groups.jsonl")
    groups_after = read_jsonl(tmp_path / "after" / "groups.jsonl")
    for group_id, group in groups_before.items():
        assert groups_after[group_id].get("members") == group.get("members")


def read_jsonl(path: Path) -> dict[str, dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {u["id"]: u for u in map(json.loads, lines)}


def strip_meta(user: dict) -> dict:
    return {k: v for k, v in user.items() if k != "meta"}
