"""Robust planning: targets met in the required share of held-out draws, at a cost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.optimise.verify import verify
from sim.pipeline import Model, build_model
from sim.scenario.schema import Distribution
from sim.simulate.factors import factor_specs, sample
from sim.simulate.robust import robust_plan, robust_problem, robust_rows

PARAMETERS = {
    "upgrade_saving": Distribution(mean=1.0, sd=0.25),
    "merge_saving": Distribution(mean=1.0, sd=0.3),
    "cost": Distribution(dist="lognormal", mean=1.0, sd=0.1),
    "redevelopment_takeup": Distribution(dist="uniform", low=0.6, high=1.1),
}


@pytest.fixture(scope="module")
def uncertain_model(small_yaml: Path) -> Model:
    model = build_model(small_yaml)
    model.scenario.uncertainty.parameters = dict(PARAMETERS)
    model.scenario.uncertainty.robust_alpha = 0.2
    model.scenario.solver.gap = 1e-2
    return model


@pytest.mark.parametrize(("mode", "draws"), [("all", 20), ("chance", 20)])
def test_robust_plan_meets_targets_on_held_out_draws(uncertain_model: Model, mode: str,
                                                     draws: int) -> None:
    result = robust_plan(uncertain_model, mode=mode, draws=draws, holdout_draws=1000)
    unc = uncertain_model.scenario.uncertainty
    assert result.holdout.attrs["seed"] == unc.seed + 1000  # held out: a different seed
    assert result.holdout_share >= 1 - result.alpha
    assert result.in_sample_share >= 1 - result.max_relaxed / draws - 1e-12
    # the deterministic plan is cheaper and fails more often
    assert result.solution.objective >= result.deterministic.objective - 1e-6
    assert result.deterministic_holdout_share < result.holdout_share
    # the robust plan satisfies the model's own (nominal) constraints
    report = verify(uncertain_model.problem, result.choice, tol=1e-6)
    assert report.max_violation <= 1e-6
    assert "held-out" in result.summary()


def test_per_draw_rows_equal_monte_carlo(uncertain_model: Model) -> None:
    """Each per-draw row's left side is the Monte Carlo value of that draw (plan accounting)."""
    from sim.optimise.verify import row_lhs
    from sim.simulate.montecarlo import monte_carlo

    specs = factor_specs(uncertain_model.scenario)
    values = sample(specs, 5, 9)
    problem = robust_problem(uncertain_model, specs, values, mode="all")
    rng = np.random.default_rng(0)
    available = uncertain_model.problem.available
    choice = np.argmax(np.where(available, rng.random(available.shape), -1), axis=1)
    mc = monte_carlo(uncertain_model, choice, specs=specs, values=values).sel(year=2023)
    names = {c.name: c for c in problem.constraints}
    for d in range(5):
        lhs = row_lhs(problem, names[f"target:energy_saved_tce@draw{d}"], choice)[0]
        assert lhs == pytest.approx(float(mc["path_plan"].sel(series="energy_saved_tce")[d]))
        row = names[f"kpi:va_per_mu_wan@draw{d}"]
        lhs = row_lhs(problem, row, choice)[0]
        va_per_mu = float(mc["path_plan"].sel(series="va_per_mu_wan")[d])
        level = uncertain_model.scenario.targets.va_per_mu_wan
        assert level is not None
        met = va_per_mu >= level - 1e-9
        assert (lhs >= row.rhs_array()[0] - 1e-6) == met
    assert len(robust_rows(uncertain_model.problem)) * 5 == sum(
        "@draw" in c.name for c in problem.constraints)


def test_robust_needs_alpha_and_parameters(small_yaml: Path) -> None:
    model = build_model(small_yaml)
    with pytest.raises(ScenarioError, match="robust_alpha"):
        robust_plan(model)
    with pytest.raises(ScenarioError, match="uncertain parameters"):
        robust_plan(model, alpha=0.1)
    model.scenario.uncertainty.parameters = dict(PARAMETERS)
    with pytest.raises(ScenarioError, match="must differ"):
        robust_plan(model, alpha=0.1, holdout_seed=model.scenario.uncertainty.seed)
