"""Price-directed (Lagrangian) decomposition with an exact core, for huge choice problems.

The choice problem (``sim.optimise.problem``) has many units and few coupling
rows. Written in *maximisation form* (``c = +objective`` for max, ``−objective``
for min, elastic shortfall slacks costing ``penalty``), its Lagrangian dual is

    L(λ) = Σ_i max_o (c_io − Σ_r λ_r a_rio) + Σ_r λ_r b_r ,

with ``λ_r ≥ 0`` on ``≤`` rows, ``≤ 0`` on ``≥`` rows, free on ``==`` rows and
``|λ_r| ≤ penalty`` on elastic rows. ``L(λ)`` bounds the optimum from above for
every such λ, and ``min_λ L(λ)`` equals the LP relaxation's optimum.

The solver works in stages, none of which loops over units in Python:

0. **Quick plan** (large problems with a ``quick_options`` hint and at least
   :data:`QUICK_MIN_SECONDS` to spend only). Solve
   the restriction first, e.g. every action in the first year, whose prices
   converge like an unphased model, to 1% gap; then re-optimise the years of
   each chosen action (:func:`_retime`). This is the first incumbent of the
   whole problem; the stages below still give its bound.
1. **Prices.** Solve the LP relaxation on a random sample of units (right-hand
   sides scaled to the sample) for starting prices, then *sift*: price every
   unit, keep the units whose best option is not clear (small reduced-cost
   margin) in a core LP, fix all others at their best option (their activity
   moves to the right-hand side), solve the core LP with HiGHS, take its row
   duals as the new prices and add every fixed unit whose fixed option is no
   longer a best response. When no such unit is left, the core LP solution
   plus the fixed units is an optimal solution of the *full* LP relaxation and
   ``L(λ)`` equals its value. Each pricing pass is vectorised over
   ``(units, options)`` per constraint family. A search stopped short, to
   leave time for the plan, ends with the prices of the capacity-like rows
   (parks, acquirers) made jointly exact by one small LP over those rows
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
   (:data:`STALL_STEPS`), so the time goes to the plan. A repaired plan far
   above the bound (:data:`RECREATE_GAP`) first gets ruin-and-recreate rounds
   (:func:`~sim.optimise.repair.recreate_plan`): the descent's local optimum
   varies widely with the prices it started from.
3. **Certificate.** With incumbent value ``z`` and bound ``L``, an option whose
   reduced-cost disadvantage against the unit's best option exceeds
   ``L − z`` cannot be part of any plan better than ``z`` (reduced-cost
   fixing). Units left with one option are fixed; the remaining *free* units
   go to an exact HiGHS MIP (warm-started with the incumbent). When that MIP is
   solved, the incumbent is proven optimal for the whole problem. While too
   many pairs are free for an exact MIP, a large-neighbourhood search improves
   the incumbent instead (:func:`_neighbourhood`: MIPs over the fractional
   units and units drawn by their reduced-cost loss, each open to its
   near-best options only (:func:`_near_options`), sized by
   :func:`_next_neighbourhood_size`; and row-related MIPs, over a losing unit
   and its rivals in its rows (:func:`_related_units`) or, every other time,
   across a row that the plan over-fills at a price (:func:`_slack_units`),
   narrowed by their LP to the units where LP and plan differ
   (:func:`_rins_units`)); every better
   incumbent tightens the fixing, until the exact MIP fits, the gap closes or
   the time limit is hit.
   On mid-sized problems with time to spare, HiGHS' branch and bound on the
   whole problem runs meanwhile in a child process (the second core), and
   its dual bound, tighter than the LP's thanks to its cuts, is taken when
   it answers (:class:`_WholeInChild`).

The returned :class:`~sim.optimise.problem.Solution` always carries the
honest bound and gap.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from sim.optimise.capacity_prices import (
    CapacityBlock,
    CapacityPairs,
    block_descent,
    capacity_block,
    capacity_pairs,
    coordinate_descent,
)
from sim.optimise.highs_backend import new_highs, run_interruptible
from sim.optimise.mip_worker import (
    Basis,
    LpArrays,
    MipAnswer,
    MipWorker,
    active_worker,
    guarded_mips,
    mip_grace,
    solve_in_process,
)
from sim.optimise.problem import (
    BoolArray,
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
from sim.optimise.smoothing import FINE_SCHEDULE, FULL_SCHEDULE, smoothed_prices

__all__ = ["DecompositionStats", "LagrangianModel", "solve_decomposition"]

_LE, _GE, _EQ = 0, 1, 2
_SENSE_CODE = {"<=": _LE, ">=": _GE, "==": _EQ}
INF = float(highspy.kHighsInf)
#: floats of ``effects`` per chunk when compiling the linear forms (about
#: 0.5 MB, so that a chunk stays in cache while each form reads its metrics)
CHUNK_FLOATS = 60_000
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
#: exact price passes on capacity-like rows (:func:`coordinate_descent`) at
#: the start of a price level and after every sifting step. On the unphased
#: city model at 10^6 firms they cut the level's steps from 41 to 35 and
#: reach ``L`` within 1.2e-4 of its minimum after 19 steps instead of 26.
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
#: options per unit (on average) open to a heuristic neighbourhood MIP
#: (:func:`_near_options`)
NEAR_PAIRS_PER_UNIT = 4.0
#: largest row-related neighbourhood (:func:`_related_units`)
RELATED_UNITS = 5_000
#: time cap (s) of a loss-drawn neighbourhood MIP (:func:`_neighbourhood_time`)
LOSS_MIP_SECONDS = 5.0
#: time cap (s) of a row-related neighbourhood MIP. Narrowed by RINS, most are
#: solved in 2–3 s; one that is not rarely pays for more time. At 10^5 phased
#: city firms (60 s, solver seeds 0–5) HiGHS' first plan of the whole model
#: (1,920,099) was reached after 43.5–50.4 s with 5 s, 47.3–54.8 s with 8 s,
#: and in 3 of 6 runs with 20 s (benchmarks/results/rins-1e5/)
RELATED_MIP_SECONDS = 5.0
#: relative gain below which a loss-drawn neighbourhood counts as stalled
SWITCH_GAIN = 1e-4
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
#: with a plan in hand, a price search too big for one HiGHS LP stops when
#: the rows at their trust-region box stop falling (:func:`_stalled`): the
#: time then goes to improving the plan. At 10^6 firms the unphased city
#: model's count falls from 111 to 0 in 35 steps, noisily (49 at step 8, then
#: 51–79 until step 17); the phased model's stays at 106–117 for hundreds.
STALL_STEPS = 8
STALL_MIN_STEPS = 4
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
#: beside a row-related neighbourhood MIP, the lane solves a loss-drawn one
#: (a second row-related draw is often empty or repeats the first's rows,
#: and left the second core idle)
LANE_MIXED = True
#: the second neighbourhood MIP is row-related (see :func:`_wants_related`).
#: At 10^5 unphased city firms, 60 s: 6 of 6 runs (seeds 0–5) reach the good
#: outcome (1,989,558–1,989,891) by the LP + 35 s; with the lane mixed but
#: without this, 2 of 3 ended near 1,998,000 (benchmarks/results/lns-schedule-1e5/)
RELATED_EARLY = True
#: a row-related neighbourhood is narrowed RINS-style (:func:`_rins_units`)
#: before its MIP: its LP relaxation is solved first (under 1 s), and only the
#: units whose incumbent option that LP does not take whole, plus a random
#: RINS_EXTRA share of the others, stay free. At 10^5 phased city firms the
#: MIPs then reach the same plans 3–6 times sooner: 1,920,573 in 2.2 s (+0.4 s
#: LP) against 1,920,565 in 13.6 s; 1,921,701 in 5.0 s (+0.7 s) against
#: 1,921,704 in 15.5 s, where HiGHS spent ~10 s in root cuts that moved its
#: bound by 0.3 before its own reduced-cost sub-MIP found the plan
#: (benchmarks/results/rins-1e5/replay/).
RINS_RELATED = True
RINS_EXTRA = 0.25
#: every other row-related neighbourhood is drawn across a row the plan
#: over-fills at a price (:func:`_slack_units`) instead of around a losing unit
SLACK_RELATED = True
#: share of the time left that level 0 of a model too large for one LP
#: spends on smoothed-dual prices before sifting (at 10^6 city firms about
#: 15 s of 60 s; sampled levels use all of their own share)
SMOOTH_SHARE = 0.3
#: from this many available pairs on (and up to :data:`DIRECT_LP_PAIRS`),
#: level 0 solves its whole LP in a child process while it sifts
#: (:class:`_WholeInChild`); below, the child's start-up (~1 s) is not worth it
BACKGROUND_LP_PAIRS = 100_000
#: start that child's simplex from the basis of the sampled LP, extended to
#: every unit (:func:`_extended_basis`), when level 0's prices come from one
#: sampled LP. Off: at 10^5 phased city firms the LP is in hand 9–13 s earlier
#: (its simplex 1.6–2× faster) but the plans at 60 and 150 s are within noise,
#: and on the unphased model the warm LP's vertex breaks ties between equally
#: priced options (keep / admit, 163 units) the other way, after which the
#: search ended 0.4% worse on 4 of 4 runs (benchmarks/results/warm-lp-1e5/)
WARM_LP_BASIS = False
#: problems with at most this many available pairs run HiGHS' branch and bound
#: on the whole problem in a child process while the neighbourhood search
#: improves the plan (:class:`_WholeInChild`), for the bound its cuts give.
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

# ---------------------------------------------------------------------------
# Compiled model
# ---------------------------------------------------------------------------


@dataclass
class _Family:
    """One constraint family's per-(unit, option) data.

    ``rows`` holds *global* row indices (``-1`` = pair not in the family):
    ``None`` when every pair feeds the single row ``offset``; shape ``(n,)``
    when the row depends on the unit only; ``(n, O)`` otherwise.
    """

    name: str
    values: FloatArray
    rows: IntArray | None
    offset: int
    n_rows: int

    def rows_of(self, units: IntArray | slice, n_options: int) -> IntArray:
        """Global row index of every pair of ``units`` as ``(k, O)``."""
        if self.rows is None:
            k = self.values[units].shape[0]
            return np.full((k, n_options), self.offset, dtype=np.int64)
        r = self.rows[units]
        if r.ndim == 1:
            return np.broadcast_to(r[:, None], (r.shape[0], n_options)).astype(np.int64)
        return r.astype(np.int64)

    def rows_at(self, units: IntArray, options: IntArray) -> IntArray:
        """Global row index of the pairs ``(units[j], options[j])``."""
        if self.rows is None:
            return np.full(units.shape[0], self.offset, dtype=np.int64)
        if self.rows.ndim == 1:
            return self.rows[units].astype(np.int64)
        return self.rows[units, options].astype(np.int64)


class LagrangianModel:
    """The choice problem compiled for pricing: objective and family row values.

    Everything is in maximisation form. Per family the ``(n, O)`` row values are
    computed once (families with identical coefficients share one array).

    Attributes:
        n, n_options, m: units, option slots, coupling rows.
        sign: ``+1`` for a max objective, ``-1`` for min.
        c: maximisation-form objective per pair (0 where unavailable).
        available: ``(n, O)`` availability mask.
        families: compiled constraint families.
        sense, rhs, penalty: per global row (penalty ``inf`` for hard rows).
        lam_lo, lam_hi: sign/penalty box of the multipliers.
        row_scale: ``Σ_i max_o |a_rio|`` per row, for feasibility tolerances.
    """

    def __init__(self, problem: ChoiceProblem) -> None:
        eff = problem.effects
        self.problem = problem
        self.n, self.n_options = problem.n_units, problem.n_options
        # One (n, O) linear form per distinct weight vector (objective and rows).
        keys: list[tuple[tuple[str, float], ...]] = []

        def key_of(weights: dict[str, float]) -> tuple[tuple[str, float], ...]:
            key = tuple(sorted((m, float(w)) for m, w in weights.items() if w != 0.0))
            if key not in keys:
                keys.append(key)
            return key

        obj_key = key_of(problem.objective.weights)
        con_keys = [key_of(c.coefficients) for c in problem.constraints]
        # One pass over ``effects`` in cache-sized chunks of units: NaN → 0,
        # availability, and each form from the few metrics it weighs.
        terms = [[(problem.metric_index(m), w) for m, w in key] for key in keys]
        forms = [np.zeros((self.n, self.n_options)) for _ in keys]
        avail = np.zeros((self.n, self.n_options), dtype=bool)
        chunk = max(1, CHUNK_FLOATS // max(1, self.n_options * eff.shape[2]))
        for lo in range(0, self.n, chunk):
            block = eff[lo : lo + chunk]
            nan = np.isnan(block)
            avail[lo : lo + chunk] = ~nan.all(axis=2)
            clean = np.where(nan, 0.0, block)
            for form, weighted in zip(forms, terms, strict=True):
                out = form[lo : lo + chunk]
                for k, w in weighted:
                    out += w * clean[:, :, k]
        for f in forms:
            f[~avail] = 0.0
        self.available: BoolArray = avail
        cache = dict(zip(keys, forms, strict=True))

        def combine(weights: dict[str, float]) -> FloatArray:
            return cache[key_of(weights)]

        del obj_key, con_keys
        self.sign = 1.0 if problem.objective.sense == "max" else -1.0
        self.c: FloatArray = self.sign * combine(problem.objective.weights)
        if self.sign < 0:
            self.c[~avail] = 0.0
        self.families: list[_Family] = []
        senses: list[FloatArray] = []
        rhs: list[FloatArray] = []
        pens: list[FloatArray] = []
        self.row_labels: list[str] = []
        offset = 0
        for con in problem.constraints:
            k = con.n_rows
            values = combine(con.coefficients)
            rows: IntArray | None
            if con.group is None:
                rows = None
            else:
                g = np.asarray(con.group, dtype=np.int64)
                if g.shape not in ((self.n,), (self.n, self.n_options)):
                    raise ValueError(f"constraint {con.name!r}: group has shape {g.shape}")
                if g.size and (g.max() >= k or g.min() < -1):
                    raise ValueError(f"constraint {con.name!r}: group index out of range")
                rows = np.where(g >= 0, g + offset, -1).astype(np.int32)
            self.families.append(_Family(con.name, values, rows, offset, k))
            senses.append(np.full(k, _SENSE_CODE[con.sense], dtype=np.int64))
            rhs.append(con.rhs_array())
            pen = INF if con.penalty is None else float(con.penalty)
            if con.penalty is not None and pen < 0:
                raise ValueError(f"constraint {con.name!r}: negative penalty")
            pens.append(np.full(k, pen))
            self.row_labels.extend(con.row_labels())
            offset += k
        self.m = offset
        self.max_abs: list[FloatArray] = [np.abs(f.values).max(axis=1) for f in self.families]
        self.sense: IntArray = np.concatenate(senses) if senses else np.zeros(0, np.int64)
        self.rhs: FloatArray = np.concatenate(rhs) if rhs else np.zeros(0)
        self.penalty: FloatArray = np.concatenate(pens) if pens else np.zeros(0)
        self.lam_lo = np.where(self.sense == _LE, 0.0, -self.penalty)
        self.lam_hi = np.where(self.sense == _GE, 0.0, self.penalty)
        self.elastic: BoolArray = np.isfinite(self.penalty)
        # Σ_i max_o |a_rio| per row (tolerances, big-M scaling), and the number
        # of units that touch each row (for the typical coefficient)
        scale = np.zeros(self.m + 1)
        support = np.zeros(self.m + 1)
        for fam, mabs in zip(self.families, self.max_abs, strict=True):
            if fam.rows is None:
                scale[fam.offset] += float(mabs.sum())
                support[fam.offset] += float((mabs > 0).sum())
                continue
            per_option = fam.rows.ndim == 2
            for o in range(self.n_options if per_option else 1):
                r = fam.rows[:, o] if per_option else fam.rows
                weight: FloatArray = np.abs(fam.values[:, o]) if per_option else mabs
                where = np.where(r >= 0, r, self.m)
                div = float(self.n_options if per_option else 1)
                scale += np.bincount(where, weights=weight, minlength=self.m + 1) / div
                support += np.bincount(where, weights=weight > 0, minlength=self.m + 1) / div
        self.row_scale: FloatArray = scale[: self.m]
        #: mean |a_rio| over the units touching row r (price scale of one unit)
        self.row_typical: FloatArray = scale[: self.m] / np.maximum(support[: self.m], 1.0)
        self.feas_tol: FloatArray = 1e-6 * np.maximum(1.0, np.abs(self.rhs)) + 1e-9 * self.row_scale
        self.c_scale = float(np.abs(self.c).max()) if self.c.size else 1.0

    # -- pricing -----------------------------------------------------------
    def clip(self, lam: FloatArray) -> FloatArray:
        """Project multipliers onto their sign/penalty box."""
        return np.clip(lam, self.lam_lo, self.lam_hi)

    def reduced(self, lam: FloatArray, units: IntArray | None = None) -> FloatArray:
        """``c_io − Σ_r λ_r a_rio`` as ``(n, O)`` (or for ``units``); −inf where unavailable."""
        sel: IntArray | slice = slice(None) if units is None else units
        d = np.array(self.c[sel], dtype=float, copy=True)
        lam_ext = np.append(lam, 0.0)  # index -1 → 0
        for fam in self.families:
            if fam.rows is None:
                mu = lam[fam.offset]
                if mu != 0.0:
                    d -= mu * fam.values[sel]
                continue
            if not np.any(lam[fam.offset : fam.offset + fam.n_rows]):
                continue
            r = fam.rows[sel]
            if r.ndim == 1:
                d -= lam_ext[r][:, None] * fam.values[sel]
            else:
                d -= lam_ext[r] * fam.values[sel]
        d[~self.available[sel]] = -np.inf
        return d

    def dual_value(self, lam: FloatArray) -> tuple[float, FloatArray]:
        """``L(λ)`` (λ must be in its box) and the reduced costs ``(n, O)``."""
        d = self.reduced(lam)
        return float(d.max(axis=1).sum() + lam @ self.rhs), d

    def flip_radius(self, width: FloatArray) -> FloatArray:
        """Per unit, an upper bound on how much any option's reduced cost can
        move when every price moves by at most ``width``
        (``Σ_f max_o width_{r(f,i,o)} · |a_fio|``)."""
        acc = np.zeros(self.n)
        w_ext = np.append(width, 0.0)
        for fam, mabs in zip(self.families, self.max_abs, strict=True):
            if fam.rows is None:
                acc += width[fam.offset] * mabs
            elif fam.rows.ndim == 1:
                acc += w_ext[fam.rows] * mabs
            else:
                wr = w_ext[fam.rows]  # -1 (no row) picks the appended 0
                acc += (wr * np.abs(fam.values)).max(axis=1)
        return acc

    def subsample(self, idx: IntArray, scale: float) -> LagrangianModel:
        """The model restricted to units ``idx`` with right-hand sides × ``scale``.

        Used for starting prices: a random ``1/k`` of the units with ``1/k`` of
        every right-hand side has nearly the same optimal prices.
        """
        sub = object.__new__(LagrangianModel)
        sub.__dict__.update(self.__dict__)
        sub.n = int(idx.size)
        sub.available = self.available[idx]
        sub.c = self.c[idx]
        sub.families = [
            _Family(f.name, f.values[idx], None if f.rows is None else f.rows[idx], f.offset,
                    f.n_rows)
            for f in self.families
        ]
        sub.max_abs = [a[idx] for a in self.max_abs]
        sub.rhs = self.rhs * scale
        sub.row_scale = self.row_scale * scale
        sub.feas_tol = self.feas_tol * scale
        return sub

    # -- plans ---------------------------------------------------------------
    def activity(self, choice: IntArray, units: IntArray | None = None) -> FloatArray:
        """Row activity ``Σ a_r(i, choice_i)`` over ``units`` (default: all)."""
        idx = np.arange(self.n) if units is None else units
        ch = choice if units is None else choice[units]
        act = np.zeros(self.m + 1)
        for fam in self.families:
            v = fam.values[idx, ch]
            r = fam.rows_at(idx, ch)
            act += np.bincount(np.where(r >= 0, r, self.m), weights=v, minlength=self.m + 1)
        return act[: self.m]

    def expected_activity(self, weights: FloatArray) -> FloatArray:
        """Row activity ``Σ_io w_io a_rio`` of a fractional plan ``weights`` ``(n, O)``.

        With one-hot weights this is :meth:`activity`; with soft-max weights
        it is the gradient term of the smoothed dual (:mod:`sim.optimise.smoothing`).
        Unavailable pairs must have weight 0.
        """
        m = self.m
        act = np.zeros(m + 1)
        for fam in self.families:
            if fam.rows is None:
                act[fam.offset] += float((weights * fam.values).sum())
            elif fam.rows.ndim == 1:
                per_unit = (weights * fam.values).sum(axis=1)
                act += np.bincount(np.where(fam.rows >= 0, fam.rows, m), weights=per_unit,
                                   minlength=m + 1)
            else:
                act += np.bincount(np.where(fam.rows >= 0, fam.rows, m).ravel(),
                                   weights=(weights * fam.values).ravel(), minlength=m + 1)
        return act[:m]

    def violation(self, act: FloatArray) -> FloatArray:
        """Per-row shortfall/excess of an activity vector (≥ 0)."""
        return self.violation_at(np.arange(self.m), act)

    def violation_at(self, rows: IntArray, values: FloatArray) -> FloatArray:
        """Violation of rows ``rows`` (any shape; ``-1`` = no row, violation 0)
        if their activities were ``values`` (same shape)."""
        r = np.where(rows >= 0, rows, 0)
        excess = values - self.rhs[r]
        s = self.sense[r]
        v = np.where(
            s == _LE,
            np.maximum(excess, 0.0),
            np.where(s == _GE, np.maximum(-excess, 0.0), np.abs(excess)),
        )
        return np.where(rows >= 0, v, 0.0)

    def row_bounds(self) -> tuple[FloatArray, FloatArray]:
        """Per row, the least and greatest activity it allows (±inf when one-sided)."""
        lower = np.where(self.sense == _LE, -np.inf, self.rhs)
        upper = np.where(self.sense == _GE, np.inf, self.rhs)
        return lower, upper

    def slack(self, act: FloatArray) -> FloatArray:
        """Per-row room before a row is violated (0 for ``==`` rows, < 0 if violated)."""
        return np.where(
            self.sense == _LE, self.rhs - act, np.where(self.sense == _GE, act - self.rhs, 0.0)
        )

    def evaluate(self, choice: IntArray) -> tuple[float, bool, FloatArray]:
        """Maximisation-form value (penalties included), hard feasibility, violations."""
        act = self.activity(choice)
        viol = self.violation(act)
        base = float(self.c[np.arange(self.n), choice].sum())
        pen = float((viol[self.elastic] * self.penalty[self.elastic]).sum())
        feasible = bool(np.all(viol[~self.elastic] <= self.feas_tol[~self.elastic]))
        ok = bool(self.available[np.arange(self.n), choice].all())
        return base - pen, feasible and ok, viol

    def slacks(self, choice: IntArray) -> dict[str, FloatArray]:
        """Elastic shortfall per row for the families with a penalty."""
        viol = self.violation(self.activity(choice))
        return {
            f.name: viol[f.offset : f.offset + f.n_rows].copy()
            for f in self.families
            if np.isfinite(self.penalty[f.offset : f.offset + f.n_rows]).all()
        }

    def duals(self, lam: FloatArray) -> dict[str, FloatArray]:
        """Multipliers per family, in the objective's own sense (∂objective/∂rhs)."""
        return {f.name: self.sign * lam[f.offset : f.offset + f.n_rows] for f in self.families}


# ---------------------------------------------------------------------------
# Core LP / MIP with HiGHS
# ---------------------------------------------------------------------------


@dataclass
class _CoreResult:
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


def _chosen_options(x: FloatArray) -> IntArray:
    """The option each unit takes in a core solution's values ``x`` (units × options;
    NaN where the core had no column), as a plan of those units."""
    return np.argmax(np.nan_to_num(x, nan=-1.0), axis=1)


@dataclass
class _CoreLP:
    lp: highspy.HighsLp
    colmap: IntArray  # (k, O) column of each allowed pair, -1 otherwise
    allowed: BoolArray
    nx: int  # choice columns come first
    n_before_art: int  # columns from here on are artificial / box slacks
    extra_rows: IntArray  # coupling row of every column from ``n_before_art`` on


def _build_core(
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
) -> _CoreLP:
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

    for code, signs in ((_LE, [-1.0]), (_GE, [1.0]), (_EQ, [1.0, -1.0])):
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
        for code, signs in ((_LE, [-1.0]), (_GE, [1.0]), (_EQ, [1.0, -1.0])):
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
    lo = np.where(model.sense == _LE, -INF, b)
    hi = np.where(model.sense == _GE, INF, b)
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
    return _CoreLP(lp, colmap, allowed, nx, n_before_art, xr)


def _solve_core(
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
) -> _CoreResult:
    """Build (see :func:`_build_core`) and solve a core LP or MIP.

    ``start`` (option per unit of ``units``) warm-starts the MIP;
    ``want_basis`` returns an optimal LP's basis (solved in this process).
    """
    t0 = time.perf_counter()
    core = _build_core(
        model, units, allowed, fixed_choice, fixed_mask,
        integer=integer, artificial=artificial, rhs_scale=rhs_scale, box=box,
    )
    options: dict[str, Any] = {"time_limit": max(0.05, float(time_limit))}
    if integer:
        options["mip_rel_gap"] = float(mip_gap)
    options.update(highs_options or {})
    xs = _warm_start(core, start) if integer else None
    worker = active_worker() if integer else None
    if worker is None:
        ans = solve_in_process(core.lp, options, xs, want_basis=want_basis)
    else:
        limit = float(options["time_limit"])
        ans = worker.solve(LpArrays.from_highs(core.lp), options, xs, limit + mip_grace(limit))
    return _read_answer(model, core, units.shape[0], ans, integer, t0)


@dataclass
class _LaneMip:
    """A neighbourhood MIP sent to the second lane's worker, answer not yet read."""

    core: _CoreLP
    units: IntArray
    fixed_choice: IntArray
    t0: float  # time.perf_counter() when it was built
    limit: float  # its HiGHS time limit (s)
    lane: MipWorker  # the worker solving it

    def result(self, model: LagrangianModel) -> _CoreResult:
        """Its answer, waiting until its limit plus :func:`mip_grace`; one that has not
        come by then is stopped (see :meth:`MipWorker.answer`) and gives its last
        streamed plan."""
        until = self.t0 + self.limit + mip_grace(self.limit)
        ans = self.lane.answer(max(0.0, until - time.perf_counter()))
        return _read_answer(model, self.core, self.units.shape[0], ans, True, self.t0)

    def plan(self, res: _CoreResult, base: IntArray) -> IntArray:
        """``base`` with this neighbourhood's units set as in ``res`` (a plan of it)."""
        cand = base.copy()
        cand[self.units] = _chosen_options(res.x)
        return cand


def _submit_lane_mip(
    lane: MipWorker,
    model: LagrangianModel,
    units: IntArray,
    allowed: BoolArray,
    fixed_choice: IntArray,
    *,
    time_limit: float,
    mip_gap: float,
) -> _LaneMip:
    """Send the neighbourhood MIP over ``units`` (options ``allowed``, the rest
    fixed at ``fixed_choice``, warm-started from it) to ``lane`` and return at once."""
    t0 = time.perf_counter()
    core = _build_core(model, units, allowed, fixed_choice, _fixed_except(model.n, units),
                       integer=True, artificial=False)
    limit = max(0.05, float(time_limit))
    lane.submit(LpArrays.from_highs(core.lp), {"time_limit": limit, "mip_rel_gap": mip_gap},
                _warm_start(core, fixed_choice[units]))
    return _LaneMip(core, units, fixed_choice.copy(), t0, limit, lane)


def _close_lane(lane: MipWorker, worker: MipWorker | None, peaks: list[float]) -> None:
    """Stop the second lane's worker; its peak memory (MB) goes to ``peaks`` and its
    stopped and crashed MIPs count with the main worker's."""
    lane.close()
    peaks.append(lane.peak_mb)
    if worker is not None:
        worker.stopped += lane.stopped
        worker.crashed += lane.crashed


def _warm_start(core: _CoreLP, start: IntArray | None) -> FloatArray | None:
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


def _read_answer(
    model: LagrangianModel, core: _CoreLP, k: int, ans: MipAnswer, integer: bool, t0: float
) -> _CoreResult:
    """HiGHS' answer on a core model (:func:`_build_core`, ``k`` units) as a
    :class:`_CoreResult`, timed from ``t0`` (:func:`time.perf_counter`)."""
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
    return _CoreResult(status, x, lam, value, bound, art, time.perf_counter() - t0, extra_used,
                       ans.stopped, ans.basis)


def _probe(
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
    core = _build_core(
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


# ---------------------------------------------------------------------------
# The decomposition driver
# ---------------------------------------------------------------------------


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


def _margins(d: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Best option, its reduced cost and its margin over the next-best option."""
    best = np.argmax(d, axis=1)
    top = d[np.arange(d.shape[0]), best]
    if d.shape[1] < 2:
        return best, top, np.full(d.shape[0], np.inf)
    d2 = d.copy()
    d2[np.arange(d.shape[0]), best] = -np.inf
    return best, top, top - d2.max(axis=1)


@dataclass
class _LPState:
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


def _needs_artificial(model: LagrangianModel, res: _CoreResult, rhs_scale: float = 1.0) -> bool:
    """Whether an LP solved with artificial slack (right-hand side scaled by
    ``rhs_scale``) uses it in any row: its hard rows cannot all be met."""
    return bool(np.any(res.extra_used > rhs_scale * _artificial_tol(model)))


def _solve_direct(
    model: LagrangianModel,
    time_limit: float,
    level: int,
    emit: Callable[[str, str], None],
    on_bound: Callable[[float, str], None] | None,
) -> _LPState | None:
    """The LP relaxation over all units in one HiGHS solve (big-M artificial slack).

    Returns ``None`` when HiGHS does not finish in ``time_limit`` (the caller
    then sifts); an LP that needs artificial slack at its optimum is reported
    infeasible.
    """
    n, n_opt = model.n, model.n_options
    res = _solve_core(
        model, np.arange(n), np.ones((n, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=bool), integer=False, artificial=True, time_limit=time_limit,
        highs_options=DIRECT_LP_OPTIONS,
    )
    return _direct_state(model, res, level, "", emit, on_bound)


def _direct_state(
    model: LagrangianModel,
    res: _CoreResult,
    level: int,
    where: str,
    emit: Callable[[str, str], None],
    on_bound: Callable[[float, str], None] | None,
) -> _LPState | None:
    """The price level's state from a direct LP's result (``None`` unless optimal);
    ``where`` says where it was solved, for the progress message."""
    n = model.n
    if res.status != "optimal":
        emit("sift", f"level {level}: direct LP on {n} units{where}: {res.status}")
        return None
    choice = _chosen_options(res.x)
    infeasible = _needs_artificial(model, res)
    val_l, _ = model.dual_value(res.lam)
    msg = f"level {level}: direct LP on {n} units{where} in {res.seconds:.1f}s, L {val_l:.8g}"
    if on_bound is not None and not infeasible:
        on_bound(val_l, msg)
    else:
        emit("sift", msg)
    return _LPState(res.lam, choice, np.arange(n), res.x, res.value, True, infeasible, 1)


class _WholeInChild:
    """The whole problem solved by HiGHS in a child process while this process works on.

    HiGHS' simplex and branch and bound use one core; on a 2-core machine
    the other one is free. Two uses:

    * the **LP** (``integer=False``): level 0 of a model with at most
      :data:`DIRECT_LP_PAIRS` pairs starts it at once and sifts meanwhile. If
      sifting converges first (random and MMKP-like models) the child is
      stopped; if not (the city model, whose units are nearly tied between
      years) the LP's answer is taken as soon as it comes, instead of after
      :data:`DIRECT_AFTER_STEPS` sifting steps plus the LP's own time;
    * the **MIP** (``integer=True``, warm-started with the plan): while the
      large-neighbourhood search improves the plan, HiGHS' branch and bound
      on the whole problem tightens the bound with its cuts
      (:data:`BOUND_MIP_PAIRS`); its dual bound is global.
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
        self.core = _build_core(
            model, np.arange(n), np.ones((n, n_opt), dtype=bool), np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=bool), integer=integer, artificial=not integer,
        )
        full: dict[str, Any] = {"time_limit": max(0.05, float(time_limit))}
        full.update(options or {})
        self.worker = MipWorker()
        self.worker.submit(LpArrays.from_highs(self.core.lp), full, _warm_start(self.core, start),
                           basis)

    def result(self, wait: float) -> _CoreResult | None:
        """The result if it comes within ``wait`` seconds (0: only look)."""
        try:
            ans = self.worker.collect(wait)
        except RuntimeError:  # the child failed: the caller works on without it
            ans = MipAnswer("error", None, float("nan"), -np.inf,
                            time.perf_counter() - self.t0, stopped=True)
        if ans is None:
            return None
        return self._read(ans)

    def stop(self) -> _CoreResult:
        """Stop the child now; the result holds the last plan it streamed (if any)
        and no bound."""
        return self._read(self.worker.abandon(restart=False))

    def _read(self, ans: MipAnswer) -> _CoreResult:
        return _read_answer(self.model, self.core, self.model.n, ans, self.integer, self.t0)

    def close(self) -> None:
        """Stop the child, whether or not it is still solving."""
        if self.peaks is not None and self.worker.peak_mb > 0:
            self.peaks.append(self.worker.peak_mb)
            self.peaks = None  # closing twice records once
        self.worker.close()


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
    the other prices fixed: jointly by the block LP (:func:`block_descent`)
    when ``blk`` is given, else (or if HiGHS does not solve it in
    :data:`CAPACITY_BLOCK_SHARE` of the ``left`` seconds) by ``passes`` of
    :func:`coordinate_descent`. ``current`` is ``(L, reduced costs)`` at
    ``lam``; returns the prices, ``L`` and the reduced costs.
    """
    if blk is not None and left > 0:
        got = block_descent(model, lam, current, CAPACITY_BLOCK_SHARE * left, blk)
        if got is not None:
            return got
    return coordinate_descent(model, lam, pairs, passes, current)


def _stalled(at_box: list[int], step_seconds: float, left: float) -> str:
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


class _BackgroundLP:
    """The direct LP of level 0, solved in a child process while this one sifts
    (see :func:`_solve_lp`); started by :meth:`start`, once its starting basis
    is known (or at once, without one)."""

    def __init__(self, model: LagrangianModel, deadline: float,
                 emit: Callable[[str, str], None], child_peaks: list[float]) -> None:
        self.model, self.deadline, self.emit, self.child_peaks = model, deadline, emit, child_peaks
        self.child: _WholeInChild | None = None

    def start(self, basis: Basis | None = None) -> None:
        """Start the child's LP (from ``basis``); later calls do nothing."""
        left = self.deadline - time.perf_counter()
        if self.child is not None or left <= 0:
            return
        self.child = _WholeInChild(self.model, integer=False, time_limit=left,
                                   options=DIRECT_LP_OPTIONS, peaks=self.child_peaks, basis=basis)
        how = ", from the sampled LP's basis" if basis is not None else ""
        self.emit("sift", f"level 0: direct LP on {self.model.n} units started in a child "
                  f"process{how}")

    def result(self, wait: float) -> _CoreResult | None:
        """The LP's result if it comes within ``wait`` seconds (None: not started)."""
        return None if self.child is None else self.child.result(wait)

    def close(self) -> None:
        """Stop the child, if it was started."""
        if self.child is not None:
            self.child.close()


@contextlib.contextmanager
def _background_lp(
    model: LagrangianModel,
    k0: int,
    deadline: float,
    emit: Callable[[str, str], None],
    child_peaks: list[float],
) -> Iterator[_BackgroundLP | None]:
    """The direct LP of level 0 to be solved in a child process, for
    :func:`_solve_lp`'s ``background``: for models with
    :data:`BACKGROUND_LP_PAIRS` to :data:`DIRECT_LP_PAIRS` pairs that sifting
    will not price at once (more units than ``k0``); otherwise None. The child
    is stopped on exit and its peak memory (MB) goes to ``child_peaks``."""
    pairs = int(model.available.sum())
    background = None
    if (model.m and model.n > k0 and BACKGROUND_LP_PAIRS <= pairs <= DIRECT_LP_PAIRS
            and deadline > time.perf_counter()):
        background = _BackgroundLP(model, deadline, emit, child_peaks)
    try:
        yield background
    finally:
        if background is not None:
            background.close()


def _extended_basis(
    model: LagrangianModel, sample: IntArray, sample_basis: Basis, lam: FloatArray
) -> Basis:
    """A starting basis for the whole LP from an optimal basis of the LP over
    ``sample`` (its right-hand side scaled, as :func:`_build_core` lays both out).

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


def _solve_lp(
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
    background: _BackgroundLP | None = None,
) -> _LPState:
    """Minimise ``L(λ)`` (= solve the LP relaxation) by trust-region sifting.

    A level with at most :data:`DIRECT_LP_PAIRS` available pairs that has
    not converged after :data:`DIRECT_AFTER_STEPS` steps is solved as one LP
    over all its units instead (:func:`_solve_direct`): on models such as the
    city model, whose ratio-KPI and phase rows touch every option and whose
    units are nearly tied between years, sifting needs many steps while
    HiGHS' simplex on the whole LP is quick. From :data:`BACKGROUND_LP_PAIRS`
    pairs on, level 0 starts that LP at once in a child process and sifts
    meanwhile (:class:`_BackgroundLP`, passed as ``background`` by
    :func:`_background_lp`); the first to finish gives the prices. When the
    starting prices come from one sampled LP and :data:`WARM_LP_BASIS` is on,
    the child starts after it, from that LP's basis extended to every unit
    (:func:`_extended_basis`).

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
        st = _solve_lp(sub, lam, k0=k0, deadline=t_sub, rng=rng, emit=emit, level=level + 1)
        lam = st.lam
        schedule = FINE_SCHEDULE if st.smoothed else FULL_SCHEDULE
        how = "smoothed dual" if st.smoothed else f"{st.steps} steps"
        emit("sample", f"level {level + 1}: prices from {idx.size} sampled units "
             f"({how}{'' if st.converged else ', not converged'})")
    elif m and n > k0 and left() > 0:
        sample = np.sort(rng.choice(n, size=k0, replace=False))
        res = _solve_core(
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
                             or _needs_artificial(model, res, rhs_scale=k0 / n)
                             else _extended_basis(model, sample, res.basis, res.lam))

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
            return _LPState(lam, d.argmax(axis=1), np.zeros(0, dtype=np.int64), None,
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
    best, _, margin = _margins(d)
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
        res = _solve_core(
            model, step_core, cols, choice, ~in_core, integer=False, artificial=True,
            time_limit=max(0.1, 0.5 * left()), box=box,
        )
        if res.status != "optimal":
            emit("sift", f"level {level}: core LP {res.status}")
            break
        lam = res.lam
        core, lp_x, lp_value = step_core, res.x, res.value
        choice[core] = _chosen_options(lp_x)
        val_l, d = model.dual_value(lam)
        active = res.extra_used > _artificial_tol(model)
        at_box.append(int(active.sum()))
        best, _, margin = _margins(d)
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
            direct = _solve_direct(model, left(), level, emit, on_bound)
            if direct is not None:
                return direct
        sift_seconds += time.perf_counter() - step_start
        if incumbent_hook is not None:
            incumbent_hook(steps, lam, np.where(in_core, choice, best), margin)
        if stop is not None and stop():
            break
        if may_stall is not None and not direct_ok and may_stall():
            why = _stalled(at_box, sift_seconds / steps, left())
            if why:
                emit("sift", f"level {level}: {why}; the time goes to the plan")
                break
        # recentre: fixed units move to their best option at the new prices
        if pairs:
            lam, val_c, d = _capacity_prices(model, lam, (val_l, d), pairs, sift_blk,
                                             STEP_PASSES, left())
            best, _, margin = _margins(d)
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
    return _LPState(lam, choice, core, lp_x, lp_value, converged, infeasible, steps)


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
            r2 = _solve_core(
                model, units, np.ones((units.size, n_opt), dtype=bool), fixed,
                _fixed_except(n, units),
                integer=True, artificial=False, time_limit=min(0.1 * left(), 10.0),
                mip_gap=0.1 * gap_tol,
            )
            if np.isfinite(r2.value):
                cand = fixed.copy()
                cand[units] = _chosen_options(r2.x)
                offer(cand)
            emit("incumbent", f"MIP on {units.size} units at step prices: {r2.status}")
        if not np.isfinite(inc_val) and (step >= 3 or n >= REPAIR_EARLY_UNITS):
            plan_by_repair(fixed, model.reduced(lam_c), f"step {step} plan")

    def plan_by_repair(start: IntArray, worth: FloatArray, what: str) -> None:
        """Repair ``start`` greedily (:func:`repair_plan`), improve it by single
        moves (:func:`improve_plan`) and offer it as the incumbent."""
        t0 = time.perf_counter()
        until = t0 + min(REPAIR_SHARE * left(), REPAIR_CAP)
        plan = repair_plan(model, start, worth, until)
        if plan is not None:
            plan = improve_plan(model, plan, until)
        taken = plan is not None and offer(plan)
        emit("repair", f"{what} repaired greedily and improved by single moves in "
             f"{time.perf_counter() - t0:.2f}s: {'a better plan' if taken else 'no better plan'}")

    def recreate(until: float) -> None:
        """Ruin-and-recreate rounds on the incumbent (:func:`recreate_plan`) while
        its gap is above :data:`RECREATE_GAP`, until ``until``."""
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

    with _background_lp(model, k0, deadline, emit, child_peaks) as background:
        lp = _solve_lp(
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
        children.callback(_close_lane, lane, active_worker(), child_peaks)
    if lp_x is not None:
        lp_choice = choice.copy()
        lp_choice[core] = _chosen_options(lp_x)
        choice = lp_choice
        offer(lp_choice)
    emit("round", "rounded LP")
    # reduced-cost fixing needs L at the prices whose reduced costs it reads:
    # a lower bound from a MIP would fix pairs that a better plan may use
    l_at_lam, d = model.dual_value(lam)
    if (lp_converged or not np.isfinite(inc_val)) and left() > 0:
        # the rounded optimal LP breaks at most a few rows: its repair is cheap and close
        plan_by_repair(choice, d, "rounded LP")
    _, top, margin = _margins(d)
    pair_loss = top[:, None] - d  # each option's reduced-cost loss against the unit's best

    # core MIP over the most ambiguous units
    frac = np.zeros(n, dtype=bool)
    if lp_x is not None:
        fx = np.nan_to_num(lp_x, nan=0.0)
        frac[core] = ((fx > 1e-6) & (fx < 1 - 1e-6)).any(axis=1)
    n_frac = int(frac.sum())
    k_mip = min(n, n_frac + max(100, 8 * m))
    mip_gap = 0.5 * gap_tol
    want_related = False
    related_draws = 0  # row-related neighbourhoods drawn so far
    slack_row = -1  # the row of the last slack-drawn one
    slack_fruitless = np.zeros(m, dtype=bool)  # rows whose slack MIP found nothing since
    first_search = True
    whole_mip: _WholeInChild | None = None

    def take_whole(res: _CoreResult) -> None:
        """The plan and the (global) dual bound of the whole MIP in the child."""
        nonlocal bound
        taken = np.isfinite(res.value) and offer(_chosen_options(res.x))
        if res.status in ("optimal", "feasible") and not res.stopped and np.isfinite(res.bound):
            bound = min(bound, max(inc_val, res.bound))
        emit("whole-mip", f"HiGHS on the whole problem in a child process: {res.status} in "
             f"{res.seconds:.1f}s{', its plan taken' if taken else ''}"
             f"{', stopped (no bound)' if res.stopped else f', bound {sign * res.bound:.8g}'}")
    def take_from_lane(job: _LaneMip, res: _CoreResult, kind: str) -> None:
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
        options, related, by_slack = allowed, False, False
        drawn = 0  # units of a row-related neighbourhood before RINS narrowed it
        if exact:
            units = np.flatnonzero(free)
            fixed_choice = base.copy()
            single = ~free
            fixed_choice[single] = np.argmax(allowed[single], axis=1)
            if n_free_pairs <= probe_pairs and left() > 0.1:
                keep = _probe(
                    model,
                    units,
                    allowed[units],
                    fixed_choice,
                    _fixed_except(n, units),
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
            tl = left()
        else:
            fixed_choice = base.copy()
            if may_start_whole and left() >= BOUND_MIP_SECONDS_PER_PAIR * whole_pairs:
                whole_mip = _WholeInChild(
                    model, integer=True, time_limit=BOUND_MIP_TIME_SHARE * left(),
                    options={"mip_rel_gap": mip_gap, **BOUND_MIP_OPTIONS}, start=inc_choice,
                    peaks=child_peaks,
                )
                children.callback(whole_mip.close)
                emit("whole-mip", f"HiGHS on the whole problem ({whole_pairs} pairs) started "
                     "in a child process, for its bound")
            may_start_whole = False
            if inc_choice is None:  # the first plan: any unit, any allowed option
                units = _neighbourhood(margin, frac, np.ones(n, dtype=bool), k_mip, rng)
                tl = _neighbourhood_time(units.size, n, left(), cap=10.0)
            elif want_related:
                related = True
                loss = pair_loss[np.arange(n), inc_choice]
                by_slack = SLACK_RELATED and related_draws % 2 == 1
                related_draws += 1
                if by_slack:
                    units, slack_row = _slack_units(model, lam, allowed, inc_choice, margin, rng,
                                                    slack_fruitless)
                else:
                    units = _related_units(model, d, top, allowed, inc_choice, loss, margin, rng)
                if RINS_RELATED and units.size:
                    drawn = units.size
                    units = _rins_units(model, units, allowed[units], base, rng, 0.25 * left())
                tl = _neighbourhood_time(units.size, n, left(), share=0.5,
                                         cap=RELATED_MIP_SECONDS)
            else:
                loss = pair_loss[np.arange(n), inc_choice]
                options = _near_options(pair_loss, allowed, inc_choice)
                units = _neighbourhood(margin, frac, options.sum(axis=1) > 1, k_mip, rng, loss)
                tl = _neighbourhood_time(units.size, n, left(), cap=LOSS_MIP_SECONDS)
        beside = None
        if lane is not None and inc_choice is not None and not exact and units.size < n:
            # a second neighbourhood, none of the first's units: loss-drawn beside
            # a loss-drawn one, and (LANE_MIXED) beside a row-related one
            outside = _fixed_except(n, units)
            beside_related = related and not LANE_MIXED
            if beside_related:
                beside_options = options
                other = _related_units(model, d, top, allowed, inc_choice, loss, margin, rng)
                other = other[outside[other]]
            else:
                beside_options = (_near_options(pair_loss, allowed, inc_choice) if related
                                  else options)
                other = _neighbourhood(margin, frac & outside,
                                       (beside_options.sum(axis=1) > 1) & outside, k_mip, rng,
                                       loss)
            if other.size:
                stats.mip_solves += 1
                # a loss-drawn MIP gets a loss-drawn MIP's time, also beside a
                # row-related one (whose narrowed MIP is often solved in 2–3 s)
                beside_tl = tl if beside_related else _neighbourhood_time(
                    other.size, n, left(), cap=LOSS_MIP_SECONDS)
                beside = _submit_lane_mip(lane, model, other, beside_options[other],
                                          fixed_choice, time_limit=beside_tl,
                                          mip_gap=0.1 * gap_tol)
        stats.mip_solves += 1
        res = _solve_core(
            model,
            units,
            options[units],
            fixed_choice,
            _fixed_except(n, units),
            integer=True,
            artificial=False,
            time_limit=tl,
            mip_gap=mip_gap if exact else 0.1 * gap_tol,
            start=base[units] if np.isfinite(inc_val) else None,
        )
        improved, before = False, inc_val
        if np.isfinite(res.value):
            cand = fixed_choice.copy()
            cand[units] = _chosen_options(res.x)
            improved = offer(cand)
        if exact and res.status in ("optimal", "infeasible"):
            # every plan better than the incumbent lies in this restricted problem;
            # HiGHS' dual bound, not its plan's value: "optimal" only means
            # within its relative gap
            bound = min(bound, max(inc_val, res.bound))
        elif (exact or units.size >= n) and np.isfinite(res.bound):
            # nothing fixed (or only what cannot beat the incumbent): a global bound
            bound = min(bound, max(inc_val, res.bound))
        kind = ("exact" if exact else "slack" if by_slack else "related" if related
                else "heuristic")
        emit(
            "core-mip",
            f"{kind} MIP on {units.size} units "
            f"{f'(row {model.row_labels[slack_row]}) ' if by_slack else ''}"
            f"{f'(of {drawn} related, narrowed by their LP) ' if units.size < drawn else ''}"
            f"({int(options[units].sum())} of {n_free_pairs} free pairs): "
            f"{res.status} in {res.seconds:.2f}s"
            f"{' (stopped: HiGHS overran its limit or crashed)' if res.stopped else ''}",
        )
        if beside is not None:
            take_from_lane(beside, beside.result(model),
                           "related" if beside_related else "heuristic")
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
        if not related:
            k_mip = _next_neighbourhood_size(k_mip, res.status, n_frac, n, improved)
        if inc_val > before:
            slack_fruitless[:] = False  # a new plan: every row is worth a try again
        elif by_slack:
            slack_fruitless[slack_row] = True
        gain = (inc_val - before) / max(1.0, abs(inc_val)) if np.isfinite(before) else np.inf
        want_related = _wants_related(related, gain, first_search)
        first_search = False

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
    lp = _solve_core(
        model, movable, allowed[movable], choice, _fixed_except(model.n, movable),
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
    res = _solve_core(
        model, units, allowed[units], plan, _fixed_except(model.n, units),
        integer=True, artificial=False, time_limit=left, mip_gap=gap_tol,
    )
    if np.isfinite(res.value):
        plan[units] = _chosen_options(res.x)
    return plan


def _fixed_except(n: int, units: IntArray) -> BoolArray:
    """Mask of the units that stay fixed: all but ``units``."""
    fixed = np.ones(n, dtype=bool)
    fixed[units] = False
    return fixed


def _neighbourhood(
    margin: FloatArray,
    frac: BoolArray,
    searchable: BoolArray,
    k: int,
    rng: np.random.Generator,
    loss: FloatArray | None = None,
) -> IntArray:
    """Units of one heuristic core MIP (a large-neighbourhood-search step).

    Always the LP's fractional units. Without an incumbent the rest are the
    ``searchable`` units with the smallest reduced-cost margin (the units
    most willing to change). With one, ``loss`` is each unit's reduced-cost
    loss at the LP prices (best option's reduced cost minus the incumbent
    option's): the gap between the incumbent and the bound is the sum of
    these losses plus the priced slack, so the rest are drawn by loss, plus
    a tenth of the mean positive loss so that units at their best option can
    move too (to make room for others). Every priority is scaled by a
    random log-normal factor so that successive steps visit different
    neighbourhoods (seeded, so runs repeat); the factor is wide (σ = 1)
    with an incumbent: on the city model at 10^5 firms a narrow one (σ =
    0.5, half of the units by margin) revisited the same units and stalled
    1.3% above the bound. Units outside ``searchable`` are never chosen.
    Returns sorted unit indices.
    """
    n = margin.shape[0]
    pool = searchable | frac
    k = min(k, int(pool.sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    chosen = frac.copy()
    rest = k - int(chosen.sum())
    if rest <= 0:
        return np.flatnonzero(chosen)
    open_ = pool & ~chosen
    if loss is None:
        pri = np.where(open_, margin * np.exp(rng.normal(0.0, 0.5, size=n)), np.inf)
    else:
        positive = loss[open_ & (loss > 0)]
        offset = 0.1 * float(positive.mean()) if positive.size else 1.0
        weight = (np.maximum(loss, 0.0) + offset) * np.exp(rng.normal(0.0, 1.0, size=n))
        pri = np.where(open_, -weight, np.inf)
    chosen[np.argpartition(pri, rest - 1)[:rest]] = True
    return np.flatnonzero(chosen)


def _near_options(pair_loss: FloatArray, allowed: BoolArray, incumbent: IntArray) -> BoolArray:
    """Options a heuristic neighbourhood MIP may choose: the near-best ones.

    ``pair_loss[i, o]`` is the reduced-cost loss of option ``o`` against
    unit ``i``'s best option at the LP prices. Kept: the incumbent's option
    and the :data:`NEAR_PAIRS_PER_UNIT` · n allowed pairs of smallest loss
    (ties included). A neighbourhood of ~2,000 units with ~4–5 options each
    is a MIP HiGHS improves within seconds, while the same units with all
    their options (~20 each) give it nothing better than the start (city
    model, 10^5 firms).
    """
    n = pair_loss.shape[0]
    losses = pair_loss[allowed]
    near = allowed.copy()
    cut_at = int(NEAR_PAIRS_PER_UNIT * n)
    if losses.size > cut_at:
        cut = float(np.partition(losses, cut_at)[cut_at])
        near &= pair_loss <= cut
    near[np.arange(n), incumbent] = True
    return near


def _neighbourhood_time(
    k: int, n: int, left: float, share: float = 0.25, cap: float = 20.0
) -> float:
    """Seconds for a neighbourhood MIP over ``k`` of ``n`` units with ``left`` s to go.

    A neighbourhood of every unit is the full MIP and gets all the time left
    (its dual bound is then a global bound); others a ``share`` of it, from
    1 s to ``cap`` s. The caller caps loss-drawn neighbourhoods with
    near-best options at :data:`LOSS_MIP_SECONDS`, since HiGHS improves them
    within seconds or not at all (at 10^5 city firms, MIPs of 20 s gained
    0.1–0.4% each, of 3 s as much), row-related ones at
    :data:`RELATED_MIP_SECONDS`, and the first neighbourhood, before any plan,
    at 10 s (a plan 0.04% better after 20 s than after 10 s).
    """
    if k >= n:
        return left
    return min(left, max(1.0, min(share * left, cap)))


def _related_units(
    model: LagrangianModel,
    d: FloatArray,
    top: FloatArray,
    allowed: BoolArray,
    incumbent: IntArray,
    loss: FloatArray,
    margin: FloatArray,
    rng: np.random.Generator,
) -> IntArray:
    """Units of a row-related neighbourhood MIP: one losing unit and its rivals.

    A seed is drawn among the units that lose against their best option
    (weight: loss × a log-normal factor, σ = 1). Its grouped rows (district,
    park, acquirer, ...) under its incumbent option and under every option
    within a hair of its best (the LP's support) are the rows a move of the
    seed must rebalance, so the neighbourhood is every unit with an allowed
    option in one of those rows; beyond :data:`RELATED_UNITS` the ones with
    the smallest margin are kept. The MIP then opens all their allowed
    options. At 10^5 city firms the plan's largest loss was one firm of
    301 mu that the LP splits between two acquirers: taking its district and
    both acquirers (4,459 units) took the plan from 1,928,906 to 1,923,590
    in 15 s, where drawing units by loss alone had stalled.
    """
    n, n_opt = model.n, model.n_options
    losing = np.flatnonzero(loss > 0)
    if losing.size == 0:
        return np.zeros(0, dtype=np.int64)
    weight = loss[losing] * np.exp(rng.normal(0.0, 1.0, size=losing.size))
    seed = int(losing[np.argmax(weight)])
    tol = 1e-9 * max(1.0, abs(float(top[seed])))
    key = allowed[seed] & (d[seed] >= top[seed] - tol)
    key[incumbent[seed]] = True
    rows = np.zeros(model.m + 1, dtype=bool)
    grouped = [fam for fam in model.families if fam.rows is not None]
    for fam in grouped:
        r = fam.rows_of(np.array([seed]), n_opt)[0][key]
        rows[r[r >= 0]] = True
    touch = np.zeros(n, dtype=bool)
    for fam in grouped:
        r = fam.rows_of(slice(None), n_opt)
        touch |= (rows[np.where(r >= 0, r, model.m)] & allowed).any(axis=1)
    touch[seed] = True
    if int(touch.sum()) > RELATED_UNITS:
        pri = np.where(touch, margin * np.exp(rng.normal(0.0, 1.0, size=n)), np.inf)
        pri[seed] = -np.inf
        touch = np.zeros(n, dtype=bool)
        touch[np.argpartition(pri, RELATED_UNITS - 1)[:RELATED_UNITS]] = True
    return np.flatnonzero(touch)


def _slack_units(
    model: LagrangianModel,
    lam: FloatArray,
    allowed: BoolArray,
    incumbent: IntArray,
    margin: FloatArray,
    rng: np.random.Generator,
    skip: BoolArray | None = None,
) -> tuple[IntArray, int]:
    """Units of a slack-related neighbourhood MIP: the rivals across one priced row
    that the plan over-fills, and the row.

    The gap between the plan and the bound ``L`` is the units' reduced-cost
    losses plus each row's price times the plan's slack in it. A row is drawn
    by that priced slack (× a log-normal factor, σ = 1), e.g. a district
    whose freed land the plan overshoots while the land target is tight.
    Moving it back needs units on both sides at once: half of
    :data:`RELATED_UNITS` among the units with an allowed option on the row,
    half among the others, each half by smallest margin (the units the LP
    leaves near a tie, × the same factor). At 10^6 phased city firms, four such
    MIPs took a 60 s plan from 19,413,202 to 19,350,854, four
    :func:`_related_units` MIPs to 19,365,285, where its 萧山 district
    overshot its freed-land target by 20,270 mu (11%) at a price of 4.1.
    Rows in ``skip`` (those whose last such MIP found nothing, e.g. an
    acquirer whose priced slack no whole merge can fill) are drawn only when
    no other row has priced slack.
    Returns sorted unit indices and the row (-1 and no units if no row has
    priced slack).
    """
    n, n_opt = model.n, model.n_options
    priced_slack = np.maximum(lam * (model.rhs - model.activity(incumbent)), 0.0)
    if not np.any(priced_slack > 0):
        return np.zeros(0, dtype=np.int64), -1
    if skip is not None and np.any(priced_slack[~skip] > 0):
        priced_slack = np.where(skip, 0.0, priced_slack)
    row = int(np.argmax(priced_slack * np.exp(rng.normal(0.0, 1.0, size=model.m))))
    on_row = np.zeros(n, dtype=bool)
    for fam in model.families:
        if fam.offset <= row < fam.offset + fam.n_rows:
            rows = fam.rows_of(slice(None), n_opt)
            on_row |= ((rows == row) & allowed & (fam.values != 0.0)).any(axis=1)
    free = allowed.sum(axis=1) > 1
    factor = np.exp(rng.normal(0.0, 1.0, size=n))
    chosen = np.zeros(n, dtype=bool)
    for side, k in ((on_row, RELATED_UNITS // 2), (~on_row, RELATED_UNITS - RELATED_UNITS // 2)):
        pool = side & free & ~chosen
        k = min(k, int(pool.sum()))
        if k > 0:
            pri = np.where(pool, margin * factor, np.inf)
            chosen[np.argpartition(pri, k - 1)[:k]] = True
    return np.flatnonzero(chosen), row


def _rins_units(
    model: LagrangianModel,
    units: IntArray,
    allowed: BoolArray,
    incumbent: IntArray,
    rng: np.random.Generator,
    time_limit: float,
) -> IntArray:
    """The units of a neighbourhood worth freeing, by RINS (relaxation-induced
    neighbourhood search): its LP relaxation (``units`` open to ``allowed``,
    every other unit at ``incumbent``) is solved, and a unit stays free when
    the LP does not put it wholly on its incumbent option, or else with
    probability :data:`RINS_EXTRA`. Where LP and plan agree, a better plan
    rarely differs; fixing those units spares HiGHS the root cuts of the
    whole neighbourhood. All ``units`` when the LP is not solved in time.
    """
    lp = _solve_core(model, units, allowed, incumbent, _fixed_except(model.n, units),
                     integer=False, artificial=False, time_limit=time_limit)
    if lp.status != "optimal":
        return units
    x = np.nan_to_num(lp.x, nan=0.0)
    agrees = x[np.arange(units.size), incumbent[units]] >= 1 - 1e-6
    free = ~agrees | (rng.random(units.size) < RINS_EXTRA)
    return units[free] if free.any() else units


def _wants_related(related: bool, gain: float, first: bool) -> bool:
    """Whether the next neighbourhood MIP is row-related rather than loss-drawn.

    ``gain`` is the relative improvement of the plan by the last one, of kind
    ``related``. After the first (loss-drawn) MIP, which repairs most of what
    rounding the LP broke, a row-related one (with :data:`RELATED_EARLY`):
    those make the large moves, and on the unphased city model at 10^5 firms
    one of them needs ~20 s, which it only gets early on. Then each kind
    runs while it gains more than :data:`SWITCH_GAIN` and hands over to the
    other when it does not.
    """
    if first and RELATED_EARLY:
        return True
    return gain > SWITCH_GAIN if related else gain <= SWITCH_GAIN


def _next_neighbourhood_size(
    k: int, status: str, n_frac: int, n: int, improved: bool = False
) -> int:
    """Adapt the neighbourhood: grow it when its MIP was solved, shrink it when it timed out.

    An ``"infeasible"`` neighbourhood (too little freedom) doubles; an
    ``"optimal"`` one grows by half (it held no better plan); a time-limited
    one (``"feasible"`` or ``"no_solution"``) that did not improve the plan
    shrinks by a third, never below the fractional units plus 16. One that
    did improve it keeps its size (at 10^5 city firms, neighbourhoods of
    ~2,000 units improve the plan faster than ~1,000 although every MIP
    stops on its time limit).
    """
    if status == "infeasible":
        k = 2 * k
    elif status == "optimal":
        k = k + max(1, k // 2)
    elif not improved:
        k = max(n_frac + 16, (2 * k) // 3)
    return int(min(n, k))


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

