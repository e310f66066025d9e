"""Issue #3, part 5: the shipped scenarios load, build, and the plan's own runs end to end.

Every ``scenarios/*.yaml`` must load with :func:`load_scenario` and build a
policy model at a small population. ``hangzhou-2023.yaml`` runs through the
CLI at full size (slow; CI runs it): result file, decisions CSV, every
target met, status optimal/feasible and a gap within the scenario's own
tolerance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from model_factories import SCENARIOS

from sim.pipeline import build_model, load_scenario

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def test_there_are_shipped_scenarios() -> None:
    assert SCENARIOS / "hangzhou-2023.yaml" in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_loads_and_builds(path: Path) -> None:
    scenario, data = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.source_file == path.resolve()
    assert data["name"] == path.stem
    model = build_model(scenario, n_firms=300)
    assert model.problem.n_units > 0
    assert any(c.name.startswith("target:") for c in model.problem.constraints)
    assert model.problem.objective.weights


def test_hangzhou_2023_is_the_plan_as_written() -> None:
    scenario, _ = load_scenario(SCENARIOS / "hangzhou-2023.yaml")
    t = scenario.targets
    assert (t.land_freed_mu, t.energy_saved_tce, t.co2_cut_t, t.firms_rectified) == (
        20000,
        600000,
        1200000,
        700,
    )
    assert (t.tax_per_mu_wan, t.va_per_mu_wan, t.labour_productivity_wan) == (45, 240, 39)
    assert t.energy_intensity_reduction == pytest.approx(0.13)
    assert scenario.phasing.enabled
    assert scenario.population.synthetic.n == 20000


@pytest.mark.slow
def test_hangzhou_2023_runs_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("sim.optimise.solve", reason="sim.optimise.solve has not landed yet")
    scenario, _ = load_scenario(SCENARIOS / "hangzhou-2023.yaml")
    code = "import sys; from sim.cli import main; sys.argv[0] = 'tenglong'; main()"
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "run",
            str(SCENARIOS / "hangzhou-2023.yaml"),
            "--out",
            str(out),
            "--no-plots",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    nc = out / "hangzhou-2023.nc"
    decisions = out / "hangzhou-2023-decisions.csv"
    assert nc.is_file() and decisions.is_file()
    with xr.open_dataset(nc) as opened:
        ds = opened.load()
    assert ds.attrs["status"] in ("optimal", "feasible")
    assert float(ds.attrs["gap"]) <= scenario.solver.gap
    assert int(ds.attrs.get("shortfall", 0)) == 0
    assert float(ds.attrs["max_violation"]) <= scenario.solver.verify_tolerance
    targets = ds["kpi_target"].values.astype(float)
    has_target = np.isfinite(targets)
    assert has_target.sum() >= 8
    unmet = ds["kpi"].values[has_target & ~ds["kpi_met"].values.astype(bool)]
    assert unmet.size == 0, unmet
    table = pd.read_csv(decisions)
    assert len(table) > 0
    assert "hangzhou-2023" in result.stdout
