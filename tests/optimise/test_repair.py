"""Greedy repair of infeasible plans: exact move gains, feasible results, honest failure."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim.optimise import decomposition, price_search
from sim.optimise.decomposition import solve_decomposition
from sim.optimise.highs_backend import solve_highs
from sim.optimise.lagrangian import LagrangianModel
from sim.optimise.problem import ChoiceProblem, Constraint, Objective, ProgressEvent
from sim.optimise.repair import _kept, move_gain, repair_plan, row_weights
from sim.optimise.verify import row_lhs, row_margin, verify

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.instances import policy_like_problem, random_choice_problem


def _weighted_violation(problem: ChoiceProblem, plan: np.ndarray, weight: np.ndarray) -> float:
    """Σ over rows of violation × weight, recomputed from the problem with numpy only."""
    per_row = [
        np.maximum(-row_margin(c, row_lhs(problem, c, plan)), 0.0) for c in problem.constraints
    ]
    return float((np.concatenate(per_row) * weight[:-1]).sum())


def _hard_rows_hold(problem: ChoiceProblem, plan: np.ndarray) -> bool:
    rows = verify(problem, plan).rows
    hard = rows[~rows["elastic"].astype(bool)]
    return bool((hard["rel_violation"] <= 1e-6).all())


def _zero_price_plan(model: LagrangianModel) -> np.ndarray:
    """Every unit at its best option ignoring all rows: breaks the binding ones."""
    return np.argmax(np.where(model.available, model.c, -np.inf), axis=1)


@pytest.mark.parametrize("seed", [0, 1])
def test_single_move_gain_equals_brute_force(seed: int) -> None:
    problem = policy_like_problem(40, seed)
    model = LagrangianModel(problem)
    weight = row_weights(model)
    plan = _zero_price_plan(model)
    units = np.arange(model.n)
    families = list(range(len(model.families)))
    gain = move_gain(model, units, plan, model.activity(plan), weight, families)
    before = _weighted_violation(problem, plan, weight)
    assert before > 0  # the start breaks rows
    for i in units:
        for o in range(model.n_options):
            if not model.available[i, o]:
                assert gain[i, o] == -np.inf
                continue
            moved = plan.copy()
            moved[i] = o
            after = _weighted_violation(problem, moved, weight)
            assert gain[i, o] == pytest.approx(before - after, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("harmless", "seed"), [(False, 0), (False, 5), (True, 3), (True, 5)])
def test_batch_moves_are_made_greedily_in_rank_order(harmless: bool, seed: int) -> None:
    """A batch's move is made exactly when, after the moves before it that were
    made, it lowers the weighted violation (repair) or raises no row's
    violation (descent): replayed move by move on the problem's own rows.
    (For these seeds the old rule, rounds that dropped every failing move
    and checked the rest again, made fewer.)"""
    problem = policy_like_problem(60, 3)
    model = LagrangianModel(problem)
    weight = row_weights(model, elastic=harmless)
    plan = _zero_price_plan(model)
    rng = np.random.default_rng(seed)
    units = rng.choice(model.n, 40, replace=False)
    options = np.array([rng.choice(np.flatnonzero(model.available[u])) for u in units])
    made, act = _kept(model, units, options, plan, model.activity(plan), weight,
                      harmless=harmless)
    state = plan.copy()
    expected = []
    for u, o in zip(units, options, strict=True):
        trial = state.copy()
        trial[u] = o
        if harmless:
            rise = np.maximum(_violations(problem, trial) - _violations(problem, state), 0.0)
            ok = float((rise * weight[:-1]).sum()) <= 1e-12
        else:
            drop = (_weighted_violation(problem, state, weight)
                    - _weighted_violation(problem, trial, weight))
            ok = drop > 1e-12
        if ok:
            state = trial
        expected.append(ok)
    assert made.tolist() == expected
    assert 0 < int(made.sum()) < units.size  # moves of both kinds in the batch
    np.testing.assert_allclose(act, model.activity(state), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    ("make", "seed"),
    [
        (lambda s: policy_like_problem(400, s), 0),
        (lambda s: policy_like_problem(2000, s), 1),
        (lambda s: random_choice_problem(800, 5, s, sense="min"), 2),
    ],
)
def test_repair_reaches_a_plan_that_holds_every_hard_row(make, seed: int) -> None:  # type: ignore[no-untyped-def]
    problem = make(seed)
    model = LagrangianModel(problem)
    start = _zero_price_plan(model)
    assert not _hard_rows_hold(problem, start)
    plan = repair_plan(model, start, model.c, time.perf_counter() + 30)
    assert plan is not None
    assert _hard_rows_hold(problem, plan)
    assert model.available[np.arange(model.n), plan].all()


def test_repair_gives_up_when_no_plan_exists() -> None:
    """A land target above what every firm exiting frees: a dead end, not a loop."""
    n = 30
    effects = np.zeros((n, 2, 2))
    effects[:, 1, 0] = 1.0  # exit frees 1 mu
    effects[:, 1, 1] = 5.0  # at 5 万元
    problem = ChoiceProblem(
        effects=effects,
        metrics=["freed", "cost"],
        constraints=[Constraint("target", {"freed": 1.0}, ">=", float(n + 1))],
        objective=Objective({"cost": 1.0}, "min"),
    )
    model = LagrangianModel(problem)
    plan = repair_plan(model, np.zeros(n, dtype=np.int64), model.c, time.perf_counter() + 30)
    assert plan is None


def test_repair_respects_its_deadline() -> None:
    problem = policy_like_problem(400, 0)
    model = LagrangianModel(problem)
    start = _zero_price_plan(model)
    assert repair_plan(model, start, model.c, time.perf_counter() - 1.0) is None


def test_decomposition_uses_the_repair_and_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repair from the first sifting step on; the plan it gives is then improved
    to the proven optimum, which equals the plain MIP's."""
    monkeypatch.setattr(decomposition, "REPAIR_EARLY_UNITS", 0)
    problem = policy_like_problem(2000, seed=4)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=60, core_size=200, progress=events.append)
    repairs = [e for e in events if e.phase == "repair"]
    assert repairs and "a better plan" in repairs[0].message
    exact = solve_highs(problem, mip_gap=1e-9, time_limit=120)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(exact.objective, rel=1e-4)


def _violations(problem: ChoiceProblem, plan: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [np.maximum(-row_margin(c, row_lhs(problem, c, plan)), 0.0) for c in problem.constraints]
    )


@pytest.mark.parametrize("seed", [0, 5])
def test_descent_ends_where_no_single_move_pays_without_harm(seed: int) -> None:
    """After the descent no unit can switch to a more valuable option without
    raising some row's violation (checked by brute force over every move),
    the plan is worth at least as much and no row got worse."""
    from sim.optimise.repair import improve_plan

    problem = policy_like_problem(60, seed)
    model = LagrangianModel(problem)
    start = repair_plan(model, _zero_price_plan(model), model.c, time.perf_counter() + 30)
    assert start is not None
    plan = improve_plan(model, start, time.perf_counter() + 30)
    value = model.c[np.arange(model.n), plan]
    assert (plan != start).any()  # the repaired plan overshoots somewhere
    assert value.sum() > model.c[np.arange(model.n), start].sum()
    assert model.evaluate(plan)[0] >= model.evaluate(start)[0]
    base = _violations(problem, plan)
    assert (base <= _violations(problem, start) + 1e-9).all()
    assert _hard_rows_hold(problem, plan)
    for i in range(model.n):
        for o in np.flatnonzero(model.available[i] & (model.c[i] > value[i] + 1e-6)):
            moved = plan.copy()
            moved[i] = o
            rise = _violations(problem, moved) - base
            assert rise.max() > 1e-9 * max(1.0, float(np.abs(model.rhs).max()))


def _descended(problem: ChoiceProblem) -> tuple[LagrangianModel, np.ndarray]:
    """A repaired and improved plan: a local optimum of the single-move descent."""
    from sim.optimise.repair import improve_plan

    model = LagrangianModel(problem)
    start = repair_plan(model, _zero_price_plan(model), model.c, time.perf_counter() + 30)
    assert start is not None
    return model, improve_plan(model, start, time.perf_counter() + 30)


@pytest.mark.parametrize("seed", [0, 3])
def test_recreate_ruins_the_drawn_units_then_repairs_and_descends(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ruin moves exactly ``moves`` units, each one that had a more valuable
    option, to its most valuable option (computed here from the objective);
    the repair starts from that plan and the result holds every hard row.
    The same random generator state gives the same plan."""
    from sim.optimise import repair

    problem = policy_like_problem(400, seed)
    model, plan = _descended(problem)
    ruined: list[np.ndarray] = []
    real_repair = repair.repair_plan

    def spy(model_: LagrangianModel, start: np.ndarray, value: np.ndarray,
            deadline: float) -> np.ndarray | None:
        ruined.append(start.copy())
        np.testing.assert_array_equal(value, model.c)  # ranked by objective given up
        return real_repair(model_, start, value, deadline)

    monkeypatch.setattr(repair, "repair_plan", spy)
    out = repair.recreate_plan(model, plan, 25, np.random.default_rng(seed),
                               time.perf_counter() + 30)
    assert out is not None and len(ruined) == 1
    moved = np.flatnonzero(ruined[0] != plan)
    assert moved.size == 25
    value = np.where(model.available, model.c, -np.inf)
    assert (value[moved, ruined[0][moved]] == value[moved].max(axis=1)).all()
    assert (value[moved, ruined[0][moved]] > value[moved, plan[moved]]).all()
    assert _hard_rows_hold(problem, out)
    assert model.available[np.arange(model.n), out].all()
    again = repair.recreate_plan(model, plan, 25, np.random.default_rng(seed),
                                 time.perf_counter() + 30)
    assert again is not None
    np.testing.assert_array_equal(out, again)


def test_recreate_then_descends_from_a_plan_the_descent_has_not_seen() -> None:
    """From a repaired plan that overshoots, one round ends at a better plan
    that holds every hard row: the descent runs after the ruin's repair."""
    from sim.optimise.repair import recreate_plan

    problem = policy_like_problem(400, 4)
    model = LagrangianModel(problem)
    plan = repair_plan(model, _zero_price_plan(model), model.c, time.perf_counter() + 30)
    assert plan is not None
    out = recreate_plan(model, plan, 5, np.random.default_rng(0), time.perf_counter() + 30)
    assert out is not None
    assert model.evaluate(out)[0] > model.evaluate(plan)[0]
    assert _hard_rows_hold(problem, out)


def test_recreate_gives_up_past_its_deadline_or_without_a_better_option() -> None:
    from sim.optimise.repair import recreate_plan

    problem = policy_like_problem(200, 1)
    model, plan = _descended(problem)
    rng = np.random.default_rng(0)
    assert recreate_plan(model, plan, 10, rng, time.perf_counter() - 1.0) is None
    top = _zero_price_plan(model)  # every unit already at its most valuable option
    assert recreate_plan(model, top, 10, rng, time.perf_counter() + 30) is None


@pytest.mark.parametrize("recreate_gap", [1.0, 0.0])
def test_decomposition_recreates_a_plan_far_from_its_bound(
    recreate_gap: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path of the largest problems on a small one: no direct LP, a price
    search that stops as soon as a repaired plan exists. Recreate rounds run
    while the plan's gap is above ``RECREATE_GAP``: none when it is 100%;
    when it is 0, until their share of the time is up, also after a round
    without a better plan. Each better plan raises the incumbent (a max
    problem), and the final plan passes the independent check."""
    monkeypatch.setattr(decomposition, "REPAIR_EARLY_UNITS", 0)
    monkeypatch.setattr(price_search, "DIRECT_LP_PAIRS", 0)
    monkeypatch.setattr(price_search, "BACKGROUND_LP_PAIRS", 10**9)
    monkeypatch.setattr(decomposition, "RECREATE_GAP", recreate_gap)
    monkeypatch.setattr(price_search, "stalled", lambda *_: "stopped for the test")
    problem = policy_like_problem(3000, seed=2)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=10, core_size=300, progress=events.append,
                              seed=1)
    phases = [e.phase for e in events]
    assert "repair" in phases
    assert _hard_rows_hold(problem, sol.choice)
    if recreate_gap == 1.0:
        assert "recreate" not in phases
        return
    first = phases.index("recreate")
    rounds = [e for e in events if e.phase == "recreate"]
    better = ["a better plan" in e.message for e in rounds]
    assert False in better[:-1]  # a round without a better plan did not end them
    before = events[first - 1].incumbent
    for e, taken in zip(rounds, better, strict=True):
        assert (e.incumbent > before) if taken else (e.incumbent == before)
        before = e.incumbent
