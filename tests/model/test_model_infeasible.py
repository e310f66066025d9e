"""Issue #3, part 4: infeasible scenarios are diagnosed, in the scenario's terms.

A land target far above what the (small, synthetic) pool holds must raise
:class:`InfeasibleError` naming the target, what it needs, the best that can
be achieved (the pool: every acting firm frees all its land by exiting) and
the shortfall; with ``allow_shortfall`` the least-shortfall plan comes back
flagged. Through the CLI: non-zero exit and no result file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_factories import NO_TARGETS, SCENARIOS, merge

from sim.errors import InfeasibleError
from sim.pipeline import build_model, load_scenario
from sim.scenario.schema import Scenario

pytest.importorskip("sim.optimise.solve", reason="sim.optimise.solve has not landed yet")

from sim.run import run_scenario  # needs sim.optimise.solve

BASE: dict[str, Any] = {
    "name": "impossible",
    "population": {"synthetic": {"n": 400, "seed": 3}},
    "actions": {"merge": {"candidates_per_firm": 1}, "relocate": {"candidates_per_firm": 1}},
    "targets": {**NO_TARGETS, "land_freed_mu": 1_000_000},
    "limits": {"budget_wan": None, "jobs_lost_max": None},
    "solver": {"method": "mip", "time_limit_s": 60},
}


def _scenario(**extra: Any) -> Scenario:
    return Scenario.model_validate(merge(BASE, extra))


@pytest.fixture(scope="module")
def land_pool() -> float:
    """Most land the acting firms can free (each firm's best option)."""
    model = build_model(_scenario())
    firm = ~model.options.is_project
    return float(np.nansum(np.nanmax(model.options.metric("land_freed_mu")[firm], axis=1)))


def test_land_target_above_the_pool_names_target_and_shortfall(land_pool: float) -> None:
    with pytest.raises(InfeasibleError) as info:
        run_scenario(_scenario())
    text = str(info.value)
    assert "scenario 'impossible'" in text
    assert "target:land_freed_mu" in text
    assert "needs at least 1e+06" in text
    assert f"best achievable {land_pool:,.6g}" in text
    assert f"short by {1_000_000 - land_pool:,.6g}" in text
    assert "--allow-shortfall" in text
    assert info.value.exit_code == 3


def test_conflict_with_a_budget_names_targets_and_the_binding_limit() -> None:
    scenario = _scenario(
        population={"synthetic": {"n": 400, "seed": 3}, "scale_to_population": True},
        targets={"land_freed_mu": 20000, "energy_saved_tce": 600000},
        limits={"budget_wan": 150000},
    )
    with pytest.raises(InfeasibleError) as info:
        run_scenario(scenario)
    text = str(info.value)
    lines = [line for line in text.splitlines() if line.strip().startswith("- ")]
    named = {line.split(":", 2)[1].strip() for line in lines if line.strip().startswith("- target")}
    assert named == {"land_freed_mu", "energy_saved_tce"}, text
    assert "needs at least 400" in text  # 20,000 mu × 400 / 20,000 firms
    assert "needs at least 12,000" in text
    assert "Conflicting with these binding limits: limit:budget_wan" in text


def test_allow_shortfall_returns_a_flagged_plan(land_pool: float) -> None:
    outcome = run_scenario(_scenario(), allow_shortfall=True)
    assert outcome.shortfall
    assert outcome.diagnosis is not None
    assert outcome.dataset.attrs["shortfall"] == 1
    kpi = outcome.dataset.sel(kpi="land_freed_mu")
    assert not bool(kpi["kpi_met"])
    assert float(kpi["kpi_achieved"]) == pytest.approx(land_pool, rel=1e-9)
    [short] = outcome.diagnosis.shortfalls
    assert short.row == "target:land_freed_mu"
    assert short.achievable == pytest.approx(land_pool, rel=1e-9)


# ----------------------------------------------------------------- CLI
def _tenglong(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from sim.cli import main; sys.argv[0] = 'tenglong'; main()"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def _write_yaml(path: Path, data: dict[str, Any]) -> Path:
    from ruamel.yaml import YAML

    yaml = YAML()
    with open(path, "w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return path


def test_cli_run_exits_non_zero_and_writes_nothing(tmp_path: Path) -> None:
    path = _write_yaml(tmp_path / "impossible.yaml", BASE)
    out = tmp_path / "out"
    result = _tenglong("run", str(path), "--out", str(out), "--no-plots", cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "target:land_freed_mu" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_cli_run_with_allow_shortfall_writes_a_flagged_result(tmp_path: Path) -> None:
    path = _write_yaml(tmp_path / "impossible.yaml", BASE)
    out = tmp_path / "out"
    result = _tenglong(
        "run", str(path), "--out", str(out), "--no-plots", "--allow-shortfall", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SHORTFALL" in result.stdout
    assert (out / "impossible.nc").is_file()
    assert (out / "impossible-decisions.csv").is_file()


# ----------------------------------------------------------------- shipped example
INFEASIBLE = SCENARIOS / "hangzhou-infeasible.yaml"


@pytest.mark.skipif(not INFEASIBLE.is_file(), reason="scenarios/hangzhou-infeasible.yaml absent")
def test_shipped_infeasible_example() -> None:
    scenario, _ = load_scenario(INFEASIBLE)
    assert scenario.limits.budget_wan == 200000 and scenario.limits.jobs_lost_max == 8000
    # --n-firms runs a scaled copy: targets and limits × 400 / 20,000
    with pytest.raises(InfeasibleError) as info:
        run_scenario(INFEASIBLE, n_firms=400)
    text = str(info.value)
    assert "scenario 'hangzhou-infeasible'" in text
    assert "target:land_freed_mu: needs at least 400, best achievable" in text
    assert "short by" in text
    assert "Conflicting with these binding limits: limit:budget_wan" in text
