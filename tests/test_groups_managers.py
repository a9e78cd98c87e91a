"""Group memberships and managers from the sheet, against the sandbox in process."""

from __future__ import annotations

from pathlib import Path

from pipeline.importing import ImportOptions, import_sheet
from tests.sandbox_kit import ENTERPRISE, seeded_app, user

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def group(id_: str, name: str, *member_ids: str) -> dict:
    members = [{"value": m, "type": "User"} for m in member_ids]
    return {"schemas": [GROUP], "id": id_, "displayName": name, "members": members}


def run(wsgi_client, app, tmp_path: Path, text: str, **options):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(text, encoding="utf-8")
    options.setdefault("apply", True)
    client = wsgi_client(app)
    return import_sheet(client, sheet, tmp_path / "report", ImportOptions(**options))


def test_groups_cell_adds_with_one_put_per_group(wsgi_client, tmp_path):
    users = [user("u1", "ana@example.com"), user("u2", "bo@example.com")]
    app = seeded_app(
        tmp_path, users, [group("g1", "Staff", "u1"), group("g2", "Field")]
    )

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,groups\nana@example.com,Staff;field\nbo@example.com,Field\n",
    )

    assert outcome.errors == []
    (put,) = app.writes()
    assert (put.method, put.path) == ("PUT", "/scim/v2/Groups/g2")
    assert [m["value"] for m in put.body["members"]] == ["u1", "u2"]


def test_exact_groups_removes_unlisted_memberships(wsgi_client, tmp_path):
    app = seeded_app(
        tmp_path,
        [user("u1", "ana@example.com")],
        [group("g1", "Staff", "u1"), group("g2", "Field", "u1")],
    )

    run(
        wsgi_client,
        app,
        tmp_path,
        "userName,groups\nana@example.com,Staff\n",
        exact_groups=True,
    )

    (put,) = app.writes()
    assert (put.path, put.body["members"]) == ("/scim/v2/Groups/g2", [])


def test_unknown_and_ambiguous_group_names_are_row_errors(wsgi_client, tmp_path):
    app = seeded_app(
        tmp_path,
        [user("u1", "ana@example.com")],
        [group("g1", "Staff"), group("g2", "staff"), group("g3", "Field")],
    )

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,groups\nana@example.com,Staff\nbo@example.com,Nope\n",
    )

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (2, "groups", "group 'Staff' matches 2 groups (g1, g2)"),
        (
            3,
            "groups",
            "no group named 'Nope'; check the name, "
            "or add --create-groups to create it",
        ),
    ]
    assert app.writes() == []


def test_create_groups_makes_the_group_with_new_users_in_it(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com")])

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,groups\nana@example.com,Night Shift\nnew@example.com,Night Shift\n",
        create_groups=True,
    )

    new_id = next(r.user_id for r in outcome.results if r.action == "create")
    post_group = [w for w in app.writes() if w.path == "/scim/v2/Groups"]
    assert len(post_group) == 1
    assert post_group[0].body["displayName"] == "Night Shift"
    assert [m["value"] for m in post_group[0].body["members"]] == ["u1", new_id]


def test_manager_by_username_is_sent_as_id_inside_the_enterprise_object(
    wsgi_client, tmp_path
):
    app = seeded_app(
        tmp_path, [user("m1", "boss@example.com"), user("u1", "ana@example.com")]
    )

    run(
        wsgi_client,
        app,
        tmp_path,
        "userName,manager\nana@example.com,Boss@Example.com\n",
    )

    (put,) = app.writes()
    assert put.body[ENTERPRISE]["manager"] == {"value": "m1"}
    assert "manager" not in put.body


def test_manager_created_in_the_same_run_is_created_first(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [])

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,manager\nreport@example.com,lead@example.com\nlead@example.com,\n",
    )

    first, second = [w for w in app.writes() if w.method == "POST"]
    assert first.body["userName"] == "lead@example.com"
    lead_id = next(r.user_id for r in outcome.results if r.row == 3)
    assert second.body[ENTERPRISE]["manager"] == {"value": lead_id}


def test_unknown_manager_is_a_row_error(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com")])

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,manager\nana@example.com,ghost@example.com\n",
    )

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (2, "manager", "no user 'ghost@example.com' on the server or in this sheet")
    ]


def test_suspend_missing_spares_protected_users(wsgi_client, tmp_path):
    users = [
        user("u1", "ana@example.com", active=True),
        user("u2", "bo@example.com", active=True),
        user("u3", "admin@example.com", active=True),
        user("u4", "gone@example.com", active=False),
    ]
    app = seeded_app(tmp_path, users)

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName\nana@example.com\n",
        suspend_missing=True,
        protect=frozenset({"ADMIN@example.com"}),
    )

    assert [(r.action, r.user_id) for r in outcome.results] == [("suspend", "u2")]
    assert [(w.method, w.path) for w in app.writes()] == [
        ("DELETE", "/scim/v2/Users/u2")
    ]


def test_protected_user_cannot_be_suspended_by_a_row(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "admin@example.com", active=True)])

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,active\nadmin@example.com,false\n",
        protect=frozenset({"admin@example.com"}),
    )

    assert [(p.row, p.problem) for p in outcome.errors] == [
        (2, "admin@example.com is protected (--protect)")
    ]
    assert app.writes() == []


def test_two_primary_emails_are_an_error(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [])

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,emails.work,emails.work.primary,emails.home,emails.home.primary\n"
        "ana@example.com,ana@example.com,true,ana+home@example.net,yes\n",
    )

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (2, "emails.primary", "2 emails are marked primary; mark one")
    ]
    assert app.writes() == []


def test_failed_rows_and_undo_are_importable(wsgi_client, tmp_path):
    users = [
        user("u1", "ana@example.com", title="Eng", active=True),
        user("u2", "bo@example.com", title="Ops", active=True),
    ]
    app = seeded_app(tmp_path, users, [group("g1", "Staff", "u2")])

    outcome = run(
        wsgi_client,
        app,
        tmp_path,
        "userName,title,groups\nana@example.com,Lead,Staff\nbo@example.com,,\n"
        "cy@example.com,New,\n",
    )

    assert outcome.failed == []
    undo = (tmp_path / "report" / "undo.csv").read_text(encoding="utf-8-sig")
    created = next(r.user_id for r in outcome.results if r.action == "create")
    assert undo.splitlines() == [
        "id,userName,title,groups,active",
        "u1,ana@example.com,Eng,<clear>,",
        f"{created},cy@example.com,,,false",
    ]
    (tmp_path / "again").mkdir()
    restored = import_sheet(
        wsgi_client(app),
        tmp_path / "report" / "undo.csv",
        tmp_path / "again",
        ImportOptions(apply=True, exact_groups=True),
    )
    assert restored.failed == []
    final = wsgi_client(app).list_page("Users", 1, 10)["Resources"]
    assert {u["userName"]: (u.get("title"), u.get("active")) for u in final} == {
        "ana@example.com": ("Eng", True),
        "bo@example.com": ("Ops", True),
        "cy@example.com": ("New", False),
    }
    staff = wsgi_client(app).get("/Groups/g1")
    assert [m["value"] for m in staff["members"]] == ["u2"]


def workbook(path: Path, users: list[list], groups: list[list]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Users"
    for line in users:
        book["Users"].append(line)
    sheet = book.create_sheet("Groups")
    for line in groups:
        sheet.append(line)
    book.save(path)
    return path


def test_groups_sheet_creates_and_renames_groups(wsgi_client, tmp_path):
    app = seeded_app(
        tmp_path,
        [user("u1", "ana@example.com")],
        [group("g1", "Staff", "u1"), group("g2", "Field")],
    )
    sheet = workbook(
        tmp_path / "in.xlsx",
        [["userName", "groups"], ["ana@example.com", "Staff;Night Shift"]],
        [
            ["id", "displayName", "externalId", "memberCount"],
            ["g1", "Staff", None, 1],
            ["g2", "Field Ops", "F-1", 0],
            [None, "Night Shift", None, None],
        ],
    )

    outcome = import_sheet(
        wsgi_client(app), sheet, tmp_path / "r", ImportOptions(apply=True)
    )

    assert outcome.failed == []
    writes = {(w.method, w.path): w.body for w in app.writes()}
    assert set(writes) == {("PUT", "/scim/v2/Groups/g2"), ("POST", "/scim/v2/Groups")}
    renamed = writes[("PUT", "/scim/v2/Groups/g2")]
    assert (renamed["displayName"], renamed["externalId"]) == ("Field Ops", "F-1")
    created = writes[("POST", "/scim/v2/Groups")]
    assert created["displayName"] == "Night Shift"
    assert [m["value"] for m in created["members"]] == ["u1"]
    plan = (tmp_path / "r" / "plan.csv").read_text(encoding="utf-8-sig").splitlines()
    assert ",update group,group displayName,Field,Field Ops" in plan
    assert ",create group,members,Night Shift,+ana@example.com" in plan


def test_groups_sheet_problems_name_the_sheet(wsgi_client, tmp_path):
    app = seeded_app(tmp_path, [user("u1", "ana@example.com")], [group("g1", "Staff")])
    sheet = workbook(
        tmp_path / "in.xlsx",
        [["userName"], ["ana@example.com"]],
        [["id", "displayName", "owner"], ["g9", "Ghost", "x"]],
    )

    outcome = import_sheet(wsgi_client(app), sheet, tmp_path / "r", ImportOptions())

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (1, "Groups!owner", "unknown column; use id, displayName, externalId"),
        (2, "Groups!id", "no group with this id on the server"),
    ]
