"""Solver limits: a time limit gives the best plan flagged with its gap; no plan says why;
a plan the independent check rejects is reported and nothing is written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from reliability_support import call_cli, small_scenario

pytest.importorskip("sim.optimise.solve", reason="sim.optimise.solve has not landed yet")

import sim.run
from sim.optimise.problem import Solution


def test_time_limit_returns_best_plan_flagged_with_gap(tmp_path: Path) -> None:
    """Hangzhou at 3,000 firms with a plain MIP cannot close its gap in 2 s."""
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    result = call_cli("run", scenario, "--out", out, "--time-limit", "2", "--method", "mip",
                      "--no-plots")
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert "status feasible" in result.stdout
    assert "NOT PROVEN OPTIMAL" in result.stdout and "time limit" in result.stdout
    assert "gap" in result.stdout

    with xr.open_dataset(out / "small.nc", engine="h5netcdf") as ds:
        attrs = dict(ds.attrs)
    assert attrs["status"] == "feasible"
    assert float(attrs["gap"]) > 0 and math.isfinite(float(attrs["gap"]))
    manifest = json.loads(attrs["manifest"])
    status = manifest["status"]
    assert status["status"] == "feasible" and status["gap"] == pytest.approx(float(attrs["gap"]))
    assert "time limit" in status["message"]
    assert manifest["solver"]["time_limit_s"] == 2.0
    assert manifest["solver"]["method_requested"] == "mip"

    shown = call_cli("show", out / "small.nc")
    assert shown.code == 0, shown.output
    assert "NOT PROVEN OPTIMAL" in shown.stdout and "status gap" in shown.stdout


def test_no_plan_within_the_time_limit_says_so(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    result = call_cli("run", scenario, "--out", out, "--time-limit", "0.01", "--method", "mip",
                      "--no-plots")
    assert result.code == 3, result.output
    assert "Traceback" not in result.output
    assert "no feasible plan was found within" in result.stderr
    assert "not proven infeasible" in result.stderr or "not a proof" in result.stderr
    assert "time_limit" in result.stderr  # what to change
    assert not out.exists() or not any(out.iterdir())


def test_plan_rejected_by_the_independent_check_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A numerically troubled solve: the solver claims optimal, the plan breaks targets."""
    real_solve = sim.run.solve
    calls: list[str] = []

    def troubled_solve(problem: Any, **kwargs: Any) -> Solution:
        sol = real_solve(problem, **kwargs)
        calls.append(sol.status)
        keep = np.zeros(problem.n_units, dtype=np.int64)  # slot 0 is keep: nothing is done
        sol.choice = keep
        return sol

    monkeypatch.setattr(sim.run, "solve", troubled_solve)
    scenario = small_scenario(tmp_path, n=1500)
    out = tmp_path / "out"
    out.mkdir()
    result = call_cli("run", scenario, "--out", out, "--time-limit", "20", "--no-plots")
    assert calls, "the patched solver was not used"
    assert result.code != 0, result.output
    assert "Traceback" not in result.output
    assert "independent check" in result.stderr and "not written" in result.stderr
    assert list(out.iterdir()) == []
