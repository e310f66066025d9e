"""Shadow prices of the coupling rows and per-unit reduced-cost gaps.

Sign convention
---------------
``duals[name][g]`` is the marginal change of the objective, in the
objective's own units and sense, per unit increase of row ``g``'s right-hand
side: ``∂ objective / ∂ rhs``. Thus, for a maximisation, a binding ``≤``
capacity has a dual ≥ 0 and a binding ``≥`` target a dual ≤ 0; for a
minimisation a binding ``≥`` target has a dual ≥ 0 (raising the target costs
more) and a binding ``≤`` limit a dual ≤ 0. Non-binding rows have dual 0.

Why LP-relaxation duals
-----------------------
MODEL.md asks for "duals from the LP with the integer choices fixed". With
only binary choices, fixing them leaves no continuous variable except the
elastic slacks: that LP is fully degenerate (every hard row's dual is
arbitrary within an interval containing 0), and the MIP optimum as a
function of a hard row's rhs is a step function whose derivative is 0 almost
everywhere. So we report the duals of the LP relaxation (0 ≤ x ≤ 1), which
are the prices that support the LP optimum. That LP has at most as many
fractional units as coupling rows, so at the scale of this model it is a
close description of the integer optimum: the duals are the value of the
last fractional unit's trade-off. When the LP is integral they coincide
with the MIP's marginal values wherever those are defined (e.g. elastic
rows, whose slack is continuous; tested in ``tests/optimise``).

Reduced-cost gap
----------------
With prices λ the Lagrangian score of option ``o`` of unit ``i`` is
``s[i, o] = c[i, o] − Σ_r λ_r a[r, i, o]`` (``c`` the objective contribution,
``a`` the row coefficients). A plan optimal at these prices picks, per unit,
the best score. :func:`reduced_cost_gap` returns the chosen option's
*advantage* over the best other available option, in the objective's
direction: ``s[chosen] − max_other s`` for a maximisation and
``min_other s − s[chosen]`` for a minimisation (the latter is the negative of
the literal "chosen minus best other", so that ≥ 0 always means "the choice
is the best at these prices"). NaN for a unit with a single option or
without a valid choice. Small gaps mark the units whose choice is most
sensitive to the targets.
"""

from __future__ import annotations

import numpy as np

from sim.optimise.highs_backend import solve_lp_relaxation
from sim.optimise.problem import ChoiceProblem, FloatArray, IntArray, Solution
from sim.optimise.verify import valid_choice


def lp_prices(problem: ChoiceProblem) -> dict[str, FloatArray]:
    """LP-relaxation duals per constraint family (``∂objective/∂rhs`` per row).

    When the relaxation is infeasible (so the problem is too) every family
    gets NaN duals.
    """
    lp = solve_lp_relaxation(problem)
    if lp.status != "optimal":
        return {c.name: np.full(c.n_rows, np.nan) for c in problem.constraints}
    return lp.duals


def lagrangian_scores(problem: ChoiceProblem, duals: dict[str, FloatArray]) -> FloatArray:
    """``s[i, o] = c[i, o] − Σ_r λ_r a[r, i, o]``; NaN for unavailable options.

    Families missing from ``duals`` count with price 0.
    """
    score = problem.objective_values().copy()
    for c in problem.constraints:
        lam = duals.get(c.name)
        if lam is None:
            continue
        lam = np.broadcast_to(np.asarray(lam, dtype=float), (c.n_rows,))
        rows = problem.row_index(c)
        price = np.where(rows >= 0, lam[np.clip(rows, 0, max(c.n_rows - 1, 0))], 0.0)
        score -= price * np.nan_to_num(problem.row_values(c))
    score[~problem.available] = np.nan
    return score


def reduced_cost_gap(
    problem: ChoiceProblem, choice: IntArray, duals: dict[str, FloatArray]
) -> FloatArray:
    """Per unit, the chosen option's Lagrangian advantage over its best alternative.

    See the module docstring for the sign convention (≥ 0 ⇔ the choice is
    optimal at these prices). NaN where a unit has one option or no valid choice.
    """
    choice = np.asarray(choice, dtype=np.int64)
    n = problem.n_units
    score = lagrangian_scores(problem, duals)
    ok = valid_choice(problem, choice)
    units = np.arange(n)
    chosen = np.full(n, np.nan)
    chosen[ok] = score[units[ok], choice[ok]]
    others = score.copy()
    others[units[ok], choice[ok]] = np.nan
    maximise = problem.objective.sense == "max"
    has_other = ~np.isnan(others).all(axis=1)
    fill = -np.inf if maximise else np.inf
    filled = np.where(np.isnan(others), fill, others)
    best_other = filled.max(axis=1) if maximise else filled.min(axis=1)
    gap = chosen - best_other if maximise else best_other - chosen
    gap[~has_other | ~ok] = np.nan
    return gap


def attach_prices(problem: ChoiceProblem, solution: Solution) -> Solution:
    """Fill ``solution.duals`` (LP relaxation) and ``solution.reduced_cost_gap``.

    Mutates and returns ``solution``. Duals already present (e.g. from
    ``solve_highs(relax=True)``) are kept; the gap is left ``None`` when the
    solution has no plan.
    """
    if not solution.duals:
        solution.duals = lp_prices(problem)
    if solution.status in ("optimal", "feasible"):
        solution.reduced_cost_gap = reduced_cost_gap(problem, solution.choice, solution.duals)
    return solution
