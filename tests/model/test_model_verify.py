"""Issue #3, part 7: the independent check on policy-model plans.

:func:`sim.optimise.verify.verify` recomputes every row with numpy from the
chosen options. On a solver's plan it must report a violation within the
scenario's tolerance; on deliberately broken plans it must name the violated
row (the target, the park) and flag invalid choices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from model_factories import NO_TARGETS, kinds_of, merge, solve_with, tiny_model, tiny_scenario

from sim.errors import VerificationError
from sim.optimise.problem import Solution
from sim.optimise.verify import check, verify
from sim.pipeline import Model, build_model
from sim.scenario.schema import Scenario

TARGETS = {"land_freed_mu": 80.0, "energy_saved_tce": 6000.0, "firms_rectified": 3}


@pytest.fixture(scope="module")
def solved() -> tuple[Model, Solution]:
    model = tiny_model(
        tiny_scenario(
            targets={
                **TARGETS,
                "district_split": {"mode": "pool", "coverage": 0.5},
            },
            limits={"jobs_lost_max": 250.0, "budget_wan": 5000.0},
        )
    )
    sol = solve_with(model.problem, "mip")
    assert sol.status == "optimal"
    return model, sol


def _slot(model: Model, label: str) -> int:
    return model.options.slot_labels.index(label)


def test_solver_plan_passes(solved: tuple[Model, Solution]) -> None:
    model, sol = solved
    tol = model.scenario.solver.verify_tolerance
    report = verify(model.problem, sol.choice, tol=tol)
    assert report.ok
    assert report.max_violation <= tol
    assert report.worst_row == ""
    assert report.invalid_units.size == 0
    assert report.objective == pytest.approx(sol.objective, rel=1e-9, abs=1e-9)
    # one table row per constraint row, all labelled
    n_rows = sum(c.n_rows for c in model.problem.constraints)
    assert len(report.rows) == n_rows
    assert "district:land_freed_mu[萧山]" in set(report.rows["label"])


def test_dropping_the_exits_names_the_land_target(solved: tuple[Model, Solution]) -> None:
    model, sol = solved
    kinds = model.options.slot_kinds[sol.choice]
    assert (kinds == "exit").any() or (kinds == "relocate").any()
    broken = sol.choice.copy()
    keep = _slot(model, "keep")
    can_keep = model.problem.available[:, keep]
    broken[np.isin(kinds, ["exit", "relocate", "merge"]) & can_keep] = keep
    report = verify(model.problem, broken, tol=1e-6)
    assert not report.ok
    violated = report.rows.loc[report.rows["violation"] > 1e-9]
    assert "target:land_freed_mu" in set(violated["label"])
    assert report.worst_row in set(violated["label"])
    row = report.rows.loc[report.rows["label"] == "target:land_freed_mu"].iloc[0]
    assert row["violation"] == pytest.approx(80.0 - row["lhs"])
    assert row["rel_violation"] == pytest.approx(row["violation"] / 80.0)
    bad = Solution(broken, sol.objective, sol.bound, 0.0, "optimal", "test")
    with pytest.raises(VerificationError, match=r"violates row "):
        check(model.problem, bad)


def test_overfilling_a_park_names_the_park() -> None:
    """F1 and F2 (萧山) both relocate into xiaoshan-1: 20 + 12.5 mu > 20 mu."""
    model = tiny_model(tiny_scenario())
    ids = model.options.unit_ids.tolist()
    choice = np.full(len(ids), _slot(model, "keep"))
    choice[ids.index("F2")] = _slot(model, "upgrade:basic@2021")  # a violator must act
    relocate = _slot(model, "relocate#1@2021")
    choice[[ids.index("F1"), ids.index("F2")]] = relocate
    assert model.options.target[ids.index("F1"), relocate] == "xiaoshan-1"
    assert model.options.target[ids.index("F2"), relocate] == "xiaoshan-1"
    report = verify(model.problem, choice)
    assert report.worst_row == "capacity:park[xiaoshan-1]"
    row = report.rows.loc[report.rows["label"] == report.worst_row].iloc[0]
    assert row["lhs"] == pytest.approx(40 / 2 + 25 / 2)
    assert row["rhs"] == pytest.approx(2000 * 6 / 600)  # 2,000 mu × n / reference_firms
    assert report.max_violation == pytest.approx((32.5 - 20.0) / 20.0)


def test_a_barred_option_is_an_invalid_choice() -> None:
    model = tiny_model(tiny_scenario())
    ids = model.options.unit_ids.tolist()
    choice = np.full(len(ids), _slot(model, "keep"))  # F2, a violator, may not keep
    report = verify(model.problem, choice)
    assert report.invalid_units.tolist() == [ids.index("F2")]
    assert report.max_violation == np.inf and not report.ok
    bad = Solution(choice, 0.0, 0.0, 0.0, "optimal", "test")
    with pytest.raises(VerificationError, match="missing or unavailable"):
        check(model.problem, bad)


SYNTHETIC: dict[str, Any] = {
    "name": "verify-synthetic",
    "population": {"scale_to_population": True, "synthetic": {"n": 800, "seed": 4}},
    "actions": {"merge": {"candidates_per_firm": 1}, "relocate": {"candidates_per_firm": 1}},
    "targets": {
        **NO_TARGETS,
        "land_freed_mu": 20000,
        "energy_saved_tce": 600000,
        "firms_rectified": 700,
        "district_split": {"mode": "pool", "coverage": 0.5},
    },
    "solver": {"gap": 1e-4},
}


@pytest.mark.parametrize("method", ["mip", "decomposition"])
def test_synthetic_plan_passes(method: str) -> None:
    model = build_model(Scenario.model_validate(merge(SYNTHETIC, {})))
    sol = solve_with(model.problem, method, gap=1e-4)
    assert sol.status in ("optimal", "feasible"), sol.message
    tol = model.scenario.solver.verify_tolerance
    report = check(model.problem, sol, tol=tol)
    assert report.max_violation <= tol
    assert "exit" in kinds_of(model, sol.choice).values()
