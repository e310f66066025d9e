"""One entry point for every solver of the choice problem.

``solve(problem, method=...)`` dispatches to

* ``"mip"``: HiGHS directly on the full MIP (:func:`sim.optimise.highs_backend.solve_highs`);
* ``"pyomo"``: the same MIP built through Pyomo (:func:`sim.optimise.pyomo_backend.solve_pyomo`);
* ``"decomposition"``: Lagrangian pricing with an exact core
  (:func:`sim.optimise.decomposition.solve_decomposition`); on problems in
  knapsack form with integer rows and at least 50 units (Khan I07) it gets
  15% of the time (:data:`EXCHANGE_MIP_SHARE`), and an exact-fill exchange search
  (:mod:`sim.optimise.exchange`) improves its plan in the rest;
* ``"auto"``: small instances (at most :data:`AUTO_EXACT_PAIRS` available
  unit-option pairs) are solved to *proven* optimality (gap ``1e-9``) by the
  decomposition's exact path: LP bound, a time-boxed full MIP for an
  incumbent, reduced-cost fixing and LP probing against it, then an exact
  MIP on what is left. This proves MMKP instances such as Khan I04 that a
  plain MIP needs minutes for. Larger instances go to the decomposition with
  ``gap_tol``; if its gap is not closed in the time limit the solution says
  so (status ``"feasible"`` and a message).

Every plan is then checked independently (:func:`sim.optimise.verify.check`,
which raises :class:`~sim.errors.VerificationError` on a wrong plan) and LP
prices and reduced-cost gaps are attached (:func:`sim.optimise.prices.attach_prices`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from sim.optimise.decomposition import solve_decomposition
from sim.optimise.exchange import IntegerRows, improve, knapsack_form, lp_prices
from sim.optimise.problem import (
    ChoiceProblem,
    IntArray,
    ProgressCallback,
    ProgressEvent,
    Solution,
    relative_gap,
)
from sim.optimise.verify import plan_objective

Method = Literal["auto", "mip", "pyomo", "decomposition"]
METHODS: tuple[str, ...] = ("auto", "mip", "pyomo", "decomposition")

#: ``auto`` proves optimality up to this many available (unit, option) pairs.
#: Measured on 2 (shared) cores: MMKP up to 30 × 10 (Khan I05/I06, HH 30-group)
#: is proven in under a second, a policy-like instance of 1000 units × 7 options
#: (≈6000 pairs, 91 rows) in ≈10 s; at 10^4 × 7 the plain MIP no longer closes
#: a 1e-4 gap in 60 s while the decomposition reaches 5e-6 in ≈3–12 s, so
#: larger instances go to the decomposition with ``gap_tol``.
AUTO_EXACT_PAIRS = 20_000
#: time limit used when ``time_limit`` is None (seconds).
DEFAULT_TIME_LIMIT = {"auto": 600.0, "decomposition": 60.0}
#: gap at which ``auto`` calls a small instance proven.
EXACT_GAP = 1e-9
#: plain MIPs (``mip``, ``pyomo``) with at least this many available pairs run
#: under a hard deadline in a child process (the city model at 10^4 firms has
#: 3·10^4 pairs and HiGHS keeps its limits there; at 10^5, 3.2·10^5 and it does not)
DEADLINE_PAIRS = 100_000
#: on problems in knapsack form with integer rows (:func:`sim.optimise.exchange.knapsack_form`,
#: e.g. Khan I07) the decomposition gets this share of the time limit and the
#: exact-fill exchange search the rest: on I07 HiGHS has 24,584–24,587 by 10 s
#: and gains nothing more in 60 s
EXCHANGE_MIP_SHARE = 0.15


def _solve_plain_mip(
    problem: ChoiceProblem,
    method: str,
    time_limit: float | None,
    gap_tol: float,
    progress: ProgressCallback | None,
) -> Solution:
    """The plain MIP through highspy (``mip``) or Pyomo (``pyomo``).

    Models with at least :data:`DEADLINE_PAIRS` pairs and a time limit run
    in a child process stopped :func:`deadline_grace` seconds after the limit
    (:mod:`sim.optimise.deadline`): HiGHS does not check its clock inside some
    root-node work, and overran a 180 s limit by more than 15 minutes on the
    city model at 10^5 firms.
    """
    from sim.optimise.highs_backend import empty_solution, solve_highs

    kwargs: dict[str, Any] = {"time_limit": time_limit, "mip_gap": gap_tol}
    target: Callable[..., Solution] = solve_highs
    if method == "pyomo":  # Pyomo takes a second to import: only when asked for
        from sim.optimise.pyomo_backend import solve_pyomo

        target = solve_pyomo
    if time_limit is None or available_pairs(problem) < DEADLINE_PAIRS:
        if method == "mip":
            kwargs["progress"] = progress
        return target(problem, **kwargs)
    from sim.optimise.deadline import DeadlineExceeded, run_with_deadline

    seconds = time_limit + deadline_grace(time_limit)
    try:
        sol: Solution = run_with_deadline(
            _solve_recording_peak, (target, problem), kwargs, seconds,
            progress if method == "mip" else None,
        )
    except DeadlineExceeded:
        return empty_solution(
            problem, "no_solution", "highs" if method == "mip" else "pyomo",
            f"HiGHS overran its {time_limit:g} s time limit and was stopped after {seconds:g} s "
            "without a plan (its root-node work does not check the clock on models this "
            "large); use method 'auto' or 'decomposition'",
        )
    return sol


def _solve_recording_peak(
    target: Callable[..., Solution], problem: ChoiceProblem, **kwargs: Any
) -> Solution:
    """``target(problem, **kwargs)`` in the deadline child, its peak memory recorded
    in ``solver_info["child_peak_mb"]`` (MB; see :func:`~sim.optimise.deadline.peak_rss_mb`)."""
    from sim.optimise.deadline import peak_rss_mb

    sol = target(problem, **kwargs)
    sol.solver_info["child_peak_mb"] = f"{peak_rss_mb():.1f}"
    return sol


def _improve_by_exchange(
    sol: Solution,
    problem: ChoiceProblem,
    rows: IntegerRows,
    gap_tol: float,
    deadline: float,
    seed: int,
    progress: ProgressCallback | None,
) -> None:
    """Spend the time the decomposition left on exact-fill exchanges (:mod:`sim.optimise.exchange`).

    Only when the decomposition returned a plan without closing the gap; the
    bound stays the decomposition's. ``rows`` is ``problem`` in knapsack form.
    Updates ``sol`` in place.
    """
    if sol.status != "feasible" and not (sol.status == "optimal" and sol.gap > gap_tol):
        return
    if time.perf_counter() >= deadline:
        return
    lp_bound, price = lp_prices(rows)
    t_start = time.perf_counter()

    def on_gain(plan: IntArray) -> None:
        if progress is not None:
            value = plan_objective(problem, plan)
            progress(ProgressEvent("exchange", time.perf_counter() - t_start, value, sol.bound,
                                   relative_gap(value, sol.bound)))

    plan, stats = improve(rows, np.asarray(sol.choice, dtype=np.int64), price,
                          lp_bound, deadline, np.random.default_rng(seed), on_gain)
    partial = f" ({stats.partial} with a table too small for their half)" if stats.partial else ""
    sol.solver_info["exchange"] = (f"{stats.gains} better plans in {stats.tries} tries{partial}, "
                                   f"{stats.seconds:.1f} s")
    sol.timings["exchange"] = stats.seconds
    if stats.gains:
        sol.choice = plan
        sol.objective = plan_objective(problem, plan)
        sol.gap = relative_gap(sol.objective, sol.bound)
        sol.status = "optimal" if sol.gap <= gap_tol else "feasible"


def deadline_grace(time_limit: float) -> float:
    """Seconds a plain MIP may run past its time limit (start-up, final LP, output)."""
    return max(30.0, 0.25 * time_limit)


def available_pairs(problem: ChoiceProblem) -> int:
    """Number of available (unit, option) pairs."""
    return int(problem.available.sum())


def solve(
    problem: ChoiceProblem,
    *,
    method: Method | str = "auto",
    time_limit: float | None = None,
    gap_tol: float = 1e-4,
    progress: ProgressCallback | None = None,
    seed: int = 0,
    check: bool = True,
    prices: bool = True,
) -> Solution:
    """Solve a choice problem with the chosen method, then verify and price it.

    Args:
        problem: the choice problem.
        method: ``"auto"``, ``"mip"``, ``"pyomo"`` or ``"decomposition"``.
        time_limit: wall-clock seconds (``None``: no limit for ``mip``/``pyomo``,
            :data:`DEFAULT_TIME_LIMIT` otherwise).
        gap_tol: relative gap at which to stop (``auto`` uses ``1e-9`` on small
            instances so that they are proven optimal).
        progress: optional callback for :class:`~sim.optimise.problem.ProgressEvent` s.
        seed: seed of the decomposition's sampling.
        check: run :func:`sim.optimise.verify.check` on the plan (raises on a wrong plan).
        prices: attach LP duals and reduced-cost gaps.

    Returns:
        The :class:`Solution`; ``solver_info["method_requested"]`` records the
        request and ``solver_info["verification"]`` the check's summary.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    t0 = time.perf_counter()
    pairs = available_pairs(problem)
    if method in ("mip", "pyomo"):
        sol = _solve_plain_mip(problem, str(method), time_limit, gap_tol, progress)
    else:
        limit = time_limit if time_limit is not None else DEFAULT_TIME_LIMIT[str(method)]
        small = method == "auto" and pairs <= AUTO_EXACT_PAIRS
        target = min(gap_tol, EXACT_GAP) if small else gap_tol
        rows = knapsack_form(problem)
        sol = solve_decomposition(
            problem,
            time_limit=limit * (EXCHANGE_MIP_SHARE if rows is not None else 1.0),
            gap_tol=target,
            progress=progress,
            seed=seed,
        )
        if rows is not None:
            _improve_by_exchange(sol, problem, rows, target, t0 + limit, seed, progress)
    if method == "auto":
        sol.solver_info["auto_path"] = "exact" if small else "decomposition"
        if sol.status == "feasible" or (sol.status == "optimal" and sol.gap > target):
            sol.status = "feasible" if sol.gap > gap_tol else sol.status
            what = "optimality not proven" if small else f"gap {sol.gap:.3g} > {gap_tol:g}"
            sol.message = (sol.message + "; " if sol.message else "") + (
                f"auto: {what} within {limit:g} s ({pairs} pairs)"
            )
    sol.solver_info["method_requested"] = str(method)
    if check and sol.status in ("optimal", "feasible"):
        from sim.optimise.verify import check as verify_check

        report = verify_check(problem, sol)
        sol.solver_info["verification"] = report.summary()
    if prices and sol.status in ("optimal", "feasible"):
        from sim.optimise.prices import attach_prices

        if not sol.duals or any(not np.all(np.isfinite(v)) for v in sol.duals.values()):
            sol.duals = {}
        attach_prices(problem, sol)
    sol.timings["wall"] = time.perf_counter() - t0
    return sol
