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
Moves are taken in batches; a batch keeps only moves that still gain when
the moves before them in the batch are made too, so that every accepted
batch lowers the violation (the gains telescope). Elastic rows are left to
their penalties. Everything is vectorised over units and options per
constraint family.

A repaired plan overshoots: moves made for one row leave others with room.
:func:`improve_plan` then lets each unit take its most valuable option that
raises no row's violation, in ranked batches checked the same way.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from sim.optimise.problem import BoolArray, FloatArray, IntArray

if TYPE_CHECKING:
    from sim.optimise.decomposition import LagrangianModel, _Family

__all__ = ["improve_plan", "repair_plan", "sequential_gain"]

#: most moves ranked per round (the later ones are usually dropped as redundant)
BATCH = 20_000
#: per violated constraint family, candidate units ranked by that family alone
POOL_PER_FAMILY = 4_000
#: passes that drop moves whose gain vanished because of earlier batch moves
ACCEPT_PASSES = 8
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
    fam: _Family,
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


def sequential_gain(
    model: LagrangianModel,
    units: IntArray,
    options: IntArray,
    plan: IntArray,
    act: FloatArray,
    weight: FloatArray,
    *,
    rises_only: bool = False,
) -> FloatArray:
    """Drop of the weighted violation from each move ``units[j] → options[j]``
    when the moves before it (``j' < j``) have been made (with ``rises_only``:
    the rise of violation only, summed over the rows where it rises).

    The gains telescope: their sum is the drop from making all the moves.
    ``units`` must be distinct.
    """
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
    r, d, j = r[keep], d[keep], j[keep]
    by = np.lexsort((j, r))  # per row, in move order
    r, d, j = r[by], d[by], j[by]
    total = np.cumsum(d)
    first = np.r_[0, np.flatnonzero(np.diff(r)) + 1] if r.size else np.zeros(0, np.int64)
    before_first = np.repeat(total[first] - d[first], np.diff(np.r_[first, r.size]))
    after = act[r] + total - before_first
    drop = (model.violation_at(r, after - d) - model.violation_at(r, after)) * weight[r]
    per_entry = np.maximum(-drop, 0.0) if rises_only else drop
    return np.asarray(np.bincount(j, weights=per_entry, minlength=units.size), dtype=float)


def _kept(
    model: LagrangianModel,
    units: IntArray,
    options: IntArray,
    plan: IntArray,
    act: FloatArray,
    weight: FloatArray,
    *,
    harmless: bool,
) -> BoolArray:
    """The moves of a ranked batch to make: those that still lower the
    violation (or, if ``harmless``, raise no row's violation) after the kept
    moves before them.

    Dropping a move changes what the later ones see, so this repeats until
    every kept move passes; after :data:`ACCEPT_PASSES` rounds only the
    first move (which passes alone) is kept.
    """
    keep = np.ones(units.size, dtype=bool)
    for _ in range(ACCEPT_PASSES):
        change = sequential_gain(
            model, units[keep], options[keep], plan, act, weight, rises_only=harmless
        )
        ok = change <= GAIN_TOL if harmless else change > GAIN_TOL
        if ok.all():
            return keep
        keep[np.flatnonzero(keep)[~ok]] = False
        if not keep.any():
            break
    keep[:] = False
    keep[0] = True
    return keep


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
    while time.perf_counter() < deadline:
        bad = (model.violation(act) > model.feas_tol) & ~model.elastic
        if not bad.any():
            return plan
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
        keep = _kept(model, movers, options, plan, act, weight, harmless=False)
        movers, options = movers[keep], options[keep]
        plan[movers] = options
        act = model.activity(plan)
    return None


def improve_plan(model: LagrangianModel, plan: IntArray, deadline: float) -> IntArray:
    """The plan after a 1-opt descent: units move to options worth more while
    no row's violation rises (hard or elastic).

    A repaired plan overshoots: moves taken for one row's shortfall leave
    others with room. Every round gives each unit its most valuable option
    that is harmless on its own, ranks the units by the value gained and
    keeps the moves that stay harmless after the earlier ones; it stops when
    no move is left or at the deadline.
    """
    plan = plan.copy()
    weight = row_weights(model, elastic=True)
    everyone = np.arange(model.n)
    tol = 1e-9 * max(float(np.abs(model.c).max(initial=0.0)), 1e-9)
    while time.perf_counter() < deadline:
        better = np.where(model.available, model.c - model.c[everyone, plan][:, None], -np.inf)
        units = np.flatnonzero((better > tol).any(axis=1))
        if units.size == 0:
            break
        act = model.activity(plan)
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
        keep = _kept(model, movers, options, plan, act, weight, harmless=True)
        plan[movers[keep]] = options[keep]
    return plan
