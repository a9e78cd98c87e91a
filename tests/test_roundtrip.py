"""Export then import of the same files plans nothing (C14 too), in both dialects."""

from __future__ import annotations

import json

import openpyxl
import pytest
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.utils import load_default_provider

from pipeline.importing import ImportOptions, import_sheet
from pipeline.roster import export_roster
from tests.replay import DATA
from tests.sandbox_kit import Recorder, seeded_app

SAMPLE_SEED = DATA.parent.parent / "samples" / "seed.json"


def seed_users_and_groups():
    seed = json.loads(SAMPLE_SEED.read_text(encoding="utf-8"))
    return seed["users"], seed["groups"]


@pytest.mark.parametrize("exported", ["users.csv", "roster.xlsx"])
def test_unedited_export_reimports_as_nothing(wsgi_client, tmp_path, exported):
    users, groups = seed_users_and_groups()
    app = seeded_app(tmp_path, users, groups)
    client = wsgi_client(app)

    result = export_roster(client, tmp_path / "out")
    outcome = import_sheet(
        client,
        tmp_path / "out" / exported,
        tmp_path / "report",
        ImportOptions(apply=True),
    )

    assert (result.users, result.groups, result.complete) == (
        len(users),
        len(groups),
        True,
    )
    assert outcome.problems == []
    assert outcome.plan is not None
    assert outcome.plan.work == []
    assert outcome.plan.count("nothing") == len(users)
    assert app.writes() == []


def test_export_writes_every_file_with_every_user_once(wsgi_client, tmp_path):
    users, groups = seed_users_and_groups()
    client = wsgi_client(seeded_app(tmp_path, users, groups), page_size=7)

    export_roster(client, tmp_path / "out")

    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "groups.csv",
        "groups.jsonl",
        "members.csv",
        "roster.xlsx",
        "users.csv",
        "users.jsonl",
    ]
    lines = (out / "users.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(
        u["id"] for u in users
    )
    workbook = openpyxl.load_workbook(out / "roster.xlsx", read_only=True)
    assert workbook.sheetnames == ["Users", "Groups", "Members"]
    ids = [row[0] for row in workbook["Users"].iter_rows(min_row=2, values_only=True)]
    workbook.close()
    assert sorted(ids) == sorted(u["id"] for u in users)


def test_formula_like_values_round_trip(wsgi_client, tmp_path):
    listing = json.loads((DATA / "c14_users_formula_like.json").read_text())
    users = listing["body"]["Resources"]
    app = seeded_app(tmp_path, users)
    client = wsgi_client(app)

    export_roster(client, tmp_path / "out")

    workbook = openpyxl.load_workbook(tmp_path / "out" / "roster.xlsx")
    sheet = workbook["Users"]
    header = [c.value for c in sheet[1]]
    cells = {
        (row[1].value, header[i]): cell
        for row in sheet.iter_rows(min_row=2)
        for i, cell in enumerate(row)
    }
    assert all(c.data_type != "f" for c in cells.values())
    lena = "lena.brook@example.com"
    assert cells[(lena, "displayName")].value == "=== Contractors ==="
    assert cells[(lena, "employeeNumber")].value == "-0042"
    assert cells[(lena, "phoneNumbers.work")].value == "+1 415 555 0100"
    assert cells[(lena, "nickName")].value == "@lena"
    assert cells[("omar.haddad@example.com", "phoneNumbers.work")].value == "-"
    for exported in ("users.csv", "roster.xlsx"):
        outcome = import_sheet(
            client, tmp_path / "out" / exported, tmp_path / exported, ImportOptions()
        )
        assert outcome.problems == []
        assert outcome.plan is not None and outcome.plan.work == []


def test_excel_safe_csv_reimports_as_nothing(wsgi_client, tmp_path):
    listing = json.loads((DATA / "c14_users_formula_like.json").read_text())
    client = wsgi_client(seeded_app(tmp_path, listing["body"]["Resources"]))

    export_roster(client, tmp_path / "out", ("csv",), excel_safe=True)

    text = (tmp_path / "out" / "users.csv").read_text(encoding="utf-8-sig")
    assert "'=== Contractors ===" in text
    outcome = import_sheet(
        client, tmp_path / "out" / "users.csv", tmp_path / "r", ImportOptions()
    )
    assert outcome.problems == []
    assert outcome.plan is not None and outcome.plan.work == []


def test_rfc_dialect_against_the_stock_scim2_server(wsgi_client, tmp_path):
    stock = Recorder(WSGIApplication(InMemoryStorage(), load_default_provider()))
    client = wsgi_client(stock, url="http://127.0.0.1/v2", dialect="rfc", page_size=2)
    sheet = tmp_path / "new.csv"
    sheet.write_text(
        "userName,name.givenName,emails.work,employeeNumber,active\n"
        "ana@example.com,Ana,ana@example.com,007,true\n"
        "bo@example.com,Bo,bo@example.com,008,true\n"
        "cy@example.com,Cy,cy@example.com,009,true\n",
        encoding="utf-8",
    )

    created = import_sheet(client, sheet, tmp_path / "r1", ImportOptions(apply=True))
    result = export_roster(client, tmp_path / "out")
    sheet.write_text("userName,active\ncy@example.com,false\n", encoding="utf-8")
    suspended = import_sheet(client, sheet, tmp_path / "r2", ImportOptions(apply=True))
    again = import_sheet(
        client, tmp_path / "out" / "users.csv", tmp_path / "r3", ImportOptions()
    )

    assert [r.outcome for r in created.results] == ["done"] * 3
    assert result.users == 3 and result.complete
    assert [r.action for r in suspended.results] == ["suspend"]
    assert [r.method for r in stock.writes()][-1] == "PUT"
    assert "DELETE" not in {r.method for r in stock.writes()}
    assert again.plan is not None
    assert [(r.action, [c.column for c in r.changes]) for r in again.plan.work] == [
        ("reactivate", ["active"])
    ]
