"""Which units a neighbourhood MIP frees: the large-neighbourhood search's choices.

Once there is a plan, the decomposition (:mod:`sim.optimise.decomposition`)
improves it by exact MIPs over a few thousand units with every other unit
fixed. This module chooses them: units drawn by their reduced-cost loss
(:func:`neighbourhood`), open to their near-best options
(:func:`near_options`); a losing unit and its rivals in its rows
(:func:`related_units`); units across a row that the plan over-fills at a
price (:func:`slack_units`); narrowed by their LP to where LP and plan
differ (:func:`rins_units`). It also sets each MIP's time
(:func:`neighbourhood_time`), the next size (:func:`next_neighbourhood_size`)
and which kind runs next (:func:`wants_related`). :class:`Schedule` strings
these together over the search: the driver asks it for the next MIP
(:class:`Draw`), for a second one on disjoint units for the second lane, and
tells it what each MIP gave.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.optimise.core import fixed_except, solve_core
from sim.optimise.lagrangian import LagrangianModel, margins
from sim.optimise.problem import BoolArray, FloatArray, IntArray

__all__ = [
    "Draw", "Schedule", "near_options", "neighbourhood", "neighbourhood_time",
    "next_neighbourhood_size", "related_units", "rins_units", "slack_units", "wants_related",
]

#: options per unit (on average) open to a heuristic neighbourhood MIP
#: (:func:`near_options`)
NEAR_PAIRS_PER_UNIT = 4.0
#: largest row-related neighbourhood (:func:`related_units`)
RELATED_UNITS = 5_000
#: relative gain below which a loss-drawn neighbourhood counts as stalled
SWITCH_GAIN = 1e-4
#: the second neighbourhood MIP is row-related (see :func:`wants_related`).
#: At 10^5 unphased city firms, 60 s: 6 of 6 runs (seeds 0–5) reach the good
#: outcome (1,989,558–1,989,891) by the LP + 35 s; with the lane mixed but
#: without this, 2 of 3 ended near 1,998,000 (benchmarks/results/lns-schedule-1e5/)
RELATED_EARLY = True
#: time cap (s) of a loss-drawn neighbourhood MIP
#: (:func:`neighbourhood_time`)
LOSS_MIP_SECONDS = 5.0
#: time cap (s) of a row-related neighbourhood MIP. Narrowed by RINS, most are
#: solved in 2–3 s; one that is not rarely pays for more time. At 10^5 phased
#: city firms (60 s, solver seeds 0–5) HiGHS' first plan of the whole model
#: (1,920,099) was reached after 43.5–50.4 s with 5 s, 47.3–54.8 s with 8 s,
#: and in 3 of 6 runs with 20 s (benchmarks/results/rins-1e5/)
RELATED_MIP_SECONDS = 5.0
#: beside a row-related neighbourhood MIP, the lane solves a loss-drawn one
#: (a second row-related draw is often empty or repeats the first's rows,
#: and left the second core idle)
LANE_MIXED = True
#: a row-related neighbourhood is narrowed RINS-style
#: (:func:`rins_units`) before its MIP: its LP
#: relaxation is solved first (under 1 s), and only the units whose incumbent
#: option that LP does not take whole, plus a random
#: :data:`RINS_EXTRA` share of the others, stay
#: free. At 10^5 phased city firms the MIPs then reach the same plans 3–6 times
#: sooner: 1,920,573 in 2.2 s (+0.4 s LP) against 1,920,565 in 13.6 s;
#: 1,921,701 in 5.0 s (+0.7 s) against 1,921,704 in 15.5 s, where HiGHS spent
#: ~10 s in root cuts that moved its bound by 0.3 before its own reduced-cost
#: sub-MIP found the plan (benchmarks/results/rins-1e5/replay/).
RINS_RELATED = True
#: every other row-related neighbourhood is drawn across a row the plan
#: over-fills at a price (:func:`slack_units`)
#: instead of around a losing unit
SLACK_RELATED = True
#: share of a row-related neighbourhood's units that its LP puts wholly on
#: their incumbent option but :func:`rins_units` frees all the same
RINS_EXTRA = 0.25


def neighbourhood(
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


def near_options(pair_loss: FloatArray, allowed: BoolArray, incumbent: IntArray) -> BoolArray:
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


def neighbourhood_time(
    k: int, n: int, left: float, share: float = 0.25, cap: float = 20.0
) -> float:
    """Seconds for a neighbourhood MIP over ``k`` of ``n`` units with ``left`` s to go.

    A neighbourhood of every unit is the full MIP and gets all the time left
    (its dual bound is then a global bound); others a ``share`` of it, from
    1 s to ``cap`` s. The caller caps loss-drawn neighbourhoods with
    near-best options at :data:`LOSS_MIP_SECONDS`,
    since HiGHS improves them within seconds or not at all (at 10^5 city
    firms, MIPs of 20 s gained 0.1–0.4% each, of 3 s as much), row-related
    ones at :data:`RELATED_MIP_SECONDS`, and the
    first neighbourhood, before any plan, at 10 s (a plan 0.04% better after 20 s than after 10 s).
    """
    if k >= n:
        return left
    return min(left, max(1.0, min(share * left, cap)))


def related_units(
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


def slack_units(
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
    :func:`related_units` MIPs to 19,365,285, where its 萧山 district
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


def rins_units(
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
    lp = solve_core(model, units, allowed, incumbent, fixed_except(model.n, units),
                     integer=False, artificial=False, time_limit=time_limit)
    if lp.status != "optimal":
        return units
    x = np.nan_to_num(lp.x, nan=0.0)
    agrees = x[np.arange(units.size), incumbent[units]] >= 1 - 1e-6
    free = ~agrees | (rng.random(units.size) < RINS_EXTRA)
    return units[free] if free.any() else units


def wants_related(related: bool, gain: float, first: bool) -> bool:
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


def next_neighbourhood_size(
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




@dataclass
class Draw:
    """One neighbourhood MIP: its units, the options open to them, its time and kind."""

    units: IntArray  # sorted unit indices
    options: BoolArray  # (n, O): the options open to each unit (the MIP reads its units' rows)
    time_limit: float  # s
    kind: str  # "heuristic" (loss-drawn, or the first plan's), "related", "slack", "exact"
    drawn: int = 0  # units of a row-related neighbourhood before RINS narrowed it
    row: int = -1  # the row a slack neighbourhood is drawn across

    @property
    def related(self) -> bool:
        """Whether it is row-related (around a losing unit or across a row)."""
        return self.kind in ("related", "slack")


class Schedule:
    """The large-neighbourhood search's choices, one MIP after another.

    The prices are those of the LP (or the price search's last step) and stay
    fixed for the search: ``d`` are the reduced costs at ``lam``, ``frac`` the
    units the LP leaves fractional. :meth:`draw` chooses the next MIP from the
    units' reduced-cost losses against the incumbent, :meth:`beside` a second
    one on disjoint units for the second lane, and :meth:`record` adapts the
    schedule to what the MIP gave: the loss-drawn size
    (:func:`next_neighbourhood_size`), the next kind (:func:`wants_related`)
    and the rows whose slack MIP found nothing, passed over until the plan
    changes. All draws use ``rng``, so runs repeat.
    """

    def __init__(self, model: LagrangianModel, lam: FloatArray, d: FloatArray, frac: BoolArray,
                 k_mip: int, rng: np.random.Generator) -> None:
        self.model, self.lam, self.d, self.frac, self.rng = model, lam, d, frac, rng
        _, self.top, self.margin = margins(d)
        #: each option's reduced-cost loss against its unit's best option
        self.pair_loss = self.top[:, None] - d
        self.n_frac = int(frac.sum())
        self.k_mip = k_mip  # size of the next loss-drawn neighbourhood
        self.want_related = False
        self.related_draws = 0  # row-related neighbourhoods drawn so far
        self.fruitless = np.zeros(model.m, dtype=bool)  # rows whose slack MIP found nothing
        self.first = True

    def loss(self, incumbent: IntArray) -> FloatArray:
        """Each unit's reduced-cost loss at its ``incumbent`` option."""
        return self.pair_loss[np.arange(self.model.n), incumbent]

    def draw(self, allowed: BoolArray, incumbent: IntArray | None, base: IntArray,
             left: Callable[[], float]) -> Draw:
        """The next neighbourhood MIP; ``left()`` gives the seconds to go. ``allowed``
        are the options reduced-cost fixing leaves; ``base`` is the plan the others
        keep."""
        n = self.model.n
        if incumbent is None:  # the first plan: any unit, any allowed option
            units = neighbourhood(self.margin, self.frac, np.ones(n, dtype=bool), self.k_mip,
                                  self.rng)
            return Draw(units, allowed, neighbourhood_time(units.size, n, left(), cap=10.0),
                        "heuristic")
        loss = self.loss(incumbent)
        if not self.want_related:
            options = near_options(self.pair_loss, allowed, incumbent)
            units = neighbourhood(self.margin, self.frac, options.sum(axis=1) > 1, self.k_mip,
                                  self.rng, loss)
            tl = neighbourhood_time(units.size, n, left(), cap=LOSS_MIP_SECONDS)
            return Draw(units, options, tl, "heuristic")
        by_slack = SLACK_RELATED and self.related_draws % 2 == 1
        self.related_draws += 1
        row = -1
        if by_slack:
            units, row = slack_units(self.model, self.lam, allowed, incumbent, self.margin,
                                     self.rng, self.fruitless)
        else:
            units = related_units(self.model, self.d, self.top, allowed, incumbent, loss,
                                  self.margin, self.rng)
        drawn = 0
        if RINS_RELATED and units.size:
            drawn = units.size
            units = rins_units(self.model, units, allowed[units], base, self.rng, 0.25 * left())
        tl = neighbourhood_time(units.size, n, left(), share=0.5, cap=RELATED_MIP_SECONDS)
        return Draw(units, allowed, tl, "slack" if by_slack else "related", drawn, row)

    def beside(self, main: Draw, allowed: BoolArray, incumbent: IntArray,
               left: Callable[[], float]) -> Draw | None:
        """A second neighbourhood for the second lane, none of ``main``'s units:
        loss-drawn beside a loss-drawn one and (:data:`LANE_MIXED`) beside a
        row-related one, with a loss-drawn MIP's time (a narrowed row-related MIP
        is often solved in 2–3 s). None when no unit is left to draw."""
        n = self.model.n
        outside = fixed_except(n, main.units)
        loss = self.loss(incumbent)
        if main.related and not LANE_MIXED:
            other = related_units(self.model, self.d, self.top, allowed, incumbent, loss,
                                  self.margin, self.rng)
            other = other[outside[other]]
            return Draw(other, main.options, main.time_limit, "related") if other.size else None
        options = near_options(self.pair_loss, allowed, incumbent) if main.related else main.options
        other = neighbourhood(self.margin, self.frac & outside,
                              (options.sum(axis=1) > 1) & outside, self.k_mip, self.rng, loss)
        if not other.size:
            return None
        tl = neighbourhood_time(other.size, n, left(), cap=LOSS_MIP_SECONDS)
        return Draw(other, options, tl, "heuristic")

    def record(self, main: Draw, status: str, improved: bool, plan_changed: bool,
               gain: float) -> None:
        """Adapt to the MIP of ``main``: HiGHS' ``status``, whether its own plan was
        better (``improved``), whether the plan changed at all (the lane's MIP
        counts too) and the relative ``gain`` of the step."""
        if not main.related:
            self.k_mip = next_neighbourhood_size(self.k_mip, status, self.n_frac, self.model.n,
                                                 improved)
        if plan_changed:
            self.fruitless[:] = False  # a new plan: every row is worth a try again
        elif main.kind == "slack":
            self.fruitless[main.row] = True
        self.want_related = wants_related(main.related, gain, self.first)
        self.first = False
