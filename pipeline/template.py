"""An onboarding workbook built from the schema, and the schema as a table.

The template has a `Users` sheet whose header row holds the columns HR usually
fills, drop-down lists for booleans and canonical values, identifier columns
formatted as text (so `00912` keeps its zeros), and an `Instructions` sheet.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline.atomic import atomic_path
from pipeline.columns import ENTRY, MANAGER, PRIMARY, Column, Layout
from pipeline.scim.schema import Attribute

CORE_TEMPLATE = (
    "userName",
    "name.givenName",
    "name.familyName",
    "displayName",
    "title",
    "active",
    "emails.work",
    "emails.home",
    "phoneNumbers.work",
    "phoneNumbers.mobile",
    "addresses.work.locality",
    "addresses.work.country",
    "preferredLanguage",
    "externalId",
)
EXAMPLE_ROW = {
    "userName": "ada.lovelace@example.com",
    "name.givenName": "Ada",
    "name.familyName": "Lovelace",
    "displayName": "Ada Lovelace",
    "title": "Analyst",
    "active": True,
    "emails.work": "ada.lovelace@example.com",
    "employeeNumber": "00912",
    "department": "Research",
}
INSTRUCTIONS = (
    "One row per user; the header row names the attributes (keep it as it is).",
    "Rows match existing users by id, else by userName (case does not matter).",
    "A blank cell keeps the current value; <clear> empties it on purpose.",
    "active: TRUE keeps or makes the user active, FALSE suspends the user.",
    "manager: the manager's userName. groups: group names separated by ;",
    "Identifier columns are formatted as text so leading zeros are kept.",
    "Check it first with: scim-pipeline validate FILE",
    "Then see the plan with: scim-pipeline import FILE, and add --apply to run it.",
)


def template_columns(layout: Layout) -> list[Column]:
    """The core columns HR fills most, every extension attribute, manager, groups."""
    headers = list(CORE_TEMPLATE)
    for schema in layout.schema.extensions:
        for attribute in schema.attributes:
            if attribute.writable and attribute.name != "manager":
                headers.append(layout.attribute_header(schema, attribute))
    if layout.enterprise is not None:
        headers.append(MANAGER)
    headers.append("groups")
    columns = []
    for header in headers:
        try:
            columns.append(layout.column(header))
        except ValueError:
            continue  # the server's schema lacks this attribute
    return columns


def write_template(layout: Layout, path: Path) -> list[str]:
    """Write the onboarding workbook; returns its headers."""
    columns = template_columns(layout)
    book = Workbook()
    sheet = book.active
    sheet.title = "Users"
    sheet.append([c.header for c in columns])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet[f"{letter}1"].font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(14, len(column.header) + 2)
        if column.value_type == "string":
            for row in range(2, 1001):
                sheet[f"{letter}{row}"].number_format = "@"
        choices = _choices(column)
        if choices:
            rule = DataValidation(type="list", formula1=f'"{",".join(choices)}"')
            rule.add(f"{letter}2:{letter}1000")
            sheet.add_data_validation(rule)
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("Instructions")
    for line in INSTRUCTIONS:
        notes.append([line])
    notes.append([])
    notes.append(["An example row (the Users sheet is read, not this one):"])
    notes.append([c.header for c in columns])
    notes.append([EXAMPLE_ROW.get(c.header) for c in columns])
    notes.column_dimensions["A"].width = 90
    with atomic_path(path) as temporary:
        book.save(temporary)
    return [c.header for c in columns]


def _choices(column: Column) -> tuple[str, ...]:
    if column.value_type == "boolean":
        return ("TRUE", "FALSE")
    attribute = column.value_attribute
    if column.kind == PRIMARY and column.attribute is not None:
        types = column.attribute.sub("type")
        return types.canonical_values if types else ()
    if column.kind != ENTRY and attribute is not None:
        return attribute.canonical_values
    return ()


def schema_rows(layout: Layout) -> list[dict[str, str]]:
    """One row per attribute and sub-attribute, for `scim-pipeline schema`."""
    rows = []
    for schema in layout.schema.schemas:
        for attribute in schema.attributes:
            rows.append(_schema_row(schema.name, attribute.name, attribute))
            for sub in attribute.sub_attributes:
                name = f"{attribute.name}.{sub.name}"
                rows.append(_schema_row(schema.name, name, sub))
    return rows


def _schema_row(schema: str, name: str, attribute: Attribute) -> dict[str, str]:
    return {
        "schema": schema,
        "attribute": name,
        "type": attribute.type,
        "required": "yes" if attribute.required else "",
        "mutability": attribute.mutability,
        "multiValued": "yes" if attribute.multi_valued else "",
        "canonicalValues": ", ".join(attribute.canonical_values),
    }
