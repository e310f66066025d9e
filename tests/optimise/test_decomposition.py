"""Lagrangian decomposition: exactness against the plain MIP, bound validity, time limits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from choice_factories import MMKP_DIR

from sim.optimise import price_search
from sim.optimise.core import CoreLP
from sim.optimise.decomposition import solve_decomposition
from sim.optimise.highs_backend import solve_highs
from sim.optimise.lagrangian import LagrangianModel
from sim.optimise.mip_worker import Basis
from sim.optimise.problem import ChoiceProblem, Constraint, Objective, ProgressEvent
from sim.optimise.verify import check

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.instances import policy_like_problem, random_choice_problem

GAP = 1e-4


def _exact(problem: ChoiceProblem) -> float:
    sol = solve_highs(problem, mip_gap=1e-9, time_limit=120)
    assert sol.status == "optimal", sol.message
    return sol.objective


def _within(value: float, reference: float, tol: float = GAP) -> bool:
    return abs(value - reference) <= tol * max(1.0, abs(reference)) + 1e-7


@pytest.mark.parametrize(
    ("n", "seed", "sense", "core_size"),
    [
        (200, 0, "max", None),
        (600, 1, "min", None),
        (2000, 2, "max", None),
        (2000, 2, "max", 200),  # multilevel sampling + trust-region sifting path
        (2000, 4, "min", 200),
        (1500, 7, "max", 500),  # single sampled LP + sifting
    ],
)
def test_matches_exact_mip(n: int, seed: int, sense: str, core_size: int | None) -> None:
    problem = random_choice_problem(n, 5, seed, sense=sense)
    exact = _exact(problem)
    sol = solve_decomposition(problem, time_limit=60, gap_tol=GAP, core_size=core_size)
    assert sol.status == "optimal", sol.message
    assert sol.gap <= GAP
    check(problem, sol)
    assert _within(sol.objective, exact)
    # the bound is valid: an upper bound for max, a lower bound for min
    if sense == "max":
        assert sol.bound >= exact - 1e-6 * max(1.0, abs(exact))
        assert sol.objective <= exact + 1e-6 * max(1.0, abs(exact))
    else:
        assert sol.bound <= exact + 1e-6 * max(1.0, abs(exact))
        assert sol.objective >= exact - 1e-6 * max(1.0, abs(exact))


def test_policy_like_matches_mip() -> None:
    problem = policy_like_problem(400, seed=5)
    exact = _exact(problem)
    sol = solve_decomposition(problem, time_limit=60, core_size=60)
    check(problem, sol)
    assert sol.status == "optimal"
    assert _within(sol.objective, exact)
    assert sol.bound >= exact - 1e-6 * abs(exact)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_lagrangian_bound_is_valid_for_any_prices(seed: int) -> None:
    """L(λ) bounds the optimum for every sign-feasible λ (and λ ≤ penalty)."""
    problem = random_choice_problem(150, 4, seed, sense="max")
    exact = _exact(problem)
    model = LagrangianModel(problem)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        lam = model.clip(rng.normal(0.0, 5.0, model.m))
        value, _ = model.dual_value(lam)
        assert value >= exact - 1e-6 * abs(exact)


@pytest.mark.parametrize("seed", [21, 22])
def test_bound_valid_under_tight_time_limit(seed: int) -> None:
    problem = random_choice_problem(800, 6, seed, sense="min")
    exact = _exact(problem)
    sol = solve_decomposition(problem, time_limit=0.5, core_size=100)
    if np.isfinite(sol.bound):
        assert sol.bound <= exact + 1e-6 * abs(exact)
    if sol.status in ("optimal", "feasible"):
        check(problem, sol)
        assert sol.objective >= exact - 1e-6 * abs(exact)


def test_time_limit_returns_feasible_with_finite_gap() -> None:
    problem = random_choice_problem(3000, 6, 31, sense="max", tightness=0.2)
    sol = solve_decomposition(problem, time_limit=3.0, gap_tol=1e-12)
    assert sol.status in ("optimal", "feasible")
    assert np.isfinite(sol.gap)
    assert sol.bound >= sol.objective - 1e-9 * abs(sol.objective)
    check(problem, sol)
    if sol.status == "feasible":
        assert sol.message


def test_elastic_rows_cap_prices_and_report_slacks() -> None:
    """An impossible elastic target is paid for, and its price is the penalty."""
    eff = np.array([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])
    problem = ChoiceProblem(
        eff,
        ["v", "e"],
        [Constraint("soft", {"e": 1.0}, ">=", 5.0, penalty=0.5)],
        Objective({"v": 1.0}, "max"),
    )
    sol = solve_decomposition(problem, time_limit=10)
    assert sol.status == "optimal"
    # e at most 2 → shortfall ≥ 3; choosing e costs v, worth 0.5 per unit
    assert sol.objective == pytest.approx(3.0 - 0.5 * 5.0)
    assert sol.slacks["soft"][0] == pytest.approx(5.0)
    check(problem, sol)


def test_infeasible_problem_is_reported() -> None:
    eff = np.ones((3, 2, 1))
    problem = ChoiceProblem(
        eff, ["a"], [Constraint("need", {"a": 1.0}, ">=", 10.0)], Objective({"a": 1.0}, "min")
    )
    sol = solve_decomposition(problem, time_limit=10)
    assert sol.status == "infeasible"
    assert (sol.choice == -1).all()


def test_progress_events_carry_bound_and_incumbent() -> None:
    events: list[ProgressEvent] = []
    problem = random_choice_problem(500, 5, 41, sense="max")
    sol = solve_decomposition(problem, time_limit=30, progress=events.append)
    assert sol.status == "optimal"
    assert events and events[0].phase == "compile"
    assert any(np.isfinite(e.bound) for e in events)
    assert all(e.elapsed_s >= 0 for e in events)


def test_no_coupling_rows() -> None:
    eff = np.random.default_rng(0).normal(size=(50, 3, 1))
    eff[::7, 1, :] = np.nan
    problem = ChoiceProblem(eff, ["v"], [], Objective({"v": 1.0}, "max"))
    sol = solve_decomposition(problem, time_limit=10)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(float(np.nanmax(eff[:, :, 0], axis=1).sum()))


@pytest.mark.skipif(not MMKP_DIR.is_dir(), reason=f"{MMKP_DIR} absent")
def test_khan_i07_time_limited_has_bound() -> None:
    from sim.optimise.mmkp import read_khan

    inst = read_khan(MMKP_DIR / "khan" / "I07")
    sol = solve_decomposition(inst.to_problem(), time_limit=8.0, gap_tol=1e-9)
    assert sol.status in ("optimal", "feasible")
    assert sol.objective >= 24500.0
    assert 24595.0 - 1e-6 <= sol.bound <= 24607.96 + 1.0  # the LP bound of I07 is 24607.95


@pytest.mark.parametrize("seed", [41, 42])
def test_flip_radius_bounds_every_reduced_cost_move(seed: int) -> None:
    """Moving every price by at most ``width`` moves no reduced cost by more than the radius,
    and the radius is attained by some option (it is exact, not just an upper bound)."""
    problem = random_choice_problem(60, 5, seed, sense="max")
    model = LagrangianModel(problem)
    rng = np.random.default_rng(seed)
    width = rng.uniform(0.0, 2.0, model.m)
    radius = model.flip_radius(width)
    # independent: per family, the largest |Δ| over options of width_r · |a_rio|
    expected = np.zeros(model.n)
    for fam in model.families:
        rows = fam.rows_of(np.arange(model.n), model.n_options)
        w = np.where(rows >= 0, width[np.maximum(rows, 0)], 0.0)
        expected += (w * np.abs(fam.values)).max(axis=1)
    np.testing.assert_allclose(radius, expected, rtol=1e-12)
    base, _ = model.dual_value(np.zeros(model.m))
    d0 = model.reduced(np.zeros(model.m))
    for _ in range(10):
        step = model.clip(rng.uniform(-1.0, 1.0, model.m) * width)
        diff = np.where(model.available, model.reduced(step), 0.0) - np.where(
            model.available, d0, 0.0
        )
        moved = np.abs(diff).max(axis=1)
        assert np.all(moved <= radius + 1e-9)
    assert np.isfinite(base)


def test_row_typical_is_mean_coefficient_of_touching_units() -> None:
    """A district row touching 3 of 10 units with |a| = 2, 4, 6 has typical coefficient 4."""
    n, n_opt = 10, 2
    eff = np.zeros((n, n_opt, 2))
    eff[:, :, 0] = 1.0
    eff[[1, 4, 7], 1, 1] = [2.0, -4.0, 6.0]
    eff[:, 1, 0] = 2.0
    group = np.full(n, -1)
    group[[1, 4, 7]] = 0
    group[[0, 2]] = 1  # touches row 1 with zero coefficients only
    problem = ChoiceProblem(
        effects=eff,
        metrics=["value", "land"],
        constraints=[
            Constraint("district", {"land": 1.0}, "<=", np.array([5.0, 1.0]), group=group),
        ],
        objective=Objective({"value": 1.0}, "max"),
    )
    model = LagrangianModel(problem)
    np.testing.assert_allclose(model.row_typical, [4.0, 0.0])
    np.testing.assert_allclose(model.row_scale, [12.0, 0.0])


def test_solve_turns_to_row_related_neighbourhoods_after_the_first_mip() -> None:
    """On a model with district, park and acquirer rows (exact MIP off), the
    search's second neighbourhood MIP is a row-related one, narrowed by its LP
    (RINS); the plan is verified and within the bound of HiGHS' optimum."""
    problem = policy_like_problem(3000, 1)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=15, gap_tol=1e-9, exact_pairs=0,
                              progress=events.append)
    mips = [e.message for e in events if e.phase == "core-mip"]
    assert len(mips) >= 2, mips
    assert mips[0].startswith("heuristic MIP on ") and mips[1].startswith("related MIP on ")
    assert "related, narrowed by their LP" in mips[1], mips[1]
    check(problem, sol)
    optimum = _exact(problem)
    tol = 1e-9 * abs(optimum)
    assert sol.objective <= optimum + tol and sol.bound >= optimum - tol


@pytest.mark.parametrize(("seed", "sense"), [(3, "max"), (5, "min")])
def test_direct_lp_equals_highs_lp_relaxation(seed: int, sense: str) -> None:
    from sim.optimise.highs_backend import solve_lp_relaxation
    from sim.optimise.price_search import solve_direct

    problem = random_choice_problem(400, 5, seed, sense=sense)
    model = LagrangianModel(problem)
    reference = solve_lp_relaxation(problem)
    assert reference.status == "optimal"
    state = solve_direct(model, 60.0, 0, lambda *_: None, None)
    assert state is not None and state.converged and not state.infeasible
    lp = model.sign * state.lp_value  # back to the objective's own sense
    assert lp == pytest.approx(reference.objective, rel=1e-7, abs=1e-6)
    # strong duality: L at the LP's row duals is the LP optimum
    assert model.sign * model.dual_value(state.lam)[0] == pytest.approx(lp, rel=1e-6)
    # every unit's LP mass sums to one
    np.testing.assert_allclose(np.nansum(state.lp_x, axis=1), 1.0, atol=1e-7)


def test_direct_lp_reports_infeasible_lp() -> None:
    from sim.optimise.price_search import solve_direct

    eff = np.ones((3, 2, 1))
    problem = ChoiceProblem(
        eff, ["a"], [Constraint("need", {"a": 1.0}, ">=", 10.0)], Objective({"a": 1.0}, "min")
    )
    state = solve_direct(LagrangianModel(problem), 10.0, 0, lambda *_: None, None)
    assert state is not None and state.infeasible


def test_slow_sifting_switches_to_direct_lp(monkeypatch: pytest.MonkeyPatch) -> None:
    """A level that has not converged after DIRECT_AFTER_STEPS steps is solved
    directly, and the plan is still optimal."""

    monkeypatch.setattr(price_search, "DIRECT_AFTER_STEPS", 1)
    problem = random_choice_problem(2000, 5, 2, sense="max")
    events: list[ProgressEvent] = []
    sol = solve_decomposition(
        problem, time_limit=60, gap_tol=GAP, core_size=200, progress=events.append
    )
    assert any("direct LP on 2000 units" in e.message for e in events)
    assert sol.status == "optimal"
    assert _within(sol.objective, _exact(problem))


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_forms_equal_the_problems_own_linear_forms(seed: int) -> None:
    """Objective and row values per pair match ``ChoiceProblem.combine`` (NaN → 0 where
    unavailable), also with partly-NaN effects of available options."""
    problem = policy_like_problem(300, seed)
    eff = problem.effects.copy()
    rng = np.random.default_rng(seed)
    eff[:, :, 1][rng.random(eff.shape[:2]) < 0.2] = np.nan  # some NaN effects of live options
    problem = ChoiceProblem(
        effects=eff, metrics=problem.metrics, constraints=problem.constraints,
        objective=problem.objective,
    )
    model = LagrangianModel(problem)
    np.testing.assert_array_equal(model.available, problem.available)
    expected_c = model.sign * np.nan_to_num(problem.objective_values(), nan=0.0)
    np.testing.assert_allclose(model.c, expected_c, rtol=1e-12, atol=1e-12)
    for fam, con in zip(model.families, problem.constraints, strict=True):
        expected = np.nan_to_num(problem.row_values(con), nan=0.0)
        np.testing.assert_allclose(fam.values, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bound_stays_valid_when_the_exact_mip_stops_at_its_gap(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HiGHS calls a MIP optimal once within its relative gap: its plan's value is then
    no bound. Emulated by a loose gap on every core MIP (which then return early plans
    or their warm start as optimal); the reported bound must still be at least the true
    optimum."""
    import sim.optimise.decomposition as dec

    gap_tol = 1e-3
    real = dec.solve_core

    def loose(*args: object, **kwargs: object) -> object:
        if kwargs.get("integer"):
            kwargs["mip_gap"] = 0.05
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dec, "solve_core", loose)
    problem = policy_like_problem(400, seed)
    optimum = _exact(problem)
    sol = solve_decomposition(problem, time_limit=60, gap_tol=gap_tol)
    assert sol.objective <= optimum + 1e-6
    assert sol.bound >= optimum - 1e-6


def test_sifting_stall_rule_on_measured_rows_at_the_box() -> None:
    """The counts of rows at their box measured at 10^6 city firms: the unphased
    model's price search converges (it must not be stopped at any step), the
    phased model's does not (it is stopped by the window rule)."""
    from sim.optimise.price_search import STALL_STEPS, stalled

    unphased = [111, 111, 97, 96, 94, 75, 71, 49, 67, 73, 78, 74, 79, 57, 77, 51, 56, 32, 26,
                20, 16, 24, 19, 17, 16, 16, 12, 13, 6, 9, 2, 1, 5, 1, 0]
    for k in range(1, len(unphased) + 1):
        assert stalled(unphased[:k], step_seconds=1.0, left=60.0 - k) == "", k
    phased = [114, 114, 114, 114, 106, 106, 109, 108, 109, 112, 112, 112, 111, 113, 113, 114]
    assert len(phased) == 2 * STALL_STEPS
    assert stalled(phased[:-1], step_seconds=1.0, left=1e9) == ""
    assert "stalled" in stalled(phased, step_seconds=1.0, left=1e9)
    # with little time left, a count that falls too slowly stops it early
    assert "too slow" in stalled([114, 114, 110, 109], step_seconds=1.0, left=20.0)
    assert "falling 1.9 a step: about 57s needed" in stalled([114, 114, 110, 109], 1.0, 20.0)
    # a count that does not fall is said so (not "about infs needed")
    flat = stalled([89, 91, 89, 91], step_seconds=1.0, left=33.0)
    assert flat == "too slow (91 rows at the box, not falling, 33s left)"
    assert stalled([114, 80, 50, 20], step_seconds=1.0, left=20.0) == ""


def _sampled_lp_basis(problem: ChoiceProblem, k: int) -> tuple[CoreLP, Basis]:
    """The whole LP's core model and the sampled LP's basis extended to it."""
    from sim.optimise.core import build_core, solve_core
    from sim.optimise.price_search import extended_basis

    model = LagrangianModel(problem)
    n, n_opt = model.n, model.n_options
    sample = np.sort(np.random.default_rng(0).choice(n, size=k, replace=False))
    res = solve_core(model, sample, np.ones((k, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
                      np.zeros(n, dtype=bool), integer=False, artificial=True, time_limit=60,
                      rhs_scale=k / n, want_basis=True)
    assert res.status == "optimal" and res.basis is not None
    core = build_core(model, np.arange(n), np.ones((n, n_opt), dtype=bool),
                       np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool), integer=False,
                       artificial=True)
    return core, extended_basis(model, sample, res.basis, res.lam)


@pytest.mark.parametrize(
    "problem",
    [policy_like_problem(1500, 0), random_choice_problem(1500, 5, 1, sense="min")],
    ids=["policy-like-max", "random-min"],
)
def test_the_sampled_lps_extended_basis_starts_the_whole_lp_dual_feasible(
    problem: ChoiceProblem,
) -> None:
    """The basis is square (one basic variable per row), HiGHS takes it with no
    dual infeasibility (only the right-hand side differs from the sample's),
    and the simplex from it reaches the cold start's optimum in a fraction of
    the iterations (measured 147 and 33 against 2,624 and 1,672)."""
    import highspy

    from sim.optimise.mip_worker import _set_basis

    core, basis = _sampled_lp_basis(problem, 300)
    cols, rows = basis
    basic = int(highspy.HighsBasisStatus.kBasic)
    assert cols.size == core.lp.num_col_ and rows.size == core.lp.num_row_
    assert int((cols == basic).sum() + (rows == basic).sum()) == core.lp.num_row_

    def run(start: Basis | None, iterations: int | None = None) -> highspy.Highs:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(core.lp)
        if start is not None:
            _set_basis(h, start)
        if iterations is not None:
            h.setOptionValue("simplex_iteration_limit", iterations)
        h.run()
        return h

    at_start = run(basis, 0).getInfo()
    assert at_start.num_dual_infeasibilities == 0 and at_start.num_primal_infeasibilities > 0
    warm, cold = run(basis), run(None)
    assert warm.getModelStatus() == cold.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert warm.getInfo().objective_function_value == pytest.approx(
        cold.getInfo().objective_function_value, rel=1e-9)
    assert warm.getInfo().simplex_iteration_count < 0.2 * cold.getInfo().simplex_iteration_count


def test_the_worker_starts_an_lp_from_the_basis_it_is_sent() -> None:
    """Through the child process: with 300 simplex iterations allowed, the LP
    from the extended basis is solved (it needs 147) and the cold one is not."""
    from sim.optimise.mip_worker import LpArrays, MipWorker, solve_in_process

    core, basis = _sampled_lp_basis(policy_like_problem(1500, 0), 300)
    lp = LpArrays.from_highs(core.lp)
    limited = {"simplex_iteration_limit": 300}
    with MipWorker() as worker:
        worker.submit(lp, limited, None, basis)
        warm = worker.answer(60.0)
        worker.submit(lp, limited)
        cold = worker.answer(60.0)
    reference = solve_in_process(core.lp, {})
    assert warm.status == "optimal" and cold.status != "optimal"
    assert warm.objective == pytest.approx(reference.objective, rel=1e-9)
