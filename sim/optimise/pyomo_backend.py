"""Pyomo reference model of the choice problem.

The readable statement of the model, and the path to any solver Pyomo
supports. It is slow to build at 10^5 units (Pyomo creates one Python object
per variable and term); use :mod:`sim.optimise.highs_backend` for speed.

Model::

    x[i, o] ∈ {0, 1}                          for available (i, o) only
    Σ_o x[i, o] = 1                            for every unit i          (one)
    Σ_{(i,o) in row r} a[r, i, o] x[i, o]  (≤|≥|=)  rhs[r]  (± slack)   (row[k, g])
    sense  Σ c[i, o] x[i, o]  ∓  Σ penalty_k · slack[k, g]

Elastic rows (``Constraint.penalty``) get a non-negative shortfall slack that
relaxes the row in its violated direction (``≤``: lhs − s ≤ rhs; ``≥``:
lhs + s ≥ rhs; ``==``: two slacks, lhs + s⁺ − s⁻ = rhs).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.version import version as pyomo_version

from sim.optimise.highs_backend import check_groups, new_highs
from sim.optimise.problem import ChoiceProblem, FloatArray, IntArray, Solution, relative_gap
from sim.optimise.verify import elastic_shortfalls, plan_objective


def build_pyomo_model(problem: ChoiceProblem) -> pyo.ConcreteModel:
    """Build the Pyomo ``ConcreteModel`` of ``problem`` from its numpy arrays.

    Components: sets ``PAIRS`` (available (unit, option)), ``UNITS``, ``ROWS``
    ((family index, group)), ``ELASTIC`` ((family, group, direction)); params
    ``cost``, ``rhs``; variables ``x`` (binary) and ``slack`` (≥ 0);
    constraints ``one`` and ``row``; objective ``obj``.
    """
    check_groups(problem)
    unit, option = np.nonzero(problem.available)
    pairs = list(zip(unit.tolist(), option.tolist(), strict=True))
    cost = problem.objective_values()[unit, option]
    maximise = problem.objective.sense == "max"

    # options of every unit (for the one-choice rows)
    options_of: dict[int, list[int]] = {i: [] for i in range(problem.n_units)}
    for i, o in pairs:
        options_of[i].append(o)

    # terms of every (family, group) row, from the numpy arrays
    terms: dict[tuple[int, int], list[tuple[int, int, float]]] = {}
    rhs: dict[tuple[int, int], float] = {}
    sense: dict[int, str] = {}
    elastic: list[tuple[int, int, str]] = []
    penalty: dict[int, float] = {}
    for k, c in enumerate(problem.constraints):
        sense[k] = c.sense
        for g, b in enumerate(c.rhs_array().tolist()):
            terms[(k, g)] = []
            rhs[(k, g)] = b
            if c.penalty is not None:
                penalty[k] = float(c.penalty)
                directions = {"<=": ["down"], ">=": ["up"], "==": ["up", "down"]}[c.sense]
                elastic.extend((k, g, d) for d in directions)
        v = problem.row_values(c)[unit, option]
        r = problem.row_index(c)[unit, option]
        keep = np.flatnonzero((r >= 0) & (v != 0.0))
        for j, g, a in zip(keep.tolist(), r[keep].tolist(), v[keep].tolist(), strict=True):
            terms[(k, g)].append((pairs[j][0], pairs[j][1], a))

    m = pyo.ConcreteModel(name=problem.name)
    m.UNITS = pyo.Set(initialize=range(problem.n_units), ordered=True)
    m.PAIRS = pyo.Set(initialize=pairs, dimen=2, ordered=True)
    m.ROWS = pyo.Set(initialize=list(terms), dimen=2, ordered=True)
    m.ELASTIC = pyo.Set(initialize=elastic, dimen=3, ordered=True)
    m.cost = pyo.Param(m.PAIRS, initialize=dict(zip(pairs, cost.tolist(), strict=True)))
    m.rhs = pyo.Param(m.ROWS, initialize=rhs)
    m.x = pyo.Var(m.PAIRS, domain=pyo.Binary)
    m.slack = pyo.Var(m.ELASTIC, domain=pyo.NonNegativeReals)

    def one_rule(mdl: Any, i: int) -> Any:
        return pyo.quicksum(mdl.x[i, o] for o in options_of[i]) == 1

    m.one = pyo.Constraint(m.UNITS, rule=one_rule)

    def row_rule(mdl: Any, k: int, g: int) -> Any:
        lhs = pyo.quicksum(a * mdl.x[i, o] for i, o, a in terms[(k, g)])
        if k in penalty:
            if sense[k] in ("==", ">="):
                lhs = lhs + mdl.slack[k, g, "up"]
            if sense[k] in ("==", "<="):
                lhs = lhs - mdl.slack[k, g, "down"]
        if isinstance(lhs, (int, float)):  # empty hard row: a constant, no variables
            b = rhs[(k, g)]
            ok = {"<=": lhs <= b, ">=": lhs >= b, "==": lhs == b}[sense[k]]
            return pyo.Constraint.Feasible if ok else pyo.Constraint.Infeasible
        if sense[k] == "<=":
            return lhs <= mdl.rhs[k, g]
        if sense[k] == ">=":
            return lhs >= mdl.rhs[k, g]
        return lhs == mdl.rhs[k, g]

    m.row = pyo.Constraint(m.ROWS, rule=row_rule)

    sign = -1.0 if maximise else 1.0
    m.obj = pyo.Objective(
        expr=pyo.quicksum(m.cost[p] * m.x[p] for p in m.PAIRS)
        + sign * pyo.quicksum(penalty[k] * m.slack[k, g, d] for k, g, d in m.ELASTIC),
        sense=pyo.maximize if maximise else pyo.minimize,
    )
    return m


def _extract(
    problem: ChoiceProblem, m: pyo.ConcreteModel
) -> tuple[IntArray, dict[str, FloatArray]]:
    xm = np.full((problem.n_units, problem.n_options), -1.0)
    idx = np.array(list(m.PAIRS), dtype=np.int64).reshape(-1, 2)
    vals = np.array([pyo.value(m.x[p], exception=False) or 0.0 for p in m.PAIRS], dtype=float)
    xm[idx[:, 0], idx[:, 1]] = vals
    choice = np.argmax(xm, axis=1).astype(np.int64)
    slacks: dict[str, FloatArray] = {}
    for k, c in enumerate(problem.constraints):
        if c.penalty is not None:
            s = np.zeros(c.n_rows)
            for kk, g, d in m.ELASTIC:
                if kk == k:
                    s[g] += max(0.0, pyo.value(m.slack[kk, g, d], exception=False) or 0.0)
            slacks[c.name] = s
    return choice, slacks


def solve_pyomo(
    problem: ChoiceProblem,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-6,
    solver: str = "highs",
    tee: bool = False,
) -> Solution:
    """Build the Pyomo model and solve it (HiGHS by default).

    ``solver="highs"`` uses Pyomo's ``pyomo.contrib.solver`` HiGHS interface
    (highspy); any other name goes through the legacy ``pyo.SolverFactory``
    (e.g. ``"cbc"``, ``"glpk"``, ``"appsi_highs"``) with best-effort options.
    Statuses as in :func:`sim.optimise.highs_backend.solve_highs`.
    """
    t0 = time.perf_counter()
    maximise = problem.objective.sense == "max"
    try:
        m = build_pyomo_model(problem)
    except ValueError as exc:
        # Pyomo refuses a trivially infeasible constant row at construction
        if "infeasible" not in str(exc).lower():
            raise
        sol = Solution(
            np.full(problem.n_units, -1, dtype=np.int64),
            float("nan"),
            -np.inf if maximise else np.inf,
            float("nan"),
            "infeasible",
            "pyomo",
            message=f"trivially infeasible row: {exc}",
        )
        sol.timings = {"build": time.perf_counter() - t0, "solve": 0.0}
        return sol
    t_build = time.perf_counter() - t0

    if solver == "highs":
        return _solve_contrib_highs(problem, m, t_build, time_limit, mip_gap, tee)
    return _solve_legacy(problem, m, t_build, solver, time_limit, mip_gap, tee)


def _finish(
    problem: ChoiceProblem,
    m: pyo.ConcreteModel,
    status: str,
    bound: float,
    message: str,
    timings: dict[str, float],
    info: dict[str, str],
) -> Solution:
    maximise = problem.objective.sense == "max"
    if status in ("optimal", "feasible"):
        choice, _solver_slacks = _extract(problem, m)
        slacks = elastic_shortfalls(problem, choice)  # exact, from the plan
        objective = plan_objective(problem, choice, slacks)
        if not np.isfinite(bound):
            bound = float("nan")
        else:
            bound = max(bound, objective) if maximise else min(bound, objective)
        gap = relative_gap(objective, bound) if np.isfinite(bound) else float("nan")
        sol = Solution(
            choice, objective, bound, gap, status, "pyomo", slacks=slacks, message=message
        )
    else:
        worst = -np.inf if maximise else np.inf
        sol = Solution(
            np.full(problem.n_units, -1, dtype=np.int64),
            float("nan"),
            float(worst) if status == "infeasible" else float("nan"),
            float("nan"),
            status,
            "pyomo",
            message=message,
        )
    sol.timings = timings
    sol.solver_info = info
    return sol


def _solve_contrib_highs(
    problem: ChoiceProblem,
    m: pyo.ConcreteModel,
    t_build: float,
    time_limit: float | None,
    mip_gap: float,
    tee: bool,
) -> Solution:
    from pyomo.contrib.solver.common.factory import SolverFactory
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    new_highs()  # swallow the HiGHS banner once per process
    opt = SolverFactory("highs")
    kwargs: dict[str, Any] = {
        "tee": tee,
        "rel_gap": mip_gap,
        "load_solutions": False,
        "raise_exception_on_nonoptimal_result": False,
    }
    if time_limit is not None:
        kwargs["time_limit"] = float(time_limit)
    t0 = time.perf_counter()
    res = opt.solve(m, **kwargs)
    t_solve = time.perf_counter() - t0

    tc = res.termination_condition
    has_solution = res.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
    if tc == TerminationCondition.convergenceCriteriaSatisfied and has_solution:
        status = "optimal"
    elif tc in (
        TerminationCondition.provenInfeasible,
        TerminationCondition.locallyInfeasible,
        TerminationCondition.infeasibleOrUnbounded,
    ):
        status = "infeasible"
    elif tc in (
        TerminationCondition.maxTimeLimit,
        TerminationCondition.iterationLimit,
        TerminationCondition.interrupted,
        TerminationCondition.objectiveLimit,
        TerminationCondition.minStepLength,
    ):
        status = "feasible" if has_solution else "no_solution"
    else:
        status = "error"
    if status in ("optimal", "feasible"):
        res.solution_loader.load_vars()
    bound = res.objective_bound
    version = ".".join(str(v) for v in (opt.version() or ()))
    info = {
        "name": "pyomo+highs",
        "version": f"pyomo {pyomo_version}, highs {version}",
        "options": f"rel_gap={mip_gap:g}" + (f", time_limit={time_limit:g}" if time_limit else ""),
    }
    return _finish(
        problem,
        m,
        status,
        float(bound) if bound is not None else float("nan"),
        str(tc.name),
        {"build": t_build, "solve": t_solve},
        info,
    )


def _solve_legacy(
    problem: ChoiceProblem,
    m: pyo.ConcreteModel,
    t_build: float,
    solver: str,
    time_limit: float | None,
    mip_gap: float,
    tee: bool,
) -> Solution:
    opt = pyo.SolverFactory(solver)
    options: dict[str, Any] = {}
    if solver in ("appsi_highs", "cbc", "glpk", "gurobi", "cplex"):
        if solver == "appsi_highs":
            options = {"mip_rel_gap": mip_gap}
            if time_limit is not None:
                options["time_limit"] = float(time_limit)
        elif solver == "cbc":
            options = {"ratioGap": mip_gap}
            if time_limit is not None:
                options["seconds"] = float(time_limit)
    t0 = time.perf_counter()
    res = opt.solve(m, tee=tee, options=options, load_solutions=False)
    t_solve = time.perf_counter() - t0
    tc = res.solver.termination_condition
    tcs = pyo.TerminationCondition
    n_sol = len(res.solution) if hasattr(res, "solution") else 0
    if tc == tcs.optimal:
        status = "optimal"
    elif tc in (tcs.infeasible, tcs.infeasibleOrUnbounded):
        status = "infeasible"
    elif tc in (tcs.maxTimeLimit, tcs.maxIterations, tcs.userInterrupt):
        status = "feasible" if n_sol else "no_solution"
    else:
        status = "error"
    if status in ("optimal", "feasible"):
        m.solutions.load_from(res)
    maximise = problem.objective.sense == "max"
    bound_raw = res.problem.upper_bound if maximise else res.problem.lower_bound
    try:
        bound = float(bound_raw)
    except (TypeError, ValueError):
        bound = float("nan")
    info = {
        "name": f"pyomo+{solver}",
        "version": f"pyomo {pyomo_version}",
        "options": ", ".join(f"{k}={v}" for k, v in options.items()),
    }
    return _finish(problem, m, status, bound, str(tc), {"build": t_build, "solve": t_solve}, info)
