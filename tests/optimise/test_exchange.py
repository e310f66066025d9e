"""The exact-fill exchange search (sim.optimise.exchange) against brute force and on Khan I07."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from sim.optimise import exchange
from sim.optimise.highs_backend import solve_highs
from sim.optimise.mmkp import MMKPInstance, read_khan
from sim.optimise.solve import solve

MMKP_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "mmkp"


def _tiny(
    seed: int, n: int = 8, o: int = 3, r: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random integer knapsack: values, weights 0–5, capacities at 60% of the heaviest
    plan, and at least what the lightest plan (:func:`_lightest`) uses."""
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 6, size=(n, o, r))
    v = rng.integers(1, 30, size=(n, o)).astype(float)
    light = w[np.arange(n), _lightest(w)].sum(axis=0)
    c = np.maximum((0.6 * w.max(axis=1).sum(axis=0)).astype(np.int64), light)
    return v, w, c


def _brute_force_plan(v: np.ndarray, w: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The first best feasible plan in lexicographic order."""
    n, o, _ = w.shape
    best, best_plan = -np.inf, np.zeros(n, np.int64)
    for plan in itertools.product(range(o), repeat=n):
        idx = np.array(plan)
        value = float(v[np.arange(n), idx].sum())
        if value > best and np.all(w[np.arange(n), idx].sum(axis=0) <= c):
            best, best_plan = value, idx
    return best_plan


def _brute_force(v: np.ndarray, w: np.ndarray, c: np.ndarray) -> float:
    return float(v[np.arange(v.shape[0]), _brute_force_plan(v, w, c)].sum())


def _lightest(w: np.ndarray) -> np.ndarray:
    return np.argmin(w.sum(axis=2), axis=1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("price", [(1.0, 2.0, 0.5), (1.5, 0.0, 1.0)])
def test_one_exchange_with_no_limits_finds_the_brute_force_optimum(
    seed: int, price: tuple[float, float, float]
) -> None:
    """With every swap, every final slack and an unlimited budget, one exchange is exact.

    8 units split 4/4 and up to 6 swaps per half: every plan is one exchange
    away, so the best gain must be the brute-force optimum minus the start's
    value, whatever positive or zero prices order the search (a zero price
    puts its row in the checked, unkeyed part).
    """
    v, w, c = _tiny(seed)
    start = _lightest(w)
    assert np.all(w[np.arange(8), start].sum(axis=0) <= c)
    y = np.array(price)
    rng = np.random.default_rng(seed)
    loss = (v - w @ y).max(axis=1, keepdims=True) - (v - w @ y)
    sw = exchange._swaps(loss, np.ones(v.shape, bool), start, np.inf, rng)
    slack = c - w[np.arange(8), start].sum(axis=0)
    priced, unpriced = np.flatnonzero(y > 0), np.flatnonzero(y == 0)
    room = c - w.min(axis=1).sum(axis=0)
    finals = exchange._final_slacks(room[priced], y[priced], np.inf, None)
    cur = start[sw.unit]
    got, _, cut, picks, full = exchange._exchange(
        w[sw.unit, sw.option] - w[sw.unit, cur], v[sw.unit, sw.option] - v[sw.unit, cur],
        loss[sw.unit, sw.option] - loss[sw.unit, cur], sw.next_unit, sw.split, 6, priced,
        unpriced, slack, finals, float(y @ slack) + 1e9, -1e9,
        *exchange.new_table(16, unpriced.size, 6), 10**9,
    )
    assert not cut and not full
    optimum = _brute_force(v, w, c)
    start_value = float(v[np.arange(8), start].sum())
    if optimum == start_value:
        assert got == -np.inf or got == pytest.approx(0.0)  # only equal-value exchanges
        return
    assert got == pytest.approx(optimum - start_value)
    plan = start.copy()
    picks = picks[picks >= 0]
    plan[sw.unit[picks]] = sw.option[picks]
    assert np.all(w[np.arange(8), plan].sum(axis=0) <= c)
    assert float(v[np.arange(8), plan].sum()) == pytest.approx(optimum)


def test_the_loss_budget_never_prunes_an_exchange_within_it() -> None:
    """The loss budget is a valid pruning: with exactly the least loss change of any optimal
    plan as the budget, the optimum's gain is still found (each half is pruned against the
    budget less the other half's largest possible loss decrease)."""
    v, w, c = _tiny(3)
    start = _lightest(w)
    y = np.array([1.0, 2.0, 0.5])
    rc = v - w @ y
    loss = rc.max(axis=1, keepdims=True) - rc
    sw = exchange._swaps(loss, np.ones(v.shape, bool), start, np.inf, np.random.default_rng(0))
    slack = c - w[np.arange(8), start].sum(axis=0)
    finals = exchange._final_slacks(c - w.min(axis=1).sum(axis=0), y, np.inf, None)
    cur = start[sw.unit]
    best = _brute_force_plan(v, w, c)
    target = float(v[np.arange(8), best].sum() - v[np.arange(8), start].sum())
    optimal = [np.array(p) for p in itertools.product(range(3), repeat=8)
               if v[np.arange(8), p].sum() == v[np.arange(8), best].sum()
               and np.all(w[np.arange(8), p].sum(axis=0) <= c)]
    needed = min(float(loss[np.arange(8), p].sum() - loss[np.arange(8), start].sum())
                 for p in optimal)
    args = (
        w[sw.unit, sw.option] - w[sw.unit, cur], v[sw.unit, sw.option] - v[sw.unit, cur],
        loss[sw.unit, sw.option] - loss[sw.unit, cur], sw.next_unit, sw.split, 6,
        np.arange(3), np.zeros(0, np.int64), slack, finals,
    )

    def run(budget: float) -> float:
        tables = exchange.new_table(16, 0, 6)
        return float(exchange._exchange(*args, budget, target, *tables, 10**9)[0])

    assert target > 0
    assert run(float(y @ slack) - target) == pytest.approx(target)  # the valid budget
    assert run(needed) == pytest.approx(target)


@pytest.mark.parametrize("seed", range(4))
def test_final_slacks_are_every_affordable_slack_or_the_cheapest_of_them(seed: int) -> None:
    """Against itertools.product: without a cap every ``0 ≤ u ≤ room`` with ``price·u ≤ limit``,
    each once; with a cap of 5, five of them at the five least costs."""
    rng = np.random.default_rng(seed)
    room = rng.integers(-1, 5, size=3)
    price = rng.uniform(0.5, 3.0, size=3)
    limit = float(rng.uniform(2.0, 8.0))
    expected = [u for u in itertools.product(*(range(max(r, 0) + 1) for r in room))
                if np.dot(u, price) <= limit + 1e-9]
    every = exchange._final_slacks(room, price, limit, None)
    assert sorted(map(tuple, every.tolist())) == sorted(expected)
    cheapest = exchange._final_slacks(room, price, limit, 5)
    assert len(cheapest) == min(5, len(expected))
    assert np.allclose(np.sort(cheapest @ price), np.sort([np.dot(u, price) for u in expected])[:5])
    assert {tuple(u) for u in cheapest.tolist()} <= set(expected)


def test_a_table_too_small_for_the_stored_half_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A table of 4 slots holds 2 keys: the try says its half did not fit, what it finds is
    still a feasible gain no larger than the exact one, and ``improve`` counts such tries."""
    v, w, c = _tiny(1)
    start = _lightest(w)
    y = np.array([1.0, 2.0, 0.5])
    loss = (v - w @ y).max(axis=1, keepdims=True) - (v - w @ y)
    sw = exchange._swaps(loss, np.ones(v.shape, bool), start, np.inf, np.random.default_rng(0))
    slack = c - w[np.arange(8), start].sum(axis=0)
    finals = exchange._final_slacks(c - w.min(axis=1).sum(axis=0), y, np.inf, None)
    cur = start[sw.unit]
    got, _, cut, picks, full = exchange._exchange(
        w[sw.unit, sw.option] - w[sw.unit, cur], v[sw.unit, sw.option] - v[sw.unit, cur],
        loss[sw.unit, sw.option] - loss[sw.unit, cur], sw.next_unit, sw.split, 6,
        np.arange(3), np.zeros(0, np.int64), slack, finals, float(y @ slack) + 1e9, -1e9,
        *exchange.new_table(2, 0, 6), 10**9,
    )
    assert full and not cut
    assert got <= _brute_force(v, w, c) - float(v[np.arange(8), start].sum()) + 1e-9
    if np.isfinite(got):
        plan = start.copy()
        plan[sw.unit[picks[picks >= 0]]] = sw.option[picks[picks >= 0]]
        assert np.all(w[np.arange(8), plan].sum(axis=0) <= c)

    v, w, _ = _tiny(5, n=60, o=5, r=4)
    start = _lightest(w)
    tight = w[np.arange(60), start].sum(axis=0) + 25  # so that every row has a price
    rows = exchange.knapsack_form(MMKPInstance("sixty", v, w.astype(float),
                                               tight.astype(float)).to_problem())
    assert rows is not None
    bound, price = exchange.lp_prices(rows)
    assert np.all(price > 0)
    monkeypatch.setattr(exchange, "TABLE_BITS", 1)  # one key: the empty exchange
    _, stats = exchange.improve(rows, start, price, bound, time.perf_counter() + 2.0,
                                np.random.default_rng(0))
    assert stats.tries >= 1 and stats.partial >= 1


def test_knapsack_form_applies_only_to_integer_single_rows() -> None:
    v, w, c = _tiny(0, n=60)
    inst = MMKPInstance("tiny", v, w.astype(float), c.astype(float))
    rows = exchange.knapsack_form(inst.to_problem())
    assert rows is not None
    assert np.array_equal(rows.a, w) and np.array_equal(rows.b, c)
    halves = MMKPInstance("halves", v, w / 2.0, c.astype(float))
    assert exchange.knapsack_form(halves.to_problem()) is None  # non-integer weights
    small = MMKPInstance("small", v[:10], w[:10].astype(float), c.astype(float))
    assert exchange.knapsack_form(small.to_problem()) is None  # fewer than MIN_UNITS units
    wide = MMKPInstance("wide", v, 20.0 * w, c.astype(float))
    assert exchange.knapsack_form(wide.to_problem()) is None  # weight changes overflow a digit


def _spoiled(v: np.ndarray, w: np.ndarray, plan: np.ndarray, k: int) -> np.ndarray:
    """``plan`` with ``k`` units moved to a cheaper option that uses no more of any row."""
    out = plan.copy()
    n = plan.size
    no_heavier = np.all(w <= w[np.arange(n), plan][:, None, :], axis=2)
    cheaper = np.where(no_heavier & (v < v[np.arange(n), plan][:, None]), v, np.inf)
    movable = np.flatnonzero(np.isfinite(cheaper).any(axis=1))[:k]
    out[movable] = np.argmin(cheaper[movable], axis=1)
    assert movable.size == k
    return out


def test_improve_keeps_feasibility_and_never_worsens() -> None:
    """On a 60-unit instance, from HiGHS' optimum with 3 units spoiled: every plan handed out
    is feasible and better than the last, the last is returned, and the value lost is regained
    (a 3-unit exchange)."""
    v, w, c = _tiny(5, n=60, o=5, r=4)
    inst = MMKPInstance("sixty", v, w.astype(float), c.astype(float))
    problem = inst.to_problem()
    rows = exchange.knapsack_form(problem)
    assert rows is not None
    bound, price = exchange.lp_prices(rows)
    optimum = solve_highs(problem)
    assert optimum.status == "optimal"
    start = _spoiled(v, w, np.asarray(optimum.choice), 3)
    seen: list[float] = []

    def on_gain(plan: np.ndarray) -> None:
        assert np.all(w[np.arange(60), plan].sum(axis=0) <= c)
        seen.append(float(v[np.arange(60), plan].sum()))

    plan, stats = exchange.improve(rows, start, price, bound, time.perf_counter() + 3.0,
                                   np.random.default_rng(0), on_gain)
    start_value = float(v[np.arange(60), start].sum())
    assert stats.gains == len(seen) >= 1
    assert seen == sorted(seen) and seen[0] > start_value
    assert float(v[np.arange(60), plan].sum()) == seen[-1] <= bound + 1e-6
    assert seen[-1] == pytest.approx(optimum.objective)


@pytest.mark.skipif(not (MMKP_DIR / "khan" / "I07").exists(), reason="needs ../shared/mmkp")
def test_i07_auto_spends_the_rest_on_exchanges_and_keeps_the_bound() -> None:
    """I07 through ``auto``: the exchange runs after the decomposition, the plan is verified
    by ``solve`` and lies between HiGHS' usual 24,584 and the LP bound."""
    inst = read_khan(MMKP_DIR / "khan" / "I07")
    sol = solve(inst.to_problem(), method="auto", time_limit=20.0)
    assert "exchange" in sol.solver_info
    assert sol.solver_info["verification"]
    chosen = inst.values[np.arange(100), sol.choice].sum()
    assert chosen == pytest.approx(sol.objective)
    assert np.all(inst.weights[np.arange(100), sol.choice].sum(axis=0) <= inst.capacities)
    assert 24_584 <= sol.objective <= sol.bound <= 24_607.96
