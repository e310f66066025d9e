"""One vectorised function per constraint family of MODEL.md §6.

Each function takes the option set, the scenario and the fixed contributions
of firms outside the problem (:class:`Baseline`), and returns
:class:`~sim.optimise.problem.Constraint` objects. Names follow one pattern,
``family:item``, which results, duals and diagnoses use:

* ``target:land_freed_mu`` … city targets (≥);
* ``district:land_freed_mu`` … district splits (≥, one row per district);
* ``kpi:tax_per_mu_wan`` … end-year ratio KPIs (linearised);
* ``phase:land_freed_mu@2021`` … cumulative yearly targets;
* ``limit:budget_wan``, ``limit:budget_wan@2022``, ``limit:jobs_lost``,
  ``limit:district_jobs_lost``;
* ``capacity:park``, ``capacity:acquirer``;
* ``projects:land``, ``projects:energy`` (换鸟 on freed land with freed energy).

Targets (``target:``, ``district:``, ``kpi:``, ``phase:``) are the rows made
elastic when the scenario is diagnosed as infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.errors import ScenarioError
from sim.optimise.problem import Constraint
from sim.options.effects import OptionSet
from sim.scenario.loader import where_in_scenario
from sim.scenario.schema import Scenario
from sim.scenario.suggest import did_you_mean

FloatArray = npt.NDArray[np.float64]

CITY_TARGETS = {
    "land_freed_mu": "land_freed_mu",
    "energy_saved_tce": "energy_saved_tce",
    "co2_cut_t": "co2_cut_t",
    "firms_rectified": "rectified",
}
TARGET_FAMILIES = ("target:", "district:", "kpi:", "phase:")


@dataclass
class Baseline:
    """What firms outside the choice problem contribute, and base-year levels.

    Attributes:
        kpi_constant: end-year above-scale sums of firms that keep by rule
            (``va``, ``tax``, ``energy``, ``land``, ``employees``; 万元, tce, mu, persons).
        base_energy_per_va: base-year above-scale energy per 万元 VA (tce/万元).
        scale: population size / reference size; multiplies absolute targets
            and limits when ``population.scale_to_population`` is on.
    """

    kpi_constant: dict[str, float]
    base_energy_per_va: float
    scale: float


def is_target(name: str) -> bool:
    """True for rows that express a target (elastic in the diagnosis)."""
    return name.startswith(TARGET_FAMILIES)


def _absolute(value: float, scenario: Scenario, baseline: Baseline) -> float:
    return value * (baseline.scale if scenario.population.scale_to_population else 1.0)


def city_targets(options: OptionSet, scenario: Scenario, baseline: Baseline) -> list[Constraint]:
    """The four absolute city targets: land, energy, CO2, firms (≥)."""
    out = []
    for key, metric in CITY_TARGETS.items():
        value = getattr(scenario.targets, key)
        if value is not None:
            out.append(
                Constraint(
                    f"target:{key}", {metric: 1.0}, ">=", _absolute(value, scenario, baseline)
                )
            )
    return out


def district_targets(
    options: OptionSet, scenario: Scenario, baseline: Baseline
) -> list[Constraint]:
    """任务分解: each district delivers at least its share of the split targets.

    ``pool`` mode gives district d the share of the acting firms' potential
    (their land, energy, CO2 or count) that lies in d, times ``coverage``.
    """
    split = scenario.targets.district_split
    if split.mode == "none":
        return []
    firm = ~options.is_project
    names, group = np.unique(options.district[firm], return_inverse=True)
    if split.mode == "explicit":
        _check_share_districts(split.shares, names.tolist(), scenario)
    full_group = np.full(len(options.unit_ids), -1, dtype=np.int64)
    full_group[firm] = group
    out = []
    for key in split.targets:
        value = getattr(scenario.targets, key)
        if value is None:
            continue
        metric = CITY_TARGETS[key]
        shares = _district_shares(options, metric, names, group, firm, split.shares, split.mode)
        rhs = split.coverage * _absolute(value, scenario, baseline) * shares
        out.append(
            Constraint(f"district:{key}", {metric: 1.0}, ">=", rhs, full_group, names.tolist())
        )
    return out


def _check_share_districts(shares: dict[str, float], names: list[str], scenario: Scenario) -> None:
    """Every district of an explicit split must have enterprises that may act.

    Raises:
        ScenarioError: naming the file and line of the table, each unknown
            district, the likely intended one and the districts present.
    """
    unknown = [d for d in shares if d not in names]
    if not unknown:
        return
    where = where_in_scenario(
        scenario.source_file, ("targets", "district_split", "shares", unknown[0])
    )
    details = [
        f"{d!r} has no enterprise that may act{did_you_mean(d, names)}" for d in unknown
    ]
    raise ScenarioError(
        f"{where}: targets.district_split.shares names districts without enterprises that "
        f"may act, so their minimums could never be met (districts with acting enterprises: "
        f"{', '.join(names)})",
        details,
    )


def _district_shares(
    options: OptionSet,
    metric: str,
    names: npt.NDArray[np.str_],
    group: npt.NDArray[np.int64],
    firm: npt.NDArray[np.bool_],
    explicit: dict[str, float],
    mode: str,
) -> FloatArray:
    if mode == "explicit":
        return np.array([explicit.get(str(n), 0.0) for n in names])
    # fmax ignores NaN like nanmax, without warning on a firm with no option at all
    potential = np.fmax.reduce(options.metric(metric)[firm], axis=1)
    totals = np.bincount(group, weights=np.nan_to_num(potential), minlength=len(names))
    return totals / max(totals.sum(), 1e-12)


def ratio_kpis(options: OptionSet, scenario: Scenario, baseline: Baseline) -> list[Constraint]:
    """End-year above-scale ratio KPIs as linear rows (MODEL.md §6).

    亩均税收 ≥ k ⇔ Σ tax − k·Σ land ≥ 0; likewise VA per mu and VA per
    employee; energy intensity cut ≥ r ⇔ Σ energy − (1−r)·(E0/VA0)·Σ VA ≤ 0.
    The sums include firms outside the problem, moved to the right-hand side.
    """
    t = scenario.targets
    c = baseline.kpi_constant
    out = []
    pairs = [
        ("tax_per_mu_wan", t.tax_per_mu_wan, "tax", "land"),
        ("va_per_mu_wan", t.va_per_mu_wan, "va", "land"),
        ("labour_productivity_wan", t.labour_productivity_wan, "va", "employees"),
    ]
    for name, level, num, den in pairs:
        if level is None:
            continue
        coefficients = {f"{num}_kpi_wan": 1.0, _kpi_metric(den): -level}
        out.append(Constraint(f"kpi:{name}", coefficients, ">=", -(c[num] - level * c[den])))
    if t.energy_intensity_reduction is not None:
        k = (1 - t.energy_intensity_reduction) * baseline.base_energy_per_va
        out.append(
            Constraint(
                "kpi:energy_intensity_reduction",
                {"energy_kpi_tce": 1.0, "va_kpi_wan": -k},
                "<=",
                -(c["energy"] - k * c["va"]),
            )
        )
    return out


def _kpi_metric(key: str) -> str:
    return {"land": "land_kpi_mu", "employees": "employees_kpi", "va": "va_kpi_wan"}[key]


def phased_targets(options: OptionSet, scenario: Scenario, baseline: Baseline) -> list[Constraint]:
    """Cumulative yearly targets and yearly budgets when phasing is on."""
    phasing = scenario.phasing
    if not phasing.enabled:
        return []
    out = []
    for year in scenario.horizon.years:
        share = phasing.cumulative_shares.get(year)
        if share is not None and year != scenario.horizon.end_year:
            for key, metric in CITY_TARGETS.items():
                value = getattr(scenario.targets, key)
                if value is not None:
                    rhs = share * _absolute(value, scenario, baseline)
                    out.append(
                        Constraint(f"phase:{key}@{year}", {f"{metric}_by_{year}": 1.0}, ">=", rhs)
                    )
        budget = phasing.budget_wan_per_year.get(year)
        if budget is not None:
            out.append(
                Constraint(
                    f"limit:budget_wan@{year}",
                    {f"public_cost_wan_in_{year}": 1.0},
                    "<=",
                    _absolute(budget, scenario, baseline),
                )
            )
    return out


def limits(options: OptionSet, scenario: Scenario, baseline: Baseline) -> list[Constraint]:
    """Budget and job-loss limits, city and district."""
    lim = scenario.limits
    out = []
    if lim.budget_wan is not None:
        rhs = _absolute(lim.budget_wan, scenario, baseline)
        out.append(Constraint("limit:budget_wan", {"public_cost_wan": 1.0}, "<=", rhs))
    if lim.jobs_lost_max is not None:
        rhs = _absolute(lim.jobs_lost_max, scenario, baseline)
        out.append(Constraint("limit:jobs_lost", {"jobs_lost": 1.0}, "<=", rhs))
    if lim.district_jobs_lost_share_max is not None:
        firm = ~options.is_project
        names, group = np.unique(options.district[firm], return_inverse=True)
        jobs_if_exit = np.nanmax(options.metric("jobs_lost")[firm], axis=1)
        jobs = np.bincount(group, weights=np.nan_to_num(jobs_if_exit), minlength=len(names))
        full_group = np.full(len(options.unit_ids), -1, dtype=np.int64)
        full_group[firm] = group
        out.append(
            Constraint(
                "limit:district_jobs_lost",
                {"jobs_lost": 1.0},
                "<=",
                (lim.district_jobs_lost_share_max * jobs).astype(np.float64),
                full_group,
                names.tolist(),
            )
        )
    return out


def capacities(options: OptionSet, scenario: Scenario, baseline: Baseline) -> list[Constraint]:
    """Park land capacity (搬迁入园) and acquirer absorption capacity (兼并重组)."""
    out = []
    if scenario.actions.relocate.enabled and (options.park_index >= 0).any():
        out.append(
            Constraint(
                "capacity:park",
                {"park_land_mu": 1.0},
                "<=",
                options.parks.capacity_mu.astype(float),
                options.park_index,
                list(options.parks.ids),
            )
        )
    if scenario.actions.merge.enabled and (options.acquirer_index >= 0).any():
        share = scenario.actions.merge.capacity_share_of_own_land
        out.append(
            Constraint(
                "capacity:acquirer",
                {"acquirer_land_mu": 1.0},
                "<=",
                share * options.acquirers.land_mu,
                options.acquirer_index,
                options.acquirers.ids.tolist(),
            )
        )
    return out


def new_projects(options: OptionSet, scenario: Scenario, baseline: Baseline) -> list[Constraint]:
    """换鸟: projects only on freed land, with freed energy at the replacement ratio."""
    if not scenario.new_projects.enabled or not options.is_project.any():
        return []
    ratio = scenario.new_projects.replacement_ratio
    out = [
        Constraint(
            "projects:energy",
            {"energy_saved_tce": 1.0, "project_energy_tce": -ratio},
            ">=",
            0.0,
        )
    ]
    if scenario.new_projects.land_from_freed_only:
        out.append(Constraint("projects:land", {"land_for_projects_mu": 1.0}, ">=", 0.0))
    return out


FAMILIES = (
    city_targets,
    district_targets,
    ratio_kpis,
    phased_targets,
    limits,
    capacities,
    new_projects,
)


def all_constraints(options: OptionSet, scenario: Scenario, baseline: Baseline) -> list[Constraint]:
    """Every constraint family of the scenario, in a stable order."""
    return [c for family in FAMILIES for c in family(options, scenario, baseline)]
