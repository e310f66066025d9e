"""Direct HiGHS backend: the choice problem as a sparse matrix, straight to highspy.

Columns are the available (unit, option) pairs, in row-major order of
``problem.available`` (so the columns of one unit are contiguous), followed by
the elastic shortfall slacks. Rows are, in order:

1. one "choose exactly one" row per unit (``== 1``);
2. for every constraint family, in ``problem.constraints`` order, its
   ``n_rows`` rows (one per group, or one for an ungrouped family).

Everything is built with numpy/scipy from ``row_values``/``row_index``: the only
Python loop is over constraint families. :func:`build_highs_matrix` exposes the
matrix so that other solvers (decomposition) can reuse it.

HiGHS prints a banner the first time a ``Highs`` object is created in a
process; :func:`new_highs` swallows it so that CLI output stays clean.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from sim.interrupts import signals_held
from sim.optimise.problem import (
    BoolArray,
    ChoiceProblem,
    FloatArray,
    IntArray,
    ProgressCallback,
    ProgressEvent,
    Solution,
    relative_gap,
)
from sim.optimise.verify import elastic_shortfalls, plan_objective

INF = highspy.kHighsInf

_banner_lock = threading.Lock()
_banner_done = False


@contextlib.contextmanager
def _stdout_fd_silenced() -> Iterator[None]:
    """Redirect the process-level stdout (fd 1) to /dev/null for a moment."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real fd 1 (unusual embedding): do nothing
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def run_interruptible(h: highspy.Highs) -> None:
    """``h.run()``, stoppable by Ctrl-C (SIGINT) and SIGTERM.

    Python runs signal handlers only while Python code runs, which during
    ``h.run()`` means inside a HiGHS callback, where HiGHS swallows the
    exception: the run ends in "Solve error" and the interrupt is lost (or,
    without callbacks, waits for the time limit). So while HiGHS runs, the
    signals are only recorded; HiGHS' interrupt callbacks see the record and
    stop the solve; afterwards the original handler is called, in ordinary
    Python code, and raises as usual (``KeyboardInterrupt`` or the CLI's
    ``Interrupted``). Signals whose handler is not a Python function (SIGTERM
    by default) are left alone, as is every thread but the main one.
    """
    if threading.current_thread() is not threading.main_thread():
        h.run()  # no signals here; HiGHS' callbacks into Python would only cost the GIL
        return
    with signals_held() as caught:

        def stop(e: Any) -> None:
            if caught:
                e.interrupt()

        events = (h.cbMipInterrupt, h.cbSimplexInterrupt, h.cbIpmInterrupt)
        for event in events:
            event.subscribe(stop)
        try:
            h.run()
        finally:
            for event in events:
                event.unsubscribe(stop)


def new_highs(*, output: bool = False) -> highspy.Highs:
    """A fresh ``Highs`` with output off (unless ``output``) and no start-up banner."""
    global _banner_done
    with _banner_lock:
        if not _banner_done:
            with _stdout_fd_silenced():
                h = highspy.Highs()
            _banner_done = True
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", bool(output))
    return h


_threads_lock = threading.Lock()
_threads_in_use: int | None = None


def _use_threads(threads: int) -> None:
    """Resize HiGHS' process-wide thread pool when ``threads`` changes.

    HiGHS refuses a ``threads`` option that differs from its running global
    scheduler; resetting the scheduler (blocking) lets the new value apply.
    Do not change ``threads`` while another solve runs in this process.
    """
    global _threads_in_use
    with _threads_lock:
        if _threads_in_use != threads:  # None: the pool's size is unknown (default)
            highspy.Highs.resetGlobalScheduler(True)
        _threads_in_use = threads


def highs_version() -> str:
    """The HiGHS library version, e.g. ``"1.16.0"``."""
    return (
        f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"
    )


@dataclass
class HighsMatrix:
    """The choice problem as ``row_lower ≤ A x ≤ row_upper``, ``sense c·x``.

    Attributes:
        matrix: CSC matrix ``(n_rows, n_cols)``.
        row_lower, row_upper: row bounds (±``highspy.kHighsInf`` when open).
        col_cost: objective coefficient of every column, in the problem's own
            sense (elastic slack columns carry ``∓penalty``).
        col_upper: upper bound of every column (1 for choice columns, inf for slacks).
        maximise: objective sense.
        n_choice_cols: the first ``n_choice_cols`` columns are binary choices.
        col_unit, col_option: (unit, option) of every choice column.
        row_family: constraint-family index of every row (−1 for one-choice rows).
        row_group: group (row within the family) of every row; the unit for
            one-choice rows.
        family_names: ``problem.constraints[k].name``.
        family_rows: family name → slice of its rows in the matrix.
        slack_cols: family name → ``(cols, rows, signs)`` of its elastic slacks:
            slack column ``cols[j]`` enters row ``rows[j]`` (group index within
            the family) with coefficient ``signs[j]`` (+1 raises the lhs, −1
            lowers it). Empty for hard families.
        objective_offset: constant term of the objective (0 for now).
    """

    matrix: sp.csc_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_cost: FloatArray
    col_upper: FloatArray
    maximise: bool
    n_choice_cols: int
    col_unit: IntArray
    col_option: IntArray
    row_family: IntArray
    row_group: IntArray
    family_names: list[str]
    family_rows: dict[str, slice]
    slack_cols: dict[str, tuple[IntArray, IntArray, FloatArray]] = field(default_factory=dict)
    objective_offset: float = 0.0

    @property
    def n_rows(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_cols(self) -> int:
        return int(self.matrix.shape[1])

    def integrality(self) -> list[highspy.HighsVarType]:
        """HiGHS integrality of every column (choices integer, slacks continuous)."""
        return [highspy.HighsVarType.kInteger] * self.n_choice_cols + [
            highspy.HighsVarType.kContinuous
        ] * (self.n_cols - self.n_choice_cols)

    def to_highs_lp(self, *, integer: bool = True) -> highspy.HighsLp:
        """A ``HighsLp`` ready for ``Highs.passModel``."""
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = self.col_cost
        lp.col_lower_ = np.zeros(self.n_cols)
        lp.col_upper_ = self.col_upper
        lp.row_lower_ = self.row_lower
        lp.row_upper_ = self.row_upper
        lp.offset_ = self.objective_offset
        lp.sense_ = highspy.ObjSense.kMaximize if self.maximise else highspy.ObjSense.kMinimize
        a = self.matrix
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = self.n_cols
        lp.a_matrix_.num_row_ = self.n_rows
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(np.float64)
        if integer:
            lp.integrality_ = self.integrality()
        return lp

    def choice_from_x(self, x: FloatArray, n_units: int, n_options: int) -> IntArray:
        """Chosen option per unit: the available option with the largest value in ``x``."""
        xm = np.full((n_units, n_options), -1.0)
        xm[self.col_unit, self.col_option] = x[: self.n_choice_cols]
        return np.argmax(xm, axis=1).astype(np.int64)

    def x_matrix(self, x: FloatArray, n_units: int, n_options: int) -> FloatArray:
        """Choice columns of ``x`` as an ``(n_units, n_options)`` array (0 where unavailable)."""
        out = np.zeros((n_units, n_options))
        out[self.col_unit, self.col_option] = x[: self.n_choice_cols]
        return out

    def slacks_from_x(self, x: FloatArray) -> dict[str, FloatArray]:
        """Elastic shortfall per row of every elastic family (sum of its slacks)."""
        out: dict[str, FloatArray] = {}
        for name, (cols, rows, _signs) in self.slack_cols.items():
            n = self.family_rows[name].stop - self.family_rows[name].start
            out[name] = np.bincount(rows, weights=np.maximum(x[cols], 0.0), minlength=n).astype(
                float
            )
        return out


def _sense_bounds(sense: str, rhs: FloatArray) -> tuple[FloatArray, FloatArray]:
    if sense == "<=":
        return np.full(rhs.shape, -INF), rhs.copy()
    if sense == ">=":
        return rhs.copy(), np.full(rhs.shape, INF)
    if sense == "==":
        return rhs.copy(), rhs.copy()
    raise ValueError(f"unknown constraint sense {sense!r}")


def check_groups(problem: ChoiceProblem) -> None:
    """Raise ``ValueError`` when a constraint's group indices do not fit its rhs."""
    for c in problem.constraints:
        if c.group is None:
            continue
        g = np.asarray(c.group)
        if g.shape not in ((problem.n_units,), (problem.n_units, problem.n_options)):
            raise ValueError(
                f"constraint {c.name!r}: group has shape {g.shape}, expected "
                f"({problem.n_units},) or ({problem.n_units}, {problem.n_options})"
            )
        if g.size and (g.max() >= c.n_rows or g.min() < -1):
            raise ValueError(
                f"constraint {c.name!r}: group indices must lie in [-1, {c.n_rows - 1}]"
                " (one rhs per group)"
            )


def build_highs_matrix(problem: ChoiceProblem) -> HighsMatrix:
    """Build the sparse constraint matrix of ``problem`` (vectorised, no unit loops)."""
    check_groups(problem)
    avail: BoolArray = problem.available
    unit, option = np.nonzero(avail)
    unit = unit.astype(np.int64)
    option = option.astype(np.int64)
    n_choice = int(unit.size)
    n_units = problem.n_units
    maximise = problem.objective.sense == "max"

    obj = problem.objective_values()[unit, option]
    rows: list[IntArray] = [unit]
    cols: list[IntArray] = [np.arange(n_choice, dtype=np.int64)]
    vals: list[FloatArray] = [np.ones(n_choice)]
    row_lower: list[FloatArray] = [np.ones(n_units)]
    row_upper: list[FloatArray] = [np.ones(n_units)]
    row_family: list[IntArray] = [np.full(n_units, -1, dtype=np.int64)]
    row_group: list[IntArray] = [np.arange(n_units, dtype=np.int64)]
    col_cost: list[FloatArray] = [obj]
    col_upper: list[FloatArray] = [np.ones(n_choice)]
    family_rows: dict[str, slice] = {}
    slack_cols: dict[str, tuple[IntArray, IntArray, FloatArray]] = {}

    next_row = n_units
    next_col = n_choice
    for k, c in enumerate(problem.constraints):
        n_r = c.n_rows
        v = problem.row_values(c)[unit, option]
        r = problem.row_index(c)[unit, option]
        keep = (r >= 0) & (v != 0.0)
        rows.append(r[keep] + next_row)
        cols.append(np.flatnonzero(keep).astype(np.int64))
        vals.append(v[keep])
        lo, up = _sense_bounds(c.sense, c.rhs_array())
        row_lower.append(lo)
        row_upper.append(up)
        row_family.append(np.full(n_r, k, dtype=np.int64))
        row_group.append(np.arange(n_r, dtype=np.int64))
        family_rows[c.name] = slice(next_row, next_row + n_r)
        if c.penalty is not None:
            # a shortfall slack moves the lhs towards feasibility
            signs_one = {"<=": [-1.0], ">=": [1.0], "==": [1.0, -1.0]}[c.sense]
            signs = np.repeat(np.asarray(signs_one), n_r)
            grp = np.tile(np.arange(n_r, dtype=np.int64), len(signs_one))
            scol = next_col + np.arange(signs.size, dtype=np.int64)
            rows.append(grp + next_row)
            cols.append(scol)
            vals.append(signs)
            pen = float(c.penalty)
            col_cost.append(np.full(signs.size, -pen if maximise else pen))
            col_upper.append(np.full(signs.size, INF))
            slack_cols[c.name] = (scol, grp, signs)
            next_col += signs.size
        next_row += n_r

    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(next_row, next_col),
    )
    a.sum_duplicates()
    a.sort_indices()
    return HighsMatrix(
        matrix=a,
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        col_cost=np.concatenate(col_cost),
        col_upper=np.concatenate(col_upper),
        maximise=maximise,
        n_choice_cols=n_choice,
        col_unit=unit,
        col_option=option,
        row_family=np.concatenate(row_family),
        row_group=np.concatenate(row_group),
        family_names=[c.name for c in problem.constraints],
        family_rows=family_rows,
        slack_cols=slack_cols,
    )


@dataclass
class LPRelaxation:
    """The LP relaxation of a choice problem as solved by HiGHS.

    Attributes:
        status: ``"optimal"``, ``"infeasible"`` or ``"error"``.
        objective: LP optimum (problem's own sense, penalties included).
        x: ``(n_units, n_options)`` relaxed choice values.
        row_duals: HiGHS row duals of every matrix row (∂objective/∂rhs).
        duals: constraint name → row duals of that family.
        slacks: elastic family name → shortfall per row.
        matrix: the matrix solved.
        seconds: solve time.
    """

    status: str
    objective: float
    x: FloatArray
    row_duals: FloatArray
    duals: dict[str, FloatArray]
    slacks: dict[str, FloatArray]
    matrix: HighsMatrix
    seconds: float

    @property
    def n_fractional(self) -> int:
        """Units whose relaxed choice is not 0/1."""
        frac = (self.x > 1e-7) & (self.x < 1 - 1e-7)
        return int(frac.any(axis=1).sum())


def solve_lp_relaxation(
    problem: ChoiceProblem,
    matrix: HighsMatrix | None = None,
    *,
    time_limit: float | None = None,
) -> LPRelaxation:
    """Solve the LP relaxation (0 ≤ x ≤ 1) with HiGHS simplex and return primal and duals.

    Row duals follow HiGHS' convention, which is the marginal change of the
    objective (in its own sense) per unit increase of the row's active bound,
    i.e. ∂objective/∂rhs — for both minimisation and maximisation.
    """
    m = matrix if matrix is not None else build_highs_matrix(problem)
    h = new_highs()
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.passModel(m.to_highs_lp(integer=False))
    t0 = time.perf_counter()
    run_interruptible(h)
    seconds = time.perf_counter() - t0
    ms = h.getModelStatus()
    shape = (problem.n_units, problem.n_options)
    if ms != highspy.HighsModelStatus.kOptimal:
        status = (
            "infeasible"
            if ms
            in (
                highspy.HighsModelStatus.kInfeasible,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            )
            else "error"
        )
        return LPRelaxation(
            status,
            float("nan"),
            np.full(shape, np.nan),
            np.full(m.n_rows, np.nan),
            {},
            {},
            m,
            seconds,
        )
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=float)
    y = np.asarray(sol.row_dual, dtype=float)
    duals = {name: y[s].copy() for name, s in m.family_rows.items()}
    return LPRelaxation(
        status="optimal",
        objective=float(h.getInfo().objective_function_value),
        x=m.x_matrix(x, *shape),
        row_duals=y,
        duals=duals,
        slacks=m.slacks_from_x(x),
        matrix=m,
        seconds=seconds,
    )


_STOPPED = {
    highspy.HighsModelStatus.kTimeLimit: "time limit reached",
    highspy.HighsModelStatus.kIterationLimit: "iteration limit reached",
    highspy.HighsModelStatus.kSolutionLimit: "solution limit reached",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    getattr(highspy.HighsModelStatus, "kHighsInterrupt", highspy.HighsModelStatus.kInterrupt): (
        "interrupted"
    ),
    highspy.HighsModelStatus.kObjectiveBound: "objective bound reached",
    highspy.HighsModelStatus.kObjectiveTarget: "objective target reached",
    highspy.HighsModelStatus.kMemoryLimit: "memory limit reached",
}


def empty_solution(problem: ChoiceProblem, status: str, method: str, message: str) -> Solution:
    """A solution without a plan (``choice`` all −1), e.g. infeasible or stopped early."""
    worst = -np.inf if problem.objective.sense == "max" else np.inf
    return Solution(
        choice=np.full(problem.n_units, -1, dtype=np.int64),
        objective=float("nan"),
        bound=float(worst) if status == "infeasible" else float("nan"),
        gap=float("nan"),
        status=status,
        method=method,
        message=message,
    )


def solve_highs(
    problem: ChoiceProblem,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-6,
    relax: bool = False,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    output: bool = False,
    progress_interval: float = 1.0,
) -> Solution:
    """Solve ``problem`` with HiGHS, passing the sparse matrix directly.

    Args:
        problem: the choice problem.
        time_limit: seconds; when hit, the best incumbent is returned with
            status ``"feasible"`` and its proven bound and gap (or
            ``"no_solution"`` when HiGHS found none).
        mip_gap: relative MIP gap at which HiGHS stops (HiGHS' ``mip_rel_gap``).
        relax: solve the LP relaxation instead. The returned ``choice`` is then
            the option with the largest relaxed value per unit (not necessarily
            feasible), ``objective`` and ``bound`` are the LP optimum, and
            ``duals`` are filled; ``message`` counts the fractional units.
        threads: HiGHS ``threads`` option (None keeps the HiGHS default).
            HiGHS shares one thread pool per process: a value different from
            the previous call's resets that pool, so do not change it while
            another HiGHS solve runs in a parallel thread.
        progress: called with :class:`ProgressEvent` at start (phase
            ``"start"``), on every improving MIP solution and every
            ``progress_interval`` seconds with HiGHS' current incumbent and
            bound (phase ``"mip"``), and at the end (phase ``"end"``, message =
            status).
        output: let HiGHS print its log (for debugging).
        progress_interval: seconds between periodic progress events.
    """
    method = "highs"
    t_start = time.perf_counter()

    def emit(
        phase: str, inc: float = float("nan"), bnd: float = float("nan"), msg: str = ""
    ) -> None:
        if progress is not None:
            g = relative_gap(inc, bnd) if np.isfinite(inc) and np.isfinite(bnd) else float("nan")
            progress(ProgressEvent(phase, time.perf_counter() - t_start, inc, bnd, g, msg))

    emit("start", msg=f"{problem.name}: {problem.n_units} units")
    t0 = time.perf_counter()
    m = build_highs_matrix(problem)
    t_build = time.perf_counter() - t0

    if relax:
        lp = solve_lp_relaxation(problem, m, time_limit=time_limit)
        timings = {"build": t_build, "solve": lp.seconds}
        lp_info = {"name": "highs", "version": highs_version(), "options": "relax=True"}
        if lp.status != "optimal":
            sol = empty_solution(problem, lp.status, method, f"LP relaxation: {lp.status}")
            sol.timings, sol.solver_info = timings, lp_info
            emit("end", msg=sol.status)
            return sol
        choice = np.argmax(np.where(problem.available, lp.x, -1.0), axis=1).astype(np.int64)
        sol = Solution(
            choice=choice,
            objective=lp.objective,
            bound=lp.objective,
            gap=0.0,
            status="optimal",
            method=method,
            duals=lp.duals,
            slacks=lp.slacks,
            timings=timings,
            solver_info=lp_info,
            message=(
                f"LP relaxation: {lp.n_fractional} fractional units; "
                "choice is the largest relaxed value per unit"
            ),
        )
        emit("end", lp.objective, lp.objective, "optimal")
        return sol

    h = new_highs(output=output)
    options: dict[str, float | int | bool] = {"mip_rel_gap": float(mip_gap)}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    if threads is not None:
        options["threads"] = int(threads)
        _use_threads(int(threads))
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.passModel(m.to_highs_lp(integer=True))

    if progress is not None:

        def on_improving(e: Any) -> None:
            d = e.data_out
            emit(
                "mip",
                float(d.objective_function_value),
                float(d.mip_dual_bound),
                "improving solution",
            )

        h.cbMipImprovingSolution.subscribe(on_improving)

        # HiGHS' MIP logging callback is silent with output off; the interrupt
        # check fires many times a second, so report its bounds, throttled.
        last = [time.perf_counter()]

        def on_tick(e: Any) -> None:
            now = time.perf_counter()
            if now - last[0] >= progress_interval:
                last[0] = now
                d = e.data_out
                inc, bnd = float(d.mip_primal_bound), float(d.mip_dual_bound)
                if np.isfinite(inc) or np.isfinite(bnd):
                    emit("mip", inc, bnd, f"{int(d.mip_node_count)} nodes")

        h.cbMipInterrupt.subscribe(on_tick)

    t0 = time.perf_counter()
    run_interruptible(h)
    t_solve = time.perf_counter() - t0
    timings = {"build": t_build, "solve": t_solve}
    solver_info = {
        "name": "highs",
        "version": highs_version(),
        "options": ", ".join(f"{k}={v}" for k, v in options.items()),
    }

    ms = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == highspy.kSolutionStatusFeasible
    if ms in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        sol = empty_solution(problem, "infeasible", method, h.modelStatusToString(ms))
    elif ms == highspy.HighsModelStatus.kModelEmpty:
        # no columns: only possible with zero units
        sol = Solution(np.zeros(0, dtype=np.int64), 0.0, 0.0, 0.0, "optimal", method)
    elif (ms == highspy.HighsModelStatus.kOptimal or ms in _STOPPED) and has_solution:
        x = np.asarray(h.getSolution().col_value, dtype=float)
        choice = m.choice_from_x(x, problem.n_units, problem.n_options)
        # elastic shortfalls are recomputed exactly from the plan (the minimal
        # ones, which an optimal solver picks anyway) rather than read back
        # with HiGHS' feasibility tolerance
        slacks = elastic_shortfalls(problem, choice)
        objective = plan_objective(problem, choice, slacks)
        bound = float(info.mip_dual_bound)
        # the bound never lies on the wrong side of the incumbent
        bound = max(bound, objective) if m.maximise else min(bound, objective)
        gap = relative_gap(objective, bound)
        if ms == highspy.HighsModelStatus.kOptimal:
            status, message = "optimal", f"optimal within mip_rel_gap={mip_gap:g}"
        else:
            status, message = "feasible", _STOPPED[ms]
        sol = Solution(
            choice=choice,
            objective=objective,
            bound=bound,
            gap=gap,
            status=status,
            method=method,
            slacks=slacks,
            message=message,
        )
    elif ms in _STOPPED:
        sol = empty_solution(problem, "no_solution", method, _STOPPED[ms] + " before any solution")
        bound = float(info.mip_dual_bound)
        sol.bound = bound if np.isfinite(bound) else float("nan")
    else:
        sol = empty_solution(problem, "error", method, f"HiGHS: {h.modelStatusToString(ms)}")
    sol.timings = timings
    sol.solver_info = solver_info
    emit("end", sol.objective, sol.bound, sol.status)
    return sol
