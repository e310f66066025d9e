"""Greedy repair of an infeasible plan: a first plan before the LP is solved.

On the largest problems (the phased city model at 10^6 firms) the price search
does not converge within a minute, and a plan that is a best response to
unconverged prices breaks some rows: acquirers overfilled, a district short
of its energy target. The neighbourhood MIPs cannot fix that, because every
unit outside a neighbourhood stays where it is. This module moves units one
option at a time until every hard row holds, choosing moves the way a
planner would: the most violation removed per unit of value (or reduced
cost) given up.

Violation is measured row by row, each row scaled by its size
(``max(|rhs|, typical unit coefficient)``), so 10 mu over a 44-mu acquirer
weighs more than 10 mu short of a 100,000-mu city target. A move's gain is
the exact drop of that weighted violation when only this move is made.
Moves are ranked in batches and walked in rank order: a move is made only
if it still gains after the moves made before it, so that every batch
lowers the violation (a compiled loop over the batch; the rest is
vectorised over units and options per constraint family). Elastic rows are
left to their penalties.

A repaired plan overshoots: moves made for one row leave others with room.
:func:`improve_plan` then lets each unit take its most valuable option that
raises no row's violation, in ranked batches checked the same way.

That descent stops where no single move pays without harm, and on the city
model at 10^6 firms such plans lie 1–6% above the bound, mostly as freed
land far over its target (24,000–37,000 mu over a 1,000,000-mu target,
priced at 17–18 per mu). :func:`recreate_plan` leaves such a local optimum
by ruin and recreate: a few hundred units take their most valuable option
whatever the rows say, and the repair and the descent run again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.optimise.problem import BoolArray, FloatArray, IntArray

if TYPE_CHECKING:
    from sim.optimise.lagrangian import Family, LagrangianModel

__all__ = ["improve_plan", "recreate_plan", "repair_plan"]

#: most moves ranked per round (the later ones are usually dropped as redundant)
BATCH = 20_000
#: per violated constraint family, candidate units ranked by that family alone
POOL_PER_FAMILY = 4_000
GAIN_TOL = 1e-12


def row_weights(model: LagrangianModel, *, elastic: bool = False) -> FloatArray:
    """``1 / size`` per row (``size = max(|rhs|, typical coefficient)``), 0 for
    elastic rows unless ``elastic``, plus a trailing 0 for "no row"."""
    size = np.maximum(np.maximum(np.abs(model.rhs), model.row_typical), 1e-9)
    ignored = model.elastic & (not elastic)
    return np.append(np.where(ignored, 0.0, 1.0 / size), 0.0)


def _ext(rows: IntArray, m: int) -> IntArray:
    """Row indices with ``-1`` (no row) mapped to the trailing slot ``m``."""
    return np.where(rows >= 0, rows, m)


def _family_gain(
    model: LagrangianModel,
    fam: Family,
    units: IntArray,
    plan: IntArray,
    act_ext: FloatArray,
    weight: FloatArray,
    *,
    harm: bool = False,
) -> FloatArray:
    """``(k, O)`` drop of this family's weighted violation if unit ``units[j]``
    alone moved to option ``o`` (with ``harm``: the rise of violation only,
    summed over the rows whose violation rises).

    A move takes the unit's current value out of its current row and puts the
    new option's value into the new option's row (the same row unless the
    family's rows depend on the option, as for parks and acquirers).
    """
    m, n_opt = model.m, model.n_options
    cur = plan[units]
    a_old = fam.values[units, cur]
    a_new = fam.values[units]
    r_old = _ext(fam.rows_at(units, cur), m)
    r_new = _ext(fam.rows_of(units, n_opt), m)
    same = r_new == r_old[:, None]
    now = _weighted_violation(model, np.arange(m + 1), act_ext, weight)
    shift = np.where(same, a_new - a_old[:, None], a_new)
    gain = now[r_new] - _weighted_violation(model, r_new, act_ext[r_new] + shift, weight)
    if harm:
        gain = np.minimum(gain, 0.0)
    if not same.all():
        out = now[r_old] - _weighted_violation(model, r_old, act_ext[r_old] - a_old, weight)
        if harm:
            out = np.minimum(out, 0.0)
        gain += np.where(same, 0.0, out[:, None])
    return -gain if harm else gain


def _weighted_violation(
    model: LagrangianModel, rows: IntArray, values: FloatArray, weight: FloatArray
) -> FloatArray:
    """Weighted violation of rows ``rows`` (trailing slot ``m`` = no row) at ``values``."""
    return model.violation_at(np.where(rows < model.m, rows, -1), values) * weight[rows]


def _live_families(model: LagrangianModel, act: FloatArray, *, hard_only: bool = True) -> list[int]:
    """Families where one move can change the violation: some row is violated
    or has less room than twice the family's largest coefficient (elastic
    families only if not ``hard_only``)."""
    room = model.slack(act)
    live = []
    for f, (fam, mabs) in enumerate(zip(model.families, model.max_abs, strict=True)):
        rows = slice(fam.offset, fam.offset + fam.n_rows)
        if hard_only and model.elastic[rows].all():
            continue
        if (room[rows] < 2.0 * float(mabs.max(initial=0.0))).any():
            live.append(f)
    return live


def move_gain(
    model: LagrangianModel,
    units: IntArray,
    plan: IntArray,
    act: FloatArray,
    weight: FloatArray,
    families: list[int],
) -> FloatArray:
    """``(k, O)`` exact drop of the weighted violation if one unit moved alone."""
    act_ext = np.append(act, 0.0)
    gain = np.zeros((units.size, model.n_options))
    for f in families:
        gain += _family_gain(model, model.families[f], units, plan, act_ext, weight)
    gain[~model.available[units]] = -np.inf
    return gain


def _move_entries(
    model: LagrangianModel, units: IntArray, options: IntArray, plan: IntArray
) -> tuple[IntArray, FloatArray, IntArray]:
    """Every row activity change of the moves ``units[j] → options[j]``:
    row, change and move ``j`` per entry (each move changes a row at most once)."""
    order = np.arange(units.size)
    cur = plan[units]
    rows, deltas, moves = [], [], []
    for fam in model.families:
        a_old, a_new = fam.values[units, cur], fam.values[units, options]
        r_old, r_new = fam.rows_at(units, cur), fam.rows_at(units, options)
        same = r_old == r_new
        rows += [r_new, r_old[~same]]
        deltas += [np.where(same, a_new - a_old, a_new), -a_old[~same]]
        moves += [order, order[~same]]
    r, d, j = np.concatenate(rows), np.concatenate(deltas), np.concatenate(moves)
    keep = (r >= 0) & (d != 0.0)
    return r[keep], d[keep], j[keep]


@njit(cache=True)
def _accept_in_order(
    start: IntArray,
    rows: IntArray,
    deltas: FloatArray,
    act: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    weight: FloatArray,
    harmless: bool,
    tol: float,
) -> BoolArray:
    """Walk the moves in order (move ``j`` changes ``rows[start[j]:start[j+1]]``
    by ``deltas``) and make each one that, after the moves made before it,
    lowers the weighted violation (``harmless``: raises no row's violation by
    more than ``tol`` in all); ``act`` is updated in place."""
    n_moves = start.shape[0] - 1
    made = np.zeros(n_moves, dtype=np.bool_)
    for j in range(n_moves):
        drop = 0.0
        rise = 0.0
        for e in range(start[j], start[j + 1]):
            r = rows[e]
            now, after = act[r], act[r] + deltas[e]
            before_v = max(lower[r] - now, 0.0) + max(now - upper[r], 0.0)
            after_v = max(lower[r] - after, 0.0) + max(after - upper[r], 0.0)
            change = (before_v - after_v) * weight[r]
            drop += change
            rise += max(-change, 0.0)
        if (rise <= tol) if harmless else (drop > tol):
            made[j] = True
            for e in range(start[j], start[j + 1]):
                act[rows[e]] += deltas[e]
    return made


def _kept(
    model: LagrangianModel,
    units: IntArray,
    options: IntArray,
    plan: IntArray,
    act: FloatArray,
    weight: FloatArray,
    *,
    harmless: bool,
) -> tuple[BoolArray, FloatArray]:
    """The moves of a ranked batch to make, taken in rank order: a move is made
    if, with the moves before it that were made, it still lowers the weighted
    violation (or, if ``harmless``, raises no row's violation). Returns them
    and the row activity ``act`` once they are made.

    A greedy walk (compiled: a batch has up to 60,000 moves at 10^6 city
    firms). It replaced rounds that dropped every failing move and checked
    the rest again, and kept only the first move when that had not settled
    after 8 rounds: there, most rounds of :func:`improve_plan` made one move
    in 1.1 s.
    """
    r, d, j = _move_entries(model, units, options, plan)
    by = np.argsort(j, kind="stable")
    start = np.searchsorted(j[by], np.arange(units.size + 1))
    lower, upper = model.row_bounds()
    after = act.astype(float)  # a copy, updated move by move
    made = _accept_in_order(start, r[by], d[by], after, lower, upper, weight, harmless, GAIN_TOL)
    return np.asarray(made, dtype=bool), after


def _candidates(
    model: LagrangianModel,
    plan: IntArray,
    act: FloatArray,
    weight: FloatArray,
    bad: BoolArray,
    loss_of: FloatArray,
    eps: float,
) -> IntArray:
    """Units that can reduce a violated row, at most :data:`POOL_PER_FAMILY`
    per violated family: those with the best gain per loss on that family."""
    act_ext = np.append(act, 0.0)
    bad_ext = np.append(bad, False)
    picked = []
    for fam in model.families:
        if not bad[fam.offset : fam.offset + fam.n_rows].any():
            continue
        if fam.rows is None:
            touch = np.ones(model.n, dtype=bool)
        else:
            hit = bad_ext[fam.rows]
            touch = hit if hit.ndim == 1 else (hit & model.available & (fam.values != 0)).any(1)
            touch |= bad_ext[fam.rows_at(np.arange(model.n), plan)]
        units = np.flatnonzero(touch)
        if units.size > POOL_PER_FAMILY:
            gain = _family_gain(model, fam, units, plan, act_ext, weight)
            score = np.where(gain > GAIN_TOL, gain / (loss_of[units] + eps), -np.inf)
            score[~model.available[units]] = -np.inf
            best = score.max(axis=1)
            units = units[np.argpartition(-best, POOL_PER_FAMILY - 1)[:POOL_PER_FAMILY]]
        picked.append(units)
    return np.unique(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def repair_plan(
    model: LagrangianModel,
    plan: IntArray,
    value: FloatArray,
    deadline: float,
) -> IntArray | None:
    """A plan satisfying every hard row, reached from ``plan`` by greedy moves.

    Args:
        model: the compiled problem.
        plan: the starting option per unit (may break rows).
        value: ``(n, O)`` maximisation-form worth of each pair used to rank
            moves: the objective ``model.c`` or reduced costs at some prices
            (better: they price the rows the plan already strains).
        deadline: ``time.perf_counter()`` value to stop at.

    Returns:
        The repaired plan, or None when the deadline passes first or no
        single move lowers the violation any more (a local dead end).
    """
    plan = plan.copy()
    weight = row_weights(model)
    worth = np.where(model.available, value, 0.0)
    eps = 1e-6 * max(float(np.abs(worth).max(initial=0.0)), 1e-9)
    everyone = np.arange(model.n)
    act = model.activity(plan)
    exact = True  # act summed afresh, not updated move by move
    while time.perf_counter() < deadline:
        bad = (model.violation(act) > model.feas_tol) & ~model.elastic
        if not bad.any():
            if exact:
                return plan
            act, exact = model.activity(plan), True
            continue
        loss_of = np.maximum(worth[everyone, plan][:, None] - worth, 0.0)
        units = _candidates(model, plan, act, weight, bad, loss_of, eps)
        gain = move_gain(model, units, plan, act, weight, _live_families(model, act))
        score = np.where(gain > GAIN_TOL, gain / (loss_of[units] + eps), -np.inf)
        best = np.argmax(score, axis=1)
        top_score = score[np.arange(units.size), best]
        movable = np.flatnonzero(np.isfinite(top_score))
        if movable.size == 0:
            return None
        k = min(BATCH, movable.size)
        top = movable[np.argpartition(-top_score[movable], k - 1)[:k]]
        top = top[np.argsort(-top_score[top], kind="stable")]
        movers, options = units[top], best[top]
        keep, act = _kept(model, movers, options, plan, act, weight, harmless=False)
        plan[movers[keep]] = options[keep]
        exact = False
    return None


def _gain_over(model: LagrangianModel, plan: IntArray) -> FloatArray:
    """``(n, O)``: how much more each option is worth than the unit's option in
    ``plan`` (objective ``model.c``); −inf where unavailable."""
    current = model.c[np.arange(model.n), plan]
    return np.where(model.available, model.c - current[:, None], -np.inf)


def _value_tol(model: LagrangianModel) -> float:
    """The smallest gain in value that counts (relative to the largest ``|c|``)."""
    return 1e-9 * max(float(np.abs(model.c).max(initial=0.0)), 1e-9)


def improve_plan(model: LagrangianModel, plan: IntArray, deadline: float) -> IntArray:
    """The plan after a 1-opt descent: units move to options worth more while
    no row's violation rises (hard or elastic).

    A repaired plan overshoots: moves taken for one row's shortfall leave
    others with room. Every round gives each unit its most valuable option
    that is harmless on its own, ranks the units by the value gained and
    makes, in rank order, the moves that stay harmless after the moves made
    before them (:func:`_kept`); it stops when no move is left or at the
    deadline.
    """
    plan = plan.copy()
    weight = row_weights(model, elastic=True)
    tol = _value_tol(model)
    act = model.activity(plan)  # then updated by each round's moves
    while time.perf_counter() < deadline:
        better = _gain_over(model, plan)
        units = np.flatnonzero((better > tol).any(axis=1))
        if units.size == 0:
            break
        act_ext = np.append(act, 0.0)
        rise = np.zeros((units.size, model.n_options))
        for f in _live_families(model, act, hard_only=False):
            fam = model.families[f]
            rise += _family_gain(model, fam, units, plan, act_ext, weight, harm=True)
        gain = np.where((better[units] > tol) & (rise <= GAIN_TOL), better[units], -np.inf)
        best = np.argmax(gain, axis=1)
        top_gain = gain[np.arange(units.size), best]
        movable = np.flatnonzero(np.isfinite(top_gain))
        if movable.size == 0:
            break
        ranked = movable[np.argsort(-top_gain[movable], kind="stable")]
        movers, options = units[ranked], best[ranked]
        keep, act = _kept(model, movers, options, plan, act, weight, harmless=True)
        plan[movers[keep]] = options[keep]
    return plan


def recreate_plan(
    model: LagrangianModel,
    plan: IntArray,
    moves: int,
    rng: np.random.Generator,
    deadline: float,
) -> IntArray | None:
    """One ruin-and-recreate round from a plan that holds every hard row.

    ``moves`` units that have an option worth more (objective ``model.c``)
    are drawn, with probability proportional to what their most valuable
    option gains, and take that option whatever the rows say (the ruin);
    :func:`repair_plan`, ranking moves by objective given up, makes the plan
    hold every hard row again, and :func:`improve_plan` follows (the
    recreate). The result may be worse than ``plan``: the caller keeps the
    better one.

    Returns:
        The recreated plan, or None when no unit has a better option, the
        repair finds no plan, or the deadline passes first.
    """
    better = _gain_over(model, plan)
    best = np.argmax(better, axis=1)
    gain = better[np.arange(model.n), best]
    candidates = np.flatnonzero(gain > _value_tol(model))
    if candidates.size == 0:
        return None
    k = min(moves, candidates.size)
    drawn = rng.choice(candidates, size=k, replace=False,
                       p=gain[candidates] / gain[candidates].sum())
    ruined = plan.copy()
    ruined[drawn] = best[drawn]
    repaired = repair_plan(model, ruined, model.c, deadline)
    return None if repaired is None else improve_plan(model, repaired, deadline)
