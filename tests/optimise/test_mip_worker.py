"""MIPs in a child process stopped when HiGHS overruns (sim.optimise.mip_worker).

Real HiGHS runs in a real spawned child throughout; an overrun is made by
waiting less than the MIP's own HiGHS time limit (Khan I07 does not close in
minutes), which is what the parent sees when HiGHS ignores its clock.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from choice_factories import MMKP_DIR, run_script_without_main_guard

from sim.optimise import core, decomposition, mip_worker, neighbourhoods, price_search
from sim.optimise.core import build_core
from sim.optimise.decomposition import solve_decomposition
from sim.optimise.highs_backend import solve_highs
from sim.optimise.lagrangian import LagrangianModel
from sim.optimise.mip_worker import LpArrays, MipWorker, guarded_mips, solve_in_process
from sim.optimise.mmkp import read_khan
from sim.optimise.problem import ChoiceProblem, ProgressEvent, Solution
from sim.optimise.verify import check

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.instances import policy_like_problem, random_choice_problem


def _full_mip(problem: ChoiceProblem) -> tuple[LagrangianModel, LpArrays]:
    """The whole problem as one core MIP (every unit free), as the decomposition builds it."""
    model = LagrangianModel(problem)
    n, n_opt = model.n, model.n_options
    core = build_core(
        model, np.arange(n), np.ones((n, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=bool), integer=True, artificial=False,
    )
    return model, LpArrays.from_highs(core.lp)


def _plan_value(model: LagrangianModel, values: np.ndarray) -> tuple[float, bool]:
    """Maximisation-form value and feasibility of a core MIP's column values."""
    allowed = model.available
    x = np.zeros(allowed.shape)
    x[allowed] = values[: int(allowed.sum())]
    choice = np.argmax(x, axis=1)
    value, feasible, _ = model.evaluate(choice)
    return float(value), bool(feasible)


def test_lp_arrays_round_trip_keeps_the_model() -> None:
    _, arrays = _full_mip(random_choice_problem(50, 4, 1))
    back = LpArrays.from_highs(arrays.to_highs())
    names = ("col_cost", "col_lower", "col_upper", "row_lower", "row_upper", "start", "index",
             "value", "integer")
    for name in names:
        np.testing.assert_array_equal(getattr(back, name), getattr(arrays, name))
    assert arrays.integer.any() and not arrays.integer.all()  # choices and an elastic slack
    assert back.offset == arrays.offset


def test_the_worker_answers_as_highs_in_process() -> None:
    model, arrays = _full_mip(random_choice_problem(400, 5, 2))
    options = {"time_limit": 60.0, "mip_rel_gap": 1e-9}
    here = solve_in_process(arrays, options)
    with MipWorker() as worker:
        there = worker.solve(arrays, options, None, 60.0)
        assert there.child_peak_mb <= worker.peak_mb
    assert here.status == there.status == "optimal"
    assert not there.stopped and there.col_value is not None and here.col_value is not None
    assert there.objective == pytest.approx(here.objective, rel=1e-12)
    assert there.dual_bound == pytest.approx(here.dual_bound, rel=1e-9)
    # the worker's own peak (a fresh interpreter with numpy and highspy: tens of MB),
    # not this process's pages that getrusage would count in a forked child
    assert 20.0 < there.child_peak_mb < 1000.0 and worker.peak_mb == there.child_peak_mb
    np.testing.assert_array_equal(np.round(there.col_value), np.round(here.col_value))
    value, feasible = _plan_value(model, there.col_value)
    assert feasible and value == pytest.approx(-there.objective, rel=1e-12)


@pytest.mark.skipif(not (MMKP_DIR / "khan" / "I07").exists(), reason="needs ../shared/mmkp")
def test_an_overrunning_mip_is_stopped_and_its_best_plan_kept() -> None:
    model, arrays = _full_mip(read_khan(MMKP_DIR / "khan" / "I07").to_problem())
    with MipWorker() as worker:
        warm = worker.solve(arrays, {"time_limit": 1.0}, None, 30.0)  # start-up paid here
        assert not warm.stopped
        start = time.perf_counter()
        # HiGHS may take 600 s; the parent waits 4 s, as for a MIP that overran
        answer = worker.solve(arrays, {"time_limit": 600.0, "mip_rel_gap": 0.0}, None, 4.0)
        assert time.perf_counter() - start < 20.0
        assert answer.stopped and answer.status == "feasible" and worker.stopped == 1
        assert worker.crashed == 0
        assert answer.col_value is not None and answer.dual_bound == -np.inf
        value, feasible = _plan_value(model, answer.col_value)
        assert feasible
        assert value == pytest.approx(-answer.objective, rel=1e-12)  # the streamed objective
        assert 24_000 <= value <= 24_607.96  # I07's LP bound is 24607.95
        # a fresh child answers the next MIP
        _, small = _full_mip(random_choice_problem(100, 4, 3))
        after = worker.solve(small, {"time_limit": 30.0}, None, 30.0)
        assert after.status == "optimal" and not after.stopped and worker.stopped == 1


def test_a_child_that_died_is_replaced() -> None:
    _, arrays = _full_mip(random_choice_problem(100, 4, 4))
    with MipWorker() as worker:
        assert worker.solve(arrays, {"time_limit": 30.0}, None, 30.0).status == "optimal"
        proc = worker._proc
        assert proc is not None
        proc.kill()
        proc.wait()
        assert worker.solve(arrays, {"time_limit": 30.0}, None, 30.0).status == "optimal"
        assert worker.stopped == 0


def test_guarded_mips_reuses_the_active_worker() -> None:
    with guarded_mips(True) as outer:
        assert outer is not None
        with guarded_mips(True) as inner:
            assert inner is outer
    with guarded_mips(False) as none:
        assert none is None


@pytest.mark.parametrize("problem", [random_choice_problem(1000, 6, 5),
                                     policy_like_problem(800, 7)])
def test_the_decomposition_with_its_mips_in_a_child_gives_the_same_answer(
    problem: ChoiceProblem,
) -> None:
    here = solve_decomposition(problem, time_limit=60, gap_tol=1e-6, guard_mips=False)
    there = solve_decomposition(problem, time_limit=60, gap_tol=1e-6, guard_mips=True)
    assert here.status == there.status == "optimal"
    assert there.objective == pytest.approx(here.objective, rel=1e-12)
    assert there.solver_info["mips_stopped"] == there.solver_info["mips_crashed"] == "0"
    assert int(there.solver_info["mip_solves"]) >= 1  # the child did answer MIPs
    assert "mips_stopped" not in here.solver_info


def test_the_decomposition_survives_mips_that_are_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every MIP is stopped at once: the solve still ends in time with a verified
    plan (from the repaired LP), an honest gap and a message saying what happened."""
    monkeypatch.setattr(core, "mip_grace", lambda limit: -limit)  # wait 0 s
    monkeypatch.setattr(mip_worker, "START_SECONDS", 0.0)
    problem = policy_like_problem(800, 7)
    start = time.perf_counter()
    sol = solve_decomposition(problem, time_limit=20, gap_tol=1e-9, guard_mips=True)
    assert time.perf_counter() - start < 40.0
    assert sol.status in ("optimal", "feasible")
    check(problem, sol)
    stopped = int(sol.solver_info["mips_stopped"])
    assert stopped >= 1
    assert f"{stopped} HiGHS MIP(s) overran their time limit" in sol.message
    if sol.status == "feasible":  # the exact MIP was stopped, long before the 20 s
        assert sol.message.startswith("the exact MIP overran its time limit (or crashed)")
    assert sol.gap >= 0.0 and np.isfinite(sol.objective)


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    """The worker is ``python -m sim.optimise.mip_worker``, not a multiprocessing
    spawn, so the caller's script is not re-run in the child (a spawn would
    re-run it there up to its own solve, and then fail)."""
    lines = run_script_without_main_guard(
        tmp_path,
        "from benchmarks.instances import random_choice_problem\n"
        "from sim.optimise.decomposition import solve_decomposition\n"
        "sol = solve_decomposition(random_choice_problem(1000, 6, 5), time_limit=60,\n"
        "                          gap_tol=1e-6, guard_mips=True)\n"
        "print(sol.status, sol.solver_info['mips_stopped'], sol.solver_info['mip_solves'])\n",
    )
    assert lines.count("script body ran") == 1
    status, stopped, mips = lines[-1].split()
    assert status == "optimal" and stopped == "0" and int(mips) >= 1


@pytest.mark.skipif(not (MMKP_DIR / "khan" / "I07").exists(), reason="needs ../shared/mmkp")
def test_a_child_that_dies_mid_solve_counts_as_crashed_and_keeps_its_plan() -> None:
    model, arrays = _full_mip(read_khan(MMKP_DIR / "khan" / "I07").to_problem())
    with MipWorker() as worker:
        assert not worker.solve(arrays, {"time_limit": 1.0}, None, 30.0).stopped  # started
        proc = worker._proc
        assert proc is not None
        killer = threading.Timer(6.0, proc.kill)  # HiGHS "crashes" 6 s into a long MIP
        killer.start()
        answer = worker.solve(arrays, {"time_limit": 600.0, "mip_rel_gap": 0.0}, None, 60.0)
        killer.join()
        assert answer.stopped and worker.crashed == 1 and worker.stopped == 0
        assert answer.seconds < 20.0  # noticed at once, not after the 60 s wait
        assert answer.status == "feasible" and answer.col_value is not None
        assert _plan_value(model, answer.col_value)[1]


def test_a_submitted_model_can_be_looked_at_collected_or_abandoned() -> None:
    """``submit`` returns at once; ``collect(0)`` only looks; the answer equals
    the in-process one; ``abandon`` stops a model still in work."""
    model = LagrangianModel(random_choice_problem(300, 5, 6))
    n, n_opt = model.n, model.n_options
    core = build_core(
        model, np.arange(n), np.ones((n, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=bool), integer=False, artificial=True,
    )
    lp = LpArrays.from_highs(core.lp)
    here = solve_in_process(lp, {"time_limit": 30.0})
    with MipWorker() as worker:
        start = time.perf_counter()
        worker.submit(lp, {"time_limit": 30.0})
        first_look = worker.collect(0.0)
        assert time.perf_counter() - start < 1.0  # the fresh child is still importing
        assert first_look is None
        there = worker.collect(60.0)
        assert there is not None and there.status == here.status == "optimal"
        assert there.objective == pytest.approx(here.objective, rel=1e-12)
        assert there.row_dual is not None and here.row_dual is not None
        np.testing.assert_allclose(there.row_dual, here.row_dual, rtol=1e-9, atol=1e-9)
        # a MIP that runs for long: looking does not stop it, abandoning does
        _, slow = _full_mip(random_choice_problem(3000, 8, 7))
        worker.submit(slow, {"time_limit": 600.0, "mip_rel_gap": 0.0})
        assert worker.collect(0.5) is None
        old = worker._proc
        stopped = worker.abandon()
        assert stopped.stopped and stopped.status in ("feasible", "no_solution")
        assert old is not None and old.poll() is not None  # killed and reaped
        assert worker.stopped == worker.crashed == 0  # abandoning is the caller's choice
        assert worker.solve(lp, {"time_limit": 30.0}, None, 60.0).status == "optimal"


@pytest.mark.parametrize(("seed", "warm"), [(0, True), (1, False), (1, True)])
def test_the_lp_solved_in_a_child_while_sifting_gives_the_same_optimum(
    monkeypatch: pytest.MonkeyPatch, seed: int, warm: bool
) -> None:
    """With the background threshold lowered, level 0 starts its whole LP in a
    child (after the sampled LP, from its basis, when ``WARM_LP_BASIS``), sifts
    one step, then waits for and uses the child's LP; the decomposition still
    proves HiGHS' optimum."""
    monkeypatch.setattr(price_search, "BACKGROUND_LP_PAIRS", 100)
    monkeypatch.setattr(price_search, "DIRECT_AFTER_STEPS", 1)
    monkeypatch.setattr(price_search, "WARM_LP_BASIS", warm)
    problem = policy_like_problem(1500, seed)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=60, gap_tol=1e-6, core_size=200,
                              progress=events.append)
    messages = [e.message for e in events]
    started = "level 0: direct LP on 1500 units started in a child process"
    assert (started + (", from the sampled LP's basis" if warm else "")) in messages
    if warm:  # after the sampled LP whose basis it starts from
        assert messages.index("level 1: LP on 200 sampled units: optimal") < messages.index(
            started + ", from the sampled LP's basis")
    took = [m for m in messages if m.startswith("level 0: direct LP on 1500 units in a child")]
    converged_first = any("0 rows at the box, 0 violators" in m for m in messages
                          if m.startswith("level 0 step 1:"))
    assert took or converged_first
    if took:  # the LP's child answered, so its peak memory is counted
        assert float(sol.solver_info["child_peak_mb"]) > 20.0
    exact = solve_highs(problem, time_limit=120, mip_gap=1e-9)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(exact.objective, rel=1e-6)


def _rare_row_problem(n: int) -> ChoiceProblem:
    """``n`` units × 3 options, a budget, and a ``>=`` row that only units 0–2 (with
    option 2) can meet: a sample of the units without them needs artificial slack."""
    from sim.optimise.problem import Constraint, Objective

    rng = np.random.default_rng(0)
    effects = np.zeros((n, 3, 3))
    effects[:, :, 0] = rng.uniform(1.0, 2.0, (n, 3))
    effects[:, 1, 0] -= 1.5
    effects[:, 1, 1] = rng.uniform(0.5, 1.0, n)
    effects[:3, 2, 2] = 1.0
    effects[:3, 2, 0] = 0.0
    return ChoiceProblem(
        effects=effects,
        metrics=["value", "cost", "rare"],
        constraints=[Constraint("budget", {"cost": 1.0}, "<=", 100.0),
                     Constraint("rare", {"rare": 1.0}, ">=", 3.0)],
        objective=Objective({"value": 1.0}, "max"),
    )


@pytest.mark.parametrize(("seed", "rare_in_sample"), [(0, False), (3, True)])
def test_no_warm_lp_from_a_sample_that_needs_artificial_slack(
    monkeypatch: pytest.MonkeyPatch, seed: int, rare_in_sample: bool
) -> None:
    """A sampled LP that needs artificial slack has big-M prices; the child's LP
    then starts cold (at 10^5 city firms a basis extended at such prices left
    HiGHS in error). The solve still proves HiGHS' optimum."""
    monkeypatch.setattr(price_search, "BACKGROUND_LP_PAIRS", 100)
    monkeypatch.setattr(price_search, "DIRECT_AFTER_STEPS", 1)
    monkeypatch.setattr(price_search, "WARM_LP_BASIS", True)
    drawn: list[np.ndarray] = []
    real = price_search.solve_core

    def spy(model: LagrangianModel, units: np.ndarray, *args: object, **kwargs: object) -> object:
        if kwargs.get("want_basis"):
            drawn.append(units)
        return real(model, units, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(price_search, "solve_core", spy)
    problem = _rare_row_problem(1500)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=60, gap_tol=1e-6, core_size=200,
                              progress=events.append, seed=seed)
    (sample,) = drawn
    assert bool(np.isin([0, 1, 2], sample).any()) == rare_in_sample
    started = [e.message for e in events if " started in a child process" in e.message]
    assert started == ["level 0: direct LP on 1500 units started in a child process"
                       + (", from the sampled LP's basis" if rare_in_sample else "")]
    exact = solve_highs(problem, time_limit=60, mip_gap=1e-9)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(exact.objective, rel=1e-6)


def test_a_failed_lp_in_the_child_leaves_the_sifting_to_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child's LP stops after one simplex iteration (not optimal): it is
    reported, and sifting alone still proves HiGHS' optimum."""
    monkeypatch.setattr(price_search, "BACKGROUND_LP_PAIRS", 100)
    monkeypatch.setattr(price_search, "DIRECT_AFTER_STEPS", 1)
    monkeypatch.setattr(price_search, "DIRECT_LP_OPTIONS", {"simplex_iteration_limit": 1})
    problem = policy_like_problem(1500, 2)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=60, gap_tol=1e-6, core_size=200,
                              progress=events.append)
    messages = [e.message for e in events]
    failed = [m for m in messages if m.startswith("level 0: direct LP on 1500 units in a child")]
    assert failed and all(not m.endswith("optimal") and " L " not in m for m in failed)
    assert any(m.startswith("level 0 step 2:") for m in messages)  # sifting went on
    exact = solve_highs(problem, time_limit=120, mip_gap=1e-9)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(exact.objective, rel=1e-6)


class _CountedWorker(MipWorker):
    """A MipWorker that remembers every instance, to check that all are stopped."""

    made: ClassVar[list[MipWorker]] = []

    def __init__(self) -> None:
        super().__init__()
        _CountedWorker.made.append(self)


def _force_whole_mip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole MIP starts at the first neighbourhood step, in a counted child."""
    monkeypatch.setattr(decomposition, "BOUND_MIP_SECONDS_PER_PAIR", 0.0)
    monkeypatch.setattr(decomposition, "BOUND_MIP_MIN_PAIRS", 0)
    monkeypatch.setattr(decomposition, "MipWorker", _CountedWorker)
    monkeypatch.setattr(core, "MipWorker", _CountedWorker)
    _CountedWorker.made = []


@pytest.mark.parametrize("size_seed", [(1000, 5), (2000, 1)])
def test_the_whole_mip_in_a_child_gives_its_bound_and_the_optimum(
    monkeypatch: pytest.MonkeyPatch, size_seed: tuple[int, int]
) -> None:
    """No exact core MIP (``exact_pairs=0``): the neighbourhood search runs while
    HiGHS solves the whole problem in a child; its bound proves HiGHS' optimum.
    (Plain HiGHS solves these in 2–4 s.)"""
    _force_whole_mip(monkeypatch)
    problem = random_choice_problem(size_seed[0], 6, size_seed[1])
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=60, gap_tol=1e-6, exact_pairs=0,
                              progress=events.append)
    messages = [e.message for e in events]
    pairs = int(problem.available.sum())
    assert (f"HiGHS on the whole problem ({pairs} pairs) started in a child process, "
            "for its bound") in messages
    answered = [m for m in messages if m.startswith("HiGHS on the whole problem in a child")]
    assert len(answered) == 1 and "optimal in" in answered[0] and "bound" in answered[0]
    assert any(m.startswith("heuristic MIP on") for m in messages)  # the search ran meanwhile
    exact = solve_highs(problem, time_limit=120, mip_gap=1e-9)
    assert sol.status == "optimal" and sol.gap <= 1e-6
    assert sol.objective == pytest.approx(exact.objective, rel=1e-6)
    check(problem, sol)
    assert all(w._proc is None for w in _CountedWorker.made)  # every child stopped
    # no MIP worker at this size: the recorded child peak is the whole MIP's own
    whole_peak = max(w.peak_mb for w in _CountedWorker.made)
    assert 20.0 < whole_peak < 1000.0
    assert float(sol.solver_info["child_peak_mb"]) == pytest.approx(whole_peak, abs=0.05)


def test_a_whole_mip_that_does_not_answer_in_time_leaves_the_bound_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child is given no time past the deadline and must be stopped: the
    solve ends on time with the LP's bound, says so, and leaves no child."""
    _force_whole_mip(monkeypatch)
    monkeypatch.setattr(decomposition, "BOUND_MIP_TIME_SHARE", 10.0)  # it would run past the end
    monkeypatch.setattr(decomposition, "BOUND_MIP_WAIT", 0.0)
    problem = random_choice_problem(20_000, 8, 7)  # HiGHS does not close it in seconds
    events: list[ProgressEvent] = []
    start = time.perf_counter()
    sol = solve_decomposition(problem, time_limit=12, gap_tol=0.0, exact_pairs=0,
                              progress=events.append)
    assert time.perf_counter() - start < 25.0
    messages = [e.message for e in events]
    stopped = [m for m in messages if m.startswith("HiGHS on the whole problem in a child")]
    assert len(stopped) == 1 and stopped[0].endswith("stopped (no bound)")
    lp_bound = min(e.bound for e in events if e.phase in ("sift", "smooth") and e.bound == e.bound)
    assert sol.bound == pytest.approx(lp_bound, rel=1e-12)  # bound from prices only
    check(problem, sol)
    assert all(w._proc is None for w in _CountedWorker.made)


def test_no_whole_mip_child_below_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below BOUND_MIP_MIN_PAIRS the search runs without the whole MIP's child."""
    monkeypatch.setattr(decomposition, "BOUND_MIP_SECONDS_PER_PAIR", 0.0)
    problem = random_choice_problem(1000, 6, 5)
    assert int(problem.available.sum()) < decomposition.BOUND_MIP_MIN_PAIRS
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=8, gap_tol=1e-6, exact_pairs=0,
                              progress=events.append)
    assert any(e.phase == "core-mip" for e in events)  # the search ran
    assert not any(e.phase == "whole-mip" for e in events)
    assert "child_peak_mb" not in sol.solver_info


def _lane_messages(events: list[ProgressEvent]) -> list[str]:
    return [e.message for e in events if e.phase == "core-mip" and " beside it on " in e.message]


def test_a_second_lane_solves_a_disjoint_neighbourhood_beside_each_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the MIPs in a worker and no whole-MIP child, a second worker solves a
    second neighbourhood beside each one; the plan stays verified and within the
    bound of HiGHS' optimum, its peak counts, and both children are stopped."""
    monkeypatch.setattr(decomposition, "MipWorker", _CountedWorker)
    monkeypatch.setattr(core, "MipWorker", _CountedWorker)
    _CountedWorker.made = []
    problem = random_choice_problem(3000, 6, 4)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=20, gap_tol=1e-9, exact_pairs=0,
                              guard_mips=True, progress=events.append)
    beside = _lane_messages(events)
    assert beside, [e.message for e in events]
    assert all(m.endswith(("no better plan", "a better plan, with the other's",
                           "a better plan, alone")) for m in beside)
    check(problem, sol)
    exact = solve_highs(problem, time_limit=120, mip_gap=1e-9)
    assert exact.status == "optimal"
    assert problem.objective.sense == "max"
    tol = 1e-9 * abs(exact.objective)  # plan ≤ optimum ≤ bound
    assert sol.objective <= exact.objective + tol and sol.bound >= exact.objective - tol
    (lane,) = _CountedWorker.made  # the main worker is the plain class, made before
    assert lane._proc is None and lane.peak_mb > 20.0
    assert float(sol.solver_info["child_peak_mb"]) >= lane.peak_mb


def test_beside_a_row_related_mip_the_lane_solves_a_loss_drawn_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Row-related MIPs leave the lane's core idle when a second one is drawn from
    the same rows: beside each (drawn around a losing unit or across a row with
    priced slack), the lane solves a loss-drawn neighbourhood (its near-best
    options only), and beside a loss-drawn MIP another loss-drawn one."""
    problem = policy_like_problem(3000, 1)

    def solve() -> tuple[set[tuple[str, str]], Solution]:
        """The (main, beside) kinds of the MIPs solved side by side, and the plan."""
        events: list[ProgressEvent] = []
        sol = solve_decomposition(problem, time_limit=20, gap_tol=1e-9, exact_pairs=0,
                                  guard_mips=True, progress=events.append)
        mips = [e.message for e in events if e.phase == "core-mip"]
        return {(main.split()[0], beside.split()[0])
                for main, beside in itertools.pairwise(mips)
                if " beside it on " in beside and " beside it on " not in main}, sol

    kinds, sol = solve()
    assert ("related", "heuristic") in kinds, kinds
    assert kinds <= {("related", "heuristic"), ("slack", "heuristic"), ("heuristic", "heuristic")}
    check(problem, sol)
    monkeypatch.setattr(neighbourhoods, "LANE_MIXED", False)
    kinds, _ = solve()
    assert ("related", "heuristic") not in kinds, kinds


@pytest.mark.parametrize("reason", ["switched off", "whole MIP child"])
def test_no_second_lane_when_switched_off_or_the_whole_mip_runs(
    monkeypatch: pytest.MonkeyPatch, reason: str,
) -> None:
    if reason == "switched off":
        monkeypatch.setattr(decomposition, "SECOND_LANE", False)
    else:
        _force_whole_mip(monkeypatch)
    problem = random_choice_problem(1000, 6, 5)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=10, gap_tol=1e-9, exact_pairs=0,
                              guard_mips=True, progress=events.append)
    assert any(e.phase == "core-mip" for e in events)  # the search ran
    assert _lane_messages(events) == []
    check(problem, sol)


def test_stopped_mips_of_the_second_lane_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every MIP of both workers is stopped at once: the lane's stopped MIPs count in
    the solve's ``mips_stopped`` and its message, and the plan is still verified."""
    monkeypatch.setattr(core, "mip_grace", lambda limit: -limit)  # wait 0 s
    monkeypatch.setattr(mip_worker, "START_SECONDS", 0.0)
    problem = random_choice_problem(3000, 6, 4)
    events: list[ProgressEvent] = []
    sol = solve_decomposition(problem, time_limit=10, gap_tol=1e-9, exact_pairs=0,
                              guard_mips=True, progress=events.append)
    stopped_beside = [m for m in _lane_messages(events) if "(stopped)" in m]
    assert stopped_beside
    assert int(sol.solver_info["mips_stopped"]) > len(stopped_beside)  # the main worker's too
    check(problem, sol)
