"""Exact price steps on capacity-like rows (``row_prices``, ``coordinate_descent``).

Each row's new price is checked against an independent one-dimensional
minimisation of the Lagrangian ``L`` (golden-section search on the convex
piecewise-linear function of that price alone), and the whole solve against
HiGHS' exact MIP.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from sim.optimise.capacity_prices import (
    block_descent,
    block_prices,
    capacity_pairs,
    coordinate_descent,
    row_prices,
)
from sim.optimise.decomposition import solve_decomposition
from sim.optimise.highs_backend import solve_highs
from sim.optimise.lagrangian import LagrangianModel
from sim.optimise.problem import ChoiceProblem, Constraint, Objective


def _capacity_problem(
    seed: int, *, n: int = 60, sense: str = "<=", mixed_row: bool = False,
    penalty: float | None = None,
) -> ChoiceProblem:
    """Keep, two years of 'merge into acquirer A(i)' and two of 'relocate into park P(i)'.

    Options 1–2 (merge) feed the unit's acquirer row, 3–4 (relocate) its park
    row, with the unit's land as coefficient, as in the city model's year
    variants. A global target asks for freed land. With ``mixed_row`` one
    unit's two merge variants get different coefficients on acquirer row 0.
    """
    rng = np.random.default_rng(seed)
    n_opt, n_acq, n_park = 5, 4, 3
    land = rng.uniform(1.0, 10.0, n)
    eff = np.zeros((n, n_opt, 3))  # cost, land used in a capacity row, land freed
    eff[:, 0, 0] = 0.0
    eff[:, 1:, 0] = rng.uniform(1.0, 20.0, (n, n_opt - 1))
    eff[:, 1:, 1] = land[:, None]
    eff[:, 1:, 2] = land[:, None] * rng.uniform(0.5, 1.0, (n, 1))
    acq = rng.integers(0, n_acq, n)
    park = rng.integers(0, n_park, n)
    group = np.full((n, n_opt), -1)
    group[:, 1:3] = acq[:, None]
    group[:, 3:5] = n_acq + park[:, None]
    if mixed_row:
        unit = int(np.flatnonzero(acq == 0)[0])
        eff[unit, 2, 1] = 2.0 * eff[unit, 1, 1]
    caps = rng.uniform(0.2, 0.4, n_acq + n_park) * land.sum() / 3
    if sense == ">=":
        caps = caps / 4
    return ChoiceProblem(
        effects=eff,
        metrics=["cost", "used", "freed"],
        constraints=[
            Constraint("capacity", {"used": 1.0}, sense, caps, group=group,  # type: ignore[arg-type]
                       penalty=penalty),
            Constraint("target", {"freed": 1.0}, ">=", 0.3 * float(land.sum())),
        ],
        objective=Objective({"cost": 1.0}, "min"),
    )


def _golden_min(f: object, lo: float, hi: float, iters: int = 200) -> float:
    """Minimum value of a convex function on [lo, hi] by golden-section search."""
    fn = f  # type: ignore[assignment]
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    for _ in range(iters):
        c, d = b - g * (b - a), a + g * (b - a)
        if fn(c) <= fn(d):  # type: ignore[operator]
            b = d
        else:
            a = c
    return float(min(fn(a), fn(b), fn(lo)))  # type: ignore[operator]


def _price_box(model: LagrangianModel, r: int, scale: float) -> tuple[float, float]:
    lo = model.lam_lo[r] if np.isfinite(model.lam_lo[r]) else -scale
    hi = model.lam_hi[r] if np.isfinite(model.lam_hi[r]) else scale
    return float(lo), float(hi)


@pytest.mark.parametrize(("seed", "sense"), [(0, "<="), (1, "<="), (2, ">="), (3, ">=")])
def test_each_row_price_minimises_the_lagrangian_along_that_row(seed: int, sense: str) -> None:
    problem = _capacity_problem(seed, sense=sense)
    model = LagrangianModel(problem)
    rng = np.random.default_rng(seed)
    lam = model.clip(rng.normal(0.0, 1.0, model.m))
    val, d = model.dual_value(lam)
    new = row_prices(model, lam, d, capacity_pairs(model))
    capacity_rows = np.arange(7)
    assert new[7] == lam[7]  # the target row is not capacity-like
    assert not np.array_equal(new[capacity_rows], lam[capacity_rows])
    for r in capacity_rows:

        def along(x: float, r: int = int(r)) -> float:
            trial = lam.copy()
            trial[r] = x
            return model.dual_value(trial)[0]

        lo, hi = _price_box(model, int(r), 100.0)
        best = _golden_min(along, lo, hi)
        assert model.lam_lo[r] <= new[r] <= model.lam_hi[r]
        assert along(new[r]) <= best + 1e-9 * max(1.0, abs(best))
    assert val == model.dual_value(lam)[0]  # the prices passed in are not modified


def test_a_row_with_unequal_coefficients_keeps_its_price() -> None:
    problem = _capacity_problem(5, mixed_row=True)
    model = LagrangianModel(problem)
    lam = model.clip(np.full(model.m, 0.7))
    _, d = model.dual_value(lam)
    new = row_prices(model, lam, d, capacity_pairs(model))
    assert new[0] == lam[0]  # acquirer row 0 has a unit with two coefficients
    assert not np.array_equal(new[1:7], lam[1:7])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def testcoordinate_descent_never_raises_the_bound(seed: int) -> None:
    problem = _capacity_problem(seed, n=200)
    model = LagrangianModel(problem)
    lam = model.clip(np.random.default_rng(seed).normal(0.0, 2.0, model.m))
    before, _ = model.dual_value(lam)
    after_lam, after, d = coordinate_descent(model, lam, capacity_pairs(model), passes=4)
    assert after <= before
    assert after < before - 1e-6  # random prices are far from the row minimisers
    assert after == pytest.approx(model.dual_value(after_lam)[0], rel=1e-12)
    np.testing.assert_allclose(d, model.reduced(after_lam))
    assert np.all((after_lam >= model.lam_lo) & (after_lam <= model.lam_hi))


@pytest.mark.parametrize(("seed", "sense"), [(0, "<="), (2, ">="), (7, "<=")])
def test_decomposition_with_capacity_rows_matches_the_exact_mip(seed: int, sense: str) -> None:
    problem = _capacity_problem(seed, n=400, sense=sense)
    exact = solve_highs(problem, mip_gap=1e-9, time_limit=60)
    assert exact.status == "optimal"
    sol = solve_decomposition(problem, time_limit=60, gap_tol=1e-9, core_size=40)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(exact.objective, rel=1e-7, abs=1e-6)


def _coefficients(model: LagrangianModel) -> np.ndarray:
    """Every row's coefficient of every (unit, option) pair, dense ``(n, O, m)``."""
    a = np.zeros((model.n, model.n_options, model.m))
    units, options = np.indices((model.n, model.n_options))
    for fam in model.families:
        rows = fam.rows_of(slice(None), model.n_options)
        on = rows >= 0
        np.add.at(a, (units[on], options[on], rows[on]), fam.values[on])
    return a


def _joint_block_minimum(model: LagrangianModel, lam: np.ndarray, block: np.ndarray) -> float:
    """``min L`` over the prices of rows ``block`` (in their boxes), the others at ``lam``.

    Written as the dual LP ``min Σ_i π_i + Σ_r λ_r b_r`` subject to
    ``π_i ≥ c_io − Σ_r λ_r a_rio`` for every available pair, with ``π`` and the
    block's prices as variables, and solved by scipy's ``linprog``.
    """
    a = _coefficients(model)
    other = np.setdiff1d(np.arange(model.m), block)
    units, options = np.nonzero(model.available)
    rhs_other = model.c[units, options] - a[units, options][:, other] @ lam[other]
    n_pairs, n_b = units.size, block.size
    a_ub = np.zeros((n_pairs, model.n + n_b))
    a_ub[np.arange(n_pairs), units] = -1.0
    a_ub[:, model.n:] = -a[units, options][:, block]
    cost = np.concatenate([np.ones(model.n), model.rhs[block]])
    bounds = [(None, None)] * model.n + [
        (None if np.isinf(lo) else lo, None if np.isinf(hi) else hi)
        for lo, hi in zip(model.lam_lo[block], model.lam_hi[block], strict=True)
    ]
    res = linprog(cost, A_ub=a_ub, b_ub=-rhs_other, bounds=bounds, method="highs")
    assert res.status == 0
    return float(res.fun + lam[other] @ model.rhs[other])


@pytest.mark.parametrize(
    ("seed", "sense", "mixed_row", "penalty"),
    [(0, "<=", False, None), (1, "<=", True, None), (2, ">=", False, None),
     (3, "<=", False, 4.0), (4, ">=", False, 4.0), (5, "==", False, 4.0)],
)
def test_block_prices_minimise_the_lagrangian_over_all_capacity_rows_jointly(
    seed: int, sense: str, mixed_row: bool, penalty: float | None
) -> None:
    problem = _capacity_problem(seed, n=80, sense=sense, mixed_row=mixed_row, penalty=penalty)
    model = LagrangianModel(problem)
    rng = np.random.default_rng(seed)
    lam = model.clip(rng.normal(0.0, 3.0, model.m))
    lam[7] = -rng.uniform(1.0, 4.0)  # freed land pays: units want the capacity rows
    val, d = model.dual_value(lam)
    new = block_prices(model, lam, d, time_limit=30.0)
    assert new is not None
    capacity_rows = np.arange(7)
    assert new[7] == lam[7]  # the target row keeps its price
    assert np.all((new >= model.lam_lo) & (new <= model.lam_hi))
    best = _joint_block_minimum(model, lam, capacity_rows)
    assert model.dual_value(new)[0] == pytest.approx(best, rel=1e-8, abs=1e-8)
    # jointly exact: no better than many passes of the one-row-at-a-time steps
    _, after_passes, _ = coordinate_descent(model, lam, capacity_pairs(model), passes=50)
    assert best <= after_passes + 1e-8 * abs(after_passes)
    # block_descent keeps the step (it lowers L here) and reports L and d at it
    got = block_descent(model, lam, (val, d), time_limit=30.0)
    assert got is not None
    lam2, val2, d2 = got
    assert val2 == pytest.approx(best, rel=1e-8, abs=1e-8)
    assert val2 < val
    np.testing.assert_allclose(d2, model.reduced(lam2))


def test_block_prices_need_capacity_rows() -> None:
    problem = _capacity_problem(0)
    plain = ChoiceProblem(
        effects=problem.effects, metrics=problem.metrics,
        constraints=[problem.constraints[1]], objective=problem.objective,
    )
    model = LagrangianModel(plain)
    lam = np.full(model.m, -0.5)
    assert block_prices(model, lam, model.reduced(lam), time_limit=10.0) is None


def test_block_prices_with_no_unit_left_sit_at_the_corner_of_the_price_box() -> None:
    """At prices where no unit would ever use a capacity row, the rows' part of
    ``L`` is ``Σ λ_r b_r``: least at the box corner (0 on ``≤`` rows with room)."""
    problem = _capacity_problem(0, n=80)
    model = LagrangianModel(problem)
    lam = np.zeros(model.m)
    lam[:7] = 2.0  # capacity priced ...
    lam[7] = 0.0  # ... and freed land worth nothing: keep (option 0) is every unit's best
    val, d = model.dual_value(lam)
    new = block_prices(model, lam, d, time_limit=10.0)
    assert new is not None
    np.testing.assert_array_equal(new[:7], 0.0)
    assert model.dual_value(new)[0] == pytest.approx(
        _joint_block_minimum(model, lam, np.arange(7)), rel=1e-12, abs=1e-9)
    assert model.dual_value(new)[0] < val
