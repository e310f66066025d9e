"""Reading and writing registers: formats, aliases, defaults (issue #2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xarray as xr

from sim.data.register import COLUMNS, load_register, save_register
from sim.data.synthetic import generate_population

MINIMAL = (
    "id,district,sector,land_mu,employees,value_added_wan,tax_wan,energy_tce\n"
    "A1,萧山,C26,10,20,300,50,100\n"
    "A2,富阳区,c22,25,40,3000,300,2000\n"
    "A3,Lin'an,C39,6,10,100,5,10\n"
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_column_spec_is_complete() -> None:
    names = [c.name for c in COLUMNS]
    assert names[:8] == [
        "id", "district", "sector", "land_mu", "employees", "value_added_wan", "tax_wan",
        "energy_tce",
    ]  # fmt: skip
    assert all(c.required for c in COLUMNS[:8]) and not any(c.required for c in COLUMNS[8:])
    for c in COLUMNS:
        assert c.units and c.long_name and c.long_name_zh and c.default


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".nc"])
def test_roundtrip(tmp_path: Path, suffix: str) -> None:
    ds = generate_population(300, seed=4)
    back = load_register(save_register(ds, tmp_path / f"reg{suffix}"))
    assert (back["enterprise"].to_numpy() == ds["enterprise"].to_numpy()).all()
    for name in ds.data_vars:
        if ds[name].dtype.kind == "f":
            np.testing.assert_allclose(back[name], ds[name], rtol=1e-12)
        else:
            assert (back[name].to_numpy() == ds[name].to_numpy()).all(), name
        assert back[name].attrs["units"] == ds[name].attrs["units"]
    assert not list(tmp_path.glob("*.partial"))


def test_defaults_and_normalisation(tmp_path: Path) -> None:
    ds = load_register(_write(tmp_path / "r.csv", MINIMAL))
    assert list(ds["district"].to_numpy()) == ["萧山", "富阳", "临安"]
    assert list(ds["sector"].to_numpy()) == ["C26", "C22", "C39"]
    np.testing.assert_allclose(ds["co2_t"], [200.0, 4000.0, 20.0])
    np.testing.assert_allclose(ds["revenue_wan"], np.array([300, 3000, 100]) / 0.22)
    assert list(ds["above_scale"].to_numpy()) == [False, True, False]  # revenue ≥ 2,000万
    assert list(ds["park"].to_numpy()) == ["", "", ""]
    assert list(ds["name"].to_numpy()) == ["A1", "A2", "A3"]
    assert not ds["violation"].any() and not ds["two_high"].any()
    assert float(ds["x_km"][0]) == 12.0 and float(ds["y_km"][0]) == -22.0  # 萧山 centroid


def test_optional_columns_and_empty_cells(tmp_path: Path) -> None:
    text = (
        "id,district,sector,land_mu,employees,value_added_wan,tax_wan,energy_tce,"
        "above_scale,violation,two_high,park,co2_t\n"
        "A1,萧山,C26,10,20,500,50,100,是,1,false,xiaoshan-1,\n"
        "A2,萧山,C26,10,20,300,50,100,,yes,,,150\n"
    )
    ds = load_register(_write(tmp_path / "r.csv", text))
    assert list(ds["above_scale"].to_numpy()) == [True, False]
    assert list(ds["violation"].to_numpy()) == [True, True]
    assert list(ds["park"].to_numpy()) == ["xiaoshan-1", ""]
    np.testing.assert_allclose(ds["co2_t"], [200.0, 150.0])


def test_gbk_csv_with_chinese_headers(tmp_path: Path) -> None:
    text = (
        "企业编号,区县,行业代码,用地面积,从业人员,工业增加值,税收,综合能耗,企业名称\n"
        '甲001,萧山区,C17,"1,200",300,9000,900,5000,杭州某印染有限公司\n'
    )
    ds = load_register(_write(tmp_path / "gbk.csv", text, encoding="gbk"))
    assert ds["name"].item() == "杭州某印染有限公司"
    assert ds["land_mu"].item() == 1200.0
    assert ds["enterprise"].item() == "甲001"


def test_excel_first_and_named_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "说明"
    ws.append(["this sheet is a note"])
    data = wb.create_sheet("企业")
    rows = [line.split(",") for line in MINIMAL.strip().splitlines()]
    data.append(rows[0])
    for r in rows[1:]:
        data.append(r[:3] + [float(x) for x in r[3:]])
    path = tmp_path / "reg.xlsx"
    wb.save(path)
    ds = load_register(path, sheet="企业")
    assert ds["land_mu"].values.tolist() == [10.0, 25.0, 6.0]
    wb2 = openpyxl.Workbook()
    wb2.active.title = "企业"
    for r in [rows[0]] + [r[:3] + [float(x) for x in r[3:]] for r in rows[1:]]:
        wb2.active.append(r)
    wb2.save(tmp_path / "first.xlsx")
    assert load_register(tmp_path / "first.xlsx").sizes["enterprise"] == 3


def test_parquet_input(tmp_path: Path) -> None:
    df = pd.read_csv(pd.io.common.StringIO(MINIMAL))
    df.to_parquet(tmp_path / "r.parquet")
    ds = load_register(tmp_path / "r.parquet")
    assert ds["value_added_wan"].values.tolist() == [300.0, 3000.0, 100.0]


def test_custom_district_list(tmp_path: Path) -> None:
    text = MINIMAL.replace("萧山", "越城").replace("富阳区", "柯桥").replace("Lin'an", "上虞")
    ds = load_register(_write(tmp_path / "r.csv", text), districts=["越城", "柯桥", "上虞"])
    assert list(ds["district"].to_numpy()) == ["越城", "柯桥", "上虞"]
    assert np.isnan(ds["x_km"]).all()


def test_save_rejects_unknown_suffix(tmp_path: Path) -> None:
    from sim.errors import RegisterError

    with pytest.raises(RegisterError, match=r"use \.csv, \.parquet or \.nc"):
        save_register(generate_population(3), tmp_path / "x.json")


def test_register_is_a_dataset_over_enterprise(tmp_path: Path) -> None:
    ds = load_register(_write(tmp_path / "r.csv", MINIMAL))
    assert isinstance(ds, xr.Dataset) and ds["land_mu"].dims == ("enterprise",)
