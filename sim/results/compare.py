"""Compare scenario results along a ``scenario`` dimension (MODEL.md §8).

:func:`compare` takes result Datasets (or their files) and returns one
Dataset. Each part of a result is concatenated with ``xr.concat`` and
aligned by label (outer join), so scenarios with different KPIs, rows or
districts line up. No Python loop runs over enterprises: the
enterprise-level comparison is done on aligned 2-D arrays.

Layout of the comparison (dimension → variables):

* ``scenario``: ``title``, ``status``, ``method``, ``objective``, ``bound``,
  ``gap``, ``shortfall``, ``max_violation``, ``manifest`` (JSON of each run),
  ``is_reference``.
* ``scenario × kpi``: ``kpi_target``, ``kpi_achieved``, ``kpi_base``,
  ``kpi_baseline_end``, ``kpi_met``, ``kpi_binding``,
  ``kpi_marginal_cost_yuan`` (元 per KPI unit), ``kpi_attainment``
  (achieved / target, a ratio; 1 = target exactly met; NaN without target)
  and ``kpi_achieved_diff`` (achieved − the reference's, in KPI units).
  ``kpi_unit``, ``kpi_label_zh``, ``kpi_sense`` are over ``kpi`` only.
* ``scenario × row``: ``row_lhs``, ``row_rhs``, ``row_dual``, ``row_binding``
  (rows a scenario lacks are NaN / False); ``row_sense`` over ``row``.
* ``scenario × by_district × by_sector × metric``: ``totals`` (0 where a
  scenario has no firm), ``total(scenario, metric)`` (city sums) and
  ``total_diff`` (minus the reference's).
* ``scenario × action_kind``: ``action_count`` (enterprises by action; the
  non-acting firms count as keep).
* Only when every result has the same enterprises (same population) and at
  most :data:`MAX_ENTERPRISES` of them: ``scenario × enterprise``:
  ``action``, ``option``, ``action_target``, ``action_year``,
  ``action_changed`` (action differs from the reference's), ``effect`` over
  ``metric`` too; register columns (``district``, ``sector``, ``muni_class``,
  ``land_mu``, ...) over ``enterprise`` only; and
  ``action_transition(scenario, from_action, to_action)``: enterprises whose
  reference action is ``from_action`` and whose action here is ``to_action``.
* attrs: ``kind = "comparison"``, ``reference``, ``scenarios`` (JSON list),
  ``enterprise_level`` (1 when the enterprise part is present).

``comparison.sel(scenario=name)`` therefore reads like a single result for
the variables it keeps, which is what the plotting functions rely on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.core import dtypes

from sim.errors import InputError
from sim.results.dataset import open_netcdf, read_result, write_netcdf

ACTIONS = ["keep", "exit", "merge", "relocate", "upgrade"]
KPI_VARS = [
    "kpi_target",
    "kpi_achieved",
    "kpi_base",
    "kpi_baseline_end",
    "kpi_met",
    "kpi_binding",
    "kpi_marginal_cost_yuan",
]
KPI_LABELS = ["kpi_unit", "kpi_label_zh", "kpi_sense"]
ROW_VARS = ["row_lhs", "row_rhs", "row_dual", "row_binding"]
ENTERPRISE_VARS = ["action", "option", "action_target", "action_year", "effect"]
STATIC_VARS = [
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
    "score",
    "muni_class",
    "candidate",
    "acting",
]
SCALAR_ATTRS = {
    "status": "",
    "method": "",
    "objective": np.nan,
    "bound": np.nan,
    "gap": np.nan,
    "shortfall": 0,
    "max_violation": np.nan,
}
# Above this many enterprises the enterprise-level part is left out (file size).
MAX_ENTERPRISES = 2_000_000

ResultLike = xr.Dataset | str | os.PathLike[str]


def is_comparison(ds: xr.Dataset) -> bool:
    """Whether ``ds`` was made by :func:`compare` (has the ``scenario`` dimension)."""
    return ds.attrs.get("kind") == "comparison" and "scenario" in ds.dims


def load_results(results: Sequence[ResultLike]) -> list[xr.Dataset]:
    """Open every path in ``results`` with :func:`read_result`; Datasets pass through."""
    return [r if isinstance(r, xr.Dataset) else read_result(Path(r)) for r in results]


def scenario_names(datasets: Sequence[xr.Dataset]) -> list[str]:
    """Each result's scenario name, made unique with ``#2``, ``#3``... suffixes."""
    names: list[str] = []
    for i, ds in enumerate(datasets):
        base = str(ds.attrs.get("scenario") or f"scenario{i + 1}")
        name, k = base, 2
        while name in names:
            name, k = f"{base}#{k}", k + 1
        names.append(name)
    return names


def compare(results: Sequence[ResultLike], reference: str | None = None) -> xr.Dataset:
    """Concatenate results along a new ``scenario`` dimension, with differences.

    Args:
        results: result Datasets (from :func:`sim.run.run_scenario`) or paths of
            result files (``results/<name>.nc``); at least one.
        reference: the scenario the differences are taken against; the first
            result when None.

    Returns:
        The comparison Dataset described in the module docstring.

    Raises:
        InputError: no results, a file is not a result, or ``reference`` is not
            one of the scenarios.
    """
    if not results:
        raise InputError("compare needs at least one result.")
    datasets = load_results(results)
    for ds in datasets:
        if is_comparison(ds):
            raise InputError("compare takes single-scenario results, not a comparison.")
    names = scenario_names(datasets)
    ref = names[0] if reference is None else reference
    if ref not in names:
        raise InputError(
            f"reference {ref!r} is not one of the scenarios compared: {', '.join(names)}."
        )
    index = pd.Index(names, name="scenario")

    parts = [
        _scalar_part(datasets, index),
        _concat(datasets, KPI_VARS, index, {"kpi_met": False, "kpi_binding": False}),
        _first_of(datasets, KPI_LABELS),
        _concat(datasets, ROW_VARS, index, {"row_binding": False}),
        _first_of(datasets, ["row_sense"]),
        _concat(datasets, ["totals"], index, {"totals": 0.0}),
        _action_counts(datasets, index),
    ]
    same = _same_population(datasets)
    if same:
        parts.append(_enterprise_part(datasets, index, ref))
    out = xr.merge(parts, compat="override", join="outer", combine_attrs="drop")

    out["is_reference"] = ("scenario", np.asarray(index == ref))
    out["kpi_attainment"] = out["kpi_achieved"] / out["kpi_target"]
    out["kpi_attainment"].attrs["units"] = "1 (achieved / target)"
    out["kpi_achieved_diff"] = out["kpi_achieved"] - out["kpi_achieved"].sel(scenario=ref)
    out["kpi_achieved_diff"].attrs["long_name"] = f"achieved minus {ref}'s (KPI units)"
    out["total"] = out["totals"].sum(("by_district", "by_sector"))
    out["total_diff"] = out["total"] - out["total"].sel(scenario=ref)
    out["total_diff"].attrs["long_name"] = f"city total minus {ref}'s (metric units)"
    out.attrs = {
        "kind": "comparison",
        "title": f"tenglong comparison: {', '.join(names)}",
        "reference": ref,
        "scenarios": json.dumps(names, ensure_ascii=False),
        "enterprise_level": int(same),
    }
    return out


def _concat(
    datasets: Sequence[xr.Dataset],
    names: list[str],
    index: pd.Index,
    fill: dict[str, Any],
) -> xr.Dataset:
    """``xr.concat`` of the variables ``names`` present in every result (outer join)."""
    present = [n for n in names if all(n in ds for ds in datasets)]
    if not present:
        return xr.Dataset()
    pieces = [ds[present] for ds in datasets]
    out = xr.concat(pieces, dim=index, join="outer", fill_value=fill or dtypes.NA)
    for n in present:
        if isinstance(fill.get(n), bool):
            out[n] = out[n].astype(bool)
    return out


def _first_of(datasets: Sequence[xr.Dataset], names: list[str]) -> xr.Dataset:
    """Label variables without a scenario dimension: the first result's value wins."""
    out = xr.Dataset()
    for ds in datasets:
        present = [n for n in names if n in ds]
        if present:
            out = out.combine_first(ds[present])
    return out


def _scalar_part(datasets: Sequence[xr.Dataset], index: pd.Index) -> xr.Dataset:
    data: dict[str, Any] = {
        key: ("scenario", [ds.attrs.get(key, default) for ds in datasets])
        for key, default in SCALAR_ATTRS.items()
    }
    data["title"] = ("scenario", [_title(ds) for ds in datasets])
    data["manifest"] = ("scenario", [str(ds.attrs.get("manifest", "{}")) for ds in datasets])
    return xr.Dataset(data, coords={"scenario": index})


def _title(ds: xr.Dataset) -> str:
    try:
        return str(json.loads(ds.attrs.get("manifest", "{}"))["scenario"].get("title", ""))
    except (ValueError, KeyError, AttributeError):
        return ""


def _action_counts(datasets: Sequence[xr.Dataset], index: pd.Index) -> xr.Dataset:
    """Enterprises per action in each result (one vectorised comparison per result)."""
    kinds = np.array(ACTIONS)
    counts = np.stack(
        [(ds["action"].values.astype(str)[:, None] == kinds[None, :]).sum(axis=0)
         for ds in datasets]
    )
    return xr.Dataset(
        {"action_count": (("scenario", "action_kind"), counts.astype(np.int64))},
        coords={"scenario": index, "action_kind": kinds},
    )


def _same_population(datasets: Sequence[xr.Dataset]) -> bool:
    """All results hold the same enterprises (ids, districts and sectors)."""
    first = datasets[0]
    if "enterprise" not in first.dims or first.sizes["enterprise"] > MAX_ENTERPRISES:
        return False
    ids = np.sort(first["enterprise"].values.astype(str))
    for ds in datasets[1:]:
        if "enterprise" not in ds.dims or ds.sizes["enterprise"] != ids.size:
            return False
        if not np.array_equal(np.sort(ds["enterprise"].values.astype(str)), ids):
            return False
        aligned = ds[["district", "sector"]].reindex(enterprise=first["enterprise"].values)
        if not (
            np.array_equal(aligned["district"].values, first["district"].values)
            and np.array_equal(aligned["sector"].values, first["sector"].values)
        ):
            return False
    return True


def _enterprise_part(datasets: Sequence[xr.Dataset], index: pd.Index, ref: str) -> xr.Dataset:
    """Aligned per-enterprise actions and effects, changes and transitions vs ``ref``."""
    fill = {"action": "keep", "option": "keep", "action_target": "", "action_year": 0,
            "effect": 0.0}
    out = _concat(datasets, ENTERPRISE_VARS, index, fill)
    static = [n for n in STATIC_VARS if n in datasets[0]]
    out = out.merge(datasets[0][static], join="left")
    action = out["action"].values.astype(str)  # (scenario, enterprise)
    ref_action = action[index.get_loc(ref)]
    out["action_changed"] = (("scenario", "enterprise"), action != ref_action[None, :])

    kinds = np.array(ACTIONS)
    code = _codes(action, kinds)
    ref_code = code[index.get_loc(ref)]
    k = kinds.size
    flat = (np.arange(len(index))[:, None] * k * k + ref_code[None, :] * k + code).ravel()
    transition = np.bincount(flat, minlength=len(index) * k * k).reshape(len(index), k, k)
    out["action_transition"] = (("scenario", "from_action", "to_action"), transition)
    return out.assign_coords(from_action=kinds, to_action=kinds)


def _codes(action: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Integer code of each action label (index in ``kinds``); unknown labels raise."""
    order = np.argsort(kinds)
    pos = np.searchsorted(kinds[order], action)
    pos = np.clip(pos, 0, kinds.size - 1)
    code = order[pos]
    if not np.all(kinds[code] == action):
        bad = sorted(set(np.unique(action)) - set(kinds))
        raise InputError(f"unknown action label(s) in a result: {bad}")
    return code


def kpi_table(comparison: xr.Dataset) -> pd.DataFrame:
    """The KPI-vs-target table of a comparison, one row per (scenario, KPI) with a target.

    Columns: ``scenario``, ``kpi``, ``label_zh``, ``unit``, ``sense``, ``target``,
    ``achieved``, ``attainment_pct`` (achieved / target × 100), ``met``,
    ``binding``, ``marginal_cost_yuan``, ``diff_vs_reference`` (KPI units).
    """
    cmp = comparison if is_comparison(comparison) else compare([comparison])
    frame = cmp[
        ["kpi_target", "kpi_achieved", "kpi_attainment", "kpi_met", "kpi_binding",
         "kpi_marginal_cost_yuan", "kpi_achieved_diff"]
    ].to_dataframe()
    frame = frame.reset_index()
    labels = cmp[KPI_LABELS].to_dataframe()
    frame = frame.join(labels, on="kpi")
    frame = frame[np.isfinite(frame["kpi_target"])]
    frame = frame.rename(
        columns={
            "kpi_target": "target",
            "kpi_achieved": "achieved",
            "kpi_met": "met",
            "kpi_binding": "binding",
            "kpi_marginal_cost_yuan": "marginal_cost_yuan",
            "kpi_achieved_diff": "diff_vs_reference",
            "kpi_label_zh": "label_zh",
            "kpi_unit": "unit",
            "kpi_sense": "sense",
        }
    )
    frame["attainment_pct"] = 100.0 * frame.pop("kpi_attainment")
    cols = ["scenario", "kpi", "label_zh", "unit", "sense", "target", "achieved",
            "attainment_pct", "met", "binding", "marginal_cost_yuan", "diff_vs_reference"]
    return frame[cols].reset_index(drop=True)


def write_comparison(comparison: xr.Dataset, path: str | Path) -> Path:
    """Write a comparison Dataset to netCDF (h5netcdf) atomically."""
    return write_netcdf(comparison, path)


def read_comparison(path: str | Path) -> xr.Dataset:
    """Open a file written by :func:`write_comparison`."""
    ds = open_netcdf(path, "comparison file")
    if not is_comparison(ds):
        raise InputError(f"{path}: not a tenglong comparison file.")
    return ds


def read_any(path: str | Path) -> xr.Dataset:
    """Open a result or a comparison file, whichever ``path`` is."""
    ds = open_netcdf(path, "result or comparison file")
    if is_comparison(ds) or "manifest" in ds.attrs:
        return ds
    raise InputError(f"{path}: not a tenglong result or comparison file.")


def action_changes(
    a: xr.Dataset, b: xr.Dataset, *, limit: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enterprises whose action differs between results ``a`` and ``b``.

    Enterprises are matched by id (inner join); the comparison is vectorised.

    Returns:
        ``counts``: one row per (from_action, to_action) with ``firms`` > 0,
        most frequent first; ``first``: the first ``limit`` changed
        enterprises (id order) with id, name, district, sector, muni_class,
        from/to action and option and target.
    """
    ids = np.intersect1d(a["enterprise"].values.astype(str), b["enterprise"].values.astype(str))
    cols = ["action", "option", "action_target"]
    left = a[cols].sel(enterprise=ids)
    right = b[cols].sel(enterprise=ids)
    from_action = left["action"].values.astype(str)
    to_action = right["action"].values.astype(str)
    changed = from_action != to_action
    counts = (
        pd.DataFrame({"from_action": from_action[changed], "to_action": to_action[changed]})
        .value_counts()
        .rename("firms")
        .reset_index()
    )
    picked = ids[changed][:limit]
    info = a.sel(enterprise=picked)
    first = pd.DataFrame({"id": picked})
    for col in ("name", "district", "sector", "muni_class"):
        if col in info:
            first[col] = info[col].values.astype(str)
    first["from_action"] = from_action[changed][:limit]
    first["from_option"] = left["option"].values.astype(str)[changed][:limit]
    first["to_action"] = to_action[changed][:limit]
    first["to_option"] = right["option"].values.astype(str)[changed][:limit]
    first["to_target"] = right["action_target"].values.astype(str)[changed][:limit]
    first.attrs["changed"] = int(changed.sum())
    first.attrs["matched"] = int(ids.size)
    first.attrs["only_a"] = int(a.sizes["enterprise"] - ids.size)
    first.attrs["only_b"] = int(b.sizes["enterprise"] - ids.size)
    return counts, first
