"""The generic choice problem that every solver in tenglong takes.

Units (enterprises, new projects) each choose exactly one option. Choosing
option ``o`` for unit ``i`` contributes ``effects[i, o, m]`` to metric ``m``.
Options a unit does not have are NaN in ``effects`` (and ``False`` in
``available``). Constraints are linear in sums of metrics over the chosen
(unit, option) pairs, either over all units or one row per group of a
partition label (district, park, acquirer, ...). The objective is a linear
combination of metric sums.

The policy vocabulary (亩均, 腾退, 入园) lives above this module; this module
speaks only of units, options, metrics, rows, duals and gaps. The published
MMKP instances load straight into this structure (see ``sim.optimise.mmkp``).

Notation used by every solver:

* ``row_values(c)[i, o] = Σ_m c.coefficients[m] · effects[i, o, m]`` is what
  choosing ``(i, o)`` adds to the left-hand side of constraint ``c``'s row
  ``c.group[i, o]`` (or its single row when ``c.group is None``).
* ``objective_values()[i, o] = Σ_m objective.weights[m] · effects[i, o, m]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

Sense = Literal["<=", ">=", "=="]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Constraint:
    """One family of linear rows over metric sums.

    ``Σ_{i,o chosen, group(i,o)=g} Σ_m coefficients[m]·effects[i,o,m]  sense  rhs[g]``

    Attributes:
        name: label used in results and diagnoses, e.g. ``"target:land_freed_mu"``.
        coefficients: metric name → coefficient. A ratio KPI such as
            亩均税收 ≥ 45 is ``{"tax_after_wan": 1, "land_after_mu": -45}``.
        sense: ``"<="``, ``">="`` or ``"=="``.
        rhs: scalar for an ungrouped family; one value per group otherwise.
        group: ``None`` (one row over all units) or an int array of shape
            ``(n_units,)`` or ``(n_units, n_options)`` giving the row index of
            each unit (or unit-option pair); ``-1`` leaves it out of the family.
        group_labels: names of the rows (length ``n_groups``), e.g. districts.
        penalty: ``None`` for a hard constraint. A positive number makes the
            rows elastic: each row gets a non-negative shortfall slack costing
            ``penalty`` objective units per unit of shortfall (used to diagnose
            infeasible targets).
    """

    name: str
    coefficients: dict[str, float]
    sense: Sense
    rhs: float | FloatArray
    group: IntArray | None = None
    group_labels: list[str] | None = None
    penalty: float | None = None

    @property
    def n_rows(self) -> int:
        """Number of rows this family produces."""
        if self.group is None:
            return 1
        return int(np.size(self.rhs))

    def rhs_array(self) -> FloatArray:
        """Right-hand sides as a float array of length ``n_rows``."""
        return np.broadcast_to(np.asarray(self.rhs, dtype=float), (self.n_rows,)).copy()

    def row_labels(self) -> list[str]:
        """Human-readable label of every row: ``name`` or ``name[group]``."""
        if self.group is None:
            return [self.name]
        labels = self.group_labels or [str(g) for g in range(self.n_rows)]
        return [f"{self.name}[{label}]" for label in labels]


@dataclass
class Objective:
    """Linear objective: ``sense Σ_m weights[m] · Σ_chosen effects[:, :, m]``."""

    weights: dict[str, float]
    sense: Literal["min", "max"] = "min"


@dataclass
class ChoiceProblem:
    """Units × options × metrics, with linear constraints and objective.

    Attributes:
        effects: float array ``(n_units, n_options, n_metrics)``; NaN where a
            unit lacks the option.
        metrics: metric names, length ``n_metrics``.
        constraints: constraint families.
        objective: the objective.
        unit_ids: optional labels of units (enterprise ids), length ``n_units``.
        option_labels: optional labels of the option slots, length ``n_options``.
        name: a short name for logs and exported files.
        quick_options: optional ``(n_options,)`` mask of a restriction whose
            plans are plans of the whole problem and which is much easier to
            price, e.g. "every action in the first action year" when phasing
            offers each action once per year (near-tied year variants slow
            the price search). The decomposition solves it first on large
            problems to have a plan early. A hint only: plans are always
            checked against the whole problem.
        option_family: optional ``(n_options,)`` ids: slots with the same id
            are variants of one action (e.g. the action years of "exit"). A
            plan of the quick restriction is then re-optimised among the
            variants of each unit's chosen action.
    """

    effects: FloatArray
    metrics: list[str]
    constraints: list[Constraint]
    objective: Objective
    unit_ids: npt.NDArray[np.str_] | None = None
    option_labels: list[str] | None = None
    name: str = "choice-problem"
    quick_options: BoolArray | None = None
    option_family: IntArray | None = None

    def __post_init__(self) -> None:
        if self.effects.ndim != 3:
            raise ValueError("effects must have shape (n_units, n_options, n_metrics)")
        if self.effects.shape[2] != len(self.metrics):
            raise ValueError(
                f"effects has {self.effects.shape[2]} metrics but {len(self.metrics)} names"
            )
        if not self.available.any(axis=1).all():
            bad = np.flatnonzero(~self.available.any(axis=1))[:5]
            named = bad.tolist() if self.unit_ids is None else self.unit_ids[bad].tolist()
            raise ValueError(f"units {named} have no available option")
        for c in self.constraints:
            unknown = set(c.coefficients) - set(self.metrics)
            if unknown:
                raise ValueError(f"constraint {c.name!r} uses unknown metrics {sorted(unknown)}")
        unknown = set(self.objective.weights) - set(self.metrics)
        if unknown:
            raise ValueError(f"objective uses unknown metrics {sorted(unknown)}")
        hints = {"quick_options": self.quick_options, "option_family": self.option_family}
        for hint, value in hints.items():
            if value is not None and value.shape != (self.n_options,):
                raise ValueError(f"{hint} has shape {value.shape}, expected ({self.n_options},)")

    # -- shape -------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return int(self.effects.shape[0])

    @property
    def n_options(self) -> int:
        return int(self.effects.shape[1])

    @property
    def available(self) -> BoolArray:
        """``(n_units, n_options)``: True where the option exists.

        An option exists when any of its effects is finite.
        """
        return np.asarray(~np.isnan(self.effects).all(axis=2))

    def metric_index(self, metric: str) -> int:
        return self.metrics.index(metric)

    # -- linear forms --------------------------------------------------------
    def combine(self, weights: dict[str, float]) -> FloatArray:
        """``Σ_m weights[m]·effects[:, :, m]`` as ``(n_units, n_options)``.

        NaN effects count as 0 for available options and stay NaN for
        unavailable ones.
        """
        out = np.zeros((self.n_units, self.n_options))
        for metric, w in weights.items():
            if w != 0.0:
                out += w * np.nan_to_num(self.effects[:, :, self.metric_index(metric)])
        out[~self.available] = np.nan
        return out

    def row_values(self, constraint: Constraint) -> FloatArray:
        """What each (unit, option) adds to its row of ``constraint``."""
        return self.combine(constraint.coefficients)

    def objective_values(self) -> FloatArray:
        """What each (unit, option) adds to the objective (in its own sense)."""
        return self.combine(self.objective.weights)

    def row_index(self, constraint: Constraint) -> IntArray:
        """``(n_units, n_options)`` row of ``constraint`` each pair feeds; -1 = none."""
        if constraint.group is None:
            return np.zeros((self.n_units, self.n_options), dtype=np.int64)
        group = np.asarray(constraint.group, dtype=np.int64)
        if group.ndim == 1:
            group = np.broadcast_to(group[:, None], (self.n_units, self.n_options))
        return group


@dataclass
class Solution:
    """What a solver returns.

    Attributes:
        choice: chosen option index per unit, shape ``(n_units,)``; -1 if none.
        objective: objective value of ``choice`` (in the objective's own sense,
            including elastic penalties if any).
        bound: best proven bound on the optimum (≥ objective for max, ≤ for min).
        gap: relative gap ``|bound - objective| / max(1, |objective|)``.
        status: ``"optimal"``, ``"feasible"`` (gap > tolerance, e.g. time
            limit), ``"infeasible"``, ``"no_solution"`` or ``"error"``.
        method: ``"pyomo"``, ``"highs"``, ``"decomposition"``, ``"brute_force"``.
        duals: constraint name → marginal value per row (objective units per
            unit of right-hand side), from the LP relaxation.
        slacks: constraint name → elastic shortfall per row (only elastic rows).
        reduced_cost_gap: per unit, the chosen option's advantage over its
            next-best available option at the dual prices (objective units);
            NaN for units with a single option.
        timings: seconds per phase, e.g. ``{"build": .., "solve": ..}``.
        solver_info: solver name, version and options.
        message: free text (why it stopped, what was hit).
    """

    choice: IntArray
    objective: float
    bound: float
    gap: float
    status: str
    method: str
    duals: dict[str, FloatArray] = field(default_factory=dict)
    slacks: dict[str, FloatArray] = field(default_factory=dict)
    reduced_cost_gap: FloatArray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    solver_info: dict[str, str] = field(default_factory=dict)
    message: str = ""


def relative_gap(objective: float, bound: float) -> float:
    """The gap convention used everywhere: ``|bound − obj| / max(1, |obj|)``."""
    return abs(bound - objective) / max(1.0, abs(objective))


def restrict_options(problem: ChoiceProblem, keep: BoolArray) -> ChoiceProblem:
    """The same problem with only the option slots where ``keep`` is True.

    Constraints keep their rows; per-(unit, option) row maps are cut to the
    kept slots. A plan of the result maps back to the whole problem through
    ``np.flatnonzero(keep)[choice]``. Raises ``ValueError`` when a unit is
    left without an option.
    """
    constraints = [
        replace(c, group=c.group[:, keep]) if c.group is not None and c.group.ndim == 2 else c
        for c in problem.constraints
    ]
    labels = problem.option_labels
    kept_labels = None if labels is None else [x for x, k in zip(labels, keep, strict=True) if k]
    family = problem.option_family
    return replace(
        problem,
        effects=problem.effects[:, keep, :],
        constraints=constraints,
        option_labels=kept_labels,
        quick_options=None,
        option_family=None if family is None else family[keep],
    )


@dataclass(frozen=True)
class ProgressEvent:
    """A progress report from a long solve, for progress bars and logs.

    ``incumbent`` and ``bound`` are in the objective's own sense; NaN while unknown.
    """

    phase: str
    elapsed_s: float
    incumbent: float = float("nan")
    bound: float = float("nan")
    gap: float = float("nan")
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]
