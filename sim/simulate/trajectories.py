"""Yearly trajectories of a plan (月督查、季通报、年总评): every KPI from base year to
``horizon.report_until``.

A chosen plan unfolds over the years as follows (parameters in
``phasing.trajectories`` and ``actions.redevelopment``):

* firms that keep follow the baseline: VA and tax growth, the energy-efficiency
  trend and employment growth of ``horizon.growth``, from the base year;
* an action changes its firm's state from its action year (``start_year``
  without phasing); upgrades ramp up (``ramp_up``, default 50% of the effect
  in the action year, 100% after) — the same ramp applies to its energy saving;
  exits, merges and relocations act at once;
* entrants redevelop ``redevelopment.share`` of the freed land at the
  benchmark 亩均 level (``va_per_mu_wan`` …) from ``action year + lag_years``;
* admitted new projects produce from ``start_year + project_lag_years``;
* the industrial land balance: stock_t = stock_{t−1} − converted_t +
  replacement_t (+ other new supply), replacement = 1.2 × converted (占补平衡),
  checked against the 300 km² floor (``land_floor_mu``).

Accounting. Land freed, firms rectified and jobs displaced are cumulative from
the action year; public cost and private capex are counted in the action year.
At the end year, the ratio KPIs and the city-target totals equal the optimiser's
end-year accounting (:func:`sim.results.kpis.compute_kpis`) whenever the ramp-up
of every action is complete by then and projects produce by then: the optimiser
counts the full effect of an action taken in the end year, a trajectory only
its ramped share (the ``*_plan`` series count it in full).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.pipeline import Model
from sim.simulate.engine import (
    COMPONENTS,
    SERIES,
    Paths,
    evaluate,
    plan_totals,
    series,
    unit_multipliers,
)
from sim.simulate.factors import QUANTITIES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Targets checked year by year: name → (series, sense, label).
TARGETS: dict[str, tuple[str, str, str]] = {
    "land_freed_mu": ("land_freed_mu", ">=", "盘活低效工业用地"),
    "energy_saved_tce": ("energy_saved_tce", ">=", "腾出用能"),
    "co2_cut_t": ("co2_cut_t", ">=", "减碳"),
    "firms_rectified": ("firms_rectified", ">=", "整治提升企业"),
    "tax_per_mu_wan": ("tax_per_mu_wan", ">=", "规上工业亩均税收"),
    "va_per_mu_wan": ("va_per_mu_wan", ">=", "规上工业亩均增加值"),
    "labour_productivity_wan": ("labour_productivity_wan", ">=", "全员劳动生产率"),
    "energy_intensity_reduction": ("energy_intensity_reduction", ">=", "单位增加值能耗下降"),
    "budget_wan": ("public_cost_cum_wan", "<=", "财政预算（累计）"),
    "budget_wan_per_year": ("public_cost_wan", "<=", "年度财政预算"),
    "jobs_lost_max": ("jobs_displaced", "<=", "岗位调整上限"),
    "industrial_land_floor": ("industrial_land_stock_mu", ">=", "工业用地300平方公里底线"),
}
_ABSOLUTE = ("land_freed_mu", "energy_saved_tce", "co2_cut_t", "firms_rectified")
_RATIOS = ("tax_per_mu_wan", "va_per_mu_wan", "labour_productivity_wan",
           "energy_intensity_reduction")


def target_levels(model: Model, years: IntArray) -> dict[str, FloatArray]:
    """Level of every target in every year, NaN where a year has none.

    Absolute city targets: the phased cumulative share in action years (with
    phasing; else only from the end year), the full target from the end year
    on. Ratio KPIs: from the end year on. Budgets and job limits: every year
    from the start year (yearly budgets in their years). The land floor: every
    year. Absolute levels scale with ``population.scale_to_population``.
    """
    scenario = model.scenario
    h = scenario.horizon
    factor = model.scale if scenario.population.scale_to_population else 1.0
    nan = np.full(len(years), np.nan)
    out: dict[str, FloatArray] = {}
    shares = np.where(years >= h.end_year, 1.0, np.nan)
    if scenario.phasing.enabled:
        for year, share in scenario.phasing.cumulative_shares.items():
            if h.start_year <= year < h.end_year:
                shares[years == year] = share
    targets = scenario.targets
    for key in _ABSOLUTE:
        value = getattr(targets, key)
        out[key] = nan.copy() if value is None else shares * value * factor
    for key in _RATIOS:
        value = getattr(targets, key)
        out[key] = nan.copy() if value is None else np.where(years >= h.end_year, value, np.nan)
    lim = scenario.limits
    acting = years >= h.start_year
    out["budget_wan"] = (nan.copy() if lim.budget_wan is None
                         else np.where(acting, lim.budget_wan * factor, np.nan))
    yearly = scenario.phasing.budget_wan_per_year if scenario.phasing.enabled else {}
    out["budget_wan_per_year"] = np.array(
        [yearly[int(y)] * factor if int(y) in yearly else np.nan for y in years])
    out["jobs_lost_max"] = (nan.copy() if lim.jobs_lost_max is None
                            else np.where(acting, lim.jobs_lost_max * factor, np.nan))
    floor = scenario.phasing.trajectories.land_floor_mu * factor
    out["industrial_land_floor"] = np.full(len(years), floor)
    return out


def met(values: FloatArray, level: FloatArray, sense: str) -> npt.NDArray[np.bool_]:
    """Whether ``values`` meet ``level`` (relative tolerance 1e-6, as :class:`KPI`).

    Broadcasts; True where the level is NaN (no target that year).
    """
    tol = 1e-6 * np.maximum(1.0, np.abs(level))
    ok = values >= level - tol if sense == ">=" else values <= level + tol
    return np.asarray(ok | np.isnan(level))


def paths_dataset(model: Model, paths: Paths, plan: Paths | None = None) -> xr.Dataset:
    """Series of ``paths`` (first draw) as a Dataset over ``year``."""
    base = model.baseline.base_energy_per_va
    realised = series(paths, base, realised=True)
    data: dict[str, Any] = {}
    for name, (label, unit) in SERIES.items():
        data[name] = xr.Variable("year", realised[name][0], {"units": unit, "long_name": label})
    plan_series = series(plan if plan is not None else paths, base, realised=False)
    for name, key, unit in (("energy_saved_plan_tce", "energy_saved_tce", "tce/yr"),
                            ("co2_cut_plan_t", "co2_cut_t", "t CO2/yr")):
        data[name] = xr.Variable("year", plan_series[key][0], {
            "units": unit, "long_name": "counted in full from the action year (plan accounting)"})
    return xr.Dataset(data, coords={"year": paths.years})


def trajectories(model: Model, choice: IntArray) -> xr.Dataset:
    """Yearly KPI paths of a plan, base year .. ``report_until`` (dimension ``year``).

    Variables (units in attrs): the :data:`~sim.simulate.engine.SERIES`
    (land freed cumulative, energy saved and CO2 cut with ramp-up, firms
    rectified, the four above-scale ratio KPIs, public cost per year and
    cumulative, private capex per year, jobs displaced, land converted,
    industrial land stock, total VA / energy / employees);
    ``energy_saved_plan_tce`` and ``co2_cut_plan_t`` (no ramp-up);
    ``state_kpi(year, component, quantity)`` and ``state_all(...)``: above-scale
    and all-firm totals split into baseline, actions, entrants and projects;
    ``land_replacement_mu(year)``, ``land_floor_mu`` and ``land_floor_ok(year)``;
    ``target_level(target, year)``, ``target_sense(target)`` and
    ``target_met(target, year)``.
    """
    choice = np.asarray(choice, dtype=np.int64)
    totals = plan_totals(model, choice)
    mult = unit_multipliers(model)
    paths = evaluate(model, totals, mult, ramp=True)
    plan = evaluate(model, totals, mult, ramp=False)
    ds = paths_dataset(model, paths, plan)
    coords = {"component": list(COMPONENTS), "quantity": list(QUANTITIES)}
    ds = ds.assign_coords(coords)
    ds["state_kpi"] = (("year", "component", "quantity"), paths.state_kpi[0])
    ds["state_kpi"].attrs = {"long_name": "above-scale (规上) totals by component",
                             "units": "万元/yr, 万元/yr, tce/yr, mu, persons"}
    ds["state_all"] = (("year", "component", "quantity"), paths.state_all[0])
    ds["state_all"].attrs = {"long_name": "all-firm totals by component",
                             "units": "万元/yr, 万元/yr, tce/yr, mu, persons"}
    ds["land_replacement_mu"] = ("year", paths.land_replacement[0], {"units": "mu/yr"})
    levels = target_levels(model, paths.years)
    floor = float(levels["industrial_land_floor"][0])
    ds["land_floor_mu"] = xr.Variable((), floor, {"units": "mu"})
    ds["land_floor_ok"] = ("year", paths.land_stock[0] >= floor)
    names = list(TARGETS)
    values = series(paths, model.baseline.base_energy_per_va, realised=True)
    ds = ds.assign_coords(target=names)
    ds["target_level"] = (("target", "year"), np.stack([levels[n] for n in names]))
    ds["target_sense"] = ("target", [TARGETS[n][1] for n in names])
    ds["target_met"] = (("target", "year"), np.stack(
        [met(values[TARGETS[n][0]][0], levels[n], TARGETS[n][1]) for n in names]))
    ds.attrs.update(
        trajectory_ramp_up=str(dict(model.scenario.phasing.trajectories.ramp_up)),
        trajectory_project_lag_years=model.scenario.phasing.trajectories.project_lag_years,
        trajectory_redevelopment_lag_years=model.scenario.actions.redevelopment.lag_years,
    )
    return ds


#: Dimension renames when trajectories join a result Dataset.
_RESULT_DIMS = {"component": "traj_component", "quantity": "traj_quantity",
                "target": "traj_target"}


def add_trajectories(dataset: xr.Dataset, model: Model, choice: IntArray) -> xr.Dataset:
    """The result ``dataset`` with the plan's trajectories added.

    Every trajectory variable is prefixed ``traj_`` (e.g. ``traj_land_freed_mu``,
    ``traj_state_kpi``) and its dimensions other than ``year`` too
    (``traj_component``, ``traj_quantity``, ``traj_target``), so nothing
    collides with register columns or the ``kpi`` dimension.
    """
    traj = trajectories(model, choice)
    renamed = traj.rename({name: f"traj_{name}" for name in traj.data_vars})
    renamed = renamed.rename(_RESULT_DIMS)
    renamed.attrs = {}
    out = dataset.merge(renamed, compat="override", join="outer")
    out.attrs = {**dataset.attrs, **{k: str(v) for k, v in traj.attrs.items()}}
    return out
