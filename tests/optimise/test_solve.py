"""``solve``: method dispatch, verification and prices; ``auto`` reproduces MMKP optima."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from choice_factories import MMKP_DIR

from sim.optimise.mmkp import MMKPInstance, read_hh, read_khan
from sim.optimise.solve import AUTO_EXACT_PAIRS, METHODS, solve

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.instances import random_choice_problem

needs_data = pytest.mark.skipif(not MMKP_DIR.is_dir(), reason=f"{MMKP_DIR} absent")
KHAN = MMKP_DIR / "khan"
HH = MMKP_DIR / "hiremath_hill"


def test_methods_agree_on_a_small_problem() -> None:
    problem = random_choice_problem(60, 4, 3, sense="max")
    results = {m: solve(problem, method=m, time_limit=60, gap_tol=1e-9) for m in METHODS}
    ref = results["mip"].objective
    for method, sol in results.items():
        assert sol.status == "optimal", (method, sol.message)
        assert sol.objective == pytest.approx(ref, rel=1e-7), method
        assert sol.solver_info["method_requested"] == method
        assert "verification" in sol.solver_info
        assert sol.duals and sol.reduced_cost_gap is not None


def test_auto_small_is_proven_and_large_uses_decomposition() -> None:
    small = random_choice_problem(300, 5, 5, sense="min")
    sol = solve(small, method="auto", time_limit=60)
    assert sol.solver_info["auto_path"] == "exact"
    assert sol.status == "optimal" and sol.gap <= 1e-9
    large = random_choice_problem(AUTO_EXACT_PAIRS // 4, 6, 6, sense="max")
    sol = solve(large, method="auto", time_limit=60)
    assert sol.solver_info["auto_path"] == "decomposition"
    assert sol.status in ("optimal", "feasible") and np.isfinite(sol.gap)
    if sol.status == "feasible":
        assert "auto:" in sol.message


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        solve(random_choice_problem(10, 3, 0), method="simplex")


def _auto_value(inst: MMKPInstance, seed: int = 1) -> float:
    shuffled, _ = inst.shuffled(seed)  # item order must not matter
    sol = solve(shuffled.to_problem(), method="auto", time_limit=600)
    assert sol.status == "optimal", (inst.name, sol.message)
    assert sol.gap <= 1e-9
    return sol.objective


@needs_data
@pytest.mark.parametrize("name", ["I01", "I02", "I05", "I06"])
def test_auto_reproduces_khan(name: str) -> None:
    inst = read_khan(KHAN / name)
    assert inst.optimum is not None
    assert _auto_value(inst) == pytest.approx(inst.optimum, abs=1e-6)


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["I03", "I04"])
def test_auto_reproduces_hard_khan(name: str) -> None:
    inst = read_khan(KHAN / name)
    assert inst.optimum is not None
    assert _auto_value(inst) == pytest.approx(inst.optimum, abs=1e-6)


@needs_data
def test_auto_reproduces_hh_5_groups() -> None:
    for inst in read_hh(HH / "TestSet1.5GP10IT5KP.txt", HH / "hh_exact_values.csv"):
        assert inst.optimum is not None
        assert _auto_value(inst) == pytest.approx(inst.optimum, abs=1e-6), inst.name


@needs_data
@pytest.mark.slow
def test_auto_reproduces_hh_30_groups() -> None:
    for inst in read_hh(HH / "TestSet.30GP10IT10KP.txt", HH / "hh_exact_values.csv"):
        assert inst.optimum is not None
        assert _auto_value(inst) == pytest.approx(inst.optimum, abs=1e-6), inst.name
