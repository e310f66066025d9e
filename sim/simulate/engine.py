"""The simulation engine: a plan's effects split into parts, aggregated by option slot,
and evaluated year by year for any number of draws at once.

Every (unit, option) pair's effects (``sim.options.effects``) are split into

* ``flows``: plan flows (:data:`~sim.simulate.factors.FLOWS`), counted from the
  option's action year;
* ``keep``: the end-year state the unit would have had by keeping (firms only);
* ``delta``: own end-year state − keep (the option's change, at the end year);
* ``entrant``: the state of new entrants on the redeveloped share of its freed
  land (``redevelopment.share``), from ``action year + redevelopment.lag_years``;
* ``project``: the state of an admitted new project, from
  ``horizon.start_year + phasing.trajectories.project_lag_years``.

so that ``effects state = keep + delta + entrant·[entrant active at end year]``
(for firms) and ``= project`` (for projects). For a chosen plan, the parts are
summed by option slot (a slot is kind × variant × year) once, with ``bincount``;
a year's totals for ``D`` draws are then small einsums ``draws × slots ×
metrics`` against time profiles ``slots × years``:

* state(d, t, q) = baseline_q · G_q(t, d) + Σ_s ramp(s, t) · G_q(t, d)/G_q(end) ·
  delta(s, q) · M(d, s, q) + Σ_s [t ≥ y_s + lag] · entrant(s, q) · M(d, s, q)
  + [t ≥ start + project lag] · project(q) · M(d, q)
* flows: cumulative (``[t ≥ y_s]``), realised (ramp-up) or once (``[t = y_s]``).

``G_q(t, d)`` is the baseline growth path (VA and tax growth, the energy-
efficiency trend, employment growth) from the base year, with any uncertain
growth-rate factors applied. ``M`` are the products of the uncertain factors
(:mod:`sim.simulate.factors`), 1 in the deterministic case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sim.pipeline import Model
from sim.scenario.schema import Scenario
from sim.simulate.factors import FLOWS, GROWTH_KEYS, QUANTITIES, FactorSpec

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

KPI_METRICS = ("va_kpi_wan", "tax_kpi_wan", "energy_kpi_tce", "land_kpi_mu", "employees_kpi")
ALL_METRICS = ("va_after_wan", "tax_after_wan", "energy_after_tce", "land_after_mu",
               "employees_after")
REGISTER_COLUMNS = ("value_added_wan", "tax_wan", "energy_tce", "land_mu", "employees")
#: Baseline-constant keys of :class:`sim.policy.constraints.Baseline` per quantity.
CONSTANT_KEYS = ("va", "tax", "energy", "land", "employees")
_F = {name: k for k, name in enumerate(FLOWS)}
_Q = {name: k for k, name in enumerate(QUANTITIES)}


def growth_paths(scenario: Scenario, years: IntArray, factors: dict[str, FloatArray] | None = None,
                 draws: int = 1) -> FloatArray:
    """Baseline multipliers from the base year to each year, ``(draws, years, quantities)``.

    VA: (1+g_va)^k, tax: (1+g_tax)^k, energy: VA factor × (1−g_eff)^k, land: 1,
    employees: (1+g_emp)^k, with k = year − base year and each rate multiplied
    by its factor in ``factors`` (``GROWTH_KEYS`` → ``(draws,)``).
    """
    g = scenario.horizon.growth
    k = (years - scenario.horizon.base_year).astype(float)[None, :]
    f = factors or {}

    def rate(key: str, nominal: float) -> FloatArray:
        return (nominal * f[key] if key in f else np.full(draws, nominal))[:, None]

    va = (1 + rate("value_added", g.value_added)) ** k
    out = np.empty((draws, len(years), len(QUANTITIES)))
    out[:, :, _Q["va_wan"]] = va
    out[:, :, _Q["tax_wan"]] = (1 + rate("tax", g.tax)) ** k
    out[:, :, _Q["energy_tce"]] = va * (1 - rate("energy_efficiency", g.energy_efficiency)) ** k
    out[:, :, _Q["land_mu"]] = 1.0
    out[:, :, _Q["employees"]] = (1 + rate("employees", g.employees)) ** k
    return out


def end_growth(scenario: Scenario) -> FloatArray:
    """Deterministic baseline multipliers from base to end year, ``(quantities,)``.

    Computed exactly as ``sim.options.effects`` does, so that keep states match bitwise.
    """
    h = scenario.horizon
    n = h.end_year - h.base_year
    g = h.growth
    va = (1 + g.value_added) ** n
    return np.array([va, (1 + g.tax) ** n, va * (1 - g.energy_efficiency) ** n, 1.0,
                     (1 + g.employees) ** n])


@dataclass
class PairParts:
    """Effects of ``n`` (unit, option) pairs split into parts (see the module docstring).

    Attributes:
        slot: option slot of each pair ``(n,)``.
        flows: ``(n, len(FLOWS))``. keep_kpi, keep_all, delta_kpi, delta_all,
            entrant, project: ``(n, len(QUANTITIES))``; ``*_kpi`` is the
            above-scale KPI scope, ``*_all`` every firm. Entrants and projects
            count fully in both scopes.
        entrant_at_end: True where the pair's entrants are active in the end year.
    """

    slot: IntArray
    flows: FloatArray
    keep_kpi: FloatArray
    keep_all: FloatArray
    delta_kpi: FloatArray
    delta_all: FloatArray
    entrant: FloatArray
    project: FloatArray
    entrant_at_end: BoolArray


def slot_years(model: Model) -> IntArray:
    """Action year of every option slot (keep: the base year)."""
    return np.array([s.year for s in model.options.slots], dtype=np.int64)


def decompose(model: Model, units: IntArray, slots: IntArray) -> PairParts:
    """Split the effects of the pairs ``(units[k], slots[k])`` into parts.

    Vectorised over pairs; NaN effects count as 0.
    """
    options = model.options
    scenario = model.scenario
    idx = {m: i for i, m in enumerate(options.metrics)}
    eff = np.nan_to_num(options.effects[units, slots, :])
    n = len(units)
    is_project = options.is_project[units]
    firm_index = np.flatnonzero(model.acting)
    reg = model.register
    x0 = np.zeros((n, len(QUANTITIES)))
    above = np.zeros(n)
    firm = ~is_project
    rows = firm_index[units[firm]]
    for q, col in enumerate(REGISTER_COLUMNS):
        x0[firm, q] = np.asarray(reg[col].values, dtype=float)[rows]
    above[firm] = reg["above_scale"].values.astype(float)[rows]
    keep_all = x0 * end_growth(scenario)[None, :]
    keep_kpi = keep_all * above[:, None]

    r = scenario.actions.redevelopment
    land = eff[:, idx["land_freed_mu"]] * r.share * firm
    va = land * r.va_per_mu_wan
    entrant = np.stack([va, land * r.tax_per_mu_wan, va * r.energy_per_va_tce, land,
                        land * r.jobs_per_mu], axis=1)
    years = slot_years(model)[slots]
    at_end = years + r.lag_years <= scenario.horizon.end_year
    active = entrant * at_end[:, None]

    state_kpi = eff[:, [idx[m] for m in KPI_METRICS]]
    state_all = eff[:, [idx[m] for m in ALL_METRICS]]
    f = firm[:, None]
    delta_kpi = np.where(f, state_kpi - keep_kpi - active, 0.0)
    delta_all = np.where(f, state_all - keep_all - active, 0.0)
    project = np.where(f, 0.0, state_all)
    flows = eff[:, [idx[m] for m in FLOWS]]
    return PairParts(slots.astype(np.int64), flows, keep_kpi, keep_all, delta_kpi, delta_all,
                     entrant, project, at_end)


@dataclass
class SlotTotals:
    """A plan's parts summed by option slot (``(n_slots, ·)`` arrays), plus constants."""

    flows: FloatArray
    delta_kpi: FloatArray
    delta_all: FloatArray
    entrant: FloatArray
    project: FloatArray
    baseline_kpi: FloatArray = field(default_factory=lambda: np.zeros(len(QUANTITIES)))
    baseline_all: FloatArray = field(default_factory=lambda: np.zeros(len(QUANTITIES)))


def _by_slot(slot: IntArray, values: FloatArray, n_slots: int) -> FloatArray:
    return np.stack(
        [np.bincount(slot, weights=values[:, k], minlength=n_slots)
         for k in range(values.shape[1])], axis=1)


def register_totals(model: Model) -> tuple[FloatArray, FloatArray]:
    """Base-year totals of every firm: above-scale (KPI scope) and all, ``(quantities,)``."""
    reg = model.register
    above = reg["above_scale"].values.astype(bool)
    cols = [np.asarray(reg[c].values, dtype=float) for c in REGISTER_COLUMNS]
    return (np.array([c[above].sum() for c in cols]), np.array([c.sum() for c in cols]))


def plan_totals(model: Model, choice: IntArray) -> SlotTotals:
    """Sum a plan's parts by option slot (one pass of ``bincount`` over units)."""
    units = np.arange(len(choice), dtype=np.int64)
    parts = decompose(model, units, np.asarray(choice, dtype=np.int64))
    n_slots = len(model.options.slots)
    base_kpi, base_all = register_totals(model)
    return SlotTotals(
        flows=_by_slot(parts.slot, parts.flows, n_slots),
        delta_kpi=_by_slot(parts.slot, parts.delta_kpi, n_slots),
        delta_all=_by_slot(parts.slot, parts.delta_all, n_slots),
        entrant=_by_slot(parts.slot, parts.entrant, n_slots),
        project=parts.project.sum(axis=0),
        baseline_kpi=base_kpi,
        baseline_all=base_all,
    )


# ----------------------------------------------------------------------- multipliers
@dataclass
class Multipliers:
    """Products of the uncertain factors per draw.

    flow ``(D, n_slots, len(FLOWS))``, delta and entrant ``(D, n_slots,
    len(QUANTITIES))``, project ``(D, len(QUANTITIES))``, growth: growth key →
    ``(D,)`` factor on the rate.
    """

    flow: FloatArray
    delta: FloatArray
    entrant: FloatArray
    project: FloatArray
    growth: dict[str, FloatArray]

    @property
    def draws(self) -> int:
        return int(self.flow.shape[0])


def multipliers(model: Model, specs: list[FactorSpec], values: FloatArray) -> Multipliers:
    """Multipliers from factor ``values`` ``(draws, len(specs))`` (loop over factors only)."""
    draws = values.shape[0]
    slots = model.options.slots
    n_s = len(slots)
    kinds = np.array([s.kind for s in slots])
    variants = np.array([s.variant for s in slots])
    out = Multipliers(
        flow=np.ones((draws, n_s, len(FLOWS))),
        delta=np.ones((draws, n_s, len(QUANTITIES))),
        entrant=np.ones((draws, n_s, len(QUANTITIES))),
        project=np.ones((draws, len(QUANTITIES))),
        growth={},
    )
    for k, spec in enumerate(specs):
        v = values[:, k]
        for effect in spec.effects:
            if effect.part == "growth":
                for key in effect.names:
                    assert key in GROWTH_KEYS
                    out.growth[key] = out.growth.get(key, np.ones(draws)) * v
                continue
            if effect.part == "project":
                cols = np.isin(QUANTITIES, effect.names)
                out.project[:, cols] *= v[:, None]
                continue
            names = FLOWS if effect.part == "flow" else QUANTITIES
            target = {"flow": out.flow, "delta": out.delta, "entrant": out.entrant}[effect.part]
            rows = np.ones(n_s, dtype=bool) if effect.kinds is None else np.isin(kinds,
                                                                                  effect.kinds)
            if effect.variant is not None:
                rows &= variants == effect.variant
            mask = rows[:, None] & np.isin(names, effect.names)[None, :]
            target *= np.where(mask[None, :, :], v[:, None, None], 1.0)
    return out


def unit_multipliers(model: Model, draws: int = 1) -> Multipliers:
    """All-ones multipliers (the deterministic case)."""
    empty: list[FactorSpec] = []
    return multipliers(model, empty, np.ones((draws, 0)))


# ----------------------------------------------------------------------- evaluation
@dataclass
class Profiles:
    """Time profiles ``(n_slots, n_years)`` of a scenario's option slots."""

    years: IntArray
    step: FloatArray
    ramp: FloatArray
    once: FloatArray
    entrant_on: FloatArray
    project_on: FloatArray


def profiles(model: Model, *, ramp: bool = True) -> Profiles:
    """When each slot's effects count in each year, base year .. ``report_until``.

    ``ramp=False`` gives the optimiser's accounting: full effect from the action
    year, admitted projects counted from the start year.
    """
    scenario = model.scenario
    h = scenario.horizon
    spec = scenario.phasing.trajectories
    years = np.arange(h.base_year, h.report_until + 1, dtype=np.int64)
    sy = slot_years(model)
    kinds = [s.kind for s in model.options.slots]
    acts = np.array([s.acts for s in model.options.slots])
    since = years[None, :] - sy[:, None]
    step = ((since >= 0) & acts[:, None]).astype(float)
    ramp_m = step.copy()
    if ramp:
        for s, kind in enumerate(kinds):
            shares = spec.ramp_up.get(kind)  # type: ignore[call-overload]
            if shares and acts[s]:
                table = np.asarray(shares, dtype=float)
                ramp_m[s] = np.where(since[s] >= 0, table[np.clip(since[s], 0, len(table) - 1)],
                                     0.0)
    once = ((since == 0) & acts[:, None]).astype(float)
    lag = scenario.actions.redevelopment.lag_years
    entrant_on = ((since >= lag) & acts[:, None]).astype(float)
    project_lag = spec.project_lag_years if ramp else 0
    project_on = (years >= h.start_year + project_lag).astype(float)
    return Profiles(years, step, ramp_m, once, entrant_on, project_on)


@dataclass
class Paths:
    """Yearly totals for ``D`` draws.

    Attributes:
        cumulative, realised, once: flows ``(D, years, len(FLOWS))`` counted
            from the action year on, with ramp-up, or in the action year only.
        state_kpi, state_all: ``(D, years, component, quantity)`` with the
            components :data:`COMPONENTS`.
        land_stock: industrial land stock (mu) ``(D, years)``; land_replacement:
            yearly replacement supply ``(D, years)``.
    """

    years: IntArray
    cumulative: FloatArray
    realised: FloatArray
    once: FloatArray
    state_kpi: FloatArray
    state_all: FloatArray
    land_stock: FloatArray
    land_replacement: FloatArray


COMPONENTS = ("baseline", "actions", "entrants", "projects")


def evaluate(model: Model, totals: SlotTotals, mult: Multipliers, *, ramp: bool = True) -> Paths:
    """Yearly paths of a plan for every draw of ``mult`` (fully vectorised)."""
    scenario = model.scenario
    prof = profiles(model, ramp=ramp)
    years = prof.years
    growth = growth_paths(scenario, years, mult.growth, mult.draws)
    ratio = growth / end_growth(scenario)[None, None, :]
    flows = totals.flows[None, :, :] * mult.flow
    cumulative = np.einsum("st,dsf->dtf", prof.step, flows)
    realised = np.einsum("st,dsf->dtf", prof.ramp, flows)
    once = np.einsum("st,dsf->dtf", prof.once, flows)
    entrants = np.einsum("st,dsq->dtq", prof.entrant_on, totals.entrant[None] * mult.entrant)
    projects = prof.project_on[None, :, None] * (totals.project[None, :] * mult.project)[:, None]

    def state(baseline: FloatArray, delta: FloatArray) -> FloatArray:
        actions = np.einsum("st,dsq->dtq", prof.ramp, delta[None] * mult.delta) * ratio
        return np.stack([baseline[None, None, :] * growth, actions, entrants, projects], axis=2)

    state_kpi = state(totals.baseline_kpi, totals.delta_kpi)
    state_all = state(totals.baseline_all, totals.delta_all)

    spec = scenario.phasing.trajectories
    factor = model.scale if scenario.population.scale_to_population else 1.0
    converted = once[:, :, _F["land_converted_mu"]]
    replacement = spec.land_replacement_ratio * converted
    supply = np.where(years > scenario.horizon.base_year, spec.new_land_supply_mu_per_year * factor,
                      0.0)[None, :]
    stock = spec.land_stock_mu * factor + np.cumsum(replacement - converted + supply, axis=1)
    return Paths(years, cumulative, realised, once, state_kpi, state_all, stock,
                 replacement)


def ratio_kpis(state_kpi: FloatArray, base_energy_per_va: float) -> dict[str, FloatArray]:
    """The four ratio KPIs from above-scale totals ``(…, component, quantity)``.

    Same formulas as :func:`sim.results.kpis.ratios`.
    """
    total = state_kpi.sum(axis=-2)
    va, tax = total[..., _Q["va_wan"]], total[..., _Q["tax_wan"]]
    energy = total[..., _Q["energy_tce"]]
    land, emp = total[..., _Q["land_mu"]], total[..., _Q["employees"]]
    intensity = energy / np.maximum(va, 1e-12)
    return {
        "tax_per_mu_wan": tax / np.maximum(land, 1e-12),
        "va_per_mu_wan": va / np.maximum(land, 1e-12),
        "labour_productivity_wan": va / np.maximum(emp, 1e-12),
        "energy_intensity_reduction": 1.0 - intensity / max(base_energy_per_va, 1e-12),
    }


#: Series of the yearly paths: name → (label, unit).
SERIES: dict[str, tuple[str, str]] = {
    "land_freed_mu": ("盘活低效工业用地（累计）", "mu"),
    "energy_saved_tce": ("腾出用能（已实现）", "tce/yr"),
    "co2_cut_t": ("减碳（已实现）", "t CO2/yr"),
    "firms_rectified": ("整治提升企业（累计）", "firms"),
    "tax_per_mu_wan": ("规上工业亩均税收", "万元/mu"),
    "va_per_mu_wan": ("规上工业亩均增加值", "万元/mu"),
    "labour_productivity_wan": ("全员劳动生产率", "万元/person"),
    "energy_intensity_reduction": ("单位工业增加值能耗下降（较基年）", "share"),
    "public_cost_wan": ("当年财政成本", "万元/yr"),
    "public_cost_cum_wan": ("累计财政成本", "万元"),
    "private_capex_wan": ("当年企业投资", "万元/yr"),
    "jobs_displaced": ("岗位调整（累计）", "persons"),
    "land_converted_mu": ("改变用途工业用地（累计）", "mu"),
    "industrial_land_stock_mu": ("工业用地存量", "mu"),
    "va_wan": ("工业增加值（全部企业）", "万元/yr"),
    "energy_tce": ("工业能耗（全部企业）", "tce/yr"),
    "employees": ("工业从业人员（全部企业）", "persons"),
}


def series(paths: Paths, base_energy_per_va: float, *, realised: bool = True) -> dict[str,
                                                                                      FloatArray]:
    """Named yearly series ``(D, years)`` of :data:`SERIES`.

    ``realised=False`` counts energy saved and CO2 cut from the action year in
    full (the plan's accounting), else with the ramp-up.
    """
    flows = paths.realised if realised else paths.cumulative
    out = {
        "land_freed_mu": paths.cumulative[:, :, _F["land_freed_mu"]],
        "energy_saved_tce": flows[:, :, _F["energy_saved_tce"]],
        "co2_cut_t": flows[:, :, _F["co2_cut_t"]],
        "firms_rectified": paths.cumulative[:, :, _F["rectified"]],
    }
    out.update(ratio_kpis(paths.state_kpi, base_energy_per_va))
    total_all = paths.state_all.sum(axis=2)
    out.update({
        "public_cost_wan": paths.once[:, :, _F["public_cost_wan"]],
        "public_cost_cum_wan": paths.cumulative[:, :, _F["public_cost_wan"]],
        "private_capex_wan": paths.once[:, :, _F["private_capex_wan"]],
        "jobs_displaced": paths.cumulative[:, :, _F["jobs_lost"]],
        "land_converted_mu": paths.cumulative[:, :, _F["land_converted_mu"]],
        "industrial_land_stock_mu": paths.land_stock,
        "va_wan": total_all[:, :, _Q["va_wan"]],
        "energy_tce": total_all[:, :, _Q["energy_tce"]],
        "employees": total_all[:, :, _Q["employees"]],
    })
    return out
