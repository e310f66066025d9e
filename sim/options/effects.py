"""Effects of every option of every unit: the ``(unit, option, metric)`` array.

Effects are computed vectorised from the evaluated register and the scenario's
action parameters (MODEL.md §5). Two kinds of metric:

* *Flows of the plan* measured against the base year: ``land_freed_mu``,
  ``energy_saved_tce`` (tce/yr), ``co2_cut_t`` (t/yr), ``rectified`` (firms),
  ``public_cost_wan`` and ``private_capex_wan`` (one-off 万元), ``jobs_lost``
  (persons displaced), ``land_converted_mu`` (freed land leaving industry),
  ``land_for_projects_mu`` (freed land offered to new projects; an admitted
  project *uses* it, so its value is negative), ``project_energy_tce``
  (energy of admitted projects), ``park_land_mu`` and ``acquirer_land_mu``
  (land taken up in a park / by an acquirer).
* *End-year state* of the unit (baseline growth to ``horizon.end_year``, plus
  the option, plus new entrants on its redeveloped land once the lag has
  passed): ``va_after_wan``, ``tax_after_wan``, ``energy_after_tce``,
  ``land_after_mu``, ``employees_after``; and the same restricted to the
  above-scale (规上) scope of the plan's ratio KPIs: ``va_kpi_wan``,
  ``tax_kpi_wan``, ``energy_kpi_tce``, ``land_kpi_mu``, ``employees_kpi``.

With phasing on, ``*_by_YEAR`` copies of the four target metrics and of the
public cost count an action only from (for cost: in) its year, so that
cumulative yearly targets and yearly budgets are plain constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.data.calibration import Calibration
from sim.options.candidates import AcquirerPool, ParkPool, pick_acquirers, pick_parks
from sim.options.slots import Slot, build_slots
from sim.scenario.schema import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TARGET_METRICS = ("land_freed_mu", "energy_saved_tce", "co2_cut_t", "rectified")
STATE_METRICS = ("va", "tax", "energy", "land", "employees")
BASE_METRICS = [
    "rectified",
    "land_freed_mu",
    "energy_saved_tce",
    "co2_cut_t",
    "public_cost_wan",
    "public_cost_pv_wan",
    "private_capex_wan",
    "jobs_lost",
    "land_converted_mu",
    "land_for_projects_mu",
    "project_energy_tce",
    "park_land_mu",
    "acquirer_land_mu",
    "va_after_wan",
    "tax_after_wan",
    "energy_after_tce",
    "land_after_mu",
    "employees_after",
    "va_kpi_wan",
    "tax_kpi_wan",
    "energy_kpi_tce",
    "land_kpi_mu",
    "employees_kpi",
]
METRIC_UNITS = {
    "rectified": "firms",
    "land_freed_mu": "mu",
    "energy_saved_tce": "tce/yr",
    "co2_cut_t": "t CO2/yr",
    "public_cost_wan": "万元",
    "public_cost_pv_wan": "万元 (present value in start year)",
    "private_capex_wan": "万元",
    "jobs_lost": "persons",
    "land_converted_mu": "mu",
    "land_for_projects_mu": "mu",
    "project_energy_tce": "tce/yr",
    "park_land_mu": "mu",
    "acquirer_land_mu": "mu",
    "va_after_wan": "万元/yr",
    "tax_after_wan": "万元/yr",
    "energy_after_tce": "tce/yr",
    "land_after_mu": "mu",
    "employees_after": "persons",
    "va_kpi_wan": "万元/yr",
    "tax_kpi_wan": "万元/yr",
    "energy_kpi_tce": "tce/yr",
    "land_kpi_mu": "mu",
    "employees_kpi": "persons",
}
STATE_METRIC_NAMES = {
    "va": "va_after_wan",
    "tax": "tax_after_wan",
    "energy": "energy_after_tce",
    "land": "land_after_mu",
    "employees": "employees_after",
}
KPI_METRIC_NAMES = {
    "va": "va_kpi_wan",
    "tax": "tax_kpi_wan",
    "energy": "energy_kpi_tce",
    "land": "land_kpi_mu",
    "employees": "employees_kpi",
}


@dataclass
class Units:
    """The enterprises and projects that take part in the choice problem.

    ``firm_index`` are positions in the register of the enterprises that may
    act; ``projects`` is a Dataset over ``project`` of candidate new projects.
    """

    firm_index: IntArray
    projects: xr.Dataset | None

    @property
    def n_firms(self) -> int:
        return len(self.firm_index)

    @property
    def n_projects(self) -> int:
        return 0 if self.projects is None else int(self.projects.sizes["project"])


@dataclass
class OptionSet:
    """Effects and labels of every option of every unit.

    Attributes:
        effects: ``(n_units, n_slots, n_metrics)``; NaN where unavailable.
        metrics: metric names. slots: the option slots (kind, variant, year).
        unit_ids: enterprise ids, then project ids.
        is_project: True for candidate new projects.
        target: ``(n_units, n_slots)`` acquirer id / park id / level, '' otherwise.
        park_index / acquirer_index: ``(n_units, n_slots)`` index into the
            pools (-1 where the slot is not a relocation / merge).
        district: each unit's district (a project's own district).
        parks, acquirers: the pools.
    """

    effects: FloatArray
    metrics: list[str]
    slots: list[Slot]
    unit_ids: npt.NDArray[np.str_]
    is_project: npt.NDArray[np.bool_]
    target: npt.NDArray[np.str_]
    park_index: IntArray
    acquirer_index: IntArray
    district: npt.NDArray[np.str_]
    parks: ParkPool
    acquirers: AcquirerPool
    overrides_applied: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def slot_labels(self) -> list[str]:
        return [s.label for s in self.slots]

    @property
    def slot_kinds(self) -> npt.NDArray[np.str_]:
        return np.array([s.kind for s in self.slots])

    def metric(self, name: str) -> FloatArray:
        """``(n_units, n_slots)`` view of one metric."""
        return self.effects[:, :, self.metrics.index(name)]

    def to_dataarray(self) -> xr.DataArray:
        """The effects as a labelled DataArray ``effects(unit, option, metric)``."""
        return xr.DataArray(
            self.effects,
            dims=("unit", "option", "metric"),
            coords={"unit": self.unit_ids, "option": self.slot_labels, "metric": self.metrics},
            name="effects",
        )


def metric_names(scenario: Scenario) -> list[str]:
    """All metric names of a scenario (phased copies added when phasing is on)."""
    names = list(BASE_METRICS)
    if scenario.phasing.enabled:
        for year in scenario.horizon.years:
            names += [f"{m}_by_{year}" for m in TARGET_METRICS]
            names.append(f"public_cost_wan_in_{year}")
    return names


def growth_factors(scenario: Scenario, from_year: int) -> dict[str, float]:
    """Baseline multipliers from ``from_year`` to the end year, per state metric."""
    h = scenario.horizon
    years = h.end_year - from_year
    g = h.growth
    va = (1 + g.value_added) ** years
    return {
        "va": va,
        "tax": (1 + g.tax) ** years,
        "energy": va * (1 - g.energy_efficiency) ** years,
        "land": 1.0,
        "employees": (1 + g.employees) ** years,
    }


class _SlotWriter:
    """Collects the metric columns of one slot and writes them into ``effects``."""

    def __init__(self, effects: FloatArray, metrics: list[str], slot: int, rows: slice) -> None:
        self._effects = effects
        self._metrics = {m: i for i, m in enumerate(metrics)}
        self._slot = slot
        self._rows = rows

    def set(self, metric: str, values: FloatArray | float, mask: npt.NDArray[np.bool_]) -> None:
        """Write ``values`` for the units in ``mask`` (others stay NaN = unavailable)."""
        column = self._effects[self._rows, self._slot, self._metrics[metric]]
        column[mask] = np.broadcast_to(values, mask.shape)[mask]
        self._effects[self._rows, self._slot, self._metrics[metric]] = column


@dataclass
class _FirmData:
    """Base-year columns of the acting enterprises (arrays over units)."""

    land: FloatArray
    energy: FloatArray
    co2: FloatArray
    va: FloatArray
    tax: FloatArray
    employees: FloatArray
    above: FloatArray
    land_price: FloatArray
    keep_allowed: npt.NDArray[np.bool_]
    act_allowed: npt.NDArray[np.bool_]


def build_options(
    register: xr.Dataset,
    scenario: Scenario,
    calibration: Calibration,
    units: Units,
    *,
    scale: float = 1.0,
) -> OptionSet:
    """Compute every option's effects for the acting firms and candidate projects.

    Args:
        register: the evaluated register (needs ``muni_class`` and ``violation``).
        scenario: the validated scenario.
        calibration: districts (land prices, centroids) and parks.
        units: which firms act, and the candidate projects.
        scale: population size / reference size; multiplies park capacities.
    """
    slots = build_slots(scenario)
    metrics = metric_names(scenario)
    n_f, n_p = units.n_firms, units.n_projects
    effects = np.full((n_f + n_p, len(slots), len(metrics)), np.nan)
    firms = slice(0, n_f)

    data = _firm_data(register, scenario, calibration, units.firm_index)
    muni_class = register["muni_class"].values.astype(str)
    acquirers = pick_acquirers(
        register,
        muni_class,
        units.firm_index,
        per_sector=scenario.actions.merge.acquirers_per_sector,
        per_unit=scenario.actions.merge.candidates_per_firm,
        classes=list(scenario.actions.merge.acquirer_classes),
    )
    parks = pick_parks(
        register,
        calibration,
        units.firm_index,
        per_unit=scenario.actions.relocate.candidates_per_firm,
        capacity_scale=scale,
    )
    target = np.full((n_f + n_p, len(slots)), "", dtype=object)
    park_index = np.full((n_f + n_p, len(slots)), -1, dtype=np.int64)
    acquirer_index = np.full((n_f + n_p, len(slots)), -1, dtype=np.int64)

    for s, slot in enumerate(slots):
        writer = _SlotWriter(effects, metrics, s, firms)
        if slot.kind == "keep":
            _keep(writer, data, scenario)
        elif slot.kind == "exit":
            _exit(writer, data, scenario, slot.year)
        elif slot.kind == "merge":
            k = int(slot.variant) - 1
            pick = acquirers.choice[:, k]
            acquirer_index[firms, s] = pick
            # pick -1 (no acquirer, possibly none at all) indexes the appended ""
            target[firms, s] = np.append(np.asarray(acquirers.ids, dtype=object), "")[pick]
            _merge(writer, data, scenario, slot.year, acquirers, pick)
        elif slot.kind == "relocate":
            k = int(slot.variant) - 1
            pick = parks.choice[:, k]
            park_index[firms, s] = pick
            target[firms, s] = np.where(pick >= 0, np.array(parks.ids)[np.maximum(pick, 0)], "")
            _relocate(writer, data, scenario, slot.year, pick)
        elif slot.kind == "upgrade":
            level = next(lv for lv in scenario.actions.upgrade.levels if lv.name == slot.variant)
            target[firms, s] = level.name
            _upgrade(writer, data, scenario, slot.year, level)

    if units.projects is not None and n_p:
        _projects(effects, metrics, slots, slice(n_f, n_f + n_p), units.projects, scenario)
    derive_columns(effects, metrics, slots, scenario)

    ids = np.concatenate(
        [
            register["enterprise"].values[units.firm_index].astype(str),
            [] if units.projects is None else units.projects["project"].values.astype(str),
        ]
    ).astype(str)
    district = np.concatenate(
        [
            register["district"].values[units.firm_index].astype(str),
            [] if units.projects is None else units.projects["district"].values.astype(str),
        ]
    ).astype(str)
    return OptionSet(
        effects=effects,
        metrics=metrics,
        slots=slots,
        unit_ids=ids,
        is_project=np.r_[np.zeros(n_f, bool), np.ones(n_p, bool)],
        target=target.astype(str),
        park_index=park_index,
        acquirer_index=acquirer_index,
        district=district,
        parks=parks,
        acquirers=acquirers,
    )


def _firm_data(
    register: xr.Dataset, scenario: Scenario, calibration: Calibration, index: IntArray
) -> _FirmData:
    def col(name: str) -> FloatArray:
        return np.asarray(register[name].values[index], dtype=float)

    price = {d.name_zh: d.land_price_floor_wan_per_mu for d in calibration.districts}
    district = register["district"].values[index].astype(str)
    fallback = float(np.median(list(price.values())))
    land_price = np.array([price.get(d, fallback) for d in np.unique(district)])
    land_price = land_price[np.unique(district, return_inverse=True)[1]]
    muni_class = register["muni_class"].values[index].astype(str)
    violation = register["violation"].values[index].astype(bool)
    exempt = np.isin(muni_class, list(scenario.eligibility.exempt_classes))
    keep_allowed = ~(violation & scenario.eligibility.violators_must_act)
    act_allowed = ~exempt | violation
    return _FirmData(
        land=col("land_mu"),
        energy=col("energy_tce"),
        co2=col("co2_t"),
        va=col("value_added_wan"),
        tax=col("tax_wan"),
        employees=col("employees"),
        above=register["above_scale"].values[index].astype(float),
        land_price=land_price,
        keep_allowed=keep_allowed,
        act_allowed=act_allowed,
    )


def _zero_flows(writer: _SlotWriter, mask: npt.NDArray[np.bool_]) -> None:
    for metric in (
        "rectified",
        "land_freed_mu",
        "energy_saved_tce",
        "co2_cut_t",
        "public_cost_wan",
        "private_capex_wan",
        "jobs_lost",
        "land_converted_mu",
        "land_for_projects_mu",
        "project_energy_tce",
        "park_land_mu",
        "acquirer_land_mu",
    ):
        writer.set(metric, 0.0, mask)


def _write_state(
    writer: _SlotWriter,
    own: dict[str, FloatArray],
    own_in_kpi: FloatArray,
    entrant: dict[str, FloatArray],
    mask: npt.NDArray[np.bool_],
) -> None:
    """End-year state = the firm's own part + entrants on its redeveloped land.

    Entrants are large modern firms, counted in the above-scale KPI scope.
    """
    for key in STATE_METRICS:
        writer.set(STATE_METRIC_NAMES[key], own[key] + entrant[key], mask)
        writer.set(KPI_METRIC_NAMES[key], own[key] * own_in_kpi + entrant[key], mask)


def _entrants(freed_mu: FloatArray, scenario: Scenario, year: int) -> dict[str, FloatArray]:
    """End-year state of new entrants on ``redevelopment.share`` of the freed land.

    Nothing when the lag pushes their start past the end year.
    """
    r = scenario.actions.redevelopment
    active = year + r.lag_years <= scenario.horizon.end_year
    land = freed_mu * r.share * float(active)
    va = land * r.va_per_mu_wan
    return {
        "va": va,
        "tax": land * r.tax_per_mu_wan,
        "energy": va * r.energy_per_va_tce,
        "land": land,
        "employees": land * r.jobs_per_mu,
    }


def _freed_land_flows(
    writer: _SlotWriter,
    freed: FloatArray,
    data: _FirmData,
    scenario: Scenario,
    mask: npt.NDArray[np.bool_],
) -> FloatArray:
    """Write land flows of freed land; return its net public cost (buy-back − resale)."""
    r = scenario.actions.redevelopment
    writer.set("land_freed_mu", freed, mask)
    writer.set("land_converted_mu", freed * r.converted_share, mask)
    writer.set("land_for_projects_mu", freed * max(0.0, 1 - r.share - r.converted_share), mask)
    buyback = freed * data.land_price * scenario.actions.exit.buyback_price_factor
    resale = freed * r.share * data.land_price * r.land_resale_wan_per_mu_factor
    return buyback - resale


def _keep(writer: _SlotWriter, data: _FirmData, scenario: Scenario) -> None:
    mask = data.keep_allowed
    _zero_flows(writer, mask)
    g = growth_factors(scenario, scenario.horizon.base_year)
    own = {
        "va": data.va * g["va"],
        "tax": data.tax * g["tax"],
        "energy": data.energy * g["energy"],
        "land": data.land,
        "employees": data.employees * g["employees"],
    }
    zero = {k: np.zeros_like(data.land) for k in STATE_METRICS}
    _write_state(writer, own, data.above, zero, mask)


def _exit(writer: _SlotWriter, data: _FirmData, scenario: Scenario, year: int) -> None:
    p = scenario.actions.exit
    mask = data.act_allowed
    _zero_flows(writer, mask)
    writer.set("rectified", 1.0, mask)
    net_land_cost = _freed_land_flows(writer, data.land, data, scenario, mask)
    writer.set("energy_saved_tce", data.energy * (1 - p.energy_leakage_share), mask)
    writer.set("co2_cut_t", data.co2 * (1 - p.energy_leakage_share), mask)
    writer.set("jobs_lost", data.employees, mask)
    writer.set("public_cost_wan", net_land_cost + data.employees * p.severance_wan_per_job, mask)
    zero = {k: np.zeros_like(data.land) for k in STATE_METRICS}
    _write_state(writer, zero, data.above, _entrants(data.land, scenario, year), mask)


def _merge(
    writer: _SlotWriter,
    data: _FirmData,
    scenario: Scenario,
    year: int,
    acquirers: AcquirerPool,
    pick: IntArray,
) -> None:
    """Merge into acquirer ``pick``: its intensity and tax rate apply to the target."""
    p = scenario.actions.merge
    mask = data.act_allowed & (pick >= 0)
    if not mask.any():  # no acquirer for anyone (e.g. none of the acquirer classes exist)
        return
    safe = np.maximum(pick, 0)
    _zero_flows(writer, mask)
    writer.set("rectified", 1.0, mask)
    freed = data.land * p.land_freed_share
    net_land_cost = _freed_land_flows(writer, freed, data, scenario, mask)
    writer.set("acquirer_land_mu", data.land - freed, mask)
    va_base = data.va * p.va_retained_share
    energy_new = va_base * acquirers.energy_per_va[safe]
    saved = np.clip(data.energy - energy_new, 0.0, None)
    writer.set("energy_saved_tce", saved, mask)
    writer.set(
        "co2_cut_t",
        data.co2 * np.divide(saved, data.energy, where=data.energy > 0, out=np.zeros_like(saved)),
        mask,
    )
    writer.set("jobs_lost", data.employees * (1 - p.jobs_retained_share), mask)
    investment = data.land * p.investment_wan_per_mu
    subsidy = np.minimum(p.subsidy_cap_wan, p.subsidy_share * investment)
    writer.set("public_cost_wan", net_land_cost + subsidy, mask)
    writer.set("private_capex_wan", investment - subsidy, mask)
    g = growth_factors(scenario, scenario.horizon.base_year)
    va_end = va_base * g["va"]
    own = {
        "va": va_end,
        "tax": va_end * acquirers.tax_per_va[safe],
        "energy": np.minimum(energy_new, data.energy) * g["energy"],
        "land": data.land - freed,
        "employees": data.employees * p.jobs_retained_share * g["employees"],
    }
    kpi_scope = np.ones_like(data.land)  # the acquirer is above-scale
    _write_state(writer, own, kpi_scope, _entrants(freed, scenario, year), mask)


def _relocate(
    writer: _SlotWriter, data: _FirmData, scenario: Scenario, year: int, pick: IntArray
) -> None:
    p = scenario.actions.relocate
    mask = data.act_allowed & (pick >= 0)
    _zero_flows(writer, mask)
    writer.set("rectified", 1.0, mask)
    net_land_cost = _freed_land_flows(writer, data.land, data, scenario, mask)
    park_land = data.land / p.plot_ratio_gain
    writer.set("park_land_mu", park_land, mask)
    writer.set("energy_saved_tce", data.energy * p.energy_saving_share, mask)
    writer.set("co2_cut_t", data.co2 * p.energy_saving_share, mask)
    writer.set("jobs_lost", data.employees * (1 - p.jobs_retained_share), mask)
    writer.set("public_cost_wan", net_land_cost + data.land * p.subsidy_wan_per_mu, mask)
    writer.set("private_capex_wan", park_land * p.capex_wan_per_mu, mask)
    g = growth_factors(scenario, scenario.horizon.base_year)
    own = {
        "va": data.va * (1 + p.va_gain_share) * g["va"],
        "tax": data.tax * (1 + p.va_gain_share) * g["tax"],
        "energy": data.energy * (1 - p.energy_saving_share) * g["energy"],
        "land": park_land,
        "employees": data.employees * p.jobs_retained_share * g["employees"],
    }
    _write_state(writer, own, data.above, _entrants(data.land, scenario, year), mask)


def _upgrade(
    writer: _SlotWriter, data: _FirmData, scenario: Scenario, year: int, level: object
) -> None:
    from sim.scenario.schema import UpgradeLevel

    assert isinstance(level, UpgradeLevel)
    mask = data.act_allowed
    _zero_flows(writer, mask)
    writer.set("rectified", 1.0, mask)
    saved = data.energy * level.energy_saving_share
    writer.set("energy_saved_tce", saved, mask)
    writer.set("co2_cut_t", data.co2 * level.energy_saving_share, mask)
    writer.set("jobs_lost", data.employees * max(0.0, -level.jobs_change_share), mask)
    capex = saved * level.capex_wan_per_tce
    writer.set("public_cost_wan", capex * level.subsidy_share, mask)
    writer.set("private_capex_wan", capex * (1 - level.subsidy_share), mask)
    g = growth_factors(scenario, scenario.horizon.base_year)
    own = {
        "va": data.va * (1 + level.va_gain_share) * g["va"],
        "tax": data.tax * (1 + level.va_gain_share) * g["tax"],
        "energy": data.energy * (1 - level.energy_saving_share) * g["energy"],
        "land": data.land,
        "employees": data.employees * (1 + level.jobs_change_share) * g["employees"],
    }
    zero = {k: np.zeros_like(data.land) for k in STATE_METRICS}
    _write_state(writer, own, data.above, zero, mask)


def derive_columns(
    effects: FloatArray, metrics: list[str], slots: list[Slot], scenario: Scenario
) -> None:
    """Fill the columns derived from the base metrics, in place.

    * ``public_cost_pv_wan``: public cost discounted to ``start_year`` at
      ``phasing.discount_rate`` (the min-cost objective; breaks the symmetry
      between otherwise identical years);
    * with phasing, ``*_by_YEAR`` (counted from the action year on) and
      ``public_cost_wan_in_YEAR`` (spent in the action year).

    Called after effects are built and again after 一企一策 overrides, so an
    override of a base metric reaches its derived columns.
    """
    index = {m: i for i, m in enumerate(metrics)}
    start = scenario.horizon.start_year
    rate = scenario.phasing.discount_rate if scenario.phasing.enabled else 0.0
    year = np.array([s.year if s.acts else start for s in slots])
    factor = (1.0 + rate) ** -(year - start).astype(float)
    effects[:, :, index["public_cost_pv_wan"]] = effects[:, :, index["public_cost_wan"]] * factor
    if not scenario.phasing.enabled:
        return
    acting = np.array([s.acts for s in slots])
    for y in scenario.horizon.years:
        counts = (acting & (year <= y)).astype(float)
        spent = (acting & (year == y)).astype(float)
        for m in TARGET_METRICS:
            effects[:, :, index[f"{m}_by_{y}"]] = effects[:, :, index[m]] * counts
        effects[:, :, index[f"public_cost_wan_in_{y}"]] = (
            effects[:, :, index["public_cost_wan"]] * spent
        )


def _projects(
    effects: FloatArray,
    metrics: list[str],
    slots: list[Slot],
    rows: slice,
    projects: xr.Dataset,
    scenario: Scenario,
) -> None:
    """Candidate new projects: 'keep' = not admitted (all zero), 'admit' = built."""
    index = {m: i for i, m in enumerate(metrics)}
    keep = next(i for i, s in enumerate(slots) if s.kind == "keep")
    admit = next(i for i, s in enumerate(slots) if s.kind == "admit")
    effects[rows, keep, :] = 0.0
    effects[rows, admit, :] = 0.0
    land = projects["land_mu"].values.astype(float)
    energy = projects["energy_tce"].values.astype(float)
    state = {
        "va": projects["value_added_wan"].values.astype(float),
        "tax": projects["tax_wan"].values.astype(float),
        "energy": energy,
        "land": land,
        "employees": projects["employees"].values.astype(float),
    }
    if scenario.new_projects.land_from_freed_only:
        effects[rows, admit, index["land_for_projects_mu"]] = -land
    effects[rows, admit, index["project_energy_tce"]] = energy
    for key in STATE_METRICS:
        effects[rows, admit, index[STATE_METRIC_NAMES[key]]] = state[key]
        effects[rows, admit, index[KPI_METRIC_NAMES[key]]] = state[key]
