"""Write the bundled samples: the sandbox's seed and the demo's onboarding sheet.

    python samples/make_samples.py

Writes ``seed.json``, ``onboarding.xlsx`` and ``onboarding.csv`` next to this file,
the same bytes on every run, after checking every resource on a sandbox.
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from pathlib import Path
from typing import Any

import httpx
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from pipeline.sandbox import build_app
from pipeline.sandbox.seed import ENTERPRISE_SCHEMA, Person, build_seed

HERE = Path(__file__).resolve().parent

# (given, family, office, family first); "native|romanised" for other scripts.
# Offices: 0 London, 1 Paris, 2 München, 3 New York, 4 São Paulo, 5 上海,
# 6 Αθήνα, 7 København.
PEOPLE = [
    ("Zoë", "Dubois", 1, False),
    ("José", "Müller", 2, False),
    ("雷|Lei", "李|Li", 5, True),
    ("Anders", "Ångström", 7, False),
    ("Mette", "Ørsted", 7, False),
    ("Dragana", "Đorđević", 2, False),
    ("Σοφία|Sofia", "Παπαδοπούλου|Papadopoulou", 6, False),
    ("梅梅|Meimei", "韩|Han", 5, True),
    ("Chloé", "Lefèvre", 1, False),
    ("Noémie", "Bélanger", 1, False),
    ("François", "Girard", 1, False),
    ("Inês", "Araújo", 4, False),
    ("João", "Gonçalves", 4, False),
    ("María", "Núñez", 4, False),
    ("Jürgen", "Schäfer", 2, False),
    ("Björn", "Lindström", 7, False),
    ("Lena", "Groß", 2, False),
    ("Søren", "Jørgensen", 7, False),
    ("Þóra", "Sigurðardóttir", 7, False),
    ("Łukasz", "Wiśniewski", 2, False),
    ("Zoltán", "Kovács", 2, False),
    ("Miloš", "Jovanović", 2, False),
    ("Antonín", "Dvořák", 2, False),
    ("Siobhán", "O'Brien", 0, False),
    ("Aoife", "MacDonald", 0, False),
    ("Oliver", "Smith-Jones", 0, False),
    ("Emma", "van der Berg", 0, False),
    ("Lan", "Nguyễn", 0, False),
    ("Ngozi", "Okafor", 3, False),
    ("Chinedu", "Adeyemi", 0, False),
    ("Amara", "Mbeki", 3, False),
    ("Emre", "Çelik", 2, False),
    ("Ayşe", "Yılmaz", 2, False),  # noqa: RUF001 (the dotless i of Turkish)
    ("健|Ken", "佐藤|Sato", 5, True),
    ("花子|Hanako", "鈴木|Suzuki", 5, True),
    ("민준|Minjun", "김|Kim", 3, True),
    ("서연|Seoyeon", "박|Park", 3, True),
    ("Анна|Anna", "Иванова|Ivanova", 7, False),
    ("Дмитрий|Dmitry", "Смирнов|Smirnov", 2, False),
    ("ليلى|Layla", "حداد|Haddad", 0, False),
    ("عمر|Omar", "خليل|Khalil", 1, False),
    ("प्रिया|Priya", "शर्मा|Sharma", 0, False),
    ("Arjun", "Singh", 0, False),
    ("Γιώργος|Giorgos", "Νικολάου|Nikolaou", 6, False),
    ("Ελένη|Eleni", "Οικονόμου|Oikonomou", 6, False),
    ("Renée", "Moreau", 1, False),
    ("Théo", "Lemaître", 1, False),
    ("Hélène", "Dubois", 1, False),
    ("Sofía", "Peña", 4, False),
    ("Mateo", "García", 4, False),
    ("Tomás", "Ruiz", 4, False),
    ("Anja", "Köhler", 2, False),
    ("Maximilian", "Weiß", 2, False),
    ("Åsa", "Nørgaard", 7, False),
    ("Ólafur", "Sigurðsson", 7, False),
    ("Agnieszka", "Nowak", 2, False),
    ("Liam", "Patel", 0, False),
    ("Olivia", "Smith", 3, False),
    ("Noah", "Johnson", 3, False),
    ("Yusuf", "Mansour", 0, False),
    ("Thandiwe", "Dlamini", 3, False),
    ("伟|Wei", "王|Wang", 5, True),
    ("芳|Fang", "张|Zhang", 5, True),
    ("John", "Smith", 3, False),
    ("John", "Smith", 0, False),
]

SUSPENDED = {"u013", "u027", "u041", "u056", "u060"}
"""Accounts suspended in the seed; u027 (Emma van der Berg) is reactivated."""

HEADERS = [
    "userName",
    "name.givenName",
    "name.familyName",
    "displayName",
    "title",
    "emails.work",
    "phoneNumbers.mobile",
    "employeeNumber",
    "department",
    "active",
]
TEXT_COLUMNS = {"phoneNumbers.mobile", "employeeNumber"}

NEW_HIRES = [
    ("amelie.laurent", "Amélie", "Laurent", "Amélie Laurent", "Product Designer",
     "+33 6 39 98 41 07", "00977", "Design"),
    ("kwame.mensah", "Kwame", "Mensah", "Kwame Mensah", "Account Executive",
     "+1 917 555 0142", "01203", "Sales"),
    ("yuki.tanaka", "由紀", "田中", "田中由紀", "Data Engineer",
     "+86 138 0000 4410", "00045", "Data & Analytics"),
    ("maria.kovacs", "Mária", "Kovács", "Mária Kovács", "Financial Analyst",
     "+49 151 2345 7781", "00310", "Finance"),
    ("ingrid.solberg", "Ingrid", "Solberg", "Ingrid Solberg", "Support Specialist",
     "07700 900461", "02210", "Support"),
    ("mateus.araujo", "Mateus", "Araújo", "Mateus Araújo", "Software Engineer",
     "+55 11 95555 3020", "00088", "Engineering"),
    ("eleni.konstantinou", "Ελένη", "Κωνσταντίνου", "Ελένη Κωνσταντίνου",
     "Legal Counsel", "+30 69 0555 1288", "00730", "Legal"),
]  # fmt: skip

# userName: (new title, new department); None keeps the current value.
CHANGES = {
    "zoe.dubois": ("Director of Engineering", None),
    "jose.muller": (None, "Data & Analytics"),
    "lei.li": ("Head of Data", None),
    "siobhan.obrien": ("HR Business Partner", "People"),
}
SUSPENSION = "antonin.dvorak"
REACTIVATION = "emma.vanderberg"
DOMAIN = "@example.com"


def make_seed() -> dict[str, list[dict[str, Any]]]:
    """Build the seed: the people above, seven groups, readable ids."""
    people = [Person.of(*person) for person in PEOPLE]
    seed = build_seed(
        people,
        7,
        random.Random(2024),
        user_id=lambda index: f"u{index + 1:03d}",
        group_id=lambda index: f"g{index + 1:02d}",
    )
    for user in seed["users"]:
        user["active"] = user["id"] not in SUSPENDED
    return seed


def onboarding_rows(seed: dict[str, list[dict[str, Any]]]) -> list[list[Any]]:
    """Return the sheet's rows: new hires, changes, a suspension, a reactivation."""
    users = {user["userName"]: user for user in seed["users"]}
    numbers = {user[ENTERPRISE_SCHEMA]["employeeNumber"] for user in users.values()}
    rows: list[list[Any]] = []
    for name, given, family, display, title, mobile, number, department in NEW_HIRES:
        require(name + DOMAIN not in users, f"{name} is not new")
        require(number not in numbers, f"{number} is taken")
        rows.append([name + DOMAIN, given, family, display, title, name + DOMAIN,
                     mobile, number, department, True])  # fmt: skip
    for name, (title, department) in CHANGES.items():
        current = users[name + DOMAIN]
        require(title != current.get("title"), f"{name}'s title is already {title}")
        department_now = current[ENTERPRISE_SCHEMA]["department"]
        require(department != department_now, f"{name} is in {department} already")
        rows.append([name + DOMAIN, *[None] * 3, title, *[None] * 3, department, None])
    require(users[SUSPENSION + DOMAIN]["active"], f"{SUSPENSION} is suspended")
    require(not users[REACTIVATION + DOMAIN]["active"], f"{REACTIVATION} is active")
    rows.append([SUSPENSION + DOMAIN, *[None] * 8, False])
    rows.append([REACTIVATION + DOMAIN, *[None] * 8, True])
    return rows


def check_on_sandbox(seed: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """POST every resource to a sandbox, and load the seed file on another."""
    app = build_app()
    base_url = "http://sandbox.test/scim/v2"
    transport = httpx.WSGITransport(app=app)
    headers = {"API-Key": "secret", "Content-Type": "application/scim+json"}
    with httpx.Client(transport=transport, base_url=base_url, headers=headers) as c:
        for endpoint, key in (("/Users", "users"), ("/Groups", "groups")):
            for resource in seed[key]:
                body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
                response = c.post(endpoint, content=json.dumps(body))
                require(response.status_code == 201, response.text)

    loaded = build_app(seed_path=path).storage.snapshot()
    same_users = [u["id"] for u in loaded["users"]] == [u["id"] for u in seed["users"]]
    require(same_users, "the seed file does not load with its ids")
    require(len(loaded["groups"]) == len(seed["groups"]), "groups are missing")


def require(condition: bool, problem: str) -> None:
    """Stop with a message when the samples would not tell the demo's story."""
    if not condition:
        raise SystemExit(f"make_samples: {problem}")


def write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    """Write the sheet "Users" with typed cells: text identifiers, real booleans."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Users"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column, header in enumerate(HEADERS, start=1):
        letter = get_column_letter(column)
        if header in TEXT_COLUMNS:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = "@"
        values = [header, *(str(row[column - 1] or "") for row in rows)]
        sheet.column_dimensions[letter].width = max(map(len, values)) + 2
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_without_dates(buffer.getvalue()))


def _without_dates(xlsx: bytes) -> bytes:
    """Return a workbook with fixed dates in zip and properties: stable bytes."""
    fixed = "2024-01-01T00:00:00Z"
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                text = data.decode()
                for tag in ("dcterms:created", "dcterms:modified"):
                    start = text.index(">", text.index(f"<{tag}")) + 1
                    text = text[:start] + fixed + text[text.index(f"</{tag}>") :]
                data = text.encode()
            info = zipfile.ZipInfo(item.filename, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return output.getvalue()


def write_csv(path: Path, rows: list[list[Any]]) -> None:
    """Write the same rows as UTF-8 CSV with a BOM, booleans as TRUE and FALSE."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(
            [
                ("TRUE" if v else "FALSE") if isinstance(v, bool) else (v or "")
                for v in row
            ]
        )
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode())


def main() -> None:
    seed = make_seed()
    seed_path = HERE / "seed.json"
    text = json.dumps(seed, ensure_ascii=False, indent=2) + "\n"
    seed_path.write_text(text, encoding="utf-8")
    check_on_sandbox(seed, seed_path)

    rows = onboarding_rows(seed)
    write_xlsx(HERE / "onboarding.xlsx", rows)
    write_csv(HERE / "onboarding.csv", rows)


if __name__ == "__main__":
    main()
