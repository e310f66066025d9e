"""Robust planning: a plan that meets the targets in at least 1 − α of the draws.

Sample-average (scenario-based) chance constraints, written as an ordinary
:class:`~sim.optimise.problem.ChoiceProblem` so that the existing solvers
handle them unchanged:

* ``S = uncertainty.robust_draws`` draws of the uncertain factors are sampled
  (seed ``uncertainty.seed``);
* every ungrouped target and limit row (``target:``, ``kpi:``, ``phase:``,
  ``limit:budget_wan…``, ``limit:jobs_lost``) gets one copy per draw, over a
  new metric per (row, draw) whose effect is the row's value under that draw's
  factors (flows × factor; end states = keep + factor × change + entrants +
  projects, with drawn growth rates; the right-hand sides of ratio KPIs move
  with the drawn growth of firms outside the problem);
* ``robust_mode = "chance"``: one extra *switch unit* per draw with two options,
  *enforce* (adds nothing) and *relax* (adds a big-M to that draw's rows and
  1 to ``robust_relaxed``), and the row ``robust:relaxed_draws``:
  Σ relax ≤ ⌊α · robust_backoff · S⌋. ``robust_mode = "all"``: every sampled
  draw is enforced (the scenario approach), no switches.

The plan is validated on ``uncertainty.holdout_draws`` **held-out** draws drawn
with a different seed (``holdout_seed``, default ``seed + 1000``): the share of
held-out draws in which every target is met (plan accounting, every year up
to the end year) is reported beside the in-sample share and the extra cost
over the deterministic plan.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.errors import InfeasibleError, ScenarioError
from sim.optimise.problem import ChoiceProblem, Constraint, Solution
from sim.pipeline import Model
from sim.simulate.engine import (
    CONSTANT_KEYS,
    KPI_METRICS,
    PairParts,
    decompose,
    end_growth,
    growth_paths,
    multipliers,
)
from sim.simulate.factors import FLOWS, FactorSpec, factor_specs, sample
from sim.simulate.montecarlo import monte_carlo

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ROBUST_FAMILIES = ("target:", "kpi:", "phase:", "limit:budget_wan", "limit:jobs_lost")
RELAXED = "robust_relaxed"


def robust_rows(problem: ChoiceProblem) -> list[Constraint]:
    """The ungrouped target and limit rows that get a copy per draw."""
    return [c for c in problem.constraints
            if c.group is None and c.name.startswith(ROBUST_FAMILIES)]


@dataclass
class _DrawValues:
    """Per-draw values of the metrics of every (unit, option) pair."""

    model: Model
    parts: PairParts
    effects: FloatArray  # (P, M) NaN→0
    flow_mult: FloatArray  # (S, P, F)
    delta_mult: FloatArray  # (S, P, Q)
    entrant_mult: FloatArray
    project_mult: FloatArray  # (S, Q)
    growth_end: FloatArray  # (S, Q) drawn end-year growth / deterministic

    def metric(self, name: str) -> FloatArray:
        """``(S, P)`` value of metric ``name`` under each draw."""
        idx = self.model.options.metrics.index(name)
        base = self.effects[:, idx][None, :]
        if name in KPI_METRICS:
            q = KPI_METRICS.index(name)
            p = self.parts
            g = self.growth_end[:, q][:, None]
            return (p.keep_kpi[:, q] * g + p.delta_kpi[:, q] * self.delta_mult[:, :, q] * g
                    + p.entrant[:, q] * p.entrant_at_end * self.entrant_mult[:, :, q]
                    + p.project[:, q][None, :] * self.project_mult[:, q][:, None])
        flow = re.sub(r"(_by_\d+|_in_\d+)$", "", name)
        if flow in FLOWS:
            return base * self.flow_mult[:, :, FLOWS.index(flow)]
        return np.broadcast_to(base, (self.flow_mult.shape[0], base.shape[1]))


def _draw_values(model: Model, specs: list[FactorSpec], values: FloatArray) -> _DrawValues:
    problem = model.problem
    n, o = problem.n_units, problem.n_options
    units = np.repeat(np.arange(n, dtype=np.int64), o)
    slots = np.tile(np.arange(o, dtype=np.int64), n)
    parts = decompose(model, units, slots)
    mult = multipliers(model, specs, values)
    years = np.array([model.scenario.horizon.end_year], dtype=np.int64)
    growth = growth_paths(model.scenario, years, mult.growth, mult.draws)[:, 0, :]
    return _DrawValues(
        model=model,
        parts=parts,
        effects=np.nan_to_num(problem.effects.reshape(n * o, -1)),
        flow_mult=mult.flow[:, slots, :],
        delta_mult=mult.delta[:, slots, :],
        entrant_mult=mult.entrant[:, slots, :],
        project_mult=mult.project,
        growth_end=growth / end_growth(model.scenario)[None, :],
    )


def _rhs_per_draw(model: Model, row: Constraint, growth_end: FloatArray) -> FloatArray:
    """Right-hand side of ``row`` per draw: KPI rows move with the drawn growth."""
    rhs = float(row.rhs_array()[0])
    shift = np.zeros(growth_end.shape[0])
    const = model.baseline.kpi_constant
    for metric, coefficient in row.coefficients.items():
        if metric in KPI_METRICS:
            q = KPI_METRICS.index(metric)
            shift += coefficient * const[CONSTANT_KEYS[q]] * (growth_end[:, q] - 1.0)
    return rhs - shift


def robust_problem(
    model: Model,
    specs: list[FactorSpec],
    values: FloatArray,
    *,
    mode: str = "chance",
    max_relaxed: int = 0,
) -> ChoiceProblem:
    """The model's choice problem plus per-draw copies of its target and limit rows.

    Args:
        values: factor values of the in-sample draws ``(S, len(specs))``.
        mode: ``chance`` (switch units, at most ``max_relaxed`` draws relaxed)
            or ``all`` (every draw enforced).
    """
    problem = model.problem
    n, o = problem.n_units, problem.n_options
    draws = values.shape[0]
    dv = _draw_values(model, specs, values)
    rows = robust_rows(problem)
    available = problem.available.reshape(-1)
    new_names: list[str] = []
    new_columns: list[FloatArray] = []  # (P,) each
    constraints: list[Constraint] = []
    big_m: list[tuple[str, int, float]] = []  # (metric, draw, signed big-M of relax)
    for row in rows:
        value = np.zeros((draws, n * o))
        for metric, coefficient in row.coefficients.items():
            value += coefficient * dv.metric(metric)
        rhs = _rhs_per_draw(model, row, dv.growth_end)
        per_unit = np.where(available[None, :], value, np.nan).reshape(draws, n, o)
        for d in range(draws):
            name = f"{row.name}@draw{d}"
            new_names.append(name)
            new_columns.append(value[d])
            constraints.append(Constraint(name, {name: 1.0}, row.sense, float(rhs[d])))
            if row.sense == ">=":
                reach = np.nansum(np.nanmin(per_unit[d], axis=1))
                big_m.append((name, d, max(0.0, rhs[d] - reach) * 1.01 + 1.0))
            elif row.sense == "<=":
                reach = np.nansum(np.nanmax(per_unit[d], axis=1))
                big_m.append((name, d, -(max(0.0, reach - rhs[d]) * 1.01 + 1.0)))
    metrics = [*problem.metrics, *new_names]
    extra = np.stack(new_columns, axis=1).reshape(n, o, -1) if new_columns else np.zeros(
        (n, o, 0))
    effects = np.concatenate([problem.effects, extra], axis=2)
    effects[~problem.available] = np.nan
    old = [_extend_group(c, n, 0) for c in problem.constraints]
    unit_ids = problem.unit_ids
    if mode == "chance":
        metrics.append(RELAXED)
        effects = np.concatenate([effects, np.zeros((n, o, 1))], axis=2)
        effects[~problem.available] = np.nan
        switches = np.full((draws, o, len(metrics)), np.nan)
        switches[:, :2, :] = 0.0
        col = {m: i for i, m in enumerate(metrics)}
        for name, d, m in big_m:
            switches[d, 1, col[name]] = m
        switches[:, 1, col[RELAXED]] = 1.0
        effects = np.concatenate([effects, switches], axis=0)
        old = [_extend_group(c, n, draws) for c in problem.constraints]
        constraints.append(Constraint("robust:relaxed_draws", {RELAXED: 1.0}, "<=",
                                      float(max_relaxed)))
        if unit_ids is not None:
            unit_ids = np.concatenate([unit_ids, [f"draw-switch-{d}" for d in range(draws)]])
    elif mode != "all":
        raise ScenarioError(f"uncertainty.robust_mode: unknown mode {mode!r}")
    return ChoiceProblem(
        effects=effects,
        metrics=metrics,
        constraints=old + constraints,
        objective=problem.objective,
        unit_ids=unit_ids,
        option_labels=problem.option_labels,
        name=f"{problem.name}-robust",
    )


def _extend_group(c: Constraint, n: int, extra: int) -> Constraint:
    """``c`` with its group array extended by ``extra`` units outside every row."""
    if c.group is None or extra == 0:
        return c
    group = np.asarray(c.group)
    pad = np.full((extra, *group.shape[1:]), -1, dtype=group.dtype)
    return Constraint(c.name, c.coefficients, c.sense, c.rhs, np.concatenate([group, pad]),
                      c.group_labels, c.penalty)


@dataclass
class RobustResult:
    """A robust plan, its deterministic counterpart and their validation.

    Costs are objective values (万元 for ``min_cost``). Shares are of draws in
    which every target and limit is met in every year up to the end year
    (plan accounting).
    """

    choice: IntArray
    solution: Solution
    deterministic: Solution
    alpha: float
    mode: str
    in_sample_draws: int
    max_relaxed: int
    in_sample_share: float
    holdout_share: float
    deterministic_holdout_share: float
    holdout: xr.Dataset
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cost_increase(self) -> float:
        """Relative objective change of the robust plan over the deterministic one."""
        base = self.deterministic.objective
        return (self.solution.objective - base) / max(abs(base), 1e-12)

    def summary(self) -> str:
        """A few lines for the terminal."""
        return (
            f"robust plan (α = {self.alpha:g}, mode {self.mode}, {self.in_sample_draws} draws, "
            f"≤ {self.max_relaxed} relaxed): objective {self.solution.objective:,.6g} vs "
            f"deterministic {self.deterministic.objective:,.6g} ({self.cost_increase:+.1%})\n"
            f"targets met: in-sample {self.in_sample_share:.1%}; held-out "
            f"{self.holdout_share:.1%} of {self.holdout.sizes['draw']} draws (deterministic plan: "
            f"{self.deterministic_holdout_share:.1%}); required ≥ {1 - self.alpha:.1%}"
        )


def robust_plan(
    model: Model,
    *,
    alpha: float | None = None,
    draws: int | None = None,
    mode: str | None = None,
    holdout_draws: int | None = None,
    holdout_seed: int | None = None,
    method: str | None = None,
    time_limit: float | None = None,
    deterministic: Solution | None = None,
) -> RobustResult:
    """Solve for a plan meeting the targets in ≥ 1 − α of the draws; validate on held-out draws.

    Arguments default to the scenario's ``uncertainty`` and ``solver`` blocks.

    Raises:
        ScenarioError: no ``robust_alpha`` and no ``alpha``, or no uncertain
            parameters, or the held-out seed equals the in-sample seed.
        InfeasibleError: no plan meets the targets in enough draws.
    """
    from sim.optimise.solve import solve

    unc = model.scenario.uncertainty
    alpha = unc.robust_alpha if alpha is None else alpha
    if alpha is None:
        raise ScenarioError("robust planning needs uncertainty.robust_alpha (or --alpha).")
    specs = factor_specs(model.scenario)
    if not specs:
        raise ScenarioError("robust planning needs uncertain parameters (uncertainty.parameters).")
    s = unc.robust_draws if draws is None else int(draws)
    mode = unc.robust_mode if mode is None else mode
    seed_out = holdout_seed if holdout_seed is not None else unc.holdout_seed
    if seed_out is None:
        seed_out = unc.seed + 1000
    if seed_out == unc.seed:
        raise ScenarioError("uncertainty.holdout_seed must differ from uncertainty.seed.")
    spec = model.scenario.solver
    timings: dict[str, float] = {}

    def run(problem: ChoiceProblem) -> Solution:
        return solve(problem, method=method or spec.method, time_limit=time_limit or
                     spec.time_limit_s, gap_tol=spec.gap)

    t = time.perf_counter()
    if deterministic is None:
        deterministic = run(model.problem)
    timings["deterministic_s"] = time.perf_counter() - t
    values = sample(specs, s, unc.seed)
    max_relaxed = math.floor(alpha * unc.robust_backoff * s + 1e-9) if mode == "chance" else 0
    t = time.perf_counter()
    problem = robust_problem(model, specs, values, mode=mode, max_relaxed=max_relaxed)
    timings["build_s"] = time.perf_counter() - t
    t = time.perf_counter()
    solution = run(problem)
    timings["solve_s"] = time.perf_counter() - t
    if solution.status not in ("optimal", "feasible"):
        raise InfeasibleError(
            f"scenario '{model.scenario.name}': no plan meets the targets in "
            f"{s - max_relaxed} of {s} sampled draws ({solution.status}: {solution.message})."
        )
    choice = solution.choice[: model.problem.n_units].astype(np.int64)
    n_out = unc.holdout_draws if holdout_draws is None else int(holdout_draws)
    in_sample = monte_carlo(model, choice, specs=specs, values=values)
    holdout = monte_carlo(model, choice, draws=n_out, seed=seed_out, specs=specs)
    det_holdout = monte_carlo(model, deterministic.choice, draws=n_out, seed=seed_out,
                              specs=specs)
    return RobustResult(
        choice=choice,
        solution=solution,
        deterministic=deterministic,
        alpha=float(alpha),
        mode=mode,
        in_sample_draws=s,
        max_relaxed=max_relaxed,
        in_sample_share=float(in_sample["all_met_plan"].mean()),
        holdout_share=float(holdout["all_met_plan"].mean()),
        deterministic_holdout_share=float(det_holdout["all_met_plan"].mean()),
        holdout=holdout,
        timings=timings,
    )
