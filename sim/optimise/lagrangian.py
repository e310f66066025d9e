"""The choice problem compiled for pricing: the Lagrangian ``L(λ)`` and reduced costs.

In *maximisation form* (``c = +objective`` for max, ``−objective`` for min,
elastic shortfall slacks costing ``penalty``) the Lagrangian dual of the
choice problem (``sim.optimise.problem``) is

    L(λ) = Σ_i max_o (c_io − Σ_r λ_r a_rio) + Σ_r λ_r b_r ,

with ``λ_r ≥ 0`` on ``≤`` rows, ``≤ 0`` on ``≥`` rows, free on ``==`` rows and
``|λ_r| ≤ penalty`` on elastic rows. :class:`LagrangianModel` holds the
objective and every constraint family's per-(unit, option) row values as
numpy arrays, so that ``L``, the reduced costs and a plan's row activity are
vectorised over ``(units, options)``. The decomposition
(:mod:`sim.optimise.decomposition`), the repair (:mod:`sim.optimise.repair`)
and the price searches all work on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from sim.optimise.problem import BoolArray, ChoiceProblem, FloatArray, IntArray

__all__ = ["EQ", "GE", "INF", "LE", "Family", "LagrangianModel", "margins"]

LE, GE, EQ = 0, 1, 2
_SENSE_CODE = {"<=": LE, ">=": GE, "==": EQ}
INF = float(highspy.kHighsInf)
#: floats of ``effects`` per chunk when compiling the linear forms (about
#: 0.5 MB, so that a chunk stays in cache while each form reads its metrics)
CHUNK_FLOATS = 60_000



@dataclass
class Family:
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
        self.families: list[Family] = []
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
            self.families.append(Family(con.name, values, rows, offset, k))
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
        self.lam_lo = np.where(self.sense == LE, 0.0, -self.penalty)
        self.lam_hi = np.where(self.sense == GE, 0.0, self.penalty)
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
            Family(f.name, f.values[idx], None if f.rows is None else f.rows[idx], f.offset,
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
            s == LE,
            np.maximum(excess, 0.0),
            np.where(s == GE, np.maximum(-excess, 0.0), np.abs(excess)),
        )
        return np.where(rows >= 0, v, 0.0)

    def row_bounds(self) -> tuple[FloatArray, FloatArray]:
        """Per row, the least and greatest activity it allows (±inf when one-sided)."""
        lower = np.where(self.sense == LE, -np.inf, self.rhs)
        upper = np.where(self.sense == GE, np.inf, self.rhs)
        return lower, upper

    def slack(self, act: FloatArray) -> FloatArray:
        """Per-row room before a row is violated (0 for ``==`` rows, < 0 if violated)."""
        return np.where(
            self.sense == LE, self.rhs - act, np.where(self.sense == GE, act - self.rhs, 0.0)
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




def margins(d: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Best option, its reduced cost and its margin over the next-best option."""
    best = np.argmax(d, axis=1)
    top = d[np.arange(d.shape[0]), best]
    if d.shape[1] < 2:
        return best, top, np.full(d.shape[0], np.inf)
    d2 = d.copy()
    d2[np.arange(d.shape[0]), best] = -np.inf
    return best, top, top - d2.max(axis=1)

