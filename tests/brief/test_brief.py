"""The one-page brief: PDF pages, extractable text with the headline numbers, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pypdf import PdfReader
from result_factories import BASE, TIGHT, small_results
from typer.testing import CliRunner

import sim.cli.compare_cmds  # noqa: F401  (registers the commands)
from sim.brief.pdf import make_brief
from sim.cli.app import app
from sim.plots.style import fmt_number
from sim.results.compare import compare, write_comparison
from sim.results.dataset import write_result

A4_PT = (595.28, 841.89)


@pytest.fixture(scope="module")
def base() -> xr.Dataset:
    return small_results()[0]


@pytest.fixture(scope="module")
def brief_zh(base: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_brief(base, tmp_path_factory.mktemp("brief") / "brief.pdf")


def _text(path: Path) -> list[str]:
    """Each page's text without whitespace (fpdf2's CID fonts extract with NUL padding)."""
    pages = PdfReader(path).pages
    return [re.sub(r"\s+", "", page.extract_text().replace("\x00", "")) for page in pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _kpi(ds: xr.Dataset, name: str, var: str = "kpi_achieved") -> float:
    return float(ds[var].sel(kpi=name))


def test_one_a4_page_per_result(brief_zh: Path) -> None:
    reader = PdfReader(brief_zh)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_PT, abs=0.5)
    assert len(reader.pages[0].images) == 4  # four figures


def test_headline_numbers_in_the_text(base: xr.Dataset, brief_zh: Path) -> None:
    (text,) = _text(brief_zh)
    cost, jobs = _kpi(base, "public_cost_wan"), _kpi(base, "jobs_lost")
    action = base["action"].values.astype(str)
    acting = int(np.isin(action, ["exit", "merge", "relocate", "upgrade"]).sum())
    assert f"财政成本{cost / 1e4:,.2f}亿元" in text  # 万元 → 亿元, two decimals
    assert f"岗位调整{jobs:,.0f}人" in text
    assert f"整治企业{acting}家" in text
    for kind, zh in (("exit", "整体腾退"), ("merge", "兼并重组"), ("upgrade", "改造提升")):
        n = int(np.sum(action == kind))
        if n:
            assert f"{zh}{n}家" in text
    # KPI table: target, achieved (thousands separators) and attainment of land freed
    target, achieved = _kpi(base, "land_freed_mu", "kpi_target"), _kpi(base, "land_freed_mu")
    assert f"盘活低效工业用地亩{target:,.0f}{achieved:,.0f}{100 * achieved / target:.0f}%" in text
    assert "规上亩均税收" in text


def test_binding_text_names_the_tightest_target(base: xr.Dataset, brief_zh: Path) -> None:
    (text,) = _text(brief_zh)
    mc = base["kpi_marginal_cost_yuan"].values
    target = base["kpi_target"].values
    binds = np.isfinite(target) & np.isfinite(mc) & (base["kpi_binding"].values | (mc != 0))
    assert binds.any()
    shadow = np.where(binds, np.abs(mc) * np.abs(np.nan_to_num(target)), -1.0)
    top = int(np.argmax(shadow))
    from sim.plots.style import label

    assert f"{label(str(base['kpi'].values[top]), 'zh')}目标约束最紧" in text
    assert f"边际成本约{fmt_number(abs(mc[top]), 'zh', 3)}元" in text


def test_english_brief(base: xr.Dataset, tmp_path: Path) -> None:
    path = make_brief(base, tmp_path / "en.pdf", lang="en")
    (text,) = _text(path)
    cost = _kpi(base, "public_cost_wan")
    assert _squash(f"public cost {cost / 100:,.2f} million yuan") in text
    assert "bindshardest" in text
    assert "landfreed" in text


def test_comparison_brief_has_a_page_per_scenario(tmp_path: Path) -> None:
    base, tight = small_results()
    cmp = compare([base, tight])
    path = make_brief(write_comparison(cmp, tmp_path / "cmp.nc"), tmp_path / "cmp.pdf",
                      html_copy=True)
    pages = _text(path)
    assert len(pages) == 3
    assert f"情景比较：{BASE}、{TIGHT}" in pages[0]
    d_jobs = _kpi(tight, "jobs_lost") - _kpi(base, "jobs_lost")
    word = "多" if d_jobs > 0 else "少"
    if d_jobs:
        assert f"岗位调整{word}{abs(d_jobs):,.0f}人" in pages[0]
    assert f"财政成本{_kpi(tight, 'public_cost_wan') / 1e4:,.2f}亿元" in pages[2]
    html = path.with_suffix(".html").read_text(encoding="utf-8")
    assert html.count("<section>") == 3 and "data:image/png;base64," in html


def test_brief_cli(base: xr.Dataset, tmp_path: Path) -> None:
    result_file = write_result(base, tmp_path / f"{BASE}.nc")
    run = CliRunner().invoke(app, ["brief", str(result_file), "--lang", "en", "--html"])
    assert run.exit_code == 0, run.output
    pdf = tmp_path / f"{BASE}-brief.pdf"
    assert pdf.exists() and pdf.with_suffix(".html").exists()
    assert "public cost" in pdf.with_suffix(".html").read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, ["brief", str(result_file), "--lang", "fr"])
    assert bad.exit_code != 0


def test_brief_records_the_manifest(base: xr.Dataset, brief_zh: Path) -> None:
    meta = PdfReader(brief_zh).metadata
    assert meta is not None
    assert meta.subject == base.attrs["manifest"]
