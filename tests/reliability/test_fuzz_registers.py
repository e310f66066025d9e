"""Fuzzing enterprise registers: every broken register is refused cleanly.

Property: ``tenglong evaluate FILE`` either accepts the register, and then
every number in it is finite and land is positive, or exits non-zero with an
``error:`` message naming the file and no traceback. Inputs: CSV with wrong
types, NaN, infinities, negative/zero/huge land, duplicate ids, unknown
sectors and districts, missing, misspelt and duplicated columns; empty and
header-only files; GBK (accepted), UTF-16/UTF-32 and binary junk; Excel with
junk, empty and extra sheets; Parquet with wrong dtypes.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import FUZZ_COUNTS, CliResult, assert_user_error, call_cli

from sim.data.register import REQUIRED, load_register, register_frame
from sim.data.synthetic import generate_population

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

BASE = register_frame(generate_population(12, 3)).astype(object)
COLUMNS = list(BASE.columns)

BAD_CELLS = st.one_of(
    st.sampled_from(
        [
            "", " ", "nan", "NaN", "NA", "null", "-", "inf", "-inf", "Infinity", "1e400",
            "-1e400", "-1", "0", "-0", "0.0", "1e308", "1e30", "9" * 40, "abc", "12 345",
            "1,234", "１２３", "1.2.3", "0x10", "true", "是", "否", "C99", "C13", "26", "萧山区",
            "Xiaoshan", "Atlantis", "A", "E", "\x00", "\t", '"', "'", "=1+1", "2020-01-01",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**25), 10**25).map(str),
    st.text(max_size=8),
)


def check_evaluate(path: Path) -> CliResult:
    """Evaluate ``path`` through the CLI; an accepted register must be sound."""
    FUZZ_COUNTS["register"] += 1
    out = path.with_name("table.csv")
    out.unlink(missing_ok=True)
    result = call_cli("evaluate", path, "--output", out)
    if result.code == 0:
        assert "Traceback" not in result.output
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ds = load_register(path)
        for name in ds.data_vars:
            values = ds[name].values
            if values.dtype.kind == "f" and name not in ("x_km", "y_km"):
                assert np.isfinite(values).all(), f"{path}: {name} accepted non-finite {values}"
        assert (ds["land_mu"].values > 0).all()
        assert out.exists()
    else:
        assert_user_error(result, path)
        assert not out.exists(), "a refused register still wrote its table"
    return result


def _mutate_frame(df: pd.DataFrame, data: st.DataObject) -> pd.DataFrame:
    out = df.copy()
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        op = data.draw(
            st.sampled_from(
                ["cell", "cell", "cell", "dup_id", "drop_col", "rename_col", "dup_col", "drop_rows"]
            )
        )
        cols = list(out.columns)
        if op == "cell" and len(out) and cols:
            row = data.draw(st.integers(0, len(out) - 1))
            out.iat[row, data.draw(st.integers(0, len(cols) - 1))] = data.draw(BAD_CELLS)
        elif op == "dup_id" and len(out) > 1 and "id" in cols:
            a, b = data.draw(st.lists(st.integers(0, len(out) - 1), min_size=2, max_size=2))
            out.iat[a, cols.index("id")] = out.iat[b, cols.index("id")]
        elif op == "drop_col" and cols:
            out = out.drop(columns=[data.draw(st.sampled_from(cols))])
        elif op == "rename_col" and cols:
            col = data.draw(st.sampled_from(cols))
            new = data.draw(st.sampled_from([col.upper(), col[:-1], col + "_", " " + col, "",
                                             col.replace("_", " "), "土地"]))
            out = out.rename(columns={col: new})
        elif op == "dup_col" and cols:
            position = data.draw(st.integers(0, len(cols) - 1))
            out.insert(len(cols), cols[position], out.iloc[:, position], allow_duplicates=True)
        elif op == "drop_rows":
            out = out.iloc[: data.draw(st.integers(0, len(out)))]
    return out


@FUZZ
@given(data=st.data())
def test_mutated_csv_registers(tmp_path: Path, data: st.DataObject) -> None:
    frame = _mutate_frame(BASE, data)
    path = tmp_path / "register.csv"
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    path.write_bytes(frame.to_csv(index=False).encode(encoding, errors="replace"))
    check_evaluate(path)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_mutated_parquet_registers(tmp_path: Path, data: st.DataObject) -> None:
    """Parquet keeps dtypes: mutate whole columns to other dtypes as well as cells."""
    frame = _mutate_frame(BASE, data)
    if len(frame.columns):
        col = data.draw(st.sampled_from(list(frame.columns)))
        frame[col] = data.draw(
            st.sampled_from(
                [
                    np.nan, np.inf, -1.0, 0, 10**18, 1e300, True, "text", b"bytes",
                    pd.Timestamp("2020-01-01"), None,
                ]
            )
        )
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.loc[:, ~pd.Index(frame.columns).duplicated()]
    # Parquet cannot hold mixed object columns: cast them to text, as a user's tool would.
    for c in frame.columns:
        if frame[c].dtype == object:
            kinds = {type(v) for v in frame[c]}
            if len(kinds) > 1:
                frame[c] = frame[c].map(str)
    path = tmp_path / "register.parquet"
    try:
        frame.to_parquet(path, index=False)
    except (ValueError, TypeError, OverflowError) as exc:  # pyarrow cannot write it either
        pytest.skip(f"pyarrow cannot write this frame: {exc}")
    check_evaluate(path)


def _xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buf.getvalue()


JUNK_SHEET = pd.DataFrame({"说明": ["本表为企业名录", None, "单位: 亩"], "x": [1, None, "a"]})

EXCEL_BOOKS: dict[str, Callable[[], bytes]] = {
    "junk sheet first": lambda: _xlsx({"说明": JUNK_SHEET, "企业": BASE}),
    "empty sheet first": lambda: _xlsx({"空": pd.DataFrame(), "企业": BASE}),
    "only an empty sheet": lambda: _xlsx({"Sheet1": pd.DataFrame()}),
    "header only": lambda: _xlsx({"企业": BASE.iloc[:0]}),
    "extra sheets after": lambda: _xlsx({"企业": BASE, "说明": JUNK_SHEET, "空": pd.DataFrame()}),
    "bad cells": lambda: _xlsx(
        {"企业": BASE.assign(land_mu=["x", -3, 0, math.inf, None, True, "1e400", *[5.0] * 5,])}
    ),
    "not a zip": lambda: b"PK\x03\x04 this is not a workbook",
    "csv renamed": lambda: BASE.to_csv(index=False).encode(),
    "empty": lambda: b"",
}


@pytest.mark.parametrize("kind", list(EXCEL_BOOKS))
def test_excel_workbooks(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "register.xlsx"
    path.write_bytes(EXCEL_BOOKS[kind]())
    result = check_evaluate(path)
    if kind in ("junk sheet first", "empty sheet first", "extra sheets after"):
        # A notes sheet before the table: the sheet holding the register is read.
        assert result.code == 0, result.output
    elif kind in ("only an empty sheet", "header only"):
        assert "sheet" in result.stderr or "no data rows" in result.stderr, result.stderr


RAW_FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "blank.csv": b" \n\n \n",
    "header-only.csv": BASE.iloc[:0].to_csv(index=False).encode(),
    "utf16.csv": BASE.to_csv(index=False).encode("utf-16"),
    "utf16le.csv": BASE.to_csv(index=False).encode("utf-16-le"),
    "utf32.csv": BASE.to_csv(index=False).encode("utf-32"),
    "binary.csv": bytes(range(256)) * 4,
    "nul.csv": b"id,district\x00\x00,sector\n1,2,3\n",
    "quote.csv": b'id,district\n"1,2\n',
    "ragged.csv": BASE.to_csv(index=False).encode() + ",".join(map(str, range(30))).encode(),
    "semicolon.csv": BASE.to_csv(index=False, sep=";").encode(),
    "tab.csv": BASE.to_csv(index=False, sep="\t").encode(),
    "binary.parquet": bytes(range(256)),
    "empty.parquet": b"",
    "binary.nc": bytes(range(256)),
    "empty.nc": b"",
    "binary.xlsx": bytes(range(256)),
    "register.json": b"{}",
    "register": BASE.to_csv(index=False).encode(),
}


@pytest.mark.parametrize("name", list(RAW_FILES))
def test_raw_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(RAW_FILES[name])
    check_evaluate(path)


@settings(FUZZ, max_examples=80)
@given(raw=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".xlsx", ".parquet", ".nc"]))
def test_binary_junk_registers(tmp_path: Path, raw: bytes, suffix: str) -> None:
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(raw)
    check_evaluate(path)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "Infinity", "nan"])
@pytest.mark.parametrize("column", ["land_mu", "value_added_wan", "tax_wan", "energy_tce",
                                    "employees", "revenue_wan", "co2_t", "rd_wan"])
def test_non_finite_numbers_are_refused(tmp_path: Path, column: str, value: str) -> None:
    frame = BASE.copy()
    frame.loc[2, column] = value
    path = tmp_path / "register.csv"
    path.write_text(frame.to_csv(index=False), encoding="utf-8")
    result = check_evaluate(path)
    if column in REQUIRED or value != "nan":  # an empty optional cell takes its default
        assert result.code != 0
        assert "row 3" in result.stderr and column in result.stderr, result.stderr


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    frame = BASE.copy()
    frame.loc[0, "land_mu"] = -5
    frame.loc[1, "sector"] = "C99"
    frame.loc[2, "id"] = frame.loc[3, "id"]
    frame.loc[4, "energy_tce"] = "abc"
    frame = frame.drop(columns=["tax_wan"])
    path = tmp_path / "register.csv"
    path.write_text(frame.to_csv(index=False), encoding="utf-8")
    result = check_evaluate(path)
    for needle in ("land_mu", "C99", "appears in", "'abc'", "'tax_wan' is missing"):
        assert needle in result.stderr, (needle, result.stderr)

