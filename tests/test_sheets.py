from __future__ import annotations

import logging
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from pipeline.errors import InputFileError, UsageError
from pipeline.sheets import read_sheet

DATA = Path(__file__).parent / "data"


def rows(path: Path, **options: str) -> list[dict[str, str | None]]:
    return read_sheet(path, **options).frame.to_dict("records")


def write_bytes(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def write_workbook(tmp_path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, cells in sheets.items():
        sheet = book.create_sheet(title)
        for row in cells:
            sheet.append(row)
    path = tmp_path / "book.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_leading_zeros_stay_text(suffix: str) -> None:
    frame = read_sheet(DATA / f"c06_leading_zeros.{suffix}").frame

    assert frame.loc[2, "externalId"] == "000417"
    assert frame.loc[3, "externalId"] == "0042"
    assert frame["employeeNumber"].tolist()[:2] == ["00912", "01000"]
    assert frame.loc[2, "phoneNumbers.work"] == "0612345678"
    assert frame.loc[3, "phoneNumbers.work"] == "+44 20 7946 0958"
    assert set(frame.dtypes) == {np.dtype(object)}


def test_zero_padding_number_format_keeps_the_zeros_it_shows() -> None:
    frame = read_sheet(DATA / "c06_leading_zeros.xlsx").frame

    cai = ["cai.ng@example.com", "Cai", "Ng", "000417", None, None]
    assert frame.loc[4].tolist() == cai


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_blank_cells_are_none_and_numbers_have_no_decimals(suffix: str) -> None:
    sheet = read_sheet(DATA / f"c07_blank_numbers.{suffix}")

    assert sheet.frame.to_dict("index") == {
        2: {
            "userName": "carla.diaz@example.com",
            "name.givenName": "Carla",
            "name.familyName": "Diaz",
            "employeeNumber": "1001",
            "phoneNumbers.work": "4155550100",
            "department": "Sales",
        },
        3: {
            "userName": "dev.patel@example.com",
            "name.givenName": "Dev",
            "name.familyName": "Patel",
            "employeeNumber": None,
            "phoneNumbers.work": None,
            "department": None,
        },
    }


def test_active_cells_come_through_as_the_text_of_the_csv() -> None:
    frame = read_sheet(DATA / "c09_active_values.csv").frame

    assert frame["active"].tolist() == [
        "TRUE",
        "False",
        "no",
        "0",
        None,
        "yes",
        "maybe",
        "FALSE",
    ]
    assert frame.index.tolist() == [2, 3, 4, 5, 6, 7, 8, 9]


def test_excel_booleans_become_upper_case_text() -> None:
    sheet = read_sheet(DATA / "c09_active_values.xlsx")

    assert sheet.frame["active"].tolist() == ["TRUE", "FALSE", None, "FALSE"]
    assert sheet.sheet_name == "Users"


def test_bom_and_semicolon_give_clean_columns() -> None:
    sheet = read_sheet(DATA / "c17a_bom_semicolon.csv")

    assert sheet.frame.columns.tolist() == [
        "userName",
        "name.givenName",
        "name.familyName",
    ]
    assert sheet.frame["name.familyName"].tolist() == ["Roth", "Sand"]
    assert sheet.encoding == "utf-8-sig"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_missing_value_markers_stay_text(tmp_path: Path, suffix: str) -> None:
    markers = ["NA", "NULL", "None", "nan", "N/A", "#N/A", "null"]
    if suffix == "csv":
        text = "title\n" + "\n".join(markers) + "\n"
        path = write_bytes(tmp_path, "m.csv", text.encode())
    else:
        path = write_workbook(tmp_path, {"Users": [["title"], *[[m] for m in markers]]})

    assert read_sheet(path).frame["title"].tolist() == markers


def test_cp1252_is_guessed_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "userName;name.familyName;name.givenName\r\nm@example.com;Müller;José\r\n"
    path = write_bytes(tmp_path, "legacy.csv", text.encode("cp1252"))

    with caplog.at_level(logging.WARNING, logger="pipeline.sheets"):
        sheet = read_sheet(path)

    assert sheet.frame.loc[2].tolist() == ["m@example.com", "Müller", "José"]
    assert sheet.encoding == "cp1252"
    assert caplog.messages == [
        "legacy.csv is not UTF-8; read it as cp1252 (Windows Western European). If "
        "accented letters look wrong, give the right encoding with --encoding"
    ]


def test_given_encoding_is_used(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "l.csv", "name\nÅsa\n".encode("latin-1"))

    sheet = read_sheet(path, encoding="latin-1")

    assert sheet.frame["name"].tolist() == ["Åsa"]
    assert sheet.encoding == "latin-1"


def test_wrong_given_encoding_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "l.csv", "name\nMüller\n".encode("cp1252"))

    with pytest.raises(InputFileError) as caught:
        read_sheet(path, encoding="utf-8")

    assert str(caught.value) == (
        "l.csv is not valid utf-8 (byte 6); give the file's real encoding with "
        "--encoding, or save it as UTF-8 CSV"
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_is_read_by_its_bom(tmp_path: Path, encoding: str) -> None:
    text = "\ufeffuserName\tdisplayName\r\nzoë@example.com\tZoë Ærø\r\n"
    path = write_bytes(tmp_path, "u16.txt", text.encode(encoding))

    assert rows(path) == [{"userName": "zoë@example.com", "displayName": "Zoë Ærø"}]


def test_one_column_file_keeps_each_line_whole(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "one.csv", b"displayName\nDoe, Jane\nRoe; Rick\n")

    assert read_sheet(path).frame["displayName"].tolist() == ["Doe, Jane", "Roe; Rick"]


def test_rfc4180_quoting_with_lf_and_crlf(tmp_path: Path) -> None:
    content = (
        b'userName,title,note\r\n"a@x","Head, ""Ops""","line 1\nline 2"\n'
        b'b@x,,"said ""hi"""\r\n'
    )
    path = write_bytes(tmp_path, "q.csv", content)

    assert rows(path) == [
        {"userName": "a@x", "title": 'Head, "Ops"', "note": "line 1\nline 2"},
        {"userName": "b@x", "title": None, "note": 'said "hi"'},
    ]


def test_tab_delimiter_is_found_in_header_outside_quotes(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "t.tsv", b'"a,b;c"\tother\nx,1\ty;2\n')

    assert rows(path) == [{"a,b;c": "x,1", "other": "y;2"}]


def test_values_and_headers_are_trimmed(tmp_path: Path) -> None:
    content = b' userName , title, note \n  a@x ,"  ", "Doe, Jane" \n'
    path = write_bytes(tmp_path, "s.csv", content)

    assert rows(path) == [{"userName": "a@x", "title": None, "note": "Doe, Jane"}]


def test_empty_rows_are_dropped_but_numbering_kept(tmp_path: Path) -> None:
    content = b'userName,note\na@x,"two\nlines"\n\n,\nb@x,\n'
    frame = read_sheet(write_bytes(tmp_path, "e.csv", content)).frame

    assert frame.index.tolist() == [2, 5]
    assert frame["userName"].tolist() == ["a@x", "b@x"]


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("'=SUM(A1)", "=SUM(A1)"),
        ("'+1 415 555 0100", "+1 415 555 0100"),
        ("'-0042", "-0042"),
        ("'@lena", "@lena"),
        ("''=x", "'=x"),
        ("'quoted'", "'quoted'"),
        ("O'Brien", "O'Brien"),
    ],
)
def test_excel_safe_quote_is_stripped(tmp_path: Path, written: str, read: str) -> None:
    path = write_bytes(tmp_path, "x.csv", f"title\n{written}\n".encode())

    assert read_sheet(path).frame["title"].tolist() == [read]


def test_duplicate_header_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "d.csv", b"userName,emails.work,title,emails.work\n")

    with pytest.raises(InputFileError) as caught:
        read_sheet(path)

    assert str(caught.value) == (
        "d.csv: the header 'emails.work' appears twice (columns B and D); rename or "
        "remove one of them"
    )


def test_numbered_headers_are_kept_as_written(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "n.csv", b"emails.work,emails.work.2\na@x,b@x\n")

    assert rows(path) == [{"emails.work": "a@x", "emails.work.2": "b@x"}]


def test_blank_header_over_values_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "b.csv", b"userName,,title\na@x,oops,\n")

    with pytest.raises(InputFileError) as caught:
        read_sheet(path)

    assert str(caught.value) == (
        "b.csv: column B has values but no header; add a header in row 1 or delete "
        "the column"
    )


def test_empty_columns_without_header_are_dropped(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "t.csv", b"userName,,,\r\na@x,,,\r\n")

    assert rows(path) == [{"userName": "a@x"}]


def test_row_longer_than_header_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "r.csv", b"userName,title\na@x,b,c\n")

    with pytest.raises(InputFileError) as caught:
        read_sheet(path)

    assert str(caught.value) == (
        "r.csv: line 2 has 3 cells but the header has 2; add the missing headers "
        "or remove the extra cells"
    )


def test_header_only_gives_an_empty_frame(tmp_path: Path) -> None:
    frame = read_sheet(write_bytes(tmp_path, "h.csv", b"userName,title\r\n")).frame

    assert frame.columns.tolist() == ["userName", "title"]
    assert len(frame) == 0


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"])
def test_empty_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputFileError, match=r"^e\.csv is empty; row 1 must hold"):
        read_sheet(write_bytes(tmp_path, "e.csv", content))


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        read_sheet(tmp_path / "nope.xlsx")

    assert str(caught.value) == (
        f"{tmp_path / 'nope.xlsx'} does not exist; give the path of a .csv or "
        ".xlsx file"
    )


@pytest.mark.parametrize("name", ["old.xls", "users.json", "users"])
def test_unsupported_suffix_is_an_error(tmp_path: Path, name: str) -> None:
    path = write_bytes(tmp_path, name, b"x")

    with pytest.raises(InputFileError, match=r"save the sheet as \.xlsx or \.csv$"):
        read_sheet(path)


def test_damaged_workbook_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "bad.xlsx", b"userName\nnot a zip\n")

    with pytest.raises(InputFileError) as caught:
        read_sheet(path)

    assert str(caught.value).startswith("bad.xlsx is not a readable XLSX workbook (")
    assert str(caught.value).endswith(
        "open it in Excel and save it again as .xlsx, or export the sheet as CSV"
    )


def test_users_sheet_is_preferred(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path, {"Readme": [["note"], ["hi"]], "Users": [["userName"], ["a@x"]]}
    )

    sheet = read_sheet(path)

    assert (sheet.sheet_name, rows(path)) == ("Users", [{"userName": "a@x"}])


def test_first_sheet_without_users_sheet_and_named_sheet(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path, {"Hires": [["userName"], ["a@x"]], "Other": [["userName"], ["b@x"]]}
    )

    assert rows(path) == [{"userName": "a@x"}]
    assert rows(path, sheet="Other") == [{"userName": "b@x"}]


def test_unknown_sheet_is_an_error_listing_the_sheets(tmp_path: Path) -> None:
    path = write_workbook(tmp_path, {"Hires": [["userName"]], "Leavers": [["id"]]})

    with pytest.raises(InputFileError) as caught:
        read_sheet(path, sheet="users")

    assert str(caught.value) == (
        "book.xlsx has no sheet 'users'; its sheets are 'Hires', 'Leavers'; pick one "
        "with --sheet"
    )


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (1001, "General", "1001"),
        (1001.0, "General", "1001"),
        (0.5, "General", "0.5"),
        (0.1, "0.00", "0.1"),
        (4155550100, "0", "4155550100"),
        (417, "000000", "000417"),
        (417.6, "000000", "000418"),
        (-42, "0000", "-0042"),
        (417, "#,##0", "417"),
        (True, "General", "TRUE"),
        (date(2024, 3, 1), "yyyy-mm-dd", "2024-03-01"),
        (datetime(2024, 3, 1, 8, 30), "yyyy-mm-dd hh:mm", "2024-03-01T08:30:00"),
        (datetime(2024, 3, 1), "yyyy-mm-dd hh:mm", "2024-03-01T00:00:00"),
        ("  00912 ", "@", "00912"),
    ],
)
def test_xlsx_cells_become_the_text_they_show(
    tmp_path: Path, value: object, number_format: str, text: str
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Users"
    sheet.append(["employeeNumber"])
    sheet.append([value])
    sheet["A2"].number_format = number_format
    path = tmp_path / "n.xlsx"
    book.save(path)

    assert read_sheet(path).frame["employeeNumber"].tolist() == [text]


def test_formula_cell_gives_its_cached_value(tmp_path: Path) -> None:
    source = write_workbook(tmp_path, {"Users": [["userName", "n"], ["a@x", "=1+1"]]})
    patched = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(patched, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<v />", b"<v>2</v>")
            new.writestr(item, content)

    assert rows(patched) == [{"userName": "a@x", "n": "2"}]


def test_xlsx_wrong_dimension_still_reads_every_cell(tmp_path: Path) -> None:
    source = write_workbook(tmp_path, {"Users": [["userName", "title"], ["a@x", "t"]]})
    patched = tmp_path / "dim.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(patched, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'ref="A1:B2"', b'ref="A1"')
            new.writestr(item, content)

    assert rows(patched) == [{"userName": "a@x", "title": "t"}]


def test_xlsm_is_read_like_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "macro.xlsm"
    shutil.copy(DATA / "c07_blank_numbers.xlsx", path)

    assert read_sheet(path).frame["employeeNumber"].tolist() == ["1001", None]
