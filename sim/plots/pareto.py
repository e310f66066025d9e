"""Pareto frontiers by ε-constraint sweeps, and their plot.

:func:`pareto_sweep` reruns a scenario with one quantity held to a series of
limits and the other optimised:

* ``metric="jobs_lost"``: minimise public cost subject to
  ``limits.jobs_lost_max = ε`` for ε from the least-cost plan's jobs lost
  down to the fewest jobs lost any plan meeting the targets can reach (a run
  with ``objective.kind = min_jobs_lost``; half the least-cost plan's when
  that run finds no plan).
* ``metric="va_after_wan"``: maximise end-year value added subject to
  ``limits.budget_wan = ε`` for ε from the least-cost plan's public cost up to
  the public cost of the max-VA plan under the scenario's own budget.

Limits are given in the population's own units: with
``population.scale_to_population`` the scenario value is ε / scale. Points
whose run is infeasible (or finds no plan within the time limit) are
dropped. The tight end of the range is moved in by ``INSET`` (2%) of the
range: the extreme plan is only known to the solver's gap, so a limit set
exactly at it can be out of reach.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from sim.errors import InfeasibleError, InputError
from sim.plots.style import FIG_HALF, NEUTRAL, SCENARIO_COLORS, check_lang, label, new_figure
from sim.scenario.schema import Scenario

METRICS = ("jobs_lost", "va_after_wan")
# The tight end of the ε range is moved in by this share of the range, so that
# the run there has some slack (its extreme plan is only known to a MIP gap).
INSET = 0.02


def _load(scenario: Scenario | str | os.PathLike[str]) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    from sim.pipeline import load_scenario

    return load_scenario(scenario)[0]


def _point(ds: xr.Dataset) -> dict[str, float]:
    """Public cost (万元), jobs lost (persons) and end-year VA (万元, firms + admitted projects)."""
    kpi = ds["kpi_achieved"]
    va = float(ds["totals"].sel(metric="va_after_wan").sum())
    if "project_admitted" in ds:
        va += float((ds["project_value_added_wan"] * ds["project_admitted"]).sum())
    return {
        "public_cost_wan": float(kpi.sel(kpi="public_cost_wan")),
        "jobs_lost": float(kpi.sel(kpi="jobs_lost")),
        "va_after_wan": va,
        "objective": float(ds.attrs.get("objective", np.nan)),
    }


def pareto_sweep(
    scenario: Scenario | str | os.PathLike[str],
    metric: str = "jobs_lost",
    points: int = 6,
    n_firms: int | None = None,
    *,
    method: str | None = None,
    time_limit: float | None = None,
    least_cost: xr.Dataset | None = None,
    tight_end: float | None = None,
) -> xr.Dataset:
    """ε-constraint sweep of public cost against jobs lost (or end-year VA).

    Args:
        scenario: a scenario (it is copied, never changed) or its file.
        metric: ``"jobs_lost"`` (min cost s.t. jobs lost ≤ ε) or
            ``"va_after_wan"`` (max VA s.t. public cost ≤ ε).
        points: number of ε values, end points included (≥ 2).
        n_firms: synthetic population size override (as in ``run_scenario``).
        method, time_limit: solver overrides passed to ``run_scenario``.
        least_cost: the scenario's least-cost result when already solved (same
            population); it is then not solved again.
        tight_end: the tight end of the ε range (jobs lost, persons; or public
            cost, 万元, in population units) when known; otherwise it is solved
            for (min_jobs_lost or max_va run) and moved in by ``INSET``.

    Returns:
        A Dataset over ``point`` (kept points, in ε order): ``epsilon`` (jobs,
        persons, or budget, 万元, in population units), ``public_cost_wan``,
        ``jobs_lost``, ``va_after_wan``, ``objective``, ``status``; attrs
        ``metric``, ``scenario``, ``dropped`` (infeasible points), and
        ``least_cost_*`` (the least-cost plan, the frontier's end).

    Raises:
        InfeasibleError: the scenario itself cannot be met.
    """
    from sim.run import run_scenario

    if metric not in METRICS:
        raise InputError(f"pareto metric {metric!r}: use one of {', '.join(METRICS)}.")
    if points < 2:
        raise InputError("a Pareto sweep needs at least 2 points.")
    base = _load(scenario)

    def run(kind: str, **limits: float | None) -> tuple[xr.Dataset, float]:
        sc = base.model_copy(deep=True)
        sc.objective.kind = kind  # type: ignore[assignment]
        for key, value in limits.items():
            setattr(sc.limits, key, value)
        outcome = run_scenario(sc, method=method, time_limit=time_limit, n_firms=n_firms)
        factor = outcome.model.scale if sc.population.scale_to_population else 1.0
        return outcome.dataset, factor

    if least_cost is None:
        least, factor = run("min_cost")
    else:
        least = least_cost
        factor = (least.sizes["enterprise"] / base.population.reference_firms
                  if base.population.scale_to_population else 1.0)
    start = _point(least)
    inset = INSET if tight_end is None else 0.0
    if metric == "jobs_lost":
        lo = start["jobs_lost"]
        hi = tight_end if tight_end is not None else _solved_end(run, "min_jobs_lost", 0.5 * lo)
        kind, key = "min_cost", "jobs_lost_max"
        steps = np.linspace(0.0, 1.0 - inset, points)
    else:
        lo = start["public_cost_wan"]
        hi = tight_end if tight_end is not None else _solved_end(run, "max_va", 2.0 * lo)
        kind, key = "max_va", "budget_wan"
        steps = np.linspace(inset, 1.0, points)
    eps = lo + (hi - lo) * steps

    rows: list[dict[str, Any]] = []
    dropped = 0
    for k, value in enumerate(eps):
        if k == 0 and metric == "jobs_lost":
            ds = least  # the least-cost plan is the first point
        else:
            try:
                ds, _ = run(kind, **{key: float(value) / factor * (1 + 1e-9)})
            except InfeasibleError:
                dropped += 1
                continue
        rows.append({"epsilon": float(value), **_point(ds), "status": str(ds.attrs["status"])})
    out = xr.Dataset(
        {name: ("point", [r[name] for r in rows]) for name in rows[0]},
        coords={"point": np.arange(len(rows))},
    )
    out["epsilon"].attrs["units"] = "persons" if metric == "jobs_lost" else "万元"
    out["public_cost_wan"].attrs["units"] = "万元"
    out["jobs_lost"].attrs["units"] = "persons"
    out["va_after_wan"].attrs["units"] = "万元"
    out.attrs = {
        "metric": metric,
        "scenario": base.name,
        "dropped": dropped,
        **{f"least_cost_{k}": v for k, v in start.items()},
    }
    return out


def _solved_end(run: Callable[..., tuple[xr.Dataset, float]], kind: str,
                fallback: float) -> float:
    """The other end of the ε range: the min-jobs plan's jobs lost or the max-VA plan's cost.

    ``fallback`` (half the jobs, twice the cost) when that run finds no plan.
    """
    try:
        ds = run(kind)[0]
    except InfeasibleError:
        return fallback
    point = _point(ds)
    return point["jobs_lost"] if kind == "min_jobs_lost" else point["public_cost_wan"]


def plot_pareto(
    sweep: xr.Dataset, lang: str = "zh", *, figsize: tuple[float, float] | None = None
) -> Figure:
    """The frontier of a :func:`pareto_sweep`.

    ``jobs_lost``: x = jobs lost (persons), y = public cost (亿元 = 10^8 元).
    ``va_after_wan``: x = public cost (亿元), y = end-year VA (亿元). The
    least-cost plan is the hollow marker.
    """
    check_lang(lang)
    fig = new_figure(figsize or (FIG_HALF[0] * 1.3, FIG_HALF[1]))
    ax = fig.add_subplot()
    cost = sweep["public_cost_wan"].values / 1e4  # 万元 → 亿元
    if sweep.attrs.get("metric") == "va_after_wan":
        x, y = cost, sweep["va_after_wan"].values / 1e4
        xl, yl = label("pareto_cost", lang), label("pareto_va", lang)
        x0 = float(sweep.attrs["least_cost_public_cost_wan"]) / 1e4
        y0 = float(sweep.attrs["least_cost_va_after_wan"]) / 1e4
    else:
        x, y = sweep["jobs_lost"].values, cost
        xl, yl = label("pareto_jobs", lang), label("pareto_cost", lang)
        x0 = float(sweep.attrs["least_cost_jobs_lost"])
        y0 = float(sweep.attrs["least_cost_public_cost_wan"]) / 1e4
    order = np.argsort(x)
    ax.plot(x[order], y[order], "-o", color=SCENARIO_COLORS[0], markersize=4, linewidth=1.4,
            gid="frontier")
    ax.plot([x0], [y0], "o", markersize=8, markerfacecolor="none", markeredgecolor="#c0392b",
            label=label("pareto_min_cost", lang))
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    name = sweep.attrs.get("scenario", "")
    title = label("pareto_title", lang)
    ax.set_title(f"{title}：{name}" if lang == "zh" else f"{title}: {name}", loc="left")
    ax.legend(loc="best")
    if sweep.attrs.get("dropped"):
        # the empty corner: lower left for cost vs jobs (falling), lower right for VA (rising)
        right = sweep.attrs.get("metric") == "va_after_wan"
        ax.text(0.99 if right else 0.01, 0.02,
                f"{sweep.attrs['dropped']} infeasible point(s) dropped" if lang == "en"
                else f"{sweep.attrs['dropped']}个不可行点已略去", transform=ax.transAxes,
                ha="right" if right else "left", fontsize=6.5, color=NEUTRAL)
    return fig
