"""Core LPs and MIPs: the choice problem restricted to some units, solved by HiGHS.

Every exact step of the decomposition (:mod:`sim.optimise.decomposition`)
solves the problem over a subset of units (the *core*) with all other units
fixed at an option, their activity moved to the right-hand side:
:func:`build_core` lays it out as a HiGHS model from numpy arrays,
:func:`solve_core` solves it in this process or in the guarded MIP worker
(:mod:`sim.optimise.mip_worker`), :func:`submit_lane_mip` sends one to the
second lane's worker, :class:`WholeInChild` solves the whole problem in a
child process, and :func:`probe` drops the pairs that LP probing rules out.
Values are in maximisation form (:mod:`sim.optimise.lagrangian`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from sim.optimise.highs_backend import new_highs, run_interruptible
from sim.optimise.lagrangian import EQ, GE, INF, LE, LagrangianModel
from sim.optimise.mip_worker import (
    Basis,
    LpArrays,
    MipAnswer,
    MipWorker,
    active_worker,
    mip_grace,
    solve_in_process,
)
from sim.optimise.problem import BoolArray, FloatArray, IntArray

__all__ = [
    "CoreLP", "CoreResult", "LaneMip", "WholeInChild", "build_core", "chosen_options",
    "close_lane", "fixed_except", "probe", "read_answer", "solve_core", "submit_lane_mip",
    "warm_start",
]


@dataclass
class CoreResult:
    status: str  # "optimal", "feasible", "infeasible", "no_solution", "error"
    x: FloatArray  # (k, O) values of the choice columns (NaN if none)
    lam: FloatArray  # prices from row duals (LP only; zeros otherwise)
    value: float  # maximisation-form value including fixed offset (nan if none)
    bound: float  # maximisation-form upper bound (MIP dual bound / LP value)
    artificial: float  # total artificial slack used
    seconds: float
    extra_used: FloatArray = field(default_factory=lambda: np.zeros(0))  # per row
    stopped: bool = False  # the MIP overran its limit and its worker was stopped
    basis: Basis | None = None  # an optimal LP's basis, when asked for


def chosen_options(x: FloatArray) -> IntArray:
    """The option each unit takes in a core solution's values ``x`` (units × options;
    NaN where the core had no column), as a plan of those units."""
    return np.argmax(np.nan_to_num(x, nan=-1.0), axis=1)


@dataclass
class CoreLP:
    lp: highspy.HighsLp
    colmap: IntArray  # (k, O) column of each allowed pair, -1 otherwise
    allowed: BoolArray
    nx: int  # choice columns come first
    n_before_art: int  # columns from here on are artificial / box slacks
    extra_rows: IntArray  # coupling row of every column from ``n_before_art`` on


def build_core(
    model: LagrangianModel,
    units: IntArray,
    allowed: BoolArray,
    fixed_choice: IntArray,
    fixed_mask: BoolArray,
    *,
    integer: bool,
    artificial: bool,
    rhs_scale: float = 1.0,
    box: tuple[FloatArray, FloatArray] | None = None,
) -> CoreLP:
    """HiGHS model of the problem restricted to ``units`` (options ``allowed``).

    Units in ``fixed_mask`` contribute their ``fixed_choice`` activity to the
    right-hand side (``rhs_scale`` scales the right-hand side for sampled
    LPs, in which case no unit is fixed). With ``artificial`` every hard row
    gets a big-M slack so the LP is always feasible. ``box = (lo, hi)``
    confines the row duals to ``[lo, hi]`` (box-step stabilisation: a column
    that relaxes row ``r`` at price ``hi_r`` and one that tightens it at price
    ``lo_r``). The objective is the *minimisation* of the negated
    maximisation-form value.
    """
    k, n_opt, m = units.shape[0], model.n_options, model.m
    fixed_idx = np.flatnonzero(fixed_mask)
    shift = model.activity(fixed_choice, fixed_idx) if fixed_idx.size else np.zeros(m)
    fixed_obj = float(model.c[fixed_idx, fixed_choice[fixed_idx]].sum()) if fixed_idx.size else 0.0
    b = model.rhs * rhs_scale - shift

    allowed = allowed & model.available[units]
    colmap = np.full((k, n_opt), -1, dtype=np.int64)
    nx = int(allowed.sum())
    colmap[allowed] = np.arange(nx)
    unit_pos, opt_pos = np.nonzero(allowed)
    cost = [-model.c[units][allowed]]
    r_list = [unit_pos.astype(np.int64)]
    c_list = [np.arange(nx, dtype=np.int64)]
    v_list = [np.ones(nx)]
    for fam in model.families:
        vals = fam.values[units][allowed]
        rows = fam.rows_of(units, n_opt)[allowed]
        keep = (rows >= 0) & (vals != 0.0)
        r_list.append(k + rows[keep])
        c_list.append(colmap[unit_pos[keep], opt_pos[keep]])
        v_list.append(vals[keep])
    ncol = nx
    extra_cost: list[float] = []
    upper = [np.ones(nx)]

    def add_slack(rows: IntArray, signs: list[float], costs: FloatArray) -> None:
        nonlocal ncol
        for s in signs:
            cnt = rows.shape[0]
            r_list.append(k + rows)
            c_list.append(ncol + np.arange(cnt, dtype=np.int64))
            v_list.append(np.full(cnt, s))
            extra_cost.extend(costs.tolist())
            upper.append(np.full(cnt, INF))
            ncol += cnt

    for code, signs in ((LE, [-1.0]), (GE, [1.0]), (EQ, [1.0, -1.0])):
        el = np.flatnonzero((model.sense == code) & model.elastic)
        if el.size:
            add_slack(el, signs, model.penalty[el])
    n_before_art = ncol
    extra_rows: list[IntArray] = []
    if box is not None:
        lo_b, hi_b = box
        rows_hi = np.flatnonzero(hi_b < model.lam_hi - 1e-12)
        if rows_hi.size:
            add_slack(rows_hi, [-1.0], hi_b[rows_hi])
            extra_rows.append(rows_hi)
        rows_lo = np.flatnonzero(lo_b > model.lam_lo + 1e-12)
        if rows_lo.size:
            add_slack(rows_lo, [1.0], -lo_b[rows_lo])
            extra_rows.append(rows_lo)
    if artificial:
        big = 1e4 * (model.c_scale + 1.0)
        for code, signs in ((LE, [-1.0]), (GE, [1.0]), (EQ, [1.0, -1.0])):
            hard = np.flatnonzero((model.sense == code) & ~model.elastic)
            if hard.size:
                per = np.maximum(model.row_scale[hard] / max(1, model.n), 1e-12)
                add_slack(hard, signs, big / per)
                extra_rows.extend([hard] * len(signs))
    a = sp.csc_matrix(
        (np.concatenate(v_list), (np.concatenate(r_list), np.concatenate(c_list))),
        shape=(k + m, ncol),
    )
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = k + m
    lp.col_cost_ = np.concatenate([*cost, np.asarray(extra_cost, dtype=float)])
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.concatenate(upper)
    lo = np.where(model.sense == LE, -INF, b)
    hi = np.where(model.sense == GE, INF, b)
    lp.row_lower_ = np.concatenate([np.ones(k), lo])
    lp.row_upper_ = np.concatenate([np.ones(k), hi])
    lp.offset_ = -fixed_obj
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * nx + [
            highspy.HighsVarType.kContinuous
        ] * (ncol - nx)
    xr = np.concatenate(extra_rows) if extra_rows else np.zeros(0, dtype=np.int64)
    return CoreLP(lp, colmap, allowed, nx, n_before_art, xr)


def solve_core(
    model: LagrangianModel,
    units: IntArray,
    allowed: BoolArray,
    fixed_choice: IntArray,
    fixed_mask: BoolArray,
    *,
    integer: bool,
    artificial: bool,
    time_limit: float,
    mip_gap: float = 1e-6,
    start: IntArray | None = None,
    rhs_scale: float = 1.0,
    box: tuple[FloatArray, FloatArray] | None = None,
    highs_options: dict[str, int | float | str] | None = None,
    want_basis: bool = False,
) -> CoreResult:
    """Build (see :func:`build_core`) and solve a core LP or MIP.

    ``start`` (option per unit of ``units``) warm-starts the MIP;
    ``want_basis`` returns an optimal LP's basis (solved in this process).
    """
    t0 = time.perf_counter()
    core = build_core(
        model, units, allowed, fixed_choice, fixed_mask,
        integer=integer, artificial=artificial, rhs_scale=rhs_scale, box=box,
    )
    options: dict[str, Any] = {"time_limit": max(0.05, float(time_limit))}
    if integer:
        options["mip_rel_gap"] = float(mip_gap)
    options.update(highs_options or {})
    xs = warm_start(core, start) if integer else None
    worker = active_worker() if integer else None
    if worker is None:
        ans = solve_in_process(core.lp, options, xs, want_basis=want_basis)
    else:
        limit = float(options["time_limit"])
        ans = worker.solve(LpArrays.from_highs(core.lp), options, xs, limit + mip_grace(limit))
    return read_answer(model, core, units.shape[0], ans, integer, t0)


@dataclass
class LaneMip:
    """A neighbourhood MIP sent to the second lane's worker, answer not yet read."""

    core: CoreLP
    units: IntArray
    fixed_choice: IntArray
    t0: float  # time.perf_counter() when it was built
    limit: float  # its HiGHS time limit (s)
    lane: MipWorker  # the worker solving it

    def result(self, model: LagrangianModel) -> CoreResult:
        """Its answer, waiting until its limit plus
        :func:`~sim.optimise.mip_worker.mip_grace`; one that has not come by then is
        stopped (see :meth:`MipWorker.answer`) and gives its last streamed plan."""
        until = self.t0 + self.limit + mip_grace(self.limit)
        ans = self.lane.answer(max(0.0, until - time.perf_counter()))
        return read_answer(model, self.core, self.units.shape[0], ans, True, self.t0)

    def plan(self, res: CoreResult, base: IntArray) -> IntArray:
        """``base`` with this neighbourhood's units set as in ``res`` (a plan of it)."""
        cand = base.copy()
        cand[self.units] = chosen_options(res.x)
        return cand


def submit_lane_mip(
    lane: MipWorker,
    model: LagrangianModel,
    units: IntArray,
    allowed: BoolArray,
    fixed_choice: IntArray,
    *,
    time_limit: float,
    mip_gap: float,
) -> LaneMip:
    """Send the neighbourhood MIP over ``units`` (options ``allowed``, the rest
    fixed at ``fixed_choice``, warm-started from it) to ``lane`` and return at once."""
    t0 = time.perf_counter()
    core = build_core(model, units, allowed, fixed_choice, fixed_except(model.n, units),
                       integer=True, artificial=False)
    limit = max(0.05, float(time_limit))
    lane.submit(LpArrays.from_highs(core.lp), {"time_limit": limit, "mip_rel_gap": mip_gap},
                warm_start(core, fixed_choice[units]))
    return LaneMip(core, units, fixed_choice.copy(), t0, limit, lane)


def close_lane(lane: MipWorker, worker: MipWorker | None, peaks: list[float]) -> None:
    """Stop the second lane's worker; its peak memory (MB) goes to ``peaks`` and its
    stopped and crashed MIPs count with the main worker's."""
    lane.close()
    peaks.append(lane.peak_mb)
    if worker is not None:
        worker.stopped += lane.stopped
        worker.crashed += lane.crashed


def warm_start(core: CoreLP, start: IntArray | None) -> FloatArray | None:
    """Column values of the plan ``start`` (option per core unit) for HiGHS'
    MIP start, or None (no plan, or one using an option the core lacks)."""
    if start is None:
        return None
    cols = core.colmap[np.arange(core.colmap.shape[0]), start]
    if not (cols >= 0).all():
        return None
    xs = np.zeros(core.lp.num_col_)
    xs[cols] = 1.0
    return xs


def read_answer(
    model: LagrangianModel, core: CoreLP, k: int, ans: MipAnswer, integer: bool, t0: float
) -> CoreResult:
    """HiGHS' answer on a core model (:func:`build_core`, ``k`` units) as a
    :class:`CoreResult`, timed from ``t0`` (:func:`time.perf_counter`)."""
    n_opt, m = model.n_options, model.m
    allowed, nx, n_before_art = core.allowed, core.nx, core.n_before_art
    ncol = core.lp.num_col_
    status = ans.status
    x = np.full((k, n_opt), np.nan)
    lam = np.zeros(m)
    value = float("nan")
    art = 0.0
    extra_used = np.zeros(m)
    if ans.col_value is not None:
        col = ans.col_value
        x = np.zeros((k, n_opt))
        x[allowed] = col[:nx]
        art = float(col[n_before_art:].sum()) if ncol > n_before_art else 0.0
        if ncol > n_before_art:
            extra_used = np.bincount(
                core.extra_rows, weights=col[n_before_art:], minlength=m
            ).astype(float)
        value = -ans.objective
        if not integer and ans.row_dual is not None:
            lam = model.clip(-ans.row_dual[k:])
    if integer:
        bound = -ans.dual_bound if np.isfinite(ans.dual_bound) else float("inf")
        if status == "infeasible":
            bound = -float("inf")
    else:
        bound = value if status == "optimal" else float("inf")
    return CoreResult(status, x, lam, value, bound, art, time.perf_counter() - t0, extra_used,
                       ans.stopped, ans.basis)


def probe(
    model: LagrangianModel,
    units: IntArray,
    allowed: BoolArray,
    fixed_choice: IntArray,
    fixed_mask: BoolArray,
    threshold: float,
    time_limit: float,
) -> BoolArray:
    """LP probing: drop the pairs that cannot be part of a plan better than ``threshold``.

    For each allowed (unit, option) pair of the restricted problem the LP
    relaxation is re-solved (warm start) with that pair forced to 1. If the
    forced LP is infeasible or its value is ≤ ``threshold``, no plan worth
    more than ``threshold`` uses the pair, and it is fixed to 0 for the rest
    of the probing (which tightens later probes). Loops over pairs of the
    small free core only. Returns the reduced ``allowed`` mask.
    """
    t_end = time.perf_counter() + time_limit
    core = build_core(
        model, units, allowed, fixed_choice, fixed_mask, integer=False, artificial=False
    )
    keep = core.allowed.copy()
    h = new_highs()
    h.passModel(core.lp)
    run_interruptible(h)
    ok = highspy.HighsModelStatus.kOptimal
    if h.getModelStatus() != ok or -h.getInfo().objective_function_value <= threshold:
        return np.zeros_like(keep)
    x = np.asarray(h.getSolution().col_value, dtype=float)
    pos_u, pos_o = np.nonzero(keep)
    cols = core.colmap[pos_u, pos_o]
    order = np.argsort(x[cols])  # probe the least used pairs first
    for j in order:
        if time.perf_counter() > t_end:
            break
        col = int(cols[j])
        if x[col] > 1 - 1e-9:
            continue
        h.changeColBounds(col, 1.0, 1.0)
        run_interruptible(h)
        st = h.getModelStatus()
        drop = st != ok or -h.getInfo().objective_function_value <= threshold
        if drop:
            keep[pos_u[j], pos_o[j]] = False
            h.changeColBounds(col, 0.0, 0.0)
            if not keep[pos_u[j]].any():
                return np.zeros_like(keep)
        else:
            h.changeColBounds(col, 0.0, 1.0)
    return keep




class WholeInChild:
    """The whole problem solved by HiGHS in a child process while this process works on.

    HiGHS' simplex and branch and bound use one core; on a 2-core machine
    the other one is free. Two uses:

    * the **LP** (``integer=False``): level 0 of a model with at most
      :data:`~sim.optimise.price_search.DIRECT_LP_PAIRS` pairs starts it at once
      and sifts meanwhile. If sifting converges first (random and MMKP-like models) the child is
      stopped; if not (the city model, whose units are nearly tied between
      years) the LP's answer is taken as soon as it comes, instead of after
      :data:`~sim.optimise.price_search.DIRECT_AFTER_STEPS` sifting steps plus the LP's own time;
    * the **MIP** (``integer=True``, warm-started with the plan): while the
      large-neighbourhood search improves the plan, HiGHS' branch and bound
      on the whole problem tightens the bound with its cuts
      (:data:`~sim.optimise.decomposition.BOUND_MIP_PAIRS`); its dual bound is global.
    """

    def __init__(
        self,
        model: LagrangianModel,
        *,
        integer: bool,
        time_limit: float,
        options: dict[str, int | float | str] | None = None,
        start: IntArray | None = None,
        peaks: list[float] | None = None,
        basis: Basis | None = None,
    ) -> None:
        """Start the solve (an LP from ``basis``, if given); ``peaks`` receives the
        child's peak memory (MB) on :meth:`close`, when it has answered (a stopped
        child cannot tell)."""
        n, n_opt = model.n, model.n_options
        self.t0 = time.perf_counter()
        self.peaks = peaks
        self.model, self.integer = model, integer
        self.core = build_core(
            model, np.arange(n), np.ones((n, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=bool), integer=integer, artificial=not integer,
        )
        full: dict[str, Any] = {"time_limit": max(0.05, float(time_limit))}
        full.update(options or {})
        self.worker = MipWorker()
        self.worker.submit(LpArrays.from_highs(self.core.lp), full, warm_start(self.core, start),
                           basis)

    def result(self, wait: float) -> CoreResult | None:
        """The result if it comes within ``wait`` seconds (0: only look)."""
        try:
            ans = self.worker.collect(wait)
        except RuntimeError:  # the child failed: the caller works on without it
            ans = MipAnswer("error", None, float("nan"), -np.inf,
                            time.perf_counter() - self.t0, stopped=True)
        if ans is None:
            return None
        return self._read(ans)

    def stop(self) -> CoreResult:
        """Stop the child now; the result holds the last plan it streamed (if any)
        and no bound."""
        return self._read(self.worker.abandon(restart=False))

    def _read(self, ans: MipAnswer) -> CoreResult:
        return read_answer(self.model, self.core, self.model.n, ans, self.integer, self.t0)

    def close(self) -> None:
        """Stop the child, whether or not it is still solving."""
        if self.peaks is not None and self.worker.peak_mb > 0:
            self.peaks.append(self.worker.peak_mb)
            self.peaks = None  # closing twice records once
        self.worker.close()



def fixed_except(n: int, units: IntArray) -> BoolArray:
    """Mask of the units that stay fixed: all but ``units``."""
    fixed = np.ones(n, dtype=bool)
    fixed[units] = False
    return fixed

