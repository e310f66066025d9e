"""Exact-fill exchange search for choice problems whose rows have small integer coefficients.

On multiple-choice knapsacks such as Khan's I07 (100 groups × 10 items × 10
resources, weights 0–9) HiGHS' branch and bound, CP-SAT and every
neighbourhood MIP stall at 24,584–24,587, 8–11 below the best known plan.
The plans above that fill most resources *exactly*: from the 24,584 plan the
24,595 one changes 12 groups whose weight changes add up to the plan's slack
in 9 of 10 resources. That is a multidimensional subset sum, which a MIP's
LP bound does not steer towards, but a meet-in-the-middle enumeration solves
exactly:

* the groups with a near-best alternative (reduced-cost loss at the LP
  duals within a budget) are split at random into halves A and B;
* every exchange of at most ``p`` swaps in A (one per group, total loss within
  the budget) is stored in a hash table keyed by its weight change on the
  priced rows (7-bit digits packed into one int64);
* every exchange in B looks up the A-exchange that completes it to a final
  slack ``u`` from a short list (priced at the duals, within the budget),
  checks the unpriced rows, and keeps the largest gain.

Repeating it over random splits, with a gain target that falls after each
miss (a pseudo-gap search), walks from the MIP's plan to better ones. It is
a heuristic: the bound stays the MIP's. Loss here is the reduced-cost loss
``max_o d[u, o] − d[u, o]`` at the LP duals, in the objective's units.

The kernels are compiled with numba (``cache=True``: the first call in a new
environment compiles for about 5 s, later ones load in well under a second).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange
from scipy import sparse
from scipy.optimize import linprog

from sim.optimise.problem import BoolArray, ChoiceProblem, FloatArray, IntArray

UintArray = npt.NDArray[np.uint64]

#: problems with fewer units are left to the exact MIP (Khan I01–I06 and the
#: Hiremath–Hill 5- and 30-group sets are proven optimal by it in seconds to
#: minutes; the 100- and 200-group sets, at 50 units or more, get the exchange
#: only if the decomposition has not proven them in its share of the time)
MIN_UNITS = 50
#: swaps per half: an exchange of up to 2·MAX_SWAPS groups is found when the
#: split puts at most MAX_SWAPS of them on each side
MAX_SWAPS = 6
#: the packed key holds this many priced rows (7 bits each in an int64)
MAX_KEY_ROWS = 9
#: largest |partial weight change| a 7-bit digit holds
DIGIT_LIMIT = 63
#: hash table of the stored half: 2**TABLE_BITS slots, filled to at most half
#: (about 1 GB; I07's half holds 13 million exchanges from its 24,584 plan at
#: a gain target of 10, and overflows at 9 in some splits, which the search
#: reports and answers by raising the target again)
TABLE_BITS = 25
#: the B-side lookups first test a bit filter of the stored keys with this
#: many more bits than the table has slots (2**29 bits, 64 MB, for 2**25
#: slots). Most lookups miss, and a miss in the table probes 2–3 slots of a
#: 256 MB array; the filter answers most of them with one read. Side by side
#: on I07 from the 24,584 plan, a try took 6.2–6.9 s with it against
#: 7.8–8.0 s without at a gain target of 10, and 11.7 s against 18.5 s at 8
#: (with 2**27 bits: 13.6 s)
FILTER_EXTRA_BITS = 4
#: gain target as a share of the gap (bound − plan) at the first try after a
#: gain; each exact miss lowers it by TARGET_DECAY (at least a gain of one
#: unit). The decay is slow because one random split finds a given exchange of
#: 12 groups only with probability 0.23, and tries at higher targets are the
#: cheapest (on I07 from 24,584: 7 tries at a target of 10, each 6–8 s; at 9 a
#: try takes about 11 s). File order, solver seeds 0–7 at 60 s: 24,595 in 7
#: of 8 runs with 0.99, 6 of 8 with 0.97
TARGET_SHARE = 0.45
TARGET_DECAY = 0.99
#: after this many tries without a gain the best plan counts as stalled, and
#: each try starts from a random one of the plans found so far (the first
#: included), looking for plans beyond the best
STALL_TRIES = 2
#: an item may enter when its loss is at most this share of the loss budget
#: (bound − plan − target); on I07 every item of the 24,595 plan is within 3.44
#: of loss, and the budget from 24,584 is 12.95
ITEM_LOSS_SHARE = 0.25
#: the final slack on the priced rows may cost at most this share of the budget
SLACK_SHARE = 0.3
#: and at most this many final slacks (the cheapest) are looked up per B-exchange:
#: each is one lookup per exchange enumerated (I07 has 7 within the share)
MAX_FINALS = 64
#: exchanges enumerated per second before the first try measures it (the
#: shared 2-core machines do 3–4·10^6 on I07)
FIRST_RATE = 4.0e6


@dataclass
class IntegerRows:
    """A choice problem in knapsack form: ``Σ_u a[u, o(u)] ≤ b`` with integer ``a``.

    Attributes:
        a: ``(n, O, R)`` integer row coefficients (``≥`` rows negated).
        b: ``(R,)`` integer right-hand sides.
        value: ``(n, O)`` objective per pair in maximisation form.
        available: ``(n, O)`` availability mask.
    """

    a: IntArray
    b: IntArray
    value: FloatArray
    available: BoolArray


def knapsack_form(problem: ChoiceProblem) -> IntegerRows | None:
    """``problem`` as :class:`IntegerRows`, or ``None`` when the exchange does not apply.

    Every constraint must be one hard row that every unit feeds (no district
    groups, no penalty), with integer coefficients (see :func:`integer_rows`).
    """
    if problem.n_units < MIN_UNITS or not problem.constraints:
        return None
    if any(c.group is not None or c.penalty is not None or c.n_rows != 1
           for c in problem.constraints):
        return None
    from sim.optimise.lagrangian import LagrangianModel

    model = LagrangianModel(problem)
    senses = [c.sense for c in problem.constraints]
    return integer_rows([f.values for f in model.families], senses, model.rhs, model.c,
                        model.available)


def lp_prices(rows: IntegerRows) -> tuple[float, FloatArray]:
    """The LP relaxation's optimum and row duals (≥ 0, value units per row unit), by HiGHS."""
    n, o, r = rows.a.shape
    pairs = np.flatnonzero(rows.available.ravel())
    a_ub = rows.a.reshape(n * o, r)[pairs].T
    a_eq = sparse.csr_matrix((np.ones(pairs.size), (pairs // o, np.arange(pairs.size))),
                             shape=(n, pairs.size))
    res = linprog(-rows.value.ravel()[pairs], A_ub=a_ub, b_ub=rows.b, A_eq=a_eq,
                  b_eq=np.ones(n), bounds=(0, 1), method="highs")
    if res.status != 0:
        raise ValueError(f"the LP relaxation did not solve: {res.message}")
    return float(-res.fun), np.maximum(0.0, -np.asarray(res.ineqlin.marginals))


def integer_rows(
    coefficients: Sequence[FloatArray],
    senses: Sequence[str],
    rhs: FloatArray,
    value: FloatArray,
    available: BoolArray,
) -> IntegerRows | None:
    """The problem in knapsack form, or ``None`` when the exchange does not apply.

    Args:
        coefficients: one ``(n, O)`` array per row (every unit feeds every row).
        senses: ``"<="`` or ``">="`` per row (an equality row disqualifies).
        rhs: right-hand side per row.
        value: maximisation-form objective per pair.
        available: availability mask.

    It applies when there are at least :data:`MIN_UNITS` units, every
    coefficient and right-hand side is an integer, and a weight change fits
    a key digit for :data:`MAX_SWAPS` swaps.
    """
    n = value.shape[0]
    if n < MIN_UNITS or not coefficients or any(s not in ("<=", ">=") for s in senses):
        return None
    sign = np.array([1.0 if s == "<=" else -1.0 for s in senses])
    a = np.stack(coefficients, axis=2) * sign
    b = np.asarray(rhs, dtype=float) * sign
    if not (np.all(np.isfinite(a)) and np.all(a == np.round(a)) and np.all(b == np.round(b))):
        return None
    spread = np.where(available[:, :, None], a, np.nan)
    width = np.nanmax(spread, axis=1) - np.nanmin(spread, axis=1)
    if MAX_SWAPS * float(np.nanmax(width)) > DIGIT_LIMIT:
        return None
    return IntegerRows(a.astype(np.int64), b.astype(np.int64), value, available)


@njit(cache=True)
def _hash(key: np.int64) -> np.int64:  # pragma: no cover - compiled
    """Mixed bits of a packed key (multiplicative hashing)."""
    h = key * np.int64(-7046029254386353131)
    return h ^ (h >> 29)


@njit(cache=True)
def _slot(keys: IntArray, key: np.int64, h: np.int64) -> np.int64:  # pragma: no cover - compiled
    """Slot of ``key`` (hash ``h``) in the open-addressing table: its own or the first empty one."""
    mask = keys.shape[0] - 1
    i = h & mask
    while keys[i] != key and keys[i] != -1:
        i = (i + 1) & mask
    return i


@njit(cache=True)
def _filter_bit(seen: UintArray, h: np.int64) -> tuple[np.int64, np.uint64]:  # pragma: no cover
    """Word and bit mask of hash ``h`` in the bit filter (from the hash's high bits, which the
    table's slot does not use)."""
    high = h >> 32
    return (high >> 6) & (seen.shape[0] - 1), np.uint64(1) << np.uint64(high & 63)


@njit(cache=True)
def _store_half(  # pragma: no cover - compiled
    dw: IntArray, dv: FloatArray, dl: FloatArray, next_unit: IntArray, split: int, p: int,
    unpriced: IntArray, lin: IntArray, zero: np.int64, limit: float,
    keys: IntArray, gains: FloatArray, extra: IntArray, picks: IntArray, seen: UintArray,
    max_nodes: int,
) -> tuple[int, bool, bool]:
    """Store every exchange of swaps ``[0, split)`` (≤ ``p``, loss change ≤ ``limit``) by key.

    A key holds the exchange with the largest value change, and its bit in
    ``seen`` is set. Returns the number of exchanges enumerated, whether
    ``max_nodes`` cut the enumeration, and whether the table was too small
    (keys left out once it was half full).
    """
    R = dw.shape[1]
    F = unpriced.shape[0]
    capacity = keys.shape[0] // 2
    stored = 0
    full = False
    nodes = 0
    chosen = np.empty(p + 1, np.int64)
    nxt = np.empty(p + 1, np.int64)
    acc = np.zeros((p + 1, R), np.int64)
    key = np.zeros(p + 1, np.int64)
    val = np.zeros(p + 1)
    los = np.zeros(p + 1)
    d = 0
    nxt[0] = 0
    emit = True
    while d >= 0:
        if emit:
            emit = False
            nodes += 1
            if nodes > max_nodes:
                return nodes, True, full
            h = _hash(key[d] + zero)
            i = _slot(keys, key[d] + zero, h)
            fresh = keys[i] == -1
            if fresh and stored >= capacity:
                full = True  # the table stays at most half full
            else:
                if fresh:
                    keys[i] = key[d] + zero
                    stored += 1
                    word, bit = _filter_bit(seen, h)
                    seen[word] |= bit
                if fresh or val[d] > gains[i]:
                    gains[i] = val[d]
                    for f in range(F):
                        extra[i, f] = acc[d, unpriced[f]]
                    for j in range(p):
                        picks[i, j] = chosen[j] if j < d else -1
        # the walk's step is written out here and in _search_branch: as a shared
        # numba function (returning the depth) it made a try 50% slower
        s = nxt[d]
        if d == p or s >= split:
            d -= 1
            continue
        nxt[d] = s + 1
        if los[d] + dl[s] > limit:
            continue
        chosen[d] = s
        for r in range(R):
            acc[d + 1, r] = acc[d, r] + dw[s, r]
        key[d + 1] = key[d] + lin[s]
        val[d + 1] = val[d] + dv[s]
        los[d + 1] = los[d] + dl[s]
        nxt[d + 1] = next_unit[s]
        d += 1
        emit = True
    return nodes, False, full


@njit(cache=True)
def _search_branch(  # pragma: no cover - compiled
    first: int, dw: IntArray, dv: FloatArray, dl: FloatArray, next_unit: IntArray, p: int,
    priced: IntArray, unpriced: IntArray, slack: IntArray, lin: IntArray,
    final_keys: IntArray, top_final: IntArray, limit: float, target: float,
    keys: IntArray, gains: FloatArray, extra: IntArray, picks: IntArray, seen: UintArray,
    counter: IntArray, max_nodes: int, out: IntArray,
) -> tuple[float, bool]:
    """Best completion over the B-exchanges that start with swap ``first`` (``-1``: the empty one).

    Writes the A picks and then the B picks of the best exchange to ``out``.
    ``counter`` is shared by the threads (updated every 4,096 exchanges, without
    locks: a count that is a little low only lets a try run a little longer).
    """
    S, R = dw.shape
    K = priced.shape[0]
    F = unpriced.shape[0]
    best = -np.inf
    chosen = np.empty(p + 1, np.int64)
    nxt = np.empty(p + 1, np.int64)
    acc = np.zeros((p + 1, R), np.int64)
    key = np.zeros(p + 1, np.int64)
    val = np.zeros(p + 1)
    los = np.zeros(p + 1)
    d = 0
    if first >= 0:
        chosen[0] = first
        for r in range(R):
            acc[1, r] = dw[first, r]
        key[1] = lin[first]
        val[1] = dv[first]
        los[1] = dl[first]
        nxt[1] = next_unit[first]
        d = 1
        if los[1] > limit:
            return best, False
    bottom = d
    local = 0
    emit = True
    while d >= bottom:
        if emit:
            emit = False
            local += 1
            if local == 4096:
                counter[0] += local
                local = 0
                if counter[0] > max_nodes:
                    return best, True
            fits = True
            for k in range(K):
                need = slack[priced[k]] - acc[d, priced[k]]
                if need - top_final[k] < -64 or need > DIGIT_LIMIT:
                    fits = False
                    break
            if fits:
                for t in range(final_keys.shape[0]):
                    h = _hash(final_keys[t] - key[d])
                    word, bit = _filter_bit(seen, h)
                    if not seen[word] & bit:
                        continue  # certainly not stored
                    i = _slot(keys, final_keys[t] - key[d], h)
                    if keys[i] == -1:
                        continue
                    g = gains[i] + val[d]
                    if g < target - 1e-9 or g <= best + 1e-9:
                        continue
                    if d == 0 and picks[i, 0] == -1:
                        continue  # the empty exchange
                    room = True
                    for f in range(F):
                        if extra[i, f] + acc[d, unpriced[f]] > slack[unpriced[f]]:
                            room = False
                            break
                    if not room:
                        continue
                    best = g
                    for j in range(p):
                        out[j] = picks[i, j]
                        out[p + j] = chosen[j] if j < d else -1
        if first < 0:
            break  # the empty B-exchange alone
        s = nxt[d]
        if d == p or s >= S:
            d -= 1
            continue
        nxt[d] = s + 1
        if los[d] + dl[s] > limit:
            continue
        chosen[d] = s
        for r in range(R):
            acc[d + 1, r] = acc[d, r] + dw[s, r]
        key[d + 1] = key[d] + lin[s]
        val[d + 1] = val[d] + dv[s]
        los[d + 1] = los[d] + dl[s]
        nxt[d + 1] = next_unit[s]
        d += 1
        emit = True
    counter[0] += local
    return best, False


@njit(cache=True, parallel=True)
def _exchange(  # pragma: no cover - compiled
    dw: IntArray,
    dv: FloatArray,
    dl: FloatArray,
    next_unit: IntArray,
    split: int,
    p: int,
    priced: IntArray,
    unpriced: IntArray,
    slack: IntArray,
    finals: IntArray,
    budget: float,
    target: float,
    keys: IntArray,
    gains: FloatArray,
    extra: IntArray,
    picks: IntArray,
    seen: UintArray,
    max_nodes: int,
) -> tuple[float, int, bool, IntArray, bool]:
    """The best exchange with gain ≥ ``target``: swaps ``[0, split)`` (A) and ``[split, S)`` (B).

    ``dw``/``dv``/``dl``: weight, value and loss change of each swap, sorted by
    unit; ``next_unit[s]``: first swap of the next unit in the same half;
    ``finals``: allowed final slacks on the priced rows; ``budget``: the most
    total loss change an exchange with gain ≥ ``target`` can have. A is stored
    in one thread, B's branches (by first swap) are searched in parallel.
    Returns the gain (``-inf`` if none), the number of exchanges enumerated,
    whether ``max_nodes`` (numba has no clock) cut the search, the chosen
    swaps (``-1`` padded), and whether the table was too small for A (the try
    is then not exact: exchanges whose A part was left out are missed).
    """
    S = dw.shape[0]
    K = priced.shape[0]
    digit = np.empty(K, np.int64)
    place = np.int64(1)
    for k in range(K):
        digit[k] = place
        place *= 128
    zero = np.int64(0)
    for k in range(K):
        zero += 64 * digit[k]
    lin = np.zeros(S, np.int64)
    for s in range(S):
        for k in range(K):
            lin[s] += dw[s, priced[k]] * digit[k]
    # packed keys of slack − final: the B-side lookup is then one subtraction
    final_keys = np.empty(finals.shape[0], np.int64)
    top_final = np.zeros(K, np.int64)
    for t in range(finals.shape[0]):
        final_keys[t] = zero
        for k in range(K):
            final_keys[t] += (slack[priced[k]] - finals[t, k]) * digit[k]
            top_final[k] = max(top_final[k], finals[t, k])
    least_a = 0.0
    least_b = 0.0
    for s in range(S):
        if dl[s] < 0:
            if s < split:
                least_a += dl[s]
            else:
                least_b += dl[s]
    nodes, cut, full = _store_half(dw, dv, dl, next_unit, split, p, unpriced, lin, zero,
                             budget - least_b + 1e-9, keys, gains, extra, picks, seen, max_nodes)
    best = -np.inf
    best_picks = np.full(2 * p, -1, np.int64)
    if not cut:
        n_branch = S - split + 1
        found = np.full(n_branch, -np.inf)
        branch_picks = np.full((n_branch, 2 * p), -1, np.int64)
        stopped = np.zeros(n_branch, np.bool_)
        counter = np.zeros(1, np.int64)
        counter[0] = nodes
        for b in prange(n_branch):
            # big branches (early first swaps) alternate with small ones, so that
            # the threads' contiguous blocks of branches take similar time
            first = -1
            if b < n_branch - 1:
                first = split + (b // 2 if b % 2 == 0 else n_branch - 2 - b // 2)
            found[b], stopped[b] = _search_branch(
                first, dw, dv, dl, next_unit, p, priced, unpriced, slack, lin, final_keys,
                top_final, budget - least_a + 1e-9, target, keys, gains, extra, picks, seen,
                counter, max_nodes, branch_picks[b],
            )
        for b in range(n_branch):
            if found[b] > best:
                best = found[b]
                best_picks[:] = branch_picks[b]
        nodes = counter[0]
        cut = bool(stopped.any())
    keys[:] = -1
    seen[:] = 0
    return best, nodes, cut, best_picks, full


def new_table(
    bits: int, n_unpriced: int, p: int
) -> tuple[IntArray, FloatArray, IntArray, IntArray, UintArray]:
    """The stored half's hash table: keys (``-1`` = empty), value change, unpriced-row use,
    picks, and a bit filter of the stored keys (``2**(bits + FILTER_EXTRA_BITS)`` bits).

    Compact types (int32 use, int16 swap indices) keep 2**25 slots near 1 GB;
    the filter adds 64 MB.
    """
    size = 1 << bits
    return (np.full(size, -1, dtype=np.int64), np.zeros(size),
            np.zeros((size, n_unpriced), dtype=np.int32), np.full((size, p), -1, dtype=np.int16),
            np.zeros(1 << max(bits + FILTER_EXTRA_BITS - 6, 0), dtype=np.uint64))


def _warm_up() -> None:
    """Compile (or load from numba's cache) the kernel on a two-unit problem."""
    one = np.zeros((2, 1), dtype=np.int64)
    _exchange(one, np.zeros(2), np.zeros(2), np.array([1, 2]), 1, 1, np.array([0]),
              np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros((1, 1), np.int64), 1.0, 1.0,
              *new_table(3, 0, 1), 100)


def _final_slacks(
    room: IntArray, price: FloatArray, limit: float, most: int | None = MAX_FINALS
) -> IntArray:
    """The final slacks ``u`` with ``0 ≤ u ≤ room`` and ``price · u ≤ limit`` (priced rows),
    the ``most`` cheapest of them (all if None).

    ``room`` is the most slack a row can have (its right-hand side minus the
    lightest use), so an exchange that frees capacity is not missed. Keeping
    the ``most`` cheapest partial vectors after each row is exact for the
    ``most`` cheapest finals: a prefix extends with zeros at its own cost.
    """
    finals = np.zeros((1, 0), dtype=np.int64)
    cost = np.zeros(1)
    for k in range(room.size):
        steps = np.arange(int(min(max(room[k], 0), np.floor(limit / price[k] + 1e-9))) + 1)
        finals = np.hstack([np.repeat(finals, steps.size, axis=0),
                            np.tile(steps, len(finals))[:, None]])
        cost = np.repeat(cost, steps.size) + np.tile(steps * price[k], len(cost))
        keep = np.flatnonzero(cost <= limit + 1e-9)
        if most is not None and keep.size > most:
            keep = keep[np.argsort(cost[keep], kind="stable")[:most]]
        finals, cost = finals[keep], cost[keep]
    return finals


@dataclass
class _Swaps:
    """Candidate single-unit changes, A-half first, each half sorted by unit."""

    unit: IntArray
    option: IntArray
    split: int
    next_unit: IntArray


def _swaps(loss: FloatArray, allowed: BoolArray, choice: IntArray, theta: float,
           rng: np.random.Generator) -> _Swaps:
    """Swaps to an allowed option within loss ``theta``, units split at random into halves."""
    n = loss.shape[0]
    ok = allowed & (loss <= theta)
    ok[np.arange(n), choice] = False
    units = np.flatnonzero(ok.any(axis=1))
    perm = rng.permutation(units)
    halves = [np.sort(perm[: units.size // 2]), np.sort(perm[units.size // 2 :])]
    unit_parts, option_parts = [], []
    for h in halves:
        u, o = np.nonzero(ok[h])
        unit_parts.append(h[u])
        option_parts.append(o)
    unit = np.concatenate(unit_parts).astype(np.int64)
    option = np.concatenate(option_parts).astype(np.int64)
    split = int(unit_parts[0].size)
    # first swap of the next unit within the same half
    change = np.flatnonzero(np.diff(unit) != 0) + 1
    bounds = np.union1d(np.append(change, unit.size), [split])
    next_unit = bounds[np.searchsorted(bounds, np.arange(unit.size), side="right")]
    return _Swaps(unit, option, split, next_unit.astype(np.int64))


@dataclass
class ExchangeStats:
    """What the search did: tries (random splits), gains, seconds, and the tries
    whose stored half did not fit in the table (not exact)."""

    tries: int = 0
    gains: int = 0
    seconds: float = 0.0
    partial: int = 0


def improve(
    rows: IntegerRows,
    choice: IntArray,
    price: FloatArray,
    bound: float,
    deadline: float,
    rng: np.random.Generator,
    on_gain: Callable[[IntArray], None] | None = None,
) -> tuple[IntArray, ExchangeStats]:
    """Improve a feasible ``choice`` by exact-fill exchanges until ``deadline`` (perf_counter).

    Args:
        rows: the problem in knapsack form.
        choice: a feasible plan (option per unit).
        price: LP dual of each row (≥ 0, in maximisation form).
        bound: the LP optimum at ``price`` (maximisation form): the loss budget of a
            plan of value ``V`` is ``bound − V``, since every plan's value is the
            LP optimum less its loss and its priced slack.
        deadline: ``time.perf_counter()`` time to stop.
        rng: random splits.
        on_gain: called with each better plan.

    Gain targets are whole objective units (MMKP values are whole numbers): a
    plan better than the best by less than one unit is not sought.

    Returns:
        The best plan found (``choice`` itself if none) and the stats.
    """
    t0 = time.perf_counter()
    n = choice.size
    reduced = rows.value - np.einsum("nor,r->no", rows.a, price)
    reduced = np.where(rows.available, reduced, -np.inf)
    loss = reduced.max(axis=1, keepdims=True) - reduced
    priced = np.flatnonzero(price > 1e-9)
    unpriced = np.flatnonzero(price <= 1e-9)
    stats = ExchangeStats()
    if priced.size > MAX_KEY_ROWS:
        return choice, stats
    table = new_table(TABLE_BITS, unpriced.size, MAX_SWAPS)
    _warm_up()
    best = choice.copy()
    units = np.arange(n)
    value = float(rows.value[units, best].sum())
    lightest = np.where(rows.available[:, :, None], rows.a, np.iinfo(np.int64).max).min(axis=1)
    room = rows.b - lightest.sum(axis=0)
    share = TARGET_SHARE
    rate = FIRST_RATE
    bases = [(best, value)]
    misses = 0
    while time.perf_counter() < deadline:
        # from the best plan, or (when it has stalled) an earlier one: a search
        # there for plans beyond the best reaches further than one from the best
        stalled = misses >= STALL_TRIES
        base, base_value = bases[rng.integers(len(bases))] if stalled else bases[-1]
        slack = rows.b - rows.a[units, base].sum(axis=0)
        gap = bound - base_value
        target = max(value + 1.0 - base_value, np.floor(share * gap)) if gap >= 1.0 else 0.5 * gap
        budget = gap - target
        if budget <= 0:
            break
        sw = _swaps(loss, rows.available, base, ITEM_LOSS_SHARE * budget, rng)
        if sw.unit.size >= np.iinfo(np.int16).max:  # picks are int16 swap indices
            break
        finals = _final_slacks(room[priced], price[priced], SLACK_SHARE * budget)
        cur = base[sw.unit]
        dw = rows.a[sw.unit, sw.option] - rows.a[sw.unit, cur]
        dv = rows.value[sw.unit, sw.option] - rows.value[sw.unit, cur]
        dl = loss[sw.unit, sw.option] - loss[sw.unit, cur]
        started = time.perf_counter()
        got, nodes, cut, chosen, full = _exchange(
            dw, dv, dl, sw.next_unit, sw.split, MAX_SWAPS, priced, unpriced, slack,
            finals, float(price @ slack - target), float(target), *table,
            int(rate * max(0.0, deadline - started)) + 1,
        )
        spent = time.perf_counter() - started
        if spent > 0.5:  # the slowest rate seen, so that a try ends near the deadline
            rate = min(rate, nodes / spent) if stats.tries else nodes / spent
        stats.tries += 1
        stats.partial += int(full)
        if np.isfinite(got):
            chosen = chosen[chosen >= 0]
            plan = base.copy()
            plan[sw.unit[chosen]] = sw.option[chosen]
            new_value = float(rows.value[units, plan].sum())
            if np.all(rows.a[units, plan].sum(axis=0) <= rows.b) and new_value > value:
                best, value = plan, new_value
                bases.append((best, value))
                stats.gains += 1
                share, misses = TARGET_SHARE, 0
                if on_gain is not None:
                    on_gain(best)
                continue
        if full:  # a lower target would only make the stored half larger
            share = min(TARGET_SHARE, share / TARGET_DECAY)
        elif not cut:
            share *= TARGET_DECAY
            misses += 1
    stats.seconds = time.perf_counter() - t0
    return best, stats
