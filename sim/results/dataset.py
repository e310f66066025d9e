"""The result Dataset of one scenario run (MODEL.md §8), and its file I/O.

Layout (dimension → variables):

* ``enterprise``: the register columns, 亩均 ``score``/``muni_class``/
  ``candidate``, ``acting`` (in the choice problem), ``action`` (keep, exit,
  merge, relocate, upgrade), ``option`` (slot label), ``action_target``
  (acquirer id, park id or upgrade level), ``action_year``,
  ``reduced_cost_gap`` (objective units; the chosen option's advantage over
  ``next_best_option`` at the dual prices) and ``effect(enterprise, metric)``.
* ``project``: candidate new projects and ``project_admitted``.
* ``by_district × by_sector × metric``: ``totals`` of the chosen effects
  (district and sector are enterprise variables, hence the ``by_`` names).
* ``kpi``: ``kpi_target``, ``kpi_achieved``, ``kpi_base`` (base year),
  ``kpi_baseline_end`` (no action), ``kpi_met``, ``kpi_binding``,
  ``kpi_marginal_cost_yuan`` (元 per unit of the KPI, from the duals),
  ``kpi_unit``, ``kpi_label_zh``.
* ``row``: every constraint row: ``row_lhs``, ``row_rhs``, ``row_sense``,
  ``row_dual`` (objective units per unit of rhs), ``row_binding``.
* attrs: ``manifest`` (JSON, see :mod:`sim.results.manifest`), ``status``,
  ``objective``, ``bound``, ``gap``, ``method``, ``shortfall`` (1 when written
  with ``--allow-shortfall`` while targets were not met), ``max_violation``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from sim.errors import InputError
from sim.interrupts import signals_held
from sim.optimise.problem import Solution
from sim.optimise.verify import VerificationReport, row_lhs
from sim.options.effects import STATE_METRIC_NAMES, growth_factors
from sim.pipeline import Model, file_sha256
from sim.results.atomic import atomic_path
from sim.results.kpis import KPI, chosen
from sim.results.manifest import to_json

IntArray = npt.NDArray[np.int64]

EFFECT_METRICS = [
    "rectified",
    "land_freed_mu",
    "energy_saved_tce",
    "co2_cut_t",
    "public_cost_wan",
    "private_capex_wan",
    "jobs_lost",
    "va_after_wan",
    "tax_after_wan",
    "energy_after_tce",
    "land_after_mu",
    "employees_after",
]
REGISTER_COLUMNS = [
    "name",
    "district",
    "sector",
    "land_mu",
    "employees",
    "value_added_wan",
    "tax_wan",
    "energy_tce",
    "co2_t",
    "above_scale",
    "violation",
    "two_high",
    "score",
    "muni_class",
    "candidate",
]
# Above this many units the per-option effects are not stored (file size).
MAX_UNITS_WITH_OPTIONS = 200_000
# Objective units → 元 for marginal costs of min-cost runs (万元 = 10^4 元).
YUAN_PER_WAN = 1.0e4


def build_result(
    model: Model,
    solution: Solution,
    report: VerificationReport,
    kpis: list[KPI],
    manifest: str,
    *,
    shortfall: bool = False,
) -> xr.Dataset:
    """Join register, choices, effects, totals, KPIs, rows and manifest."""
    choice = solution.choice
    enterprise = _enterprise_part(model, solution)
    projects = _project_part(model, choice)
    totals = _totals(enterprise)
    kpi = _kpi_part(model, solution, kpis)
    rows = _row_part(model, solution)
    parts = [enterprise, projects, totals, kpi, rows]
    if model.problem.n_units <= MAX_UNITS_WITH_OPTIONS:
        parts.append(_option_part(model, solution))
    ds = xr.merge(parts, compat="override", join="outer")
    ds.attrs = {
        "title": f"tenglong result: {model.scenario.name}",
        "scenario": model.scenario.name,
        "status": solution.status,
        "method": solution.method,
        "objective": float(solution.objective),
        "objective_sense": model.problem.objective.sense,
        "objective_weights": json.dumps(model.problem.objective.weights),
        "bound": float(solution.bound),
        "gap": float(solution.gap),
        "max_violation": float(report.max_violation),
        "shortfall": int(shortfall),
        "manifest": manifest,
    }
    return ds


def _enterprise_part(model: Model, solution: Solution) -> xr.Dataset:
    reg = model.register
    n = reg.sizes["enterprise"]
    options = model.options
    firm_units = np.flatnonzero(~options.is_project)
    index = np.flatnonzero(model.acting)
    choice = solution.choice[firm_units]
    slots = options.slots

    action = np.full(n, "keep", dtype=object)
    label = np.full(n, "keep", dtype=object)
    target = np.full(n, "", dtype=object)
    year = np.zeros(n, dtype=np.int64)
    action[index] = np.array([s.kind for s in slots], dtype=object)[choice]
    label[index] = np.array([s.label for s in slots], dtype=object)[choice]
    target[index] = options.target[firm_units, choice]
    year[index] = np.array([s.year if s.kind != "keep" else 0 for s in slots])[choice]

    gap = np.full(n, np.nan)
    next_best = np.full(n, "", dtype=object)
    if solution.reduced_cost_gap is not None:
        gap[index] = solution.reduced_cost_gap[firm_units]
    if solution.duals:
        next_best[index] = _next_best(model, solution)[firm_units]

    effect = _keep_effects(model)
    for k, metric in enumerate(EFFECT_METRICS):
        effect[index, k] = chosen(model, solution.choice, metric)[firm_units]

    data: dict[str, Any] = {c: reg[c] for c in REGISTER_COLUMNS if c in reg}
    data.update(
        acting=("enterprise", model.acting),
        action=("enterprise", action.astype(str)),
        option=("enterprise", label.astype(str)),
        action_target=("enterprise", target.astype(str)),
        action_year=("enterprise", year),
        reduced_cost_gap=("enterprise", gap),
        next_best_option=("enterprise", next_best.astype(str)),
        effect=(("enterprise", "metric"), effect),
    )
    ds = xr.Dataset(data, coords={"enterprise": reg["enterprise"].values, "metric": EFFECT_METRICS})
    ds["reduced_cost_gap"].attrs["units"] = "objective units (万元 for min_cost)"
    return ds


def _keep_effects(model: Model) -> npt.NDArray[np.float64]:
    """Effects of 'keep' for every firm (flows 0, end-year state grown from base)."""
    reg = model.register
    g = growth_factors(model.scenario, model.scenario.horizon.base_year)
    columns = {"va": "value_added_wan", "tax": "tax_wan", "energy": "energy_tce",
               "land": "land_mu", "employees": "employees"}
    state = {
        STATE_METRIC_NAMES[key]: reg[column].values * g[key] for key, column in columns.items()
    }
    out = np.zeros((reg.sizes["enterprise"], len(EFFECT_METRICS)))
    for k, metric in enumerate(EFFECT_METRICS):
        if metric in state:
            out[:, k] = np.asarray(state[metric], dtype=float)
    return out


def _next_best(model: Model, solution: Solution) -> npt.NDArray[np.object_]:
    """Label of each unit's best option other than its chosen one, at the dual prices."""
    from sim.optimise.prices import lagrangian_scores

    scores = lagrangian_scores(model.problem, solution.duals)
    if model.problem.objective.sense == "min":
        scores = -scores  # higher is better below
    scores = np.where(np.isnan(scores), -np.inf, scores)
    n = scores.shape[0]
    scores[np.arange(n), solution.choice] = -np.inf
    best = np.argmax(scores, axis=1)
    labels = np.array(model.options.slot_labels, dtype=object)[best]
    labels[np.isinf(scores[np.arange(n), best])] = ""
    return labels


def _option_part(model: Model, solution: Solution) -> xr.Dataset:
    """Every option of every unit: effects, target and score at the dual prices.

    This is what ``tenglong explain`` shows; float32 keeps the file small.
    """
    from sim.optimise.prices import lagrangian_scores

    options = model.options
    index = [options.metrics.index(m) for m in EFFECT_METRICS]
    effects = options.effects[:, :, index].astype(np.float32)
    score = (
        lagrangian_scores(model.problem, solution.duals)
        if solution.duals
        else model.problem.objective_values()
    )
    return xr.Dataset(
        {
            "option_effect": (("unit", "option_slot", "metric"), effects),
            "option_target": (("unit", "option_slot"), options.target.astype(str)),
            "option_score": (("unit", "option_slot"), score),
            "unit_choice": ("unit", solution.choice),
        },
        coords={
            "unit": options.unit_ids,
            "option_slot": options.slot_labels,
            "metric": EFFECT_METRICS,
        },
    )


def _project_part(model: Model, choice: IntArray) -> xr.Dataset:
    options = model.options
    units = np.flatnonzero(options.is_project)
    if units.size == 0:
        return xr.Dataset()
    admitted = options.slot_kinds[choice[units]] == "admit"
    keys = [
        "district",
        "sector",
        "land_mu",
        "energy_tce",
        "value_added_wan",
        "tax_wan",
        "employees",
    ]
    ids = options.unit_ids[units]
    data = {f"project_{k}": ("project", _project_values(model, k, units)) for k in keys}
    data["project_admitted"] = ("project", admitted)
    return xr.Dataset(data, coords={"project": ids})


def _project_values(model: Model, key: str, units: IntArray) -> npt.NDArray[Any]:
    metric = {
        "land_mu": "land_after_mu",
        "energy_tce": "energy_after_tce",
        "value_added_wan": "va_after_wan",
        "tax_wan": "tax_after_wan",
        "employees": "employees_after",
    }
    admit = int(np.flatnonzero(model.options.slot_kinds == "admit")[0])
    if key == "district":
        return model.options.district[units]
    if key == "sector":
        return np.full(units.size, "", dtype=object).astype(str)
    return np.asarray(model.options.metric(metric[key])[units, admit], dtype=float)


def _totals(enterprise: xr.Dataset) -> xr.Dataset:
    """Sum of chosen effects by district × sector (vectorised with bincount)."""
    districts, d_index = np.unique(enterprise["district"].values.astype(str), return_inverse=True)
    sectors, s_index = np.unique(enterprise["sector"].values.astype(str), return_inverse=True)
    cell = d_index * len(sectors) + s_index
    effect = enterprise["effect"].values
    out = np.stack(
        [
            np.bincount(cell, weights=effect[:, k], minlength=len(districts) * len(sectors))
            for k in range(effect.shape[1])
        ],
        axis=-1,
    ).reshape(len(districts), len(sectors), effect.shape[1])
    return xr.Dataset(
        {"totals": (("by_district", "by_sector", "metric"), out)},
        coords={"by_district": districts, "by_sector": sectors, "metric": EFFECT_METRICS},
    )


def _kpi_part(model: Model, solution: Solution, kpis: list[KPI]) -> xr.Dataset:
    marginal = {k.name: _marginal_cost(model, solution, k.name) for k in kpis}
    binding = {k.name: _is_binding(model, solution, k.name) for k in kpis}
    return xr.Dataset(
        {
            "kpi_target": ("kpi", [np.nan if k.target is None else k.target for k in kpis]),
            "kpi_achieved": ("kpi", [k.achieved for k in kpis]),
            "kpi_base": ("kpi", [k.base for k in kpis]),
            "kpi_baseline_end": ("kpi", [k.baseline_end for k in kpis]),
            "kpi_met": ("kpi", [k.met for k in kpis]),
            "kpi_binding": ("kpi", [binding[k.name] for k in kpis]),
            "kpi_marginal_cost_yuan": ("kpi", [marginal[k.name] for k in kpis]),
            "kpi_unit": ("kpi", [k.unit for k in kpis]),
            "kpi_sense": ("kpi", [k.sense for k in kpis]),
            "kpi_label_zh": ("kpi", [k.label_zh for k in kpis]),
        },
        coords={"kpi": [k.name for k in kpis]},
    )


def _row_name(kpi: str) -> str:
    limits = {"public_cost_wan": "limit:budget_wan", "jobs_lost": "limit:jobs_lost"}
    if kpi in limits:
        return limits[kpi]
    ratio = (
        "tax_per_mu_wan",
        "va_per_mu_wan",
        "labour_productivity_wan",
        "energy_intensity_reduction",
    )
    return f"kpi:{kpi}" if kpi in ratio else f"target:{kpi}"


def _marginal_cost(model: Model, solution: Solution, kpi: str) -> float:
    """Objective change per unit of the KPI's target, in 元 for money objectives.

    City targets: the row's dual. Ratio KPIs: the dual times the derivative
    of the row's right-hand side with respect to the KPI level (Σ land,
    Σ employees or base intensity × Σ VA of the plan).
    """
    row = _row_name(kpi)
    dual = solution.duals.get(row)
    if dual is None or not len(dual):
        return float("nan")
    value = float(dual[0])
    if kpi in ("tax_per_mu_wan", "va_per_mu_wan"):
        value *= (
            model.baseline.kpi_constant["land"]
            + chosen(model, solution.choice, "land_kpi_mu").sum()
        )
    elif kpi == "labour_productivity_wan":
        value *= (
            model.baseline.kpi_constant["employees"]
            + chosen(model, solution.choice, "employees_kpi").sum()
        )
    elif kpi == "energy_intensity_reduction":
        va = model.baseline.kpi_constant["va"] + chosen(model, solution.choice, "va_kpi_wan").sum()
        value *= model.baseline.base_energy_per_va * va * 0.01  # per percentage point
    money = set(model.problem.objective.weights) <= {
        "public_cost_wan",
        "public_cost_pv_wan",
        "private_capex_wan",
    }
    return value * (YUAN_PER_WAN if money else 1.0)


def _is_binding(model: Model, solution: Solution, kpi: str) -> bool:
    """A KPI binds when its row has a non-zero price or no slack left."""
    row = _row_name(kpi)
    dual = solution.duals.get(row)
    if dual is not None and len(dual) and np.any(np.abs(np.asarray(dual, float)) > 1e-9):
        return True
    for c in model.problem.constraints:
        if c.name == row:
            lhs = row_lhs(model.problem, c, solution.choice)
            rhs = c.rhs_array()
            return bool(np.all(np.abs(lhs - rhs) <= 1e-6 * np.maximum(1.0, np.abs(rhs))))
    return False


def _row_part(model: Model, solution: Solution) -> xr.Dataset:
    labels: list[str] = []
    lhs_all: list[float] = []
    rhs_all: list[float] = []
    sense: list[str] = []
    duals: list[float] = []
    for c in model.problem.constraints:
        lhs = row_lhs(model.problem, c, solution.choice)
        labels += c.row_labels()
        lhs_all += lhs.tolist()
        rhs_all += c.rhs_array().tolist()
        sense += [c.sense] * c.n_rows
        dual = solution.duals.get(c.name)
        duals += (np.full(c.n_rows, np.nan) if dual is None else np.asarray(dual, float)).tolist()
    lhs_arr, rhs_arr = np.array(lhs_all), np.array(rhs_all)
    dual_arr = np.array(duals, dtype=float)
    binding = (np.abs(np.nan_to_num(dual_arr)) > 1e-9) | (
        np.abs(lhs_arr - rhs_arr) <= 1e-6 * np.maximum(1.0, np.abs(rhs_arr))
    )
    return xr.Dataset(
        {
            "row_lhs": ("row", lhs_arr),
            "row_rhs": ("row", rhs_arr),
            "row_sense": ("row", np.array(sense, dtype=str)),
            "row_dual": ("row", dual_arr),
            "row_binding": ("row", binding),
        },
        coords={"row": np.array(labels, dtype=str)},
    )


def decisions_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per-enterprise decisions of a result (acting firms), for the CSV."""
    acting = ds["acting"].values.astype(bool)
    cols = [
        "district",
        "sector",
        "muni_class",
        "action",
        "option",
        "action_target",
        "action_year",
        "next_best_option",
        "reduced_cost_gap",
    ]
    frame = pd.DataFrame({c: ds[c].values[acting] for c in cols if c in ds})
    for k, metric in enumerate(ds["metric"].values.astype(str)):
        frame[metric] = ds["effect"].values[acting, k]
    frame.insert(0, "id", ds["enterprise"].values[acting])
    return frame


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write any tenglong Dataset to netCDF (h5netcdf) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def write_result(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a result Dataset to netCDF atomically (no half-written file on failure)."""
    return write_netcdf(ds, path)


def write_decisions(ds: xr.Dataset, path: str | Path) -> Path:
    """Write the decisions CSV atomically (UTF-8 with BOM so Excel shows Chinese).

    Beside it goes ``<stem>.manifest.json`` (see :func:`decisions_manifest_path`):
    the result's manifest (what produced it) plus the CSV's name and SHA-256,
    so the table stays traceable once it travels without the ``.nc`` file.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        decisions_table(ds).to_csv(tmp, index=False, encoding="utf-8-sig")
    manifest = json.loads(ds.attrs.get("manifest", "{}"))
    sidecar = {"describes": path.name, "sha256": file_sha256(path), "manifest": manifest}
    with atomic_path(decisions_manifest_path(path)) as tmp:
        tmp.write_text(to_json(sidecar), encoding="utf-8")
    return path


def decisions_manifest_path(csv_path: str | Path) -> Path:
    """``<name>-decisions.csv`` → ``<name>-decisions.manifest.json``."""
    return Path(csv_path).with_suffix(".manifest.json")


def open_netcdf(path: str | Path, what: str) -> xr.Dataset:
    """Load a netCDF file into memory, or raise one clear sentence naming ``what`` it should be."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such {what}.")
    try:
        with signals_held(second_passes=True):  # no half-opened file on Ctrl-C
            return xr.load_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a tenglong {what} ({exc}).") from None


def read_result(path: str | Path) -> xr.Dataset:
    """Open a result file written by :func:`write_result`, with a clear error otherwise."""
    ds = open_netcdf(path, "result file")
    if "manifest" not in ds.attrs:
        raise InputError(f"{path}: not a tenglong result file (it has no manifest).")
    return ds
