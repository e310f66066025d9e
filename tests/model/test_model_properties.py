"""Issue #3, part 3: properties of optimal plans.

Monotonicity is checked exactly (brute force) on the tiny register for many
target and budget levels, and on seeded synthetic populations (scaled to
their size) with the MIP, where a solver's gap is allowed for soundly: with
``bound ≤ OPT ≤ objective`` (min), OPT(tighter) ≥ OPT(looser) implies
``objective(tighter) ≥ bound(looser)``. Eligibility rules and 一企一策
overrides are checked on the chosen plans.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_factories import (
    NO_TARGETS,
    TINY_FIRMS,
    kinds_of,
    labels_of,
    merge,
    register_from,
    solve_with,
    tiny_model,
    tiny_scenario,
)

from sim.errors import InputError
from sim.optimise.brute_force import brute_force
from sim.optimise.problem import Solution
from sim.optimise.verify import check, verify
from sim.pipeline import Model, build_model
from sim.scenario.schema import Scenario

SMALL_ACTIONS = {"merge": {"candidates_per_firm": 1}, "relocate": {"candidates_per_firm": 1}}


def _synthetic(n: int, seed: int, **extra: Any) -> Model:
    data = merge(
        {
            "name": f"synthetic-{n}-{seed}",
            "population": {"scale_to_population": True, "synthetic": {"n": n, "seed": seed}},
            "actions": SMALL_ACTIONS,
            "targets": {
                **NO_TARGETS,
                "land_freed_mu": 20000,
                "energy_saved_tce": 600000,
                "firms_rectified": 700,
            },
        },
        extra,
    )
    return build_model(Scenario.model_validate(data))


def _solve(model: Model, gap: float = 1e-5) -> Solution:
    sol = solve_with(model.problem, "mip", gap=gap)
    assert sol.status == "optimal", sol.message
    check(model.problem, sol, tol=1e-6)
    return sol


# ----------------------------------------------------------------- monotonicity
TINY_TARGETS: dict[str, list[float]] = {
    "land_freed_mu": [0.0, 40.0, 80.0, 120.0, 160.0],
    "energy_saved_tce": [0.0, 3000.0, 6000.0, 9000.0, 12000.0],
    "co2_cut_t": [0.0, 6000.0, 12000.0, 18000.0, 24000.0],
    "firms_rectified": [1, 2, 3, 4, 5],
}


@pytest.mark.parametrize("target", list(TINY_TARGETS))
def test_raising_a_target_never_lowers_the_minimum_cost_tiny(target: str) -> None:
    costs = []
    for level in TINY_TARGETS[target]:
        model = tiny_model(
            tiny_scenario(
                targets={
                    target: level,
                    "firms_rectified": 2 if target != "firms_rectified" else level,
                },
                limits={"jobs_lost_max": 250.0},
            )
        )
        sol = brute_force(model.problem)
        assert sol.status == "optimal", (target, level)
        costs.append(sol.objective)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(costs)), costs
    assert costs[-1] > costs[0]  # the sweep is not flat


def test_loosening_the_budget_never_lowers_the_attainable_va_tiny() -> None:
    values = []
    for budget in [1500.0, 2500.0, 4000.0, 6000.0, 9000.0]:
        model = tiny_model(
            tiny_scenario(
                targets={"land_freed_mu": 40.0, "firms_rectified": 2},
                limits={"budget_wan": budget},
                objective={"kind": "max_va"},
            )
        )
        sol = brute_force(model.problem)
        assert sol.status == "optimal", budget
        values.append(sol.objective)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(values)), values
    assert values[-1] > values[0]


def test_raising_a_target_never_lowers_the_minimum_cost_synthetic() -> None:
    models = [_synthetic(800, 1, targets={"land_freed_mu": 20000 * f}) for f in (0.5, 0.8, 1.1)]
    sols = [_solve(m) for m in models]
    for k in range(len(models) - 1):
        looser, tighter = sols[k], sols[k + 1]
        assert tighter.objective >= looser.bound - 1e-6 * abs(looser.bound)
        # nested feasible sets: the tighter plan is feasible for the looser target
        assert verify(models[k].problem, tighter.choice).max_violation <= 1e-9
    assert sols[-1].objective > sols[0].objective


def test_loosening_the_budget_never_lowers_the_attainable_va_synthetic() -> None:
    budgets = [1_500_000 * f for f in (0.4, 0.6, 0.9)]
    models = [
        _synthetic(800, 1, limits={"budget_wan": b}, objective={"kind": "max_va"}) for b in budgets
    ]
    sols = [_solve(m) for m in models]
    for k in range(len(models) - 1):
        tight, loose = sols[k], sols[k + 1]
        assert loose.bound >= tight.objective - 1e-6 * abs(tight.objective)
        assert verify(models[k + 1].problem, tight.choice).max_violation <= 1e-9
    assert sols[-1].objective > sols[0].objective


# ----------------------------------------------------------------- eligibility
def test_a_class_firms_never_act_when_exempt() -> None:
    model = _synthetic(
        1000,
        5,
        eligibility={
            "candidates_only": False,
            "exempt_classes": ["A"],
            "violators_must_act": False,
        },
    )
    reg = model.register
    a_class = set(reg["enterprise"].values[reg["muni_class"].values == "A"].astype(str))
    assert len(a_class) > 100
    assert a_class.isdisjoint(model.options.unit_ids.tolist())
    sol = _solve(model, gap=1e-4)
    kinds = kinds_of(model, sol.choice)
    assert sum(k != "keep" for k in kinds.values()) > 20
    assert not [u for u, k in kinds.items() if u in a_class and k != "keep"]


def test_a_class_firms_act_only_as_violators_on_the_tiny_register() -> None:
    """F5 and F6 are A-class; F6 turned violator must act although A is exempt."""
    columns = {k: list(v) for k, v in TINY_FIRMS.items()}
    columns["violation"] = [False, True, False, False, False, True]
    scenario = tiny_scenario(eligibility={"exempt_classes": ["A"]}, targets={"land_freed_mu": 60.0})
    model = tiny_model(scenario, register_from(columns))
    ids = model.options.unit_ids.tolist()
    assert "F5" not in ids and "F6" in ids
    available = model.problem.available[ids.index("F6")]
    assert not available[model.options.slot_labels.index("keep")]
    sol = brute_force(model.problem)
    assert kinds_of(model, sol.choice)["F6"] != "keep"


def test_violators_never_keep() -> None:
    model = _synthetic(
        1000,
        5,
        eligibility={"candidates_only": True, "exempt_classes": ["A"], "violators_must_act": True},
    )
    reg = model.register
    violators = set(reg["enterprise"].values[reg["violation"].values.astype(bool)].astype(str))
    assert len(violators) >= 5
    assert violators <= set(model.options.unit_ids.tolist())
    sol = _solve(model, gap=1e-4)
    kinds = kinds_of(model, sol.choice)
    assert all(kinds[v] != "keep" for v in violators)
    # the rule is what bars them from keeping
    keep = model.options.slot_labels.index("keep")
    rows = np.isin(model.options.unit_ids, sorted(violators))
    assert not model.problem.available[rows, keep].any()
    assert model.problem.available[~rows & ~model.options.is_project, keep].all()


# ----------------------------------------------------------------- 一企一策
@pytest.fixture(scope="module")
def override_base() -> dict[str, Any]:
    return {
        "targets": {"land_freed_mu": 80.0, "energy_saved_tce": 6000.0, "firms_rectified": 3},
        "limits": {"jobs_lost_max": 250.0},
    }


def _tiny_plan(overrides: list[dict[str, Any]], base: dict[str, Any]) -> tuple[Model, Solution]:
    model = tiny_model(tiny_scenario(overrides=overrides, **base))
    sol = solve_with(model.problem, "mip")
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(brute_force(model.problem).objective, abs=1e-6)
    return model, sol


def test_override_forbidding_exit_changes_that_firms_decision(
    override_base: dict[str, Any],
) -> None:
    model, sol = _tiny_plan([], override_base)
    kinds = kinds_of(model, sol.choice)
    exiting = [u for u, k in kinds.items() if k == "exit"]
    assert exiting, kinds
    firm = exiting[0]
    forbidden, sol2 = _tiny_plan(
        [{"id": firm, "option": "exit", "metric": "available", "value": 0}], override_base
    )
    assert forbidden.options.overrides_applied >= 1
    row = forbidden.options.unit_ids.tolist().index(firm)
    exit_slot = forbidden.options.slot_labels.index("exit@2021")
    assert not forbidden.problem.available[row, exit_slot]
    assert kinds_of(forbidden, sol2.choice)[firm] != "exit"
    assert sol2.objective >= sol.objective - 1e-9


def test_override_making_a_choice_costly_moves_the_firm(override_base: dict[str, Any]) -> None:
    model, sol = _tiny_plan([], override_base)
    labels = labels_of(model, sol.choice)
    firm, label = next((u, lb) for u, lb in labels.items() if lb != "keep")
    costly, sol2 = _tiny_plan(
        [{"id": firm, "option": label, "metric": "public_cost_wan", "value": 1e7}], override_base
    )
    effects = costly.options.to_dataarray()
    assert float(effects.sel(unit=firm, option=label, metric="public_cost_wan")) == 1e7
    assert labels_of(costly, sol2.choice)[firm] != label


def test_override_making_an_upgrade_pay_selects_it(override_base: dict[str, Any]) -> None:
    """A firm kept in the optimum upgrades once its upgrade earns the city money."""
    model, sol = _tiny_plan([], override_base)
    labels = labels_of(model, sol.choice)
    firm = next(u for u, lb in labels.items() if lb == "keep")
    model2, sol2 = _tiny_plan(
        [{"id": firm, "option": "upgrade:basic", "metric": "public_cost_wan", "value": -100.0}],
        override_base,
    )
    assert labels_of(model2, sol2.choice)[firm] == "upgrade:basic@2021"
    assert sol2.objective <= sol.objective - 100 + 1e-6


def test_overrides_file_and_bad_overrides(tmp_path: Path) -> None:
    csv = tmp_path / "yqyc.csv"
    csv.write_text("id,option,metric,value\nF1,exit,available,0\nF3,upgrade:deep,jobs_lost,0\n")
    model = tiny_model(tiny_scenario(overrides_file=str(csv)))
    effects = model.options.to_dataarray()
    assert np.isnan(effects.sel(unit="F1", option="exit@2021")).all()
    assert float(effects.sel(unit="F3", option="upgrade:deep@2021", metric="jobs_lost")) == 0.0
    assert model.options.overrides_applied == 2
    bad = [
        {"id": "F9", "option": "exit", "metric": "available", "value": 0},
        {"id": "F1", "option": "exitt", "metric": "available", "value": 0},
        {"id": "F1", "option": "exit", "metric": "public_cost", "value": 1},
    ]
    with pytest.raises(InputError) as info:
        tiny_model(tiny_scenario(overrides=bad))
    text = str(info.value)
    assert "F9" in text and "'exitt'" in text and "'public_cost'" in text
    assert "public_cost_wan" in text  # did you mean


def test_override_reaches_the_phased_copies() -> None:
    """With phasing, an overridden base metric also changes its yearly copies."""
    scenario = tiny_scenario(
        horizon={"base_year": 2020, "start_year": 2021, "end_year": 2022},
        phasing={"enabled": True, "cumulative_shares": {2021: 0.5, 2022: 1.0}},
        overrides=[
            {"id": "F1", "option": "exit", "metric": "public_cost_wan", "value": 1234.0},
            {"id": "F1", "option": "exit@2022", "metric": "land_freed_mu", "value": 0.0},
        ],
    )
    effects = tiny_model(scenario).options.to_dataarray().sel(unit="F1")
    assert float(effects.sel(option="exit@2021", metric="public_cost_wan_in_2021")) == 1234.0
    assert float(effects.sel(option="exit@2022", metric="public_cost_wan_in_2022")) == 1234.0
    assert float(effects.sel(option="exit@2021", metric="public_cost_wan_in_2022")) == 0.0
    assert float(effects.sel(option="exit@2021", metric="land_freed_mu_by_2022")) == 40.0
    assert float(effects.sel(option="exit@2022", metric="land_freed_mu_by_2022")) == 0.0
