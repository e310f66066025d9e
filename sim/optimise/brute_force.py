"""Exhaustive enumeration of tiny choice problems: the independent oracle in tests.

Every combination of available options is enumerated at once as an index
array; the left-hand sides of all rows are accumulated with numpy for all
combinations together. No solver, no LP: nothing shared with the MIP backends
except :class:`ChoiceProblem` itself.
"""

from __future__ import annotations

import time

import numpy as np

from sim.optimise.problem import ChoiceProblem, FloatArray, IntArray, Solution

MAX_UNITS = 8
MAX_COMBINATIONS = 2_000_000


def _combinations(problem: ChoiceProblem) -> IntArray:
    """All plans as ``(n_combinations, n_units)`` option indices."""
    avail = problem.available
    options = [np.flatnonzero(avail[i]) for i in range(problem.n_units)]
    if not options:
        return np.zeros((1, 0), dtype=np.int64)
    grids = np.meshgrid(*options, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)


def brute_force(problem: ChoiceProblem, *, tol: float = 1e-9) -> Solution:
    """Enumerate every plan of a tiny problem and return the best feasible one.

    Refuses (``ValueError``) above ``MAX_UNITS`` units or ``MAX_COMBINATIONS``
    plans. Elastic rows cost ``penalty`` per unit of shortfall. Ties keep the
    first plan in enumeration order. Status is ``"optimal"`` or ``"infeasible"``.
    """
    t0 = time.perf_counter()
    n = problem.n_units
    counts = problem.available.sum(axis=1)
    n_comb = int(np.prod(counts.astype(float)))
    if n > MAX_UNITS or n_comb > MAX_COMBINATIONS:
        raise ValueError(
            f"brute_force is for tiny problems (≤ {MAX_UNITS} units and ≤ "
            f"{MAX_COMBINATIONS:,} plans); this one has {n} units and {n_comb:,} plans"
        )
    plans = _combinations(problem)
    k = plans.shape[0]
    units = np.arange(n)
    maximise = problem.objective.sense == "max"
    sign = -1.0 if maximise else 1.0

    objective: FloatArray = problem.objective_values()[units, plans].sum(axis=1)
    feasible = np.ones(k, dtype=bool)
    shortfalls: dict[str, FloatArray] = {}
    plan_idx = np.broadcast_to(np.arange(k)[:, None], plans.shape)
    for c in problem.constraints:
        vals = problem.row_values(c)[units, plans]
        rows = problem.row_index(c)[units, plans]
        inside = rows >= 0
        lhs = np.zeros((k, c.n_rows))
        np.add.at(lhs, (plan_idx[inside], rows[inside]), vals[inside])
        rhs = c.rhs_array()
        if c.sense == "<=":
            short = np.maximum(lhs - rhs, 0.0)
        elif c.sense == ">=":
            short = np.maximum(rhs - lhs, 0.0)
        else:
            short = np.abs(lhs - rhs)
        if c.penalty is None:
            feasible &= (short <= tol * np.maximum(1.0, np.abs(rhs))).all(axis=1)
        else:
            objective = objective + sign * float(c.penalty) * short.sum(axis=1)
            shortfalls[c.name] = short

    elapsed = time.perf_counter() - t0
    if not feasible.any():
        return Solution(
            choice=np.full(n, -1, dtype=np.int64),
            objective=float("nan"),
            bound=-np.inf if maximise else np.inf,
            gap=float("nan"),
            status="infeasible",
            method="brute_force",
            timings={"solve": elapsed},
            message=f"none of {k} plans is feasible",
        )
    score = np.where(feasible, objective, -np.inf if maximise else np.inf)
    best = int(np.argmax(score) if maximise else np.argmin(score))
    return Solution(
        choice=plans[best].copy(),
        objective=float(objective[best]),
        bound=float(objective[best]),
        gap=0.0,
        status="optimal",
        method="brute_force",
        slacks={name: s[best].copy() for name, s in shortfalls.items()},
        timings={"solve": elapsed},
        solver_info={"name": "brute_force", "version": "1", "options": f"tol={tol:g}"},
        message=f"best of {int(feasible.sum())} feasible plans out of {k}",
    )
