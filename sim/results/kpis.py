"""The plan's KPIs of a chosen plan, recomputed from effects and the register.

These numbers are what the terminal table, the result file and the brief
show. They are computed here with numpy from the chosen options, never read
back from the solver, so they double as an independent check of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.options.effects import KPI_METRIC_NAMES
from sim.pipeline import Model
from sim.policy.constraints import CITY_TARGETS

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class KPI:
    """One KPI: its base-year level, the no-action end-year level and the plan's."""

    name: str
    label_zh: str
    unit: str
    sense: str
    target: float | None
    base: float
    baseline_end: float
    achieved: float

    @property
    def met(self) -> bool:
        """Whether ``achieved`` meets ``target`` (always True without a target)."""
        if self.target is None:
            return True
        tol = 1e-6 * max(1.0, abs(self.target))
        return (
            self.achieved >= self.target - tol
            if self.sense == ">="
            else (self.achieved <= self.target + tol)
        )


LABELS_ZH = {
    "land_freed_mu": ("盘活低效工业用地", "mu"),
    "energy_saved_tce": ("腾出用能", "tce"),
    "co2_cut_t": ("减碳", "t CO2"),
    "firms_rectified": ("整治提升企业", "firms"),
    "tax_per_mu_wan": ("规上工业亩均税收", "万元/mu"),
    "va_per_mu_wan": ("规上工业亩均增加值", "万元/mu"),
    "labour_productivity_wan": ("全员劳动生产率", "万元/person"),
    "energy_intensity_reduction": ("单位工业增加值能耗下降", "share"),
    "public_cost_wan": ("财政成本", "万元"),
    "private_capex_wan": ("企业投资", "万元"),
    "jobs_lost": ("岗位调整", "persons"),
    "projects_admitted": ("新项目落地", "projects"),
}


def chosen(model: Model, choice: IntArray, metric: str) -> npt.NDArray[np.float64]:
    """Per-unit value of ``metric`` under ``choice`` (NaN counted as 0)."""
    values = model.options.metric(metric)
    return np.nan_to_num(np.take_along_axis(values, choice[:, None], axis=1)[:, 0])


def _state_totals(model: Model, choice: IntArray | None) -> dict[str, float]:
    """End-year above-scale totals (problem units + firms outside), or base year if None."""
    if choice is None:
        reg = model.register
        above = reg["above_scale"].values.astype(bool)
        cols = {
            "va": "value_added_wan",
            "tax": "tax_wan",
            "energy": "energy_tce",
            "land": "land_mu",
            "employees": "employees",
        }
        return {k: float(np.asarray(reg[c].values, float)[above].sum()) for k, c in cols.items()}
    const = model.baseline.kpi_constant
    return {
        k: const[k] + float(chosen(model, choice, m).sum()) for k, m in KPI_METRIC_NAMES.items()
    }


def ratios(totals: dict[str, float], base_intensity: float) -> dict[str, float]:
    """The four ratio KPIs from above-scale totals."""
    intensity = totals["energy"] / max(totals["va"], 1e-12)
    return {
        "tax_per_mu_wan": totals["tax"] / max(totals["land"], 1e-12),
        "va_per_mu_wan": totals["va"] / max(totals["land"], 1e-12),
        "labour_productivity_wan": totals["va"] / max(totals["employees"], 1e-12),
        "energy_intensity_reduction": 1.0 - intensity / max(base_intensity, 1e-12),
    }


def keep_choice(model: Model) -> IntArray:
    """The no-action plan: every unit keeps (projects are not admitted).

    Units barred from keeping (violators) take their first available option.
    """
    available = model.problem.available
    keep = next(i for i, s in enumerate(model.options.slots) if s.kind == "keep")
    first = np.argmax(available, axis=1)
    return np.where(available[:, keep], keep, first).astype(np.int64)


def compute_kpis(model: Model, choice: IntArray) -> list[KPI]:
    """Every target KPI and the main side metrics of ``choice``."""
    scenario = model.scenario
    factor = model.scale if scenario.population.scale_to_population else 1.0
    base_ratio = ratios(_state_totals(model, None), model.baseline.base_energy_per_va)
    keep_ratio = ratios(_state_totals(model, keep_choice(model)), model.baseline.base_energy_per_va)
    plan_ratio = ratios(_state_totals(model, choice), model.baseline.base_energy_per_va)
    out = []
    for key, metric in CITY_TARGETS.items():
        target = getattr(scenario.targets, key)
        label, unit = LABELS_ZH[key]
        out.append(
            KPI(
                key,
                label,
                unit,
                ">=",
                None if target is None else target * factor,
                0.0,
                0.0,
                float(chosen(model, choice, metric).sum()),
            )
        )
    for key, value in plan_ratio.items():
        label, unit = LABELS_ZH[key]
        target = getattr(scenario.targets, key)
        out.append(KPI(key, label, unit, ">=", target, base_ratio[key], keep_ratio[key], value))
    lim = scenario.limits
    side = [
        ("public_cost_wan", "<=", None if lim.budget_wan is None else lim.budget_wan * factor),
        ("jobs_lost", "<=", None if lim.jobs_lost_max is None else lim.jobs_lost_max * factor),
        ("private_capex_wan", "<=", None),
    ]
    for key, sense, limit in side:
        label, unit = LABELS_ZH[key]
        out.append(
            KPI(key, label, unit, sense, limit, 0.0, 0.0, float(chosen(model, choice, key).sum()))
        )
    admitted = model.options.is_project & (model.options.slot_kinds[choice] == "admit")
    label, unit = LABELS_ZH["projects_admitted"]
    out.append(KPI("projects_admitted", label, unit, ">=", None, 0.0, 0.0, float(admitted.sum())))
    return out
