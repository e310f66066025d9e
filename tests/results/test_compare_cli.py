"""``tenglong compare`` and ``tenglong diff-results`` through the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from result_factories import BASE, HANGZHOU, TIGHT, small_results
from typer.testing import CliRunner

import sim.cli.compare_cmds  # noqa: F401  (registers the commands)
from sim.cli.app import app
from sim.errors import InputError
from sim.results.compare import read_comparison
from sim.results.dataset import write_result

runner = CliRunner()

# A scenario cheap enough to solve inside the test: one land target, 300 firms.
EASY_YAML = f"""\
extends: {HANGZHOU}
name: easy
population: {{synthetic: {{n: 300, seed: 3}}, scale_to_population: true}}
phasing: {{enabled: false}}
targets:
  land_freed_mu: 10000
  energy_saved_tce: null
  co2_cut_t: null
  firms_rectified: null
  tax_per_mu_wan: null
  va_per_mu_wan: null
  labour_productivity_wan: null
  energy_intensity_reduction: null
  district_split: {{mode: none}}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("results")
    base, tight = small_results()
    return write_result(base, folder / f"{BASE}.nc"), write_result(tight, folder / f"{TIGHT}.nc")


def test_compare_result_files(files: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "combined.nc"
    result = runner.invoke(app, ["compare", str(files[0]), str(files[1]), "--reference", TIGHT,
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "comparison (reference small-jobs)" in result.output
    assert "land_freed_mu" in result.output
    cmp = read_comparison(out)
    assert list(cmp["scenario"].values) == [BASE, TIGHT]
    assert cmp.attrs["reference"] == TIGHT
    base = xr.load_dataset(files[0], engine="h5netcdf")
    np.testing.assert_allclose(cmp["kpi_achieved"].sel(scenario=BASE).values,
                               base["kpi_achieved"].values)


def test_compare_scenario_file_uses_existing_result(files: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    yaml = tmp_path / "base.yaml"
    yaml.write_text(f"extends: {HANGZHOU}\nname: {BASE}\n", encoding="utf-8")
    result = runner.invoke(app, ["compare", str(yaml), str(files[1]),
                                 "--out-dir", str(files[0].parent), "-o",
                                 str(tmp_path / "c.nc")])
    assert result.exit_code == 0, result.output
    assert "using the existing result" in result.output
    assert read_comparison(tmp_path / "c.nc").sizes["scenario"] == 2


def test_compare_runs_a_scenario_without_result(files: tuple[Path, Path],
                                                tmp_path: Path) -> None:
    yaml = tmp_path / "easy.yaml"
    yaml.write_text(EASY_YAML, encoding="utf-8")
    out_dir = tmp_path / "results"
    result = runner.invoke(app, ["compare", str(files[0]), str(yaml), "--out-dir", str(out_dir)])
    assert result.exit_code == 0, result.output
    assert "running" in result.output
    assert (out_dir / "easy.nc").exists() and (out_dir / "easy-decisions.csv").exists()
    cmp = read_comparison(out_dir / "comparison.nc")
    assert list(cmp["scenario"].values) == [BASE, "easy"]
    assert cmp.attrs["enterprise_level"] == 0  # different populations: KPIs only
    assert float(cmp["kpi_achieved"].sel(scenario="easy", kpi="land_freed_mu")) >= 150.0 - 1e-6


def test_compare_missing_file_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", str(tmp_path / "nope.nc")])
    assert isinstance(result.exception, InputError)
    assert "no such result file" in str(result.exception)


def test_diff_results(files: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["diff-results", str(files[0]), str(files[1]), "-n", "3"],
                           terminal_width=160)
    assert result.exit_code == 0, result.output
    base, tight = small_results()
    a = base["action"].values.astype(str)
    b = tight["action"].sel(enterprise=base["enterprise"]).values.astype(str)
    changed = int(np.sum(a != b))
    assert f"{changed} changed action" in result.output
    if changed:
        first = np.sort(base["enterprise"].values.astype(str)[a != b])[0]
        assert first in result.output
        assert base["district"].sel(enterprise=first).item() in result.output
