"""When the targets cannot all be met: which ones conflict, and by how much.

The diagnosis re-solves the model with every target row made elastic: a
shortfall slack per row, penalised per *relative* unit of shortfall so
heavily that the solver first minimises the (weighted) shortfalls and only
then the scenario's own objective. The result names each target that falls
short, the smallest shortfall found, and the limits (budget, jobs,
capacities) that bind, in the scenario's own words.

If even that is infeasible, the hard limits themselves conflict (e.g. the
violators that must act cost more than the budget); then every row is made
elastic and the limits that must give way are named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from sim.optimise.problem import ChoiceProblem, Constraint, Solution
from sim.optimise.verify import row_lhs
from sim.policy.constraints import is_target

SolveFn = Callable[[ChoiceProblem], Solution]


@dataclass
class Shortfall:
    """One row that cannot be met: its required and best achievable value."""

    row: str
    sense: str
    required: float
    achievable: float
    ratio: tuple[float, float, str] | None = None  # KPI level: (target, achievable, unit)

    @property
    def gap(self) -> float:
        """Shortfall in the row's own unit (positive)."""
        return abs(self.required - self.achievable)

    @property
    def relative(self) -> float:
        return self.gap / max(1.0, abs(self.required))


@dataclass
class Diagnosis:
    """What the elastic re-solve found."""

    shortfalls: list[Shortfall]
    binding_limits: list[str]
    limits_relaxed: bool
    solution: Solution | None
    notes: list[str] = field(default_factory=list)
    proven: bool = True  # False when the first solve only ran out of time

    def text(self) -> str:
        """The diagnosis in the scenario's terms, one line per finding."""
        if self.solution is None:
            if self.notes:
                return " ".join(self.notes)
            return "The targets cannot all be met, and no relaxed plan could be found either."
        lines = []
        if self.limits_relaxed:
            lines.append(
                "The hard limits conflict by themselves (before any target): "
                "they must be relaxed as follows."
            )
        elif self.proven:
            lines.append("The targets cannot all be met together. Smallest shortfalls found:")
        else:
            lines.append(
                "The best relaxed plan found in the time limit falls short of these targets "
                "(not a proof that they conflict):"
            )
        for s in sorted(self.shortfalls, key=lambda s: -s.relative):
            word = "at least" if s.sense == ">=" else "at most"
            if s.ratio is not None:
                target, achievable, unit = s.ratio
                lines.append(
                    f"  - {s.row}: needs {word} {target:,.4g} {unit}, best achievable "
                    f"{achievable:,.4g} {unit} (short by {abs(target - achievable):,.3g} {unit})"
                )
                continue
            lines.append(
                f"  - {s.row}: needs {word} {s.required:,.6g}, best achievable {s.achievable:,.6g} "
                f"(short by {s.gap:,.6g}, {100 * s.relative:.1f}%)"
            )
        if self.binding_limits:
            lines.append("Conflicting with these binding limits: " + ", ".join(self.binding_limits))
        lines += self.notes
        return "\n".join(lines)


def _penalty_scale(problem: ChoiceProblem, factor: float) -> float:
    """A penalty per relative unit of shortfall that dwarfs the whole objective range."""
    values = np.abs(np.nan_to_num(problem.objective_values()))
    return factor * max(1.0, float(values.max(axis=1).sum()))


def _spread(problem: ChoiceProblem, constraint: Constraint) -> float:
    """How far the choices can move the family's rows in total: Σ_i (max − min) over options."""
    values = problem.row_values(constraint)
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(values, axis=1) - np.nanmin(values, axis=1)
    return float(np.nansum(spread))


def _elastic(problem: ChoiceProblem, factor: float, rows: Callable[[str], bool]) -> ChoiceProblem:
    """A copy of ``problem`` whose selected constraint families are elastic."""
    scale = _penalty_scale(problem, factor)
    constraints = []
    for c in problem.constraints:
        if rows(c.name):
            rhs = np.abs(c.rhs_array())
            # per-row penalties are not supported: use the family's largest rhs,
            # but never more than the units can move the row (its spread): a
            # target far beyond reach would otherwise weigh its shortfall so
            # lightly that the objective wins over reaching what can be reached
            penalty = scale / max(1.0, min(float(rhs.max()), _spread(problem, c)))
            constraints.append(replace(c, penalty=penalty))
        else:
            constraints.append(c)
    return replace(problem, constraints=constraints)


def _shortfalls(
    problem: ChoiceProblem, solution: Solution, elastic: list[Constraint]
) -> list[Shortfall]:
    out = []
    for c in elastic:
        lhs = row_lhs(problem, c, solution.choice)
        rhs = c.rhs_array()
        labels = c.row_labels()
        for k in range(c.n_rows):
            short = rhs[k] - lhs[k] if c.sense == ">=" else lhs[k] - rhs[k]
            if c.sense == "==":
                short = abs(lhs[k] - rhs[k])
            if short > 1e-6 * max(1.0, abs(rhs[k])):
                out.append(Shortfall(labels[k], c.sense, float(rhs[k]), float(lhs[k])))
    return out


def _binding(problem: ChoiceProblem, solution: Solution) -> list[str]:
    """Hard limit and capacity rows at their bound under the relaxed plan."""
    out = []
    for c in problem.constraints:
        if is_target(c.name) or c.sense == "==":
            continue
        lhs = row_lhs(problem, c, solution.choice)
        rhs = c.rhs_array()
        tight = np.abs(rhs - lhs) <= 1e-3 * np.maximum(1.0, np.abs(rhs))
        labels = c.row_labels()
        out += [labels[k] for k in np.flatnonzero(tight)]
    return out


def diagnose(
    problem: ChoiceProblem, solve: SolveFn, *, penalty_factor: float = 1000.0
) -> Diagnosis:
    """Find the smallest shortfalls of an infeasible scenario.

    Args:
        problem: the (infeasible) policy choice problem.
        solve: the solver to use (the scenario's method).
        penalty_factor: see ``diagnosis.penalty_factor`` in the scenario schema.
    """
    relaxed = _elastic(problem, penalty_factor, is_target)
    solution = solve(relaxed)
    limits_relaxed = False
    if solution.status not in ("optimal", "feasible", "infeasible"):
        note = (
            "The solver found no plan even with every target relaxed, within its time "
            f"limit ({solution.status}: {solution.message}); this is not a proof that the "
            "limits conflict. Raise solver.time_limit_s or try solver.method: mip."
        )
        return Diagnosis([], [], False, None, [note])
    if solution.status == "infeasible":
        relaxed = _elastic(problem, penalty_factor, lambda name: True)
        solution = solve(relaxed)
        limits_relaxed = True
        if solution.status not in ("optimal", "feasible"):
            return Diagnosis([], [], True, None, [solution.message])
    elastic = [c for c in relaxed.constraints if c.penalty is not None]
    shortfalls = _shortfalls(problem, solution, elastic)
    binding = [] if limits_relaxed else _binding(problem, solution)
    return Diagnosis(shortfalls, binding, limits_relaxed, solution)
