"""Price-directed (Lagrangian) decomposition with an exact core, for huge choice problems.

The choice problem (``sim.optimise.problem``) has many units and few coupling
rows. Its Lagrangian dual ``L(λ)`` (:mod:`sim.optimise.lagrangian`) bounds the
optimum from above for every admissible λ, and ``min_λ L(λ)`` equals the LP
relaxation's optimum. This module is the driver; the parts live in

* :mod:`sim.optimise.lagrangian`: the compiled model, ``L(λ)``, reduced costs;
* :mod:`sim.optimise.price_search`: stage 1, the prices (the LP relaxation);
* :mod:`sim.optimise.core`: LPs and MIPs over a few units, the rest fixed;
* :mod:`sim.optimise.repair`: greedy repair and single-move descent of a plan;
* :mod:`sim.optimise.neighbourhoods`: which units each neighbourhood MIP frees.

The solver works in stages, none of which loops over units in Python:

0. **Quick plan** (large problems with a ``quick_options`` hint and at least
   :data:`QUICK_MIN_SECONDS` to spend only). Solve the restriction first,
   e.g. every action in the first year, whose prices converge like an
   unphased model, to 1% gap; then re-optimise the years of each chosen
   action (:func:`_retime`). This is the first incumbent of the whole
   problem; the stages below still give its bound.
1. **Prices** (:func:`~sim.optimise.price_search.solve_lp`). Solve the LP
   relaxation on a random sample of units (right-hand sides scaled to the
   sample) for starting prices, then *sift*: price every unit, keep the
   units whose best option is not clear (small reduced-cost margin) in a core
   LP, fix all others at their best option (their activity moves to the
   right-hand side), solve the core LP with HiGHS, take its row duals as the
   new prices and add every fixed unit whose fixed option is no longer a best
   response. When no such unit is left, the core LP solution plus the fixed
   units is an optimal solution of the *full* LP relaxation and ``L(λ)``
   equals its value. A search stopped short, to leave time for the plan,
   ends with the prices of the capacity-like rows (parks, acquirers) made
   jointly exact by one small LP over those rows
   (:func:`~sim.optimise.capacity_prices.block_descent`), for a tighter bound.
2. **Incumbent.** Round the LP (the LP has at most as many fractional units as
   coupling rows) and solve a small exact MIP over the most ambiguous units
   with the rest fixed; this gives a feasible plan early. While there is no
   plan, the plan of a sifting step is also repaired greedily and improved
   by single moves (:func:`~sim.optimise.repair.repair_plan`,
   :func:`~sim.optimise.repair.improve_plan`): on the largest problems the
   prices are still far off and the MIP, with every other unit fixed, is
   infeasible. So is the rounded LP once the LP is solved (it breaks only a
   few rows). Once there is a plan, a price search that has stalled stops
   (:func:`~sim.optimise.price_search.stalled`), so the time goes to the
   plan. A repaired plan far above the bound (:data:`RECREATE_GAP`) first
   gets ruin-and-recreate rounds (:func:`~sim.optimise.repair.recreate_plan`):
   the descent's local optimum varies widely with the prices it started from.
3. **Certificate.** With incumbent value ``z`` and bound ``L``, an option whose
   reduced-cost disadvantage against the unit's best option exceeds
   ``L − z`` cannot be part of any plan better than ``z`` (reduced-cost
   fixing). Units left with one option are fixed; the remaining *free* units
   go to an exact HiGHS MIP (warm-started with the incumbent). When that MIP is
   solved, the incumbent is proven optimal for the whole problem. While too
   many pairs are free for an exact MIP, a large-neighbourhood search improves
   the incumbent instead (:mod:`sim.optimise.neighbourhoods`): MIPs over the
   fractional units and units drawn by their reduced-cost loss, each open to
   its near-best options only; and row-related MIPs, over a losing unit and
   its rivals in its rows or, every other time, across a row that the plan
   over-fills at a price, narrowed by their LP to the units where LP and
   plan differ. Every better incumbent tightens the fixing, until the exact
   MIP fits, the gap closes or the time limit is hit. On mid-sized problems
   with time to spare, HiGHS' branch and bound on the whole problem runs
   meanwhile in a child process (the second core), and its dual bound,
   tighter than the LP's thanks to its cuts, is taken when it answers
   (:class:`~sim.optimise.core.WholeInChild`).

The returned :class:`~sim.optimise.problem.Solution` always carries the
honest bound and gap.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from sim.optimise.core import (
    CoreResult,
    LaneMip,
    WholeInChild,
    chosen_options,
    close_lane,
    fixed_except,
    probe,
    solve_core,
    submit_lane_mip,
)
from sim.optimise.lagrangian import LagrangianModel
from sim.optimise.mip_worker import MipWorker, active_worker, guarded_mips
from sim.optimise.neighbourhoods import Draw, Schedule
from sim.optimise.price_search import background_lp, solve_lp
from sim.optimise.problem import (
    ChoiceProblem,
    FloatArray,
    IntArray,
    ProgressCallback,
    ProgressEvent,
    Solution,
    relative_gap,
    restrict_options,
)
from sim.optimise.repair import improve_plan, recreate_plan, repair_plan

__all__ = ["DecompositionStats", "solve_decomposition"]

#: problems with at least this many available pairs first solve their
#: ``quick_options`` restriction, for a plan early: the phased city model at
#: 10^6 firms (3.4e6 pairs) had no plan within 180 s without it, and its
#: one-year restriction is priced like the unphased model.
QUICK_PAIRS = 1_000_000
#: share of the time limit the restriction may take, and the gap at which it
#: stops: its plan is a start, the rest of the time goes to the whole problem
QUICK_SHARE = 0.6
QUICK_GAP = 0.01
#: shorter solves skip the quick plan: the whole problem's price search then
#: has too little time left for a useful bound. At 10^6 phased city firms and
#: 60 s the gap was 98% with the quick plan and 7.3% without (a repaired first
#: plan, :mod:`sim.optimise.repair`); at 180 s 1.7% with it and 5.3% without
#: (the latter measured before the single-move descent).
QUICK_MIN_SECONDS = 120.0
#: share of the time left that re-optimising the quick plan's action variants
#: may take, and how many units besides the LP-fractional ones its MIP frees
QUICK_RETIME_SHARE = 0.5
RETIME_EXTRA = 2_000
#: a greedy repair of a plan that breaks rows (no plan yet) takes at most this
#: share of the time left, and at most REPAIR_CAP seconds
REPAIR_SHARE = 0.3
REPAIR_CAP = 20.0
#: from this many units on, the repair starts at the first sifting step
#: instead of the third (the steps take seconds each)
REPAIR_EARLY_UNITS = 50_000
#: on such problems, when the price search stopped short and the repaired
#: plan lies more than RECREATE_GAP above the bound, ruin-and-recreate rounds
#: (:func:`~sim.optimise.repair.recreate_plan`: RECREATE_MOVES units at their
#: best option, repaired, improved) run while it still does, within
#: RECREATE_SHARE of the time left. At 10^6 phased city firms (60 s, solver
#: seeds 0-7) the repaired plans lay 1.2-6.4% above the bound and a round's
#: better plans 2.5-3.8%: from plans more than 3% above it 8 of 17 rounds
#: found a better one (0.27-0.67 million 万元 each), from plans within 3% 3
#: of 13 (29,000-91,000, what a neighbourhood MIP gains in the same 4-6 s)
#: (benchmarks/results/recreate-1e6/)
RECREATE = True
RECREATE_MOVES = 500
RECREATE_SHARE = 0.4
RECREATE_GAP = 0.03
#: from this many available (unit, option) pairs on, the MIPs run in a child
#: process stopped when HiGHS overruns its limit (:mod:`sim.optimise.mip_worker`):
#: a neighbourhood MIP of the city model at 10^6 firms with a 2.6 s limit ran
#: 136 s. Smaller problems (the city model at 10^4 firms has 3·10^4 pairs)
#: keep their MIPs in process, without the child's start-up.
GUARD_PAIRS = 100_000
#: with the MIPs in a worker process, solve a second neighbourhood (disjoint
#: units) in a second worker beside each one, unless the whole MIP's child
#: will use the second core
SECOND_LANE = True
#: problems with at most this many available pairs run HiGHS' branch and bound
#: on the whole problem in a child process while the neighbourhood search
#: improves the plan (:class:`~sim.optimise.core.WholeInChild`), for the bound its cuts give.
#: Only when the time left is at least BOUND_MIP_SECONDS_PER_PAIR per pair:
#: alone, HiGHS' root bound of the city model took 127 s at 10^5 firms
#: (317k pairs) and under 45 s for its unphased variant (115k pairs).
BOUND_MIP_PAIRS = 400_000
#: ... and at least this many: smaller ones go to the exact MIP once there
#: is a plan, and a child's start-up (~1 s) is not worth it before
BOUND_MIP_MIN_PAIRS = 100_000
BOUND_MIP_SECONDS_PER_PAIR = 1e-3
#: the child's own time limit is this share of the time left, so that it
#: answers with its bound even when HiGHS overruns its clock in root-node work;
#: after the deadline it gets BOUND_MIP_WAIT seconds more before it is stopped
#: (and its bound lost)
BOUND_MIP_TIME_SHARE = 0.85
BOUND_MIP_WAIT = 2.0
#: HiGHS options of that MIP: the neighbourhood search makes the plans
BOUND_MIP_OPTIONS: dict[str, int | float | str] = {"mip_heuristic_effort": 0.0}


@dataclass
class DecompositionStats:
    """Diagnostics of one run (returned inside ``Solution.solver_info``)."""

    sift_iterations: int = 0
    lp_core_units: int = 0
    lp_value: float = float("nan")
    mip_solves: int = 0
    free_units: int = -1
    free_pairs: int = -1
    events: list[str] = field(default_factory=list)



def solve_decomposition(
    problem: ChoiceProblem,
    *,
    time_limit: float = 60.0,
    gap_tol: float = 1e-4,
    progress: ProgressCallback | None = None,
    seed: int = 0,
    core_size: int | None = None,
    exact_pairs: int = 100_000,
    probe_pairs: int = 4_000,
    guard_mips: bool | None = None,
) -> Solution:
    """Solve a choice problem by Lagrangian pricing with an exact core.

    Args:
        problem: the choice problem.
        time_limit: wall-clock seconds for the whole solve (compile included).
        gap_tol: stop when ``relative_gap(incumbent, bound) ≤ gap_tol``.
        progress: optional callback receiving :class:`ProgressEvent` s.
        seed: seed of the unit sample used for starting prices.
        core_size: units in the sample and first core LPs (default
            ``max(2000, min(40·rows, 60000 / options))``).
        exact_pairs: largest number of free (unit, option) pairs sent to the
            exact MIP after reduced-cost fixing. Above it the neighbourhood
            search runs: on the unphased city model at 10^5 firms (115k
            pairs, all free at first) an exact MIP over everything found no
            plan better than its warm start in 51 s (gap 0.49% at 60 s; the
            search: 0.26%).
        probe_pairs: largest number of free pairs that are LP-probed first.
        guard_mips: solve the MIPs in a child process that is stopped when
            HiGHS overruns its limit (:mod:`sim.optimise.mip_worker`);
            default: from :data:`GUARD_PAIRS` available pairs on.

    Returns:
        A :class:`Solution` with ``method="decomposition"``: ``"optimal"`` when
        the gap is within ``gap_tol``, ``"feasible"`` when the time limit hit
        first, ``"no_solution"`` when no feasible plan was found,
        ``"infeasible"`` when the LP relaxation itself is infeasible.
    """
    if guard_mips is None:
        guard_mips = int(problem.available.sum()) >= GUARD_PAIRS
    child_peaks: list[float] = []
    with guarded_mips(guard_mips) as worker:
        with contextlib.ExitStack() as children:
            sol = _solve_decomposition(
                problem, time_limit=time_limit, gap_tol=gap_tol, progress=progress, seed=seed,
                core_size=core_size, exact_pairs=exact_pairs, probe_pairs=probe_pairs,
                children=children, child_peaks=child_peaks,
            )
        if worker is not None or child_peaks:
            # the MIP worker runs beside either whole-problem child (never
            # both: the LP's is stopped before the whole MIP starts)
            both = (worker.peak_mb if worker is not None else 0.0) + max(child_peaks, default=0.0)
            sol.solver_info["child_peak_mb"] = f"{both:.1f}"
        if worker is not None:
            sol.solver_info["mips_stopped"] = str(worker.stopped)
            sol.solver_info["mips_crashed"] = str(worker.crashed)
            notes = []
            if worker.stopped:
                notes.append(f"{worker.stopped} HiGHS MIP(s) overran their time limit and "
                             "were stopped; their best plans were kept")
            if worker.crashed:
                notes.append(f"{worker.crashed} HiGHS MIP(s) ended with their process "
                             "(a crash); their best plans were kept")
            sol.message = "; ".join([sol.message, *notes] if sol.message else notes)
    return sol


def _solve_decomposition(
    problem: ChoiceProblem,
    *,
    time_limit: float,
    gap_tol: float,
    progress: ProgressCallback | None,
    seed: int,
    core_size: int | None,
    exact_pairs: int,
    probe_pairs: int,
    children: contextlib.ExitStack,
    child_peaks: list[float],
) -> Solution:
    """:func:`solve_decomposition` once its MIPs' worker (if any) is set up;
    child processes it starts are closed by ``children`` and report their
    peak memory (MB) to ``child_peaks``."""
    t_start = time.perf_counter()
    deadline = t_start + float(time_limit)
    stats = DecompositionStats()
    rng = np.random.default_rng(seed)

    def left() -> float:
        return deadline - time.perf_counter()

    quick = None
    if time_limit >= QUICK_MIN_SECONDS:
        quick = _quick_plan(problem, QUICK_SHARE * float(time_limit), gap_tol, progress, seed)
    model = LagrangianModel(problem)
    t_compile = time.perf_counter() - t_start
    n, n_opt, m, sign = model.n, model.n_options, model.m, model.sign
    inc_choice: IntArray | None = None
    inc_val = -np.inf
    bound = np.inf

    def emit(phase: str, msg: str = "") -> None:
        stats.events.append(f"{time.perf_counter() - t_start:.2f}s {phase}: {msg}")
        if progress is None:
            return
        inc = sign * inc_val if np.isfinite(inc_val) else float("nan")
        bnd = sign * bound if np.isfinite(bound) else float("nan")
        known = np.isfinite(inc_val) and np.isfinite(bound)
        gap = relative_gap(inc, bnd) if known else float("nan")
        progress(ProgressEvent(phase, time.perf_counter() - t_start, inc, bnd, gap, msg))

    def offer(choice: IntArray) -> bool:
        nonlocal inc_choice, inc_val
        val, feas, _ = model.evaluate(choice)
        if feas and val > inc_val:
            inc_choice, inc_val = choice.copy(), val
            return True
        return False

    emit("compile", f"{n} units × {n_opt} options, {m} coupling rows")
    if quick is not None:
        taken = offer(quick)
        emit("quick", f"plan of the quick restriction {'taken' if taken else 'not feasible'}")
        if taken and problem.option_family is not None:
            stats.mip_solves += 1
            retimed = _retime(model, quick, problem.option_family, QUICK_RETIME_SHARE * left(),
                              gap_tol, rng)
            better = retimed is not None and offer(retimed)
            emit("quick", f"variants of the chosen actions re-optimised: "
                 f"{'better' if better else 'no better plan'}")

    lam = np.zeros(m)
    # sample and first-core LPs of at most ~60k columns: wide problems (many
    # options per unit) get fewer units per core
    k0 = core_size if core_size is not None else max(2000, min(40 * m, 60_000 // n_opt))
    k0 = min(n, k0)
    # -- stage 1: prices (LP relaxation by trust-region sifting) ----------------
    def incumbent_hook(step: int, lam_c: FloatArray, fixed: IntArray, margin: FloatArray) -> None:
        """Early incumbent at sifting steps 3, 6, 12, …: exact MIP over the most
        ambiguous units at these prices; while there is no plan, also a greedy
        repair of the step's plan (from step 1 on the largest problems)."""
        if step == 3 or step % 6 == 0:
            km = min(n, max(200, 8 * m))
            units = np.sort(np.argpartition(margin, km - 1)[:km]) if km < n else np.arange(n)
            stats.mip_solves += 1
            r2 = solve_core(
                model, units, np.ones((units.size, n_opt), dtype=bool), fixed,
                fixed_except(n, units),
                integer=True, artificial=False, time_limit=min(0.1 * left(), 10.0),
                mip_gap=0.1 * gap_tol,
            )
            if np.isfinite(r2.value):
                cand = fixed.copy()
                cand[units] = chosen_options(r2.x)
                offer(cand)
            emit("incumbent", f"MIP on {units.size} units at step prices: {r2.status}")
        if not np.isfinite(inc_val) and (step >= 3 or n >= REPAIR_EARLY_UNITS):
            plan_by_repair(fixed, model.reduced(lam_c), f"step {step} plan")

    def plan_by_repair(start: IntArray, worth: FloatArray, what: str) -> None:
        """Repair ``start`` greedily (:func:`~sim.optimise.repair.repair_plan`),
        improve it by single moves (:func:`~sim.optimise.repair.improve_plan`) and
        offer it as the incumbent."""
        t0 = time.perf_counter()
        until = t0 + min(REPAIR_SHARE * left(), REPAIR_CAP)
        plan = repair_plan(model, start, worth, until)
        if plan is not None:
            plan = improve_plan(model, plan, until)
        taken = plan is not None and offer(plan)
        emit("repair", f"{what} repaired greedily and improved by single moves in "
             f"{time.perf_counter() - t0:.2f}s: {'a better plan' if taken else 'no better plan'}")

    def recreate(until: float) -> None:
        """Ruin-and-recreate rounds on the incumbent
        (:func:`~sim.optimise.repair.recreate_plan`) while its gap is above
        :data:`RECREATE_GAP`, until ``until``."""
        while (inc_choice is not None and time.perf_counter() < until
               and relative_gap(sign * inc_val, sign * bound) > RECREATE_GAP):
            t0 = time.perf_counter()
            plan = recreate_plan(model, inc_choice, RECREATE_MOVES, rng, until)
            taken = plan is not None and offer(plan)
            emit("recreate", f"{RECREATE_MOVES} units at their best option, repaired and "
                 f"improved in {time.perf_counter() - t0:.2f}s: "
                 f"{'a better plan' if taken else 'no better plan'}")

    def done() -> bool:
        return bool(np.isfinite(inc_val)) and relative_gap(sign * inc_val, sign * bound) <= gap_tol

    def have_plan() -> bool:
        return bool(np.isfinite(inc_val))

    def on_bound(val: float, msg: str) -> None:
        nonlocal bound
        bound = min(bound, val)
        emit("sift", msg)

    with background_lp(model, k0, deadline, emit, child_peaks) as background:
        lp = solve_lp(
            model, np.zeros(m), k0=k0, deadline=deadline, rng=rng, emit=emit,
            on_bound=on_bound, incumbent_hook=incumbent_hook, stop=done, may_stall=have_plan,
            background=background,
        )
    stats.sift_iterations = lp.steps
    stats.lp_core_units = int(lp.core.size)
    stats.lp_value = lp.lp_value
    lam, choice, lp_x, core = lp.lam, lp.choice, lp.lp_x, lp.core
    lp_converged, lp_infeasible = lp.converged, lp.infeasible
    if m == 0:
        offer(choice)

    if lp_infeasible:
        emit("sift", "LP relaxation infeasible")
        return _finish(
            problem, model, None, -np.inf, -np.inf, "infeasible", stats, t_start, t_compile,
            lam, "the LP relaxation is infeasible (artificial slack needed at optimal prices)",
        )

    # -- stage 2: incumbent from the LP -------------------------------------------
    whole_pairs = int(model.available.sum())
    may_start_whole = BOUND_MIP_MIN_PAIRS <= whole_pairs <= BOUND_MIP_PAIRS
    lane = None
    if SECOND_LANE and active_worker() is not None and not (
            may_start_whole and left() >= BOUND_MIP_SECONDS_PER_PAIR * whole_pairs):
        # the second core would idle while the worker solves the neighbourhood
        # MIPs: a second worker (a lane) solves a second neighbourhood beside each
        # (started now, so that it has imported by the first)
        lane = MipWorker()
        children.callback(close_lane, lane, active_worker(), child_peaks)
    if lp_x is not None:
        lp_choice = choice.copy()
        lp_choice[core] = chosen_options(lp_x)
        choice = lp_choice
        offer(lp_choice)
    emit("round", "rounded LP")
    # reduced-cost fixing needs L at the prices whose reduced costs it reads:
    # a lower bound from a MIP would fix pairs that a better plan may use
    l_at_lam, d = model.dual_value(lam)
    if (lp_converged or not np.isfinite(inc_val)) and left() > 0:
        # the rounded optimal LP breaks at most a few rows: its repair is cheap and close
        plan_by_repair(choice, d, "rounded LP")

    # core MIPs: the LP's fractional units and the most ambiguous others
    frac = np.zeros(n, dtype=bool)
    if lp_x is not None:
        fx = np.nan_to_num(lp_x, nan=0.0)
        frac[core] = ((fx > 1e-6) & (fx < 1 - 1e-6)).any(axis=1)
    schedule = Schedule(model, lam, d, frac, min(n, int(frac.sum()) + max(100, 8 * m)), rng)
    top = schedule.top
    mip_gap = 0.5 * gap_tol
    whole_mip: WholeInChild | None = None

    def take_whole(res: CoreResult) -> None:
        """The plan and the (global) dual bound of the whole MIP in the child."""
        nonlocal bound
        taken = np.isfinite(res.value) and offer(chosen_options(res.x))
        if res.status in ("optimal", "feasible") and not res.stopped and np.isfinite(res.bound):
            bound = min(bound, max(inc_val, res.bound))
        emit("whole-mip", f"HiGHS on the whole problem in a child process: {res.status} in "
             f"{res.seconds:.1f}s{', its plan taken' if taken else ''}"
             f"{', stopped (no bound)' if res.stopped else f', bound {sign * res.bound:.8g}'}")

    def take_from_lane(job: LaneMip, res: CoreResult, kind: str) -> None:
        """Offer the lane's plan: with the other neighbourhood's changes (the units
        are disjoint and the objective separable) if the rows allow, else alone."""
        how = "no better plan"
        if np.isfinite(res.value) and inc_choice is not None:
            if offer(job.plan(res, inc_choice)):
                how = "a better plan, with the other's"
            elif offer(job.plan(res, job.fixed_choice)):
                how = "a better plan, alone"
        emit("core-mip", f"{kind} MIP beside it on {job.units.size} units: {res.status} in "
             f"{res.seconds:.2f}s{' (stopped)' if res.stopped else ''}, {how}")

    if RECREATE and n >= REPAIR_EARLY_UNITS and not lp_converged and left() > 0:
        recreate(time.perf_counter() + RECREATE_SHARE * left())
    ended = "time limit reached before the gap closed"
    while not done() and left() > 0.05:
        base = inc_choice if inc_choice is not None else choice
        if np.isfinite(inc_val):
            gap_abs = l_at_lam - inc_val
            slack_tol = 1e-9 * max(1.0, abs(bound)) + 1e-9 * model.c_scale
            allowed = d >= (top - gap_abs - slack_tol)[:, None]
        else:
            allowed = model.available.copy()
        n_allowed = allowed.sum(axis=1)
        free = n_allowed > 1
        n_free_pairs = int(n_allowed[free].sum())
        stats.free_units, stats.free_pairs = int(free.sum()), n_free_pairs
        exact = np.isfinite(inc_val) and n_free_pairs <= exact_pairs
        if exact:
            units = np.flatnonzero(free)
            fixed_choice = base.copy()
            single = ~free
            fixed_choice[single] = np.argmax(allowed[single], axis=1)
            if n_free_pairs <= probe_pairs and left() > 0.1:
                keep = probe(
                    model,
                    units,
                    allowed[units],
                    fixed_choice,
                    fixed_except(n, units),
                    inc_val + 1e-9 * max(1.0, abs(inc_val)),
                    0.3 * left(),
                )
                if not keep.any(axis=1).all():
                    bound = inc_val  # no plan better than the incumbent exists
                    emit("probe", "LP probing proved the incumbent optimal")
                    break
                allowed[units] = keep
                still = keep.sum(axis=1) > 1
                fixed_choice[units[~still]] = np.argmax(keep[~still], axis=1)
                emit(
                    "probe",
                    f"LP probing kept {int(keep.sum())} of {n_free_pairs} pairs, "
                    f"{int(still.sum())} free units",
                )
                units = units[still]
                n_free_pairs = int(keep[still].sum())
                stats.free_units, stats.free_pairs = int(units.size), n_free_pairs
                if units.size == 0:
                    offer(fixed_choice)
                    bound = min(bound, max(inc_val, model.evaluate(fixed_choice)[0]))
                    break
            job = Draw(units, allowed, left(), "exact")
        else:
            fixed_choice = base.copy()
            if may_start_whole and left() >= BOUND_MIP_SECONDS_PER_PAIR * whole_pairs:
                whole_mip = WholeInChild(
                    model, integer=True, time_limit=BOUND_MIP_TIME_SHARE * left(),
                    options={"mip_rel_gap": mip_gap, **BOUND_MIP_OPTIONS}, start=inc_choice,
                    peaks=child_peaks,
                )
                children.callback(whole_mip.close)
                emit("whole-mip", f"HiGHS on the whole problem ({whole_pairs} pairs) started "
                     "in a child process, for its bound")
            may_start_whole = False
            job = schedule.draw(allowed, inc_choice, base, left)
        # a second neighbourhood (disjoint units) in the second lane, beside it
        other = None
        beside = None
        if lane is not None and inc_choice is not None and not exact and job.units.size < n:
            other = schedule.beside(job, allowed, inc_choice, left)
            if other is not None:
                stats.mip_solves += 1
                beside = submit_lane_mip(lane, model, other.units, other.options[other.units],
                                         fixed_choice, time_limit=other.time_limit,
                                         mip_gap=0.1 * gap_tol)
        units = job.units
        stats.mip_solves += 1
        res = solve_core(
            model,
            units,
            job.options[units],
            fixed_choice,
            fixed_except(n, units),
            integer=True,
            artificial=False,
            time_limit=job.time_limit,
            mip_gap=mip_gap if exact else 0.1 * gap_tol,
            start=base[units] if np.isfinite(inc_val) else None,
        )
        improved, before = False, inc_val
        if np.isfinite(res.value):
            cand = fixed_choice.copy()
            cand[units] = chosen_options(res.x)
            improved = offer(cand)
        if exact and res.status in ("optimal", "infeasible"):
            # every plan better than the incumbent lies in this restricted problem;
            # HiGHS' dual bound, not its plan's value: "optimal" only means
            # within its relative gap
            bound = min(bound, max(inc_val, res.bound))
        elif (exact or units.size >= n) and np.isfinite(res.bound):
            # nothing fixed (or only what cannot beat the incumbent): a global bound
            bound = min(bound, max(inc_val, res.bound))
        narrowed = units.size < job.drawn
        emit(
            "core-mip",
            f"{job.kind} MIP on {units.size} units "
            f"{f'(row {model.row_labels[job.row]}) ' if job.kind == 'slack' else ''}"
            f"{f'(of {job.drawn} related, narrowed by their LP) ' if narrowed else ''}"
            f"({int(job.options[units].sum())} of {n_free_pairs} free pairs): "
            f"{res.status} in {res.seconds:.2f}s"
            f"{' (stopped: HiGHS overran its limit or crashed)' if res.stopped else ''}",
        )
        if beside is not None and other is not None:
            take_from_lane(beside, beside.result(model), other.kind)
        if exact and res.status in ("optimal", "infeasible"):
            break
        if exact:  # time limit inside the exact MIP, or HiGHS overran it and was stopped
            if res.stopped:
                ended = ("the exact MIP overran its time limit (or crashed) and was stopped "
                         "before the gap closed")
            break
        if units.size >= n and res.status in ("optimal", "infeasible"):
            # nothing was fixed: this was the full problem
            if res.status == "infeasible":
                return _finish(
                    problem, model, None, -np.inf, -np.inf, "infeasible", stats, t_start,
                    t_compile, lam, "the MIP is infeasible",
                )
            bound = min(bound, max(inc_val, res.bound))
            break
        if not np.isfinite(inc_val) and units.size >= n:
            break
        if whole_mip is not None and (got := whole_mip.result(0.0)) is not None:
            take_whole(got)
            whole_mip = None
        gain = (inc_val - before) / max(1.0, abs(inc_val)) if np.isfinite(before) else np.inf
        schedule.record(job, res.status, improved, bool(inc_val > before), gain)

    if whole_mip is not None:
        got = None if done() else whole_mip.result(max(0.0, left()) + BOUND_MIP_WAIT)
        take_whole(got if got is not None else whole_mip.stop())
        whole_mip.close()
    status = "no_solution"
    msg = ""
    if np.isfinite(inc_val):
        status = "optimal" if done() else "feasible"
        if status == "feasible":
            msg = ended
    elif not lp_converged:
        msg = "time limit reached before the LP relaxation was solved"
    else:
        msg = "no feasible plan found"
    return _finish(
        problem, model, inc_choice, inc_val, bound, status, stats, t_start, t_compile, lam, msg
    )


def _quick_plan(
    problem: ChoiceProblem,
    time_limit: float,
    gap_tol: float,
    progress: ProgressCallback | None,
    seed: int,
) -> IntArray | None:
    """A plan from the problem's ``quick_options`` restriction, on large problems.

    Returns the choice in the whole problem's option indices; None without a
    hint, on a small problem, or when no plan was found. The restriction's
    bound is not a bound of the whole problem, so progress shows only its
    incumbent. Its prices are a poor start for the whole problem's price
    search (at 10^6 city firms they gave a bound of 18.62e6 after 180 s,
    sampled prices 19.13e6), so they are not used.
    """
    keep = problem.quick_options
    if keep is None or keep.all() or int(problem.available.sum()) < QUICK_PAIRS:
        return None
    try:
        sub = restrict_options(problem, keep)
    except ValueError:  # a unit without a quick option
        return None

    def relay(ev: ProgressEvent) -> None:
        if progress is not None:
            progress(ProgressEvent(f"quick-{ev.phase}", ev.elapsed_s, ev.incumbent,
                                   message=ev.message))

    sol = solve_decomposition(sub, time_limit=time_limit, gap_tol=max(gap_tol, QUICK_GAP),
                              progress=relay, seed=seed)
    if sol.status not in ("optimal", "feasible"):
        return None
    return np.flatnonzero(keep)[sol.choice]


def _retime(
    model: LagrangianModel,
    choice: IntArray,
    family: IntArray,
    time_limit: float,
    gap_tol: float,
    rng: np.random.Generator,
) -> IntArray | None:
    """The plan re-optimised among the variants of each unit's chosen action.

    Every unit keeps its action (its option ``family``) and may switch to
    another variant of it, e.g. another action year. The LP over all movable
    units is rounded, then one MIP re-decides its fractional units and
    :data:`RETIME_EXTRA` random others. (At 10^6 city firms: LP over 73,290
    units in 45 s, 3 fractional, the plan 2.3% cheaper. Exact MIPs over all
    of them, or over chunks of 8,000 with the rest fixed, found nothing.)
    None when nothing can move or the LP is not solved in time.
    """
    deadline = time.perf_counter() + time_limit
    allowed = model.available & (family[None, :] == family[choice][:, None])
    movable = np.flatnonzero(allowed.sum(axis=1) > 1)
    if movable.size == 0:
        return None
    lp = solve_core(
        model, movable, allowed[movable], choice, fixed_except(model.n, movable),
        integer=False, artificial=False, time_limit=time_limit,
    )
    if lp.status != "optimal":
        return None
    x = np.nan_to_num(lp.x, nan=0.0)
    plan = choice.copy()
    plan[movable] = np.argmax(x, axis=1)
    frac = movable[((x > 1e-6) & (x < 1 - 1e-6)).any(axis=1)]
    others = np.setdiff1d(movable, frac)
    extra = rng.choice(others, min(RETIME_EXTRA, others.size), replace=False)
    units = np.sort(np.concatenate([frac, extra]))
    left = deadline - time.perf_counter()
    if units.size == 0 or left <= 0:
        return plan
    res = solve_core(
        model, units, allowed[units], plan, fixed_except(model.n, units),
        integer=True, artificial=False, time_limit=left, mip_gap=gap_tol,
    )
    if np.isfinite(res.value):
        plan[units] = chosen_options(res.x)
    return plan




def _finish(
    problem: ChoiceProblem,
    model: LagrangianModel,
    choice: IntArray | None,
    inc_val: float,
    bound: float,
    status: str,
    stats: DecompositionStats,
    t_start: float,
    t_compile: float,
    lam: FloatArray,
    message: str,
) -> Solution:
    sign = model.sign
    n = model.n
    if choice is None:
        ch = np.full(n, -1, dtype=np.int64)
        obj = float("nan")
        gap = float("inf")
        rc_gap = None
        slacks: dict[str, FloatArray] = {}
    else:
        ch = choice.astype(np.int64)
        obj = sign * inc_val
        gap = relative_gap(obj, sign * bound) if np.isfinite(bound) else float("inf")
        d = model.reduced(lam)
        chosen = d[np.arange(n), ch]
        d[np.arange(n), ch] = -np.inf
        other = d.max(axis=1)
        rc_gap = np.where(np.isfinite(other), chosen - other, np.nan)
        slacks = model.slacks(ch)
    if np.isfinite(bound):
        bnd = sign * bound
    else:
        bnd = -sign * np.inf if status == "infeasible" else float("nan")
    total = time.perf_counter() - t_start
    return Solution(
        choice=ch,
        objective=obj,
        bound=float(bnd),
        gap=float(gap),
        status=status,
        method="decomposition",
        duals=model.duals(lam),
        slacks=slacks,
        reduced_cost_gap=rc_gap,
        timings={"build": t_compile, "solve": total - t_compile, "total": total},
        solver_info={
            "solver": "decomposition (Lagrangian pricing + HiGHS core)",
            "highs": f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}."
            f"{highspy.HIGHS_VERSION_PATCH}",
            "sift_iterations": str(stats.sift_iterations),
            "lp_core_units": str(stats.lp_core_units),
            "mip_solves": str(stats.mip_solves),
            "free_units": str(stats.free_units),
            "free_pairs": str(stats.free_pairs),
        },
        message=message,
    )

