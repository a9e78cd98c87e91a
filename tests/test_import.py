"""Import end to end against the sandbox in process: cases C06, C07, C09, C11, C17."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import GuardRefused
from pipeline.importing import ImportOptions, import_sheet
from tests.replay import DATA, load_case
from tests.sandbox_kit import ENTERPRISE, seeded_app, user


def run_import(wsgi_client, app, sheet: Path, tmp_path: Path, **options):
    client = wsgi_client(app, dialect=options.pop("dialect", "psoda"))
    options.setdefault("apply", True)
    return import_sheet(client, sheet, tmp_path / "report", ImportOptions(**options))


def posted(app) -> list[dict]:
    return [r.body for r in app.writes() if r.method == "POST"]


@pytest.mark.parametrize(
    ("suffix", "external_ids"),
    [("csv", ["000417", "0042"]), ("xlsx", ["000417", "0042", "000417"])],
)
def test_leading_zeros_stay_text(wsgi_client, tmp_path, suffix, external_ids):
    # In the XLSX, row 4 holds the number 417 shown through the format 000000.
    app = seeded_app(tmp_path, [])

    outcome = run_import(
        wsgi_client, app, DATA / f"c06_leading_zeros.{suffix}", tmp_path
    )

    assert outcome.errors == []
    bodies = posted(app)
    assert [b["externalId"] for b in bodies] == external_ids
    assert bodies[0][ENTERPRISE]["employeeNumber"] == "00912"
    assert bodies[0]["phoneNumbers"] == [{"type": "work", "value": "0612345678"}]
    assert bodies[1][ENTERPRISE]["employeeNumber"] == "01000"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_blank_cells_are_left_out_of_new_users(wsgi_client, tmp_path, suffix):
    app = seeded_app(tmp_path, [])

    run_import(wsgi_client, app, DATA / f"c07_blank_numbers.{suffix}", tmp_path)

    carla, dev = posted(app)
    assert carla[ENTERPRISE] == {"employeeNumber": "1001", "department": "Sales"}
    assert carla["phoneNumbers"] == [{"type": "work", "value": "4155550100"}]
    assert dev == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "dev.patel@example.com",
        "name": {"givenName": "Dev", "familyName": "Patel"},
    }


def test_a_bad_active_value_blocks_the_whole_file(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [])

    outcome = run_import(wsgi_client, app, DATA / "c09_active_values.csv", tmp_path)

    assert [(p.row, p.column, p.value, p.problem) for p in outcome.errors] == [
        (8, "active", "maybe", "not a boolean: use true/false, yes/no or 1/0")
    ]
    assert app.writes() == []
    errors = (tmp_path / "report" / "errors.csv").read_text(encoding="utf-8-sig")
    assert errors.splitlines() == [
        "row,column,value,problem",
        '8,active,maybe,"not a boolean: use true/false, yes/no or 1/0"',
    ]


def test_active_words_become_json_booleans(wsgi_client, tmp_path):
    lines = (DATA / "c09_active_values.csv").read_text().splitlines()
    sheet = tmp_path / "active.csv"
    sheet.write_text("\n".join(line for line in lines if "maybe" not in line))
    app = seeded_app(tmp_path, [])

    run_import(wsgi_client, app, sheet, tmp_path)

    assert [b.get("active", "left out") for b in posted(app)] == [
        True,
        False,
        False,
        False,
        "left out",
        True,
        False,
    ]


def test_active_from_excel_booleans(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [])

    run_import(wsgi_client, app, DATA / "c09_active_values.xlsx", tmp_path)

    assert [b.get("active", "left out") for b in posted(app)] == [
        True,
        False,
        "left out",
        False,
    ]


def test_update_keeps_everything_the_sheet_does_not_name(wsgi_client, tmp_path):
    existing = load_case("c11_existing_user.json")["exchanges"][0]["response"]["body"]
    mira = existing["Resources"][0]
    manager = user("9d0e55aa-3f1c-4e8b-8a77-1c2d3e4f5a6b", "oskar.lind@example.com")
    app = seeded_app(tmp_path, [mira, manager])

    outcome = run_import(wsgi_client, app, DATA / "c11_update.csv", tmp_path)

    assert [r.outcome for r in outcome.results] == ["done"]
    (put,) = app.writes()
    assert (put.method, put.path) == ("PUT", f"/scim/v2/Users/{mira['id']}")
    expected = json.loads((DATA / "scim" / "c11_expected_put_body.json").read_text())
    for body in (put.body, expected):
        body.pop("id", None)
        body[ENTERPRISE]["manager"].pop("displayName", None)
    assert put.body == expected


def test_semicolon_csv_with_bom_creates_users(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [])

    outcome = run_import(wsgi_client, app, DATA / "c17a_bom_semicolon.csv", tmp_path)

    assert outcome.errors == []
    assert [(b["userName"], b["name"]) for b in posted(app)] == [
        ("tia.roth@example.com", {"givenName": "Tia", "familyName": "Roth"}),
        ("uwe.sand@example.com", {"givenName": "Uwe", "familyName": "Sand"}),
    ]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_suspension_is_a_delete_in_psoda_dialect(wsgi_client, tmp_path):
    app = seeded_app(
        tmp_path, [user("u1", "ana@example.com", active=True, title="Eng")]
    )
    sheet = write_csv(
        tmp_path / "s.csv", "userName,title,active\nana@example.com,Lead,no\n"
    )

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert [r.action for r in outcome.results] == ["suspend"]
    put, delete = app.writes()
    assert (put.method, put.body["title"], put.body["active"]) == ("PUT", "Lead", True)
    assert (delete.method, delete.path) == ("DELETE", "/scim/v2/Users/u1")


def test_suspension_is_a_put_in_rfc_dialect(wsgi_client, tmp_path):
    app = seeded_app(
        tmp_path, [user("u1", "ana@example.com", active=True)], dialect="rfc"
    )
    sheet = write_csv(tmp_path / "s.csv", "userName,active\nana@example.com,FALSE\n")

    run_import(wsgi_client, app, sheet, tmp_path, dialect="rfc")

    (put,) = app.writes()
    assert (put.method, put.body["active"]) == ("PUT", False)


def test_reactivation_is_a_put_with_active_true(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com", active=False)])
    sheet = write_csv(tmp_path / "s.csv", "userName,active\nana@example.com,yes\n")

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert [r.action for r in outcome.results] == ["reactivate"]
    (put,) = app.writes()
    assert (put.method, put.body["active"]) == ("PUT", True)


def test_max_suspend_refuses_and_sends_nothing(wsgi_client, tmp_path):
    users = [user(f"u{i}", f"user{i}@example.com", active=True) for i in range(3)]
    app = seeded_app(tmp_path, users)
    rows = "".join(f"user{i}@example.com,false\n" for i in range(3))
    sheet = write_csv(tmp_path / "s.csv", "userName,active\n" + rows)

    with pytest.raises(
        GuardRefused, match="suspends 3 users, more than --max-suspend 2"
    ):
        run_import(wsgi_client, app, sheet, tmp_path, max_suspend=2)

    assert app.writes() == []


def test_clear_empties_and_blank_keeps(wsgi_client, tmp_path):
    ana = user("u1", "ana@example.com", title="Eng", nickName="Ani", displayName="Ana")
    app = seeded_app(tmp_path, [ana])
    sheet = write_csv(
        tmp_path / "s.csv",
        "userName,title,nickName,displayName\nana@example.com,<clear>,,Ana B\n",
    )

    run_import(wsgi_client, app, sheet, tmp_path)

    (put,) = app.writes()
    assert "title" not in put.body
    assert (put.body["nickName"], put.body["displayName"]) == ("Ani", "Ana B")


def test_sheet_problems_are_all_reported_together(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com")])
    sheet = write_csv(
        tmp_path / "s.csv",
        "userName,emails.work,titel,id\n"
        "ana@example.com,not-an-email,x,\n"
        "Ana@Example.com ,b@example.com,y,\n"
        ",c@example.com,z,\n"
        "dan@example.com,d+tag@example.com,w,nope\n",
    )

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (1, "titel", "unknown column 'titel'; did you mean 'title'?"),
        (2, "emails.work", "not an email address"),
        (3, "userName", "duplicate of row 2"),
        (4, "userName", "userName is required for a new user"),
        (5, "id", "no user with this id on the server"),
    ]
    assert app.writes() == []


def test_plan_only_sends_nothing_and_writes_the_plan(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com", title="Eng")])
    sheet = write_csv(
        tmp_path / "s.csv", "userName,title\nana@example.com,Lead\nbo@example.com,\n"
    )

    outcome = run_import(wsgi_client, app, sheet, tmp_path, apply=False)

    assert app.writes() == []
    assert outcome.results is None
    plan = (tmp_path / "report" / "plan.csv").read_text(encoding="utf-8-sig")
    assert plan.splitlines() == [
        "row,action,field,before,after",
        "2,update,title,Eng,Lead",
        "3,create,userName,,bo@example.com",
    ]


def test_psoda_dialect_refuses_to_delete_on_an_rfc_server(wsgi_client, tmp_path):
    app = seeded_app(
        tmp_path, [user("u1", "ana@example.com", active=True)], dialect="rfc"
    )
    sheet = write_csv(tmp_path / "s.csv", "userName,active\nana@example.com,no\n")

    with pytest.raises(GuardRefused, match="Add --dialect rfc"):
        run_import(wsgi_client, app, sheet, tmp_path)

    assert app.writes() == []
    plan = (tmp_path / "report" / "plan.csv").read_text(encoding="utf-8-sig")
    assert plan.splitlines()[1] == "2,suspend,active,true,false"


def test_two_rows_with_one_id_are_an_error_without_a_username_column(
    wsgi_client, tmp_path
):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com")])
    sheet = write_csv(tmp_path / "s.csv", "id,title\nu1,A\nu1,B\n")

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert [(p.row, p.column, p.value, p.problem) for p in outcome.errors] == [
        (3, "id", "u1", "updates the same user as row 2")
    ]


def test_clearing_an_empty_attribute_changes_nothing(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com")])
    sheet = write_csv(
        tmp_path / "s.csv", "userName,nickName\nana@example.com,<clear>\n"
    )

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert outcome.plan is not None and outcome.plan.empty
    assert app.writes() == []


def test_renaming_onto_another_users_name_is_an_error(wsgi_client, tmp_path):
    users = [user("u1", "ana@example.com"), user("u2", "bo@example.com")]
    app = seeded_app(tmp_path, users)
    sheet = write_csv(tmp_path / "s.csv", "id,userName\nu2,ANA@example.com\n")

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (2, "userName", "userName already belongs to another user (id u1)")
    ]


def test_na_null_none_and_nan_are_real_names(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [])
    sheet = write_csv(
        tmp_path / "s.csv",
        "userName,name.givenName,name.familyName\n"
        "NA,Nadia,NULL\nnull@example.com,None,nan\nNone,N/A,Na\n",
    )

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert outcome.errors == []
    assert [(b["userName"], b["name"]) for b in posted(app)] == [
        ("NA", {"givenName": "Nadia", "familyName": "NULL"}),
        ("null@example.com", {"givenName": "None", "familyName": "nan"}),
        ("None", {"givenName": "N/A", "familyName": "Na"}),
    ]


def test_usernames_equal_after_nfc_case_and_spaces_are_duplicates(
    wsgi_client, tmp_path
):
    app = seeded_app(tmp_path, [])
    decomposed = "Jose\u0301@example.com"
    sheet = write_csv(
        tmp_path / "s.csv",
        f"userName\nJos\u00e9@example.com\n{decomposed}\nJOSÉ@EXAMPLE.COM  \n",
    )

    outcome = run_import(wsgi_client, app, sheet, tmp_path)

    assert [(p.row, p.problem) for p in outcome.errors] == [
        (3, "duplicate of row 2"),
        (4, "duplicate of row 2"),
    ]
    assert app.writes() == []


def test_cp1252_semicolon_csv_keeps_accents(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [])
    sheet = tmp_path / "s.csv"
    sheet.write_bytes(
        "userName;name.givenName;name.familyName\n"
        "jose@example.com;José;Müller\n".encode("cp1252")
    )

    run_import(wsgi_client, app, sheet, tmp_path)

    assert [b["name"] for b in posted(app)] == [
        {"givenName": "José", "familyName": "Müller"}
    ]


def test_clearing_the_only_sub_attribute_removes_the_entry(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com")])
    added = write_csv(
        tmp_path / "a.csv", "userName,addresses.work.locality\nana@example.com,Oslo\n"
    )
    cleared = write_csv(
        tmp_path / "c.csv",
        "userName,addresses.work.locality\nana@example.com,<clear>\n",
    )

    run_import(wsgi_client, app, added, tmp_path / "1")
    run_import(wsgi_client, app, cleared, tmp_path / "2")

    first, second = app.writes()
    assert first.body["addresses"] == [{"type": "work", "locality": "Oslo"}]
    assert "addresses" not in second.body
