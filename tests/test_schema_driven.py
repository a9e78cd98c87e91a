"""Columns and checks come from the server's /Schemas, custom extensions included."""

from __future__ import annotations

import json

from pipeline.importing import ImportOptions, import_sheet
from pipeline.roster import export_roster
from pipeline.scim.schema import builtin_schema_documents
from tests.fake_server import SchemaServer

ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
ACME_SCHEMA = {
    "id": ACME,
    "name": "AcmeUser",
    "attributes": [
        {
            "name": "costCode",
            "type": "string",
            "multiValued": False,
            "required": False,
            "mutability": "readWrite",
        },
        {
            "name": "startDate",
            "type": "dateTime",
            "multiValued": False,
            "required": False,
            "mutability": "readWrite",
        },
        {
            "name": "badge",
            "type": "integer",
            "multiValued": False,
            "required": False,
            "mutability": "readOnly",
        },
    ],
}


def acme_server() -> SchemaServer:
    return SchemaServer([*builtin_schema_documents(), ACME_SCHEMA])


def test_custom_extension_gets_columns_and_checks(wsgi_client, tmp_path):
    server = acme_server()
    sheet = tmp_path / "acme.csv"
    sheet.write_text(
        "userName,costCode,startDate\n"
        "ana@example.com,CC-01,2026-01-05\n"
        "bo@example.com,CC-02,next monday\n",
        encoding="utf-8",
    )

    outcome = import_sheet(
        wsgi_client(server), sheet, tmp_path / "r", ImportOptions(apply=True)
    )

    assert [(p.row, p.column, p.value, p.problem) for p in outcome.errors] == [
        (3, "startDate", "next monday", "not an ISO 8601 date, e.g. 2026-01-31")
    ]
    assert server.posted == []


def test_custom_extension_travels_inside_its_urn(wsgi_client, tmp_path):
    server = acme_server()
    sheet = tmp_path / "acme.csv"
    sheet.write_text(
        f"userName,costCode,{ACME}:startDate,employeeNumber\n"
        "ana@example.com,CC-01,2026-01-05T09:00:00Z,0042\n",
        encoding="utf-8",
    )
    client = wsgi_client(server)

    import_sheet(client, sheet, tmp_path / "r", ImportOptions(apply=True))
    export_roster(client, tmp_path / "out", ("csv",))

    (body,) = server.posted
    assert body[ACME] == {"costCode": "CC-01", "startDate": "2026-01-05T09:00:00Z"}
    assert body["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ACME,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]
    header = (
        (tmp_path / "out" / "users.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    )
    assert header == "id,userName,employeeNumber,costCode,startDate"


def test_read_only_extension_column_is_an_error(wsgi_client, tmp_path):
    sheet = tmp_path / "acme.csv"
    sheet.write_text("userName,badge\nana@example.com,7\n", encoding="utf-8")

    outcome = import_sheet(
        wsgi_client(acme_server()), sheet, tmp_path / "r", ImportOptions()
    )

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (1, "badge", "badge is read-only on the server; remove the column")
    ]


def test_server_without_schemas_gets_the_rfc_schema(wsgi_client, tmp_path):
    server = SchemaServer([])
    sheet = tmp_path / "s.csv"
    sheet.write_text("userName,department\nana@example.com,Sales\n", encoding="utf-8")

    outcome = import_sheet(
        wsgi_client(server), sheet, tmp_path / "r", ImportOptions(apply=True)
    )

    assert outcome.errors == []
    assert json.loads(json.dumps(server.posted))[0][
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ] == {"department": "Sales"}


def test_immutable_attribute_may_be_set_once_but_not_changed(wsgi_client, tmp_path):
    schema = {
        "id": ACME,
        "name": "AcmeUser",
        "attributes": [
            {"name": "badgeId", "type": "string", "mutability": "immutable"}
        ],
    }
    server = SchemaServer([*builtin_schema_documents(), schema])
    server.resources["Users"] = [
        {"id": "u1", "userName": "ana@example.com", ACME: {"badgeId": "B-1"}},
        {"id": "u2", "userName": "bo@example.com"},
    ]
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "userName,badgeId\nana@example.com,B-9\nbo@example.com,B-2\n", encoding="utf-8"
    )

    outcome = import_sheet(wsgi_client(server), sheet, tmp_path / "r", ImportOptions())

    assert [(p.row, p.column, p.problem) for p in outcome.errors] == [
        (2, "badgeId", "badgeId cannot change once set (immutable)")
    ]
