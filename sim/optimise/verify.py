"""Independent verification of a plan: recompute every row with numpy only.

Nothing here touches a solver or the solver's matrix: left-hand sides are
``np.bincount`` over each family's group index of the chosen (unit, option)
pairs' ``row_values``. A solver bug in matrix assembly, column order or
slack signs therefore cannot hide behind itself.

Conventions:

* ``slack`` of a row is its margin in the feasible direction: ``rhs − lhs``
  for ``≤``, ``lhs − rhs`` for ``≥``, ``−|lhs − rhs|`` for ``==``; negative
  means violated.
* ``violation = max(0, −slack)``; ``rel_violation = violation / max(1, |rhs|)``.
* For elastic rows :func:`check` subtracts the solver's reported shortfall
  (``Solution.slacks``) before comparing with the tolerance, and reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.errors import VerificationError
from sim.optimise.problem import (
    BoolArray,
    ChoiceProblem,
    Constraint,
    FloatArray,
    IntArray,
    Solution,
)


def valid_choice(problem: ChoiceProblem, choice: IntArray) -> BoolArray:
    """Per unit: the chosen index is in range and the option is available."""
    choice = np.asarray(choice, dtype=np.int64)
    in_range = (choice >= 0) & (choice < problem.n_options)
    ok = in_range.copy()
    idx = np.flatnonzero(in_range)
    ok[idx] = problem.available[idx, choice[idx]]
    return ok


def row_lhs(problem: ChoiceProblem, constraint: Constraint, choice: IntArray) -> FloatArray:
    """Left-hand side of every row of ``constraint`` under ``choice`` (invalid units skipped)."""
    ok = valid_choice(problem, choice)
    units = np.flatnonzero(ok)
    ch = np.asarray(choice, dtype=np.int64)[units]
    vals = problem.row_values(constraint)[units, ch]
    rows = problem.row_index(constraint)[units, ch]
    inside = rows >= 0
    return np.bincount(rows[inside], weights=vals[inside], minlength=constraint.n_rows)[
        : constraint.n_rows
    ].astype(float)


def row_margin(constraint: Constraint, lhs: FloatArray) -> FloatArray:
    """Margin of every row in its feasible direction (negative = violated)."""
    rhs = constraint.rhs_array()
    if constraint.sense == "<=":
        return rhs - lhs
    if constraint.sense == ">=":
        return lhs - rhs
    return -np.abs(lhs - rhs)


def elastic_shortfalls(problem: ChoiceProblem, choice: IntArray) -> dict[str, FloatArray]:
    """Minimal shortfall of every elastic row that ``choice`` needs (``max(0, −margin)``)."""
    return {
        c.name: np.maximum(-row_margin(c, row_lhs(problem, c, choice)), 0.0)
        for c in problem.constraints
        if c.penalty is not None
    }


def plan_objective(
    problem: ChoiceProblem, choice: IntArray, slacks: dict[str, FloatArray] | None = None
) -> float:
    """Objective of a plan in its own sense, with elastic penalties.

    ``slacks`` defaults to the minimal shortfalls of ``choice``
    (:func:`elastic_shortfalls`).
    """
    ok = valid_choice(problem, choice)
    units = np.flatnonzero(ok)
    total = float(problem.objective_values()[units, np.asarray(choice)[units]].sum())
    if slacks is None:
        slacks = elastic_shortfalls(problem, choice)
    sign = -1.0 if problem.objective.sense == "max" else 1.0
    for c in problem.constraints:
        if c.penalty is not None and c.name in slacks:
            total += sign * float(c.penalty) * float(np.sum(slacks[c.name]))
    return total


@dataclass
class VerificationReport:
    """Result of :func:`verify`.

    Attributes:
        rows: one line per constraint row: ``constraint``, ``group``,
            ``label``, ``lhs``, ``sense``, ``rhs``, ``slack`` (margin),
            ``violation``, ``rel_violation``, ``elastic`` (bool),
            ``allowed_shortfall`` (solver's slack, 0 unless given),
            ``net_violation`` (relative, after the allowed shortfall).
        invalid_units: indices of units whose choice is missing or unavailable.
        objective: recomputed objective (minimal elastic penalties).
        max_violation: largest ``net_violation`` over hard and elastic rows
            (relative to ``max(1, |rhs|)``); ``inf`` when a choice is invalid.
        max_abs_violation: largest absolute net violation.
        worst_row: label of the row with ``max_violation`` ("" if none).
        tol: tolerance used for :attr:`ok`.
    """

    rows: pd.DataFrame
    invalid_units: IntArray
    objective: float
    max_violation: float
    max_abs_violation: float
    worst_row: str
    tol: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every choice valid and every row within tolerance."""
        return self.invalid_units.size == 0 and self.max_violation <= self.tol

    def summary(self) -> str:
        """One line for logs."""
        if self.invalid_units.size:
            return f"{self.invalid_units.size} units have an invalid choice"
        return (
            f"max violation {self.max_violation:.3g} (rel) at {self.worst_row or '-'}; "
            f"objective {self.objective:.10g}"
        )


def verify(
    problem: ChoiceProblem,
    choice: IntArray,
    *,
    tol: float = 1e-6,
    allowed_shortfall: dict[str, FloatArray] | None = None,
) -> VerificationReport:
    """Recompute every row of ``problem`` under ``choice`` with numpy only.

    ``allowed_shortfall`` (constraint name → per row) is subtracted from the
    violation of elastic rows; without it elastic rows are judged like hard
    ones, but always flagged ``elastic`` in the table.
    """
    choice = np.asarray(choice, dtype=np.int64)
    if choice.shape != (problem.n_units,):
        raise ValueError(f"choice has shape {choice.shape}, expected ({problem.n_units},)")
    ok = valid_choice(problem, choice)
    allowed_shortfall = allowed_shortfall or {}
    frames = []
    for k, c in enumerate(problem.constraints):
        lhs = row_lhs(problem, c, choice)
        rhs = c.rhs_array()
        margin = row_margin(c, lhs)
        violation = np.maximum(-margin, 0.0)
        scale = np.maximum(1.0, np.abs(rhs))
        allowed = np.zeros(c.n_rows)
        if c.penalty is not None and c.name in allowed_shortfall:
            allowed = np.broadcast_to(
                np.asarray(allowed_shortfall[c.name], dtype=float), (c.n_rows,)
            )
        net = np.maximum(violation - allowed, 0.0)
        frames.append(
            pd.DataFrame(
                {
                    "family": k,
                    "constraint": c.name,
                    "group": np.arange(c.n_rows),
                    "label": c.row_labels(),
                    "lhs": lhs,
                    "sense": c.sense,
                    "rhs": rhs,
                    "slack": margin,
                    "violation": violation,
                    "rel_violation": violation / scale,
                    "elastic": c.penalty is not None,
                    "allowed_shortfall": allowed,
                    "net_abs_violation": net,
                    "net_violation": net / scale,
                }
            )
        )
    columns = [
        "family",
        "constraint",
        "group",
        "label",
        "lhs",
        "sense",
        "rhs",
        "slack",
        "violation",
        "rel_violation",
        "elastic",
        "allowed_shortfall",
        "net_abs_violation",
        "net_violation",
    ]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    invalid = np.flatnonzero(~ok).astype(np.int64)
    notes: list[str] = []
    if rows.empty:
        max_v, max_abs, worst = 0.0, 0.0, ""
    else:
        i = int(np.argmax(rows["net_violation"].to_numpy()))
        max_v = float(rows["net_violation"].iloc[i])
        max_abs = float(rows["net_abs_violation"].max())
        worst = str(rows["label"].iloc[i]) if max_v > 0 else ""
    if invalid.size:
        max_v = float("inf")
        notes.append(f"units {invalid[:10].tolist()} have a missing or unavailable option")
    elastic_used = rows[rows["elastic"] & (rows["violation"] > tol)] if not rows.empty else rows
    for _, r in elastic_used.iterrows():
        notes.append(f"elastic row {r['label']}: shortfall {r['violation']:.6g}")
    return VerificationReport(
        rows=rows,
        invalid_units=invalid,
        objective=plan_objective(problem, choice) if not invalid.size else float("nan"),
        max_violation=max_v,
        max_abs_violation=max_abs,
        worst_row=worst,
        tol=tol,
        notes=notes,
    )


def check(problem: ChoiceProblem, solution: Solution, tol: float = 1e-6) -> VerificationReport:
    """Verify a solver's plan; raise :class:`VerificationError` when it is wrong.

    Solutions without a plan (status ``"infeasible"``, ``"no_solution"``,
    ``"error"``) are not checked: the report then has an empty table.
    Otherwise raises when a choice is invalid, when a row is violated beyond
    ``tol`` (relative to ``max(1, |rhs|)``) after the solver's elastic
    shortfall, or when the solver's objective disagrees with the recomputed
    one (with the solver's own shortfalls) by more than ``tol`` relative.
    """
    if solution.status not in ("optimal", "feasible"):
        return VerificationReport(
            rows=pd.DataFrame(),
            invalid_units=np.zeros(0, dtype=np.int64),
            objective=float("nan"),
            max_violation=0.0,
            max_abs_violation=0.0,
            worst_row="",
            tol=tol,
            notes=[f"status {solution.status}: no plan to check"],
        )
    report = verify(problem, solution.choice, tol=tol, allowed_shortfall=solution.slacks)
    if report.invalid_units.size:
        raise VerificationError(
            f"{solution.method} plan for {problem.name!r}: " + "; ".join(report.notes[:1])
        )
    if report.max_violation > tol:
        row = report.rows.loc[report.rows["label"] == report.worst_row].iloc[0]
        raise VerificationError(
            f"{solution.method} plan for {problem.name!r} violates row {report.worst_row}: "
            f"lhs {row['lhs']:.10g} {row['sense']} rhs {row['rhs']:.10g} "
            f"(violation {row['violation']:.3g}, relative {row['rel_violation']:.3g}, "
            f"allowed shortfall {row['allowed_shortfall']:.3g}; tolerance {tol:g})"
        )
    claimed = plan_objective(problem, solution.choice, solution.slacks or None)
    if np.isfinite(solution.objective) and abs(claimed - solution.objective) > tol * max(
        1.0, abs(claimed)
    ):
        raise VerificationError(
            f"{solution.method} plan for {problem.name!r}: reported objective "
            f"{solution.objective:.10g} but the plan recomputes to {claimed:.10g}"
        )
    return report
