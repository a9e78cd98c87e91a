"""The streaming XLSX writer: layout, types, limits and never a formula."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.sheets import read_sheet
from pipeline.xlsx import write_xlsx
from tests.test_export import ROUND_TRIP, TRICKY, c14_frame


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


def test_xlsx_round_trip_of_tricky_text(tmp_path: Path) -> None:
    texts = [*TRICKY, " lead", "trail ", "<b>&amp;</b>", "a_x000D_b", "cr\ronly"]
    frame = pd.DataFrame({"title": texts})
    path = tmp_path / "t.xlsx"

    write_xlsx({"Users": frame}, path)

    assert [row[0] for row in sheet_values(path)[1:]] == texts
    by_pandas = pd.read_excel(path, dtype=object, keep_default_na=False)
    assert by_pandas["title"].tolist() == texts


XML_TEXT = st.text(
    st.characters(
        exclude_categories=["Cs"],
        exclude_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"]
        + ["\ufffe", "\uffff"],
    ),
    min_size=1,
).filter(lambda text: "x005F_" not in text)


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

    with caplog.at_level(logging.WARNING, logger="pipeline.xlsx"):
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

    with caplog.at_level(logging.WARNING, logger="pipeline.xlsx"):
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

    with caplog.at_level(logging.WARNING, logger="pipeline.xlsx"):
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
