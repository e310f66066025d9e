"""The price search: minimise ``L(λ)`` (= solve the LP relaxation) by sifting.

Stage 1 of the decomposition (:mod:`sim.optimise.decomposition`). Starting
prices come from a sampled LP (or recursively from a sampled level, with
smoothed-dual prices on the largest), then trust-region *sifting* prices
every unit, keeps the units whose best option is not clear in a core LP
(:mod:`sim.optimise.core`), fixes the others, and takes the core LP's row
duals as the new prices until no fixed unit wants to move
(:func:`solve_lp`). Levels small enough for one HiGHS LP switch to it
(:func:`solve_direct`), or solve it in a child process while they sift
(:func:`background_lp`). Capacity-like rows' prices are made exact by
:mod:`sim.optimise.capacity_prices`. A search that stalls stops for the
plan's sake (:func:`stalled`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import highspy
import numpy as np

from sim.optimise.capacity_prices import (
    CapacityBlock,
    CapacityPairs,
    block_descent,
    capacity_block,
    capacity_pairs,
    coordinate_descent,
)
from sim.optimise.core import CoreResult, WholeInChild, chosen_options, solve_core
from sim.optimise.lagrangian import LagrangianModel, margins
from sim.optimise.mip_worker import Basis
from sim.optimise.problem import FloatArray, IntArray
from sim.optimise.smoothing import FINE_SCHEDULE, FULL_SCHEDULE, smoothed_prices

__all__ = ["LPState", "background_lp", "extended_basis", "solve_direct", "solve_lp", "stalled"]

#: levels of the price search with at most this many available (unit, option)
#: pairs are solved as one LP once sifting is slow (22 s for the city model at
#: 10^5 firms, 3.2e5 pairs, on 2 shared cores; its sifting needed 81 s).
DIRECT_LP_PAIRS = 400_000
#: sifting steps after which such a level switches to the direct LP
DIRECT_AFTER_STEPS = 6
#: HiGHS options of that LP: scaling by powers of two up to the largest entry
#: (``simplex_scale_strategy`` 4) halves it on the city model, whose rows mix
#: mu, tce and 万元 (10^5 firms: 12.6 s against 24.5 s, side by side)
DIRECT_LP_OPTIONS: dict[str, int | float | str] = {"simplex_scale_strategy": 4}
#: exact price passes on capacity-like rows
#: (:func:`~sim.optimise.capacity_prices.coordinate_descent`) at the start of
#: a price level and after every sifting step. On the unphased city model at
#: 10^6 firms they cut the level's steps from 41 to 35 and reach ``L`` within
#: 1.2e-4 of its minimum after 19 steps instead of 26.
START_PASSES = 4
STEP_PASSES = 1
#: capacity-like rows' prices from one LP over those rows alone, the other
#: prices fixed (:func:`~sim.optimise.capacity_prices.block_descent`): in
#: place of the passes above (CAPACITY_BLOCK_SIFT), and once more when a price
#: search stops short, for the bound (CAPACITY_BLOCK_BOUND); the LP may take
#: CAPACITY_BLOCK_SHARE of the time left
CAPACITY_BLOCK_SIFT = False
CAPACITY_BLOCK_BOUND = True
CAPACITY_BLOCK_SHARE = 0.1
#: with a plan in hand, a price search too big for one HiGHS LP stops when
#: the rows at their trust-region box stop falling (:func:`stalled`): the
#: time then goes to improving the plan. At 10^6 firms the unphased city
#: model's count falls from 111 to 0 in 35 steps, noisily (49 at step 8, then
#: 51–79 until step 17); the phased model's stays at 106–117 for hundreds.
STALL_STEPS = 8
STALL_MIN_STEPS = 4
#: share of the time left that level 0 of a model too large for one LP
#: spends on smoothed-dual prices before sifting (at 10^6 city firms about
#: 15 s of 60 s; sampled levels use all of their own share)
SMOOTH_SHARE = 0.3
#: from this many available pairs on (and up to :data:`DIRECT_LP_PAIRS`),
#: level 0 solves its whole LP in a child process while it sifts
#: (:class:`~sim.optimise.core.WholeInChild`); below, the child's start-up (~1 s) is not worth it
BACKGROUND_LP_PAIRS = 100_000
#: start that child's simplex from the basis of the sampled LP, extended to
#: every unit (:func:`extended_basis`), when level 0's prices come from one
#: sampled LP. Off: at 10^5 phased city firms the LP is in hand 9–13 s earlier
#: (its simplex 1.6–2× faster) but the plans at 60 and 150 s are within noise,
#: and on the unphased model the warm LP's vertex breaks ties between equally
#: priced options (keep / admit, 163 units) the other way, after which the
#: search ended 0.4% worse on 4 of 4 runs (benchmarks/results/warm-lp-1e5/)
WARM_LP_BASIS = False


@dataclass
class LPState:
    lam: FloatArray
    choice: IntArray  # best (fixed) option of every unit; LP choice on the core
    core: IntArray  # units of the last core LP
    lp_x: FloatArray | None  # its solution, (core.size, O)
    lp_value: float
    converged: bool
    infeasible: bool
    steps: int
    smoothed: bool = False  # prices from the smoothed dual only, no sifting


def _artificial_tol(model: LagrangianModel) -> FloatArray:
    """Per row, the box or artificial slack below which a row counts as unused."""
    return 1e-9 * np.maximum(1.0, np.abs(model.rhs)) + 1e-12 * model.row_scale


def needs_artificial(model: LagrangianModel, res: CoreResult, rhs_scale: float = 1.0) -> bool:
    """Whether an LP solved with artificial slack (right-hand side scaled by
    ``rhs_scale``) uses it in any row: its hard rows cannot all be met."""
    return bool(np.any(res.extra_used > rhs_scale * _artificial_tol(model)))


def solve_direct(
    model: LagrangianModel,
    time_limit: float,
    level: int,
    emit: Callable[[str, str], None],
    on_bound: Callable[[float, str], None] | None,
) -> LPState | None:
    """The LP relaxation over all units in one HiGHS solve (big-M artificial slack).

    Returns ``None`` when HiGHS does not finish in ``time_limit`` (the caller
    then sifts); an LP that needs artificial slack at its optimum is reported
    infeasible.
    """
    n, n_opt = model.n, model.n_options
    res = solve_core(
        model, np.arange(n), np.ones((n, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=bool), integer=False, artificial=True, time_limit=time_limit,
        highs_options=DIRECT_LP_OPTIONS,
    )
    return _direct_state(model, res, level, "", emit, on_bound)


def _direct_state(
    model: LagrangianModel,
    res: CoreResult,
    level: int,
    where: str,
    emit: Callable[[str, str], None],
    on_bound: Callable[[float, str], None] | None,
) -> LPState | None:
    """The price level's state from a direct LP's result (``None`` unless optimal);
    ``where`` says where it was solved, for the progress message."""
    n = model.n
    if res.status != "optimal":
        emit("sift", f"level {level}: direct LP on {n} units{where}: {res.status}")
        return None
    choice = chosen_options(res.x)
    infeasible = needs_artificial(model, res)
    val_l, _ = model.dual_value(res.lam)
    msg = f"level {level}: direct LP on {n} units{where} in {res.seconds:.1f}s, L {val_l:.8g}"
    if on_bound is not None and not infeasible:
        on_bound(val_l, msg)
    else:
        emit("sift", msg)
    return LPState(res.lam, choice, np.arange(n), res.x, res.value, True, infeasible, 1)




def _capacity_prices(
    model: LagrangianModel,
    lam: FloatArray,
    current: tuple[float, FloatArray],
    pairs: list[CapacityPairs],
    blk: CapacityBlock | None,
    passes: int,
    left: float,
) -> tuple[FloatArray, float, FloatArray]:
    """Capacity-like rows' prices moved to (or towards) their minimiser of ``L``,
    the other prices fixed: jointly by the block LP
    (:func:`~sim.optimise.capacity_prices.block_descent`) when ``blk`` is
    given, else (or if HiGHS does not solve it in :data:`CAPACITY_BLOCK_SHARE`
    of the ``left`` seconds) by ``passes`` of
    :func:`~sim.optimise.capacity_prices.coordinate_descent`. ``current`` is
    ``(L, reduced costs)`` at ``lam``; returns the prices, ``L`` and the reduced costs.
    """
    if blk is not None and left > 0:
        got = block_descent(model, lam, current, CAPACITY_BLOCK_SHARE * left, blk)
        if got is not None:
            return got
    return coordinate_descent(model, lam, pairs, passes, current)


def stalled(at_box: list[int], step_seconds: float, left: float) -> str:
    """Why a sifting price search should stop for the plan's sake ("" = it should not).

    ``at_box`` counts the rows at their trust-region box after each step;
    sifting has converged when none is. It has stalled when the mean count
    of the last :data:`STALL_STEPS` steps is no lower than that of the
    :data:`STALL_STEPS` before, or when, after :data:`STALL_MIN_STEPS` steps,
    the count falls (least-squares slope) too slowly to reach 0 in the time
    left. The count is noisy, so single steps are not compared.
    """
    w = STALL_STEPS
    if len(at_box) >= 2 * w and np.mean(at_box[-w:]) >= np.mean(at_box[-2 * w : -w]):
        return f"stalled (about {np.mean(at_box[-w:]):.0f} rows at the box for {2 * w} steps)"
    if len(at_box) < STALL_MIN_STEPS or at_box[-1] == 0:
        return ""
    slope = float(np.polyfit(np.arange(len(at_box)), np.asarray(at_box, dtype=float), 1)[0])
    needed = at_box[-1] / -slope * step_seconds if slope < 0 else float("inf")
    if needed > left:
        pace = (f"falling {-slope:.1f} a step: about {needed:.0f}s needed"
                if needed < 100 * left else "not falling")
        return f"too slow ({at_box[-1]} rows at the box, {pace}, {left:.0f}s left)"
    return ""


class BackgroundLP:
    """The direct LP of level 0, solved in a child process while this one sifts
    (see :func:`solve_lp`); started by :meth:`start`, once its starting basis
    is known (or at once, without one)."""

    def __init__(self, model: LagrangianModel, deadline: float,
                 emit: Callable[[str, str], None], child_peaks: list[float]) -> None:
        self.model, self.deadline, self.emit, self.child_peaks = model, deadline, emit, child_peaks
        self.child: WholeInChild | None = None

    def start(self, basis: Basis | None = None) -> None:
        """Start the child's LP (from ``basis``); later calls do nothing."""
        left = self.deadline - time.perf_counter()
        if self.child is not None or left <= 0:
            return
        self.child = WholeInChild(self.model, integer=False, time_limit=left,
                                   options=DIRECT_LP_OPTIONS, peaks=self.child_peaks, basis=basis)
        how = ", from the sampled LP's basis" if basis is not None else ""
        self.emit("sift", f"level 0: direct LP on {self.model.n} units started in a child "
                  f"process{how}")

    def result(self, wait: float) -> CoreResult | None:
        """The LP's result if it comes within ``wait`` seconds (None: not started)."""
        return None if self.child is None else self.child.result(wait)

    def close(self) -> None:
        """Stop the child, if it was started."""
        if self.child is not None:
            self.child.close()


@contextlib.contextmanager
def background_lp(
    model: LagrangianModel,
    k0: int,
    deadline: float,
    emit: Callable[[str, str], None],
    child_peaks: list[float],
) -> Iterator[BackgroundLP | None]:
    """The direct LP of level 0 to be solved in a child process, for
    :func:`solve_lp`'s ``background``: for models with
    :data:`BACKGROUND_LP_PAIRS` to :data:`DIRECT_LP_PAIRS` pairs that sifting
    will not price at once (more units than ``k0``); otherwise None. The child
    is stopped on exit and its peak memory (MB) goes to ``child_peaks``."""
    pairs = int(model.available.sum())
    background = None
    if (model.m and model.n > k0 and BACKGROUND_LP_PAIRS <= pairs <= DIRECT_LP_PAIRS
            and deadline > time.perf_counter()):
        background = BackgroundLP(model, deadline, emit, child_peaks)
    try:
        yield background
    finally:
        if background is not None:
            background.close()


def extended_basis(
    model: LagrangianModel, sample: IntArray, sample_basis: Basis, lam: FloatArray
) -> Basis:
    """A starting basis for the whole LP from an optimal basis of the LP over
    ``sample`` (its right-hand side scaled, as :func:`~sim.optimise.core.build_core` lays both out).

    The sampled units and the coupling rows keep their statuses; every other
    unit has its best option at the sample's prices ``lam`` basic. The basis
    is square and nonsingular (block triangular), and dual feasible: the
    coupling rows' duals stay the sample's, at which each added option is its
    unit's best. Only the right-hand side differs, so HiGHS' dual simplex
    starts in phase 2 instead of pivoting one option in per unit: at 10^5 city
    firms 8,568 iterations instead of 13,736 (12.3 s instead of 21.2 s).
    """
    n, m = model.n, model.m
    available = model.available
    nx = int(available.sum())
    column = np.full(available.shape, -1, dtype=np.int64)  # choice column of each pair
    column[available] = np.arange(nx)
    cols_s, rows_s = sample_basis
    nx_s = int(available[sample].sum())
    lower, basic = int(highspy.HighsBasisStatus.kLower), int(highspy.HighsBasisStatus.kBasic)
    cols = np.full(nx + cols_s.size - nx_s, lower, dtype=np.int8)
    cols[column[sample][available[sample]]] = cols_s[:nx_s]
    cols[nx:] = cols_s[nx_s:]  # slack and artificial columns: one layout per model
    rows = np.full(n + m, lower, dtype=np.int8)
    rows[sample] = rows_s[: sample.size]
    rows[n:] = rows_s[sample.size:]
    others = np.setdiff1d(np.arange(n), sample)
    best = np.argmax(model.reduced(lam, others), axis=1)
    cols[column[others, best]] = basic
    return cols, rows


def solve_lp(
    model: LagrangianModel,
    lam0: FloatArray,
    *,
    k0: int,
    deadline: float,
    rng: np.random.Generator,
    emit: Callable[[str, str], None],
    on_bound: Callable[[float, str], None] | None = None,
    incumbent_hook: Callable[[int, FloatArray, IntArray, FloatArray], None] | None = None,
    stop: Callable[[], bool] | None = None,
    may_stall: Callable[[], bool] | None = None,
    level: int = 0,
    background: BackgroundLP | None = None,
) -> LPState:
    """Minimise ``L(λ)`` (= solve the LP relaxation) by trust-region sifting.

    A level with at most :data:`DIRECT_LP_PAIRS` available pairs that has
    not converged after :data:`DIRECT_AFTER_STEPS` steps is solved as one LP
    over all its units instead (:func:`solve_direct`): on models such as the
    city model, whose ratio-KPI and phase rows touch every option and whose
    units are nearly tied between years, sifting needs many steps while
    HiGHS' simplex on the whole LP is quick. From :data:`BACKGROUND_LP_PAIRS`
    pairs on, level 0 starts that LP at once in a child process and sifts
    meanwhile (:class:`BackgroundLP`, passed as ``background`` by
    :func:`background_lp`); the first to finish gives the prices. When the
    starting prices come from one sampled LP and :data:`WARM_LP_BASIS` is on,
    the child starts after it, from that LP's basis extended to every unit
    (:func:`extended_basis`).

    Starting prices come from the same method applied to a random eighth of
    the units (right-hand sides scaled; recursively), or for mid sizes from
    an LP over a random sample of ``k0`` units. Then each step chooses a box
    around the current prices, puts in the core only the units whose best
    option can change inside the box (margin ≤ 2·flip radius) and only their
    options that can become best, fixes every other unit at its best option,
    and solves the boxed core LP: this minimises ``L`` exactly over the box.
    A step that ends strictly inside the box has reached ``min L``.

    A level with more pairs than one LP can take (``DIRECT_LP_PAIRS``, half
    of it on a sampled level) first minimises the smoothed dual from its
    starting prices (:func:`~sim.optimise.smoothing.smoothed_prices`): a
    sampled level then returns those prices (``smoothed``), level 0 sifts on
    from them.
    """
    n, n_opt, m = model.n, model.n_options, model.m

    def left() -> float:
        return deadline - time.perf_counter()

    lam = lam0.copy()
    # on a sampled level the direct LP must leave time for the levels above:
    # half the size (at 10^6 phased city firms, 18,756 sampled units × 23
    # options ran out of the level's 20 s)
    direct_ok = int(model.available.sum()) <= DIRECT_LP_PAIRS / (2.0 if level else 1.0)
    # a level too large for one LP gets smoothed-dual prices (see sim.optimise.smoothing)
    smooth = m > 0 and not direct_ok
    schedule = FULL_SCHEDULE
    warm_lp = (WARM_LP_BASIS and background is not None and bool(m) and k0 < n <= 8 * k0
               and left() > 0)
    if background is not None and not warm_lp:
        background.start()
    if m and n > 8 * k0 and left() > 0:
        idx = np.sort(rng.choice(n, size=n // 8, replace=False))
        sub = model.subsample(idx, idx.size / n)
        t_sub = time.perf_counter() + 0.5 * left()
        st = solve_lp(sub, lam, k0=k0, deadline=t_sub, rng=rng, emit=emit, level=level + 1)
        lam = st.lam
        schedule = FINE_SCHEDULE if st.smoothed else FULL_SCHEDULE
        how = "smoothed dual" if st.smoothed else f"{st.steps} steps"
        emit("sample", f"level {level + 1}: prices from {idx.size} sampled units "
             f"({how}{'' if st.converged else ', not converged'})")
    elif m and n > k0 and left() > 0:
        sample = np.sort(rng.choice(n, size=k0, replace=False))
        res = solve_core(
            model, sample, np.ones((k0, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=bool), integer=False, artificial=True,
            time_limit=max(0.1, 0.2 * left()), rhs_scale=k0 / n, want_basis=warm_lp,
        )
        if res.status == "optimal":
            lam = res.lam
        emit("sample", f"level {level + 1}: LP on {k0} sampled units: {res.status}")
        if warm_lp and background is not None:
            # a sample that needs artificial slack has big-M prices, and a basis
            # extended at those left the child's simplex in error (10^5 city
            # firms, 2 seeds of 6): the child then starts cold
            background.start(None if res.basis is None
                             or needs_artificial(model, res, rhs_scale=k0 / n)
                             else extended_basis(model, sample, res.basis, res.lam))

    if background is not None and (got := background.result(0.0)) is not None:
        direct = _direct_state(model, got, level, " in a child process", emit, on_bound)
        if direct is not None:
            return direct
        background = None
    if smooth and left() > 0:
        t_smooth = time.perf_counter()
        share = 1.0 if level else SMOOTH_SHARE
        lam, val_s = smoothed_prices(model, lam, t_smooth + share * left(), schedule)
        msg = (f"level {level}: smoothed dual prices in {time.perf_counter() - t_smooth:.1f}s, "
               f"L {val_s:.8g}")
        if level:
            # a sampled level only hands its prices up, and level 0 is smoothed
            # next: at 10^6 city firms this took 5 s where sifting used the
            # level's whole share (28 s of 60 s) without converging
            emit("smooth", msg)
            d = model.reduced(lam)
            return LPState(lam, d.argmax(axis=1), np.zeros(0, dtype=np.int64), None,
                            float("nan"), False, False, 0, smoothed=True)
        if on_bound is not None:
            on_bound(val_s, msg)
        else:
            emit("smooth", msg)

    # starting prices, with capacity-like rows at their exact minimisers
    pairs = capacity_pairs(model)
    sift_blk = capacity_block(model) if pairs and CAPACITY_BLOCK_SIFT else None
    lam, val_l, d = _capacity_prices(model, lam, model.dual_value(lam), pairs, sift_blk,
                                     START_PASSES, left())
    if on_bound is not None:
        on_bound(val_l, f"level {level}: L at starting prices")
    best, _, margin = margins(d)
    choice = best.copy()
    in_core = np.ones(n, dtype=bool)
    core = np.arange(n)
    lp_x: FloatArray | None = None
    lp_value = float("nan")
    converged = m == 0
    infeasible = False
    nat = (model.c_scale + 1e-12) / np.maximum(model.row_typical, 1e-12)
    growth = np.ones(m)
    base = np.maximum(np.abs(lam), 1e-4 * nat)
    shape = base
    unit_radius = model.flip_radius(shape) if m and n > k0 else np.zeros(n)
    base_radius = unit_radius
    k_max = max(4 * k0, n // 10)
    k_target = max(k0, n // 40)
    steps = 0
    at_box: list[int] = []  # rows at their box after each step
    sift_seconds = 0.0
    while m and left() > 0:
        step_start = time.perf_counter()
        steps += 1
        box = None
        t = 0.0
        if n > k0:
            # the box scale t fits the core target on the base shape; rows whose
            # box was hit get wider boxes (growth) and the core grows with them
            ratio = margin / np.maximum(2.0 * base_radius, 1e-300)
            kk = min(n - 1, k_target)
            t = min(float(np.partition(ratio, kk)[kk]), 1e6)
            if int((margin <= 2.0 * t * unit_radius).sum()) > k_max:
                ratio = margin / np.maximum(2.0 * unit_radius, 1e-300)
                t = min(t, float(np.partition(ratio, min(n - 1, k_max))[min(n - 1, k_max)]))
            width = t * shape
            box = (model.clip(lam - width), model.clip(lam + width))
            in_core = margin <= 2.0 * t * unit_radius * (1 + 1e-9)
        step_core = np.flatnonzero(in_core)
        cols = np.ones((step_core.size, n_opt), dtype=bool)
        if box is not None:
            # options that cannot become best anywhere in the box stay out
            dc = d[step_core]
            reach = 2.0 * t * unit_radius[step_core] * (1 + 1e-9)
            cols = dc >= (dc.max(axis=1) - reach)[:, None]
        res = solve_core(
            model, step_core, cols, choice, ~in_core, integer=False, artificial=True,
            time_limit=max(0.1, 0.5 * left()), box=box,
        )
        if res.status != "optimal":
            emit("sift", f"level {level}: core LP {res.status}")
            break
        lam = res.lam
        core, lp_x, lp_value = step_core, res.x, res.value
        choice[core] = chosen_options(lp_x)
        val_l, d = model.dual_value(lam)
        active = res.extra_used > _artificial_tol(model)
        at_box.append(int(active.sum()))
        best, _, margin = margins(d)
        dbest = d[np.arange(n), best]
        tol = 1e-9 * np.maximum(1.0, np.abs(dbest)) + 1e-9 * model.c_scale
        nv = int(((dbest - d[np.arange(n), choice] > tol) & ~in_core).sum())
        msg = (
            f"level {level} step {steps}: core {step_core.size}, LP {res.value:.8g}, "
            f"L {val_l:.8g}, {int(active.sum())} rows at the box, {nv} violators"
        )
        if on_bound is not None:
            on_bound(val_l, msg)
        else:
            emit("sift", msg)
        if not active.any() and nv == 0:
            converged = True
            break
        if box is None:
            # every unit is free and artificial slack is still needed: infeasible LP
            converged = infeasible = True
            break
        if background is not None:
            # after DIRECT_AFTER_STEPS steps, wait for the child's LP
            got = background.result(left() if steps >= DIRECT_AFTER_STEPS else 0.0)
            if got is not None:
                direct = _direct_state(model, got, level, " in a child process", emit, on_bound)
                if direct is not None:
                    return direct
                background = None  # it failed: sift on
        elif direct_ok and steps == DIRECT_AFTER_STEPS and left() > 0:
            direct = solve_direct(model, left(), level, emit, on_bound)
            if direct is not None:
                return direct
        sift_seconds += time.perf_counter() - step_start
        if incumbent_hook is not None:
            incumbent_hook(steps, lam, np.where(in_core, choice, best), margin)
        if stop is not None and stop():
            break
        if may_stall is not None and not direct_ok and may_stall():
            why = stalled(at_box, sift_seconds / steps, left())
            if why:
                emit("sift", f"level {level}: {why}; the time goes to the plan")
                break
        # recentre: fixed units move to their best option at the new prices
        if pairs:
            lam, val_c, d = _capacity_prices(model, lam, (val_l, d), pairs, sift_blk,
                                             STEP_PASSES, left())
            best, _, margin = margins(d)
            if on_bound is not None and val_c < val_l:
                on_bound(val_c, f"level {level} step {steps}: capacity prices, L {val_c:.8g}")
        choice = best.copy()
        growth = np.where(active, 3.0 * growth, np.maximum(1.0, 0.5 * growth))
        base = np.maximum(np.abs(lam), 1e-4 * nat)
        shape = base * growth
        base_radius = model.flip_radius(base)
        unit_radius = model.flip_radius(shape) if np.any(growth != 1.0) else base_radius
        if active.any() and steps % 2 == 0:
            k_target = min(2 * k_target, max(k0, 40_000))
    if CAPACITY_BLOCK_BOUND and pairs and steps and not converged and left() > 0:
        # a search stopped short (a plan is waiting): the capacity prices of its
        # last step, made exact, for a tighter bound
        val_end, d_end = model.dual_value(lam)
        blk = sift_blk if sift_blk is not None else capacity_block(model)
        lam, val_c, _ = _capacity_prices(model, lam, (val_end, d_end), pairs, blk,
                                         STEP_PASSES, left())
        if on_bound is not None and val_c < val_end:
            on_bound(val_c, f"level {level}: capacity prices of the last step, L {val_c:.8g}")
    return LPState(lam, choice, core, lp_x, lp_value, converged, infeasible, steps)


