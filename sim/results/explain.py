"""``tenglong explain``: why an enterprise got its action, in numbers.

For one enterprise the text shows its data and 亩均 evaluation, every option
it had with its effects, and each option's score at the targets' marginal
prices (the Lagrangian score: objective effect minus the priced constraint
effects). The chosen option's advantage over the next best is the
*reduced-cost gap*: how much the prices or effects would have to move before
the optimiser would switch.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

SHOWN = ["land_mu", "energy_tce", "co2_t", "value_added_wan", "tax_wan", "employees"]
OPTION_METRICS = [
    ("public_cost_wan", "cost 万元"),
    ("land_freed_mu", "land mu"),
    ("energy_saved_tce", "energy tce"),
    ("co2_cut_t", "CO2 t"),
    ("jobs_lost", "jobs lost"),
    ("va_after_wan", "VA end 万元"),
]


def explain_enterprise(ds: xr.Dataset, enterprise_id: str) -> str:
    """A plain-text explanation of one enterprise's decision in a result."""
    firm = ds.sel(enterprise=enterprise_id)
    lines = [
        f"enterprise {enterprise_id} {str(firm['name'].item()) if 'name' in firm else ''}".rstrip(),
        f"  district {firm['district'].item()}, sector {firm['sector'].item()}, "
        f"亩均 class {firm['muni_class'].item()} (score {float(firm['score']):.1f}), "
        f"candidate {bool(firm['candidate'])}, violator {bool(firm['violation'])}",
        "  " + ", ".join(f"{c} {float(firm[c]):,.6g}" for c in SHOWN if c in firm),
        f"  decision: {firm['option'].item()}"
        + (f" → {firm['action_target'].item()}" if str(firm["action_target"].item()) else ""),
    ]
    if not bool(firm["acting"]):
        lines.append(
            "  not in the choice problem: not a 高耗低效 candidate or exempt (keeps by rule)."
        )
        return "\n".join(lines)
    gap = float(firm["reduced_cost_gap"])
    if np.isfinite(gap):
        lines.append(
            f"  advantage over the next best option ({firm['next_best_option'].item()}) at the "
            f"targets' marginal prices: {gap:,.6g} objective units ({_units(ds)})"
        )
    if "unit" not in ds.dims:
        lines.append("  (per-option effects are not stored for runs this large)")
        return "\n".join(lines)
    lines.append(_option_table(ds, enterprise_id))
    return "\n".join(lines)


def _units(ds: xr.Dataset) -> str:
    weights = ds.attrs.get("objective_weights", "")
    money = weights in ('{"public_cost_wan": 1.0}', '{"public_cost_pv_wan": 1.0}')
    return "万元 of public cost" if money else "objective units"


def _option_table(ds: xr.Dataset, enterprise_id: str) -> str:
    unit = ds.sel(unit=enterprise_id)
    effect = unit["option_effect"]
    score = unit["option_score"].values
    chosen = int(unit["unit_choice"])
    header = f"  {'option':<22}{'target':<14}" + "".join(f"{t:>14}" for _, t in OPTION_METRICS)
    header += f"{'score':>14}"
    rows = ["  options (score = objective effect − priced constraint effects):", header]
    for k, label in enumerate(ds["option_slot"].values.astype(str)):
        values = effect.isel(option_slot=k)
        if np.isnan(values.values).all():
            continue
        mark = "*" if k == chosen else " "
        cells = "".join(f"{float(values.sel(metric=m)):>14,.5g}" for m, _ in OPTION_METRICS)
        target = str(unit["option_target"].values[k])
        rows.append(f" {mark}{label:<22}{target:<14}{cells}{score[k]:>14,.5g}")
    rows.append("  (* = chosen)")
    return "\n".join(rows)
