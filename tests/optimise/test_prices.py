"""LP-relaxation prices: sign convention, finite differences, reduced-cost gaps."""

from __future__ import annotations

import numpy as np
import pytest
from choice_factories import random_large_problem

from sim.optimise.highs_backend import build_highs_matrix, solve_highs, solve_lp_relaxation
from sim.optimise.prices import attach_prices, lagrangian_scores, lp_prices, reduced_cost_gap
from sim.optimise.problem import ChoiceProblem, Constraint, Objective


def _elastic_problem(target: float, limit: float, sense: str = "min") -> ChoiceProblem:
    """Units choose keep (0) or act (1); acting costs c_i and yields 1 unit of output.

    The output target (elastic, 5 per unit short) is out of reach, so every
    unit acts and the shortfall is continuous in the target: the MIP optimum is
    locally linear in the rhs and the LP relaxation is integral.
    """
    rng = np.random.default_rng(1)
    n = 6
    effects = np.zeros((n, 2, 3))
    effects[:, 1, 0] = rng.integers(1, 4, n)  # cost
    effects[:, 1, 1] = 1.0  # output
    effects[:, :, 2] = rng.integers(1, 5, (n, 2))  # land used
    sign = 1.0 if sense == "min" else -1.0
    return ChoiceProblem(
        effects,
        ["cost", "out", "land"],
        [
            Constraint("target", {"out": 1.0}, ">=", target, penalty=5.0),
            Constraint("land", {"land": 1.0}, "<=", limit),
        ],
        Objective({"cost": sign}, sense),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("sense", ["min", "max"])
def test_lp_duals_match_mip_finite_differences(sense: str) -> None:
    p = _elastic_problem(10.0, 100.0, sense)
    lp = solve_lp_relaxation(p)
    assert lp.n_fractional == 0  # integral LP
    duals = lp_prices(p)
    base = solve_highs(p)
    assert base.objective == pytest.approx(lp.objective)
    h = 1e-3
    for name, build in [
        ("target", lambda d: _elastic_problem(10.0 + d, 100.0, sense)),
        ("land", lambda d: _elastic_problem(10.0, 100.0 + d, sense)),
    ]:
        up, down = solve_highs(build(h)), solve_highs(build(-h))
        fd = (up.objective - down.objective) / (2 * h)
        assert duals[name][0] == pytest.approx(fd, abs=1e-6), name
    # the sign convention: raising an unreachable target costs 5 per unit
    expected = 5.0 if sense == "min" else -5.0
    assert duals["target"][0] == pytest.approx(expected)
    assert duals["land"][0] == pytest.approx(0.0)


def test_max_problem_capacity_dual_is_positive() -> None:
    p = random_large_problem(300, seed=4)
    duals = lp_prices(p)
    assert duals["budget"][0] >= 0.0  # more budget never hurts a maximisation
    assert (duals["target"] <= 1e-12).all()  # a higher ≥ target never helps


def test_reduced_cost_gap_nonnegative_for_plan_optimal_at_prices() -> None:
    p = random_large_problem(500, seed=2)
    duals = lp_prices(p)
    # the plan that maximises the Lagrangian score is optimal at these prices
    scores = lagrangian_scores(p, duals)
    plan = np.nanargmax(scores, axis=1)
    gap = reduced_cost_gap(p, plan, duals)
    assert np.nanmin(gap) >= 0.0
    # the LP solution rounds to such a plan except on the few fractional units
    lp = solve_lp_relaxation(p)
    assert lp.n_fractional <= len(p.constraints[0].rhs_array()) + p.constraints[1].n_rows
    mip = attach_prices(p, solve_highs(p, time_limit=20))
    assert mip.reduced_cost_gap is not None
    assert (mip.reduced_cost_gap >= -1e-6).mean() > 0.99
    assert set(mip.duals) == {"budget", "target"}


def test_reduced_cost_gap_conventions() -> None:
    effects = np.array(
        [[[1.0, 0.0], [3.0, 1.0], [2.0, 0.0]], [[5.0, 0.0], [np.nan] * 2, [np.nan] * 2]]
    )
    for sense in ("max", "min"):
        p = ChoiceProblem(
            effects,
            ["v", "a"],
            [Constraint("a", {"a": 1.0}, "<=", 1.0)],
            Objective({"v": 1.0}, sense),  # type: ignore[arg-type]
        )
        gap = reduced_cost_gap(p, np.array([1, 0]), {"a": np.array([0.5])})
        # scores of unit 0: 1, 3 - 0.5 = 2.5, 2
        assert gap[0] == pytest.approx(0.5 if sense == "max" else -1.5)
        assert np.isnan(gap[1])  # single option
        assert np.isnan(reduced_cost_gap(p, np.array([-1, 0]), {})[0])


def test_relaxed_solve_reports_duals_and_fractional_units() -> None:
    p = random_large_problem(400, seed=5)
    sol = solve_highs(p, relax=True)
    assert sol.status == "optimal" and "fractional" in sol.message
    m = build_highs_matrix(p)
    assert set(sol.duals) == set(m.family_rows)
    mip = solve_highs(p)
    assert mip.objective <= sol.objective + 1e-6  # LP bounds the maximisation
