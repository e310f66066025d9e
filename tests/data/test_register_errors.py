"""Bad registers: every problem reported at once, by file, row/line and column (issue #2)."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from sim.data.register import load_register
from sim.errors import RegisterError

HEADER = "id,district,sector,land_mu,employees,value_added_wan,tax_wan,energy_tce\n"
GOOD = "A1,萧山,C26,10,20,500,50,100\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def _problems(path: Path, **kwargs: object) -> str:
    with pytest.raises(RegisterError) as info:
        load_register(path, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_missing_column(tmp_path: Path) -> None:
    header = "id,district,sector,land,employees,value_added_wan,tax_wan,energy\n"
    msg = _problems(_csv(tmp_path, GOOD, header=header.replace("energy", "enrgy")))
    assert "bad.csv" in msg and "column 'energy_tce' is missing" in msg
    assert "did you mean 'enrgy'" in msg


def test_non_numeric_text(tmp_path: Path) -> None:
    msg = _problems(_csv(tmp_path, GOOD + "A2,萧山,C26,ten,20,500,50,100\n"))
    assert "row 2 (line 3), column 'land_mu': 'ten' is not a number" in msg


@pytest.mark.parametrize("land", ["0", "-3"])
def test_zero_or_negative_land(tmp_path: Path, land: str) -> None:
    msg = _problems(_csv(tmp_path, GOOD + f"A2,萧山,C26,{land},20,500,50,100\n"))
    assert re.search(r"row 2 \(line 3\), column 'land_mu': -?\d+ mu must be > 0", msg)


def test_negative_energy(tmp_path: Path) -> None:
    msg = _problems(_csv(tmp_path, GOOD + "A2,萧山,C26,5,20,500,50,-1\n"))
    assert "row 2 (line 3), column 'energy_tce': -1 tce must not be negative" in msg


@pytest.mark.parametrize("cell", ["", "NaN"])
def test_missing_required_value(tmp_path: Path, cell: str) -> None:
    msg = _problems(_csv(tmp_path, GOOD + f"A2,萧山,C26,5,20,{cell},50,100\n"))
    assert "row 2 (line 3), column 'value_added_wan': value is missing (required)" in msg


def test_duplicate_id_names_both_rows(tmp_path: Path) -> None:
    msg = _problems(_csv(tmp_path, GOOD + "B1,萧山,C26,5,20,5,5,1\n" + GOOD))
    assert "id 'A1' appears in row 1 (line 2) and row 3 (line 4)" in msg


@pytest.mark.parametrize(
    ("code", "hint"), [("C3l", "C31"), ("26", "C26"), ("C2611", "C26"), ("纺织业", "C17")]
)
def test_unknown_sector_with_suggestion(tmp_path: Path, code: str, hint: str) -> None:
    msg = _problems(_csv(tmp_path, GOOD + f"A2,萧山,{code},5,20,500,50,100\n"))
    assert f"row 2 (line 3), column 'sector': unknown sector code '{code}'" in msg
    assert f"did you mean '{hint}'?" in msg


def test_unknown_district_error_and_warning(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD + "A2,萧山县城,C26,5,20,500,50,100\nA3,绍兴,C26,5,20,500,50,100\n")
    msg = _problems(path)
    assert "row 2 (line 3), column 'district': '萧山县城' is not in the district list" in msg
    assert "did you mean '萧山'?" in msg and "row 3 (line 4)" in msg
    with pytest.warns(UserWarning, match="not in the list"):
        ds = load_register(path, allow_custom_districts=True)
    assert list(ds["district"].to_numpy()) == ["萧山", "萧山县城", "绍兴"]


def test_all_problems_at_once(tmp_path: Path) -> None:
    body = GOOD + "A2,萧山,C3l,x,20,,50,100\nA1,Mars,C26,-1,20,500,50,100\n"
    with pytest.raises(RegisterError) as info:
        load_register(_csv(tmp_path, body))
    assert len(info.value.problems) == 6
    assert "6 problem(s)" in str(info.value)


def test_line_numbers_skip_blank_and_multiline_records(tmp_path: Path) -> None:
    header = HEADER.strip() + ",name\n"
    body = 'A1,萧山,C26,10,20,500,50,100,"two\nlines"\n\nA2,萧山,C26,oops,20,500,50,100,x\n'
    msg = _problems(_csv(tmp_path, body, header=header))
    assert "row 2 (line 5), column 'land_mu'" in msg


def test_excel_errors_name_sheet_and_row(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业名单"
    ws.append(HEADER.strip().split(","))
    ws.append(["A1", "萧山", "C26", 10, 20, 500, 50, 100])
    ws.append(["A2", "萧山", "C99", "n/a?", 20, 500, 50, 100])
    wb.save(tmp_path / "bad.xlsx")
    msg = _problems(tmp_path / "bad.xlsx")
    assert "sheet '企业名单' row 3 (data row 2), column 'land_mu'" in msg
    assert "sheet '企业名单' row 3 (data row 2), column 'sector'" in msg
    msg = _problems(tmp_path / "bad.xlsx", sheet="Sheet9")
    assert "no sheet named 'Sheet9'" in msg and "企业名单" in msg


def test_land_in_square_metres_warns(tmp_path: Path) -> None:
    body = "".join(f"A{i},萧山,C26,{6667 + i},20,500,50,100\n" for i in range(5))
    with pytest.warns(UserWarning, match="land_mu looks like m² rather than mu"):
        load_register(_csv(tmp_path, body))
    with pytest.warns(UserWarning, match="m²"):
        load_register(_csv(tmp_path, GOOD + "A2,萧山,C26,200000,20,500,50,100\n"))


def test_energy_in_kgce_warns(tmp_path: Path) -> None:
    body = "".join(f"A{i},萧山,C26,10,20,500,50,{300000 + i}\n" for i in range(5))
    with pytest.warns(UserWarning, match="energy_tce looks like kgce"):
        load_register(_csv(tmp_path, body))


def test_money_in_yuan_warns(tmp_path: Path) -> None:
    body = "".join(f"A{i},萧山,C26,10,20,5000000,50,1000000\n" for i in range(5))
    with pytest.warns(UserWarning, match="looks like 元"):
        load_register(_csv(tmp_path, body))


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", HEADER.encode(), "header but no data rows"),
        ("binary.csv", bytes(range(128, 256)) * 8, "cannot decode the file"),
        ("reg.json", b"{}", "unsupported file type '.json'"),
        ("fake.xlsx", b"not a zip", "not a readable Excel"),
        ("fake.parquet", b"not parquet", "not a readable Parquet"),
    ],
)
def test_unreadable_files_one_sentence(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    msg = _problems(path)
    assert expected in msg and "Traceback" not in msg and msg.count("\n") == 0


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in _problems(tmp_path / "nope.csv")


def test_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "prose.csv"
    path.write_text("这不是表格\n只是一段文字, 有逗号, 太多, 列\n", encoding="utf-8")
    msg = _problems(path)
    assert "prose.csv" in msg
