"""亩均 class of each firm after the plan: the rule behind the class-distribution plot.

Rule (documented in the plot's docstring and the brief):

* **Before** is the base-year class ``muni_class`` of every evaluated firm
  (class "" = outside the evaluation scope, not counted).
* **After**, firms that exit (整体腾退) or are merged into an acquirer
  (兼并重组) are gone: they are counted as "退出/并入", not in any class.
  The acquirer keeps its class.
* Firms that keep keep their class (their end-year growth is not re-scored).
* Firms that relocate or upgrade are **re-scored**: their end-year state
  (``effect`` metrics ``va_after_wan``, ``tax_after_wan``,
  ``energy_after_tce``, ``land_after_mu``, ``employees_after``; CO2 scaled
  with energy; R&D share unchanged) replaces the base-year values in the
  indicators of the scenario's evaluation rule
  (:func:`sim.evaluation.muni.score_firms`), and the change in score is added
  to the base-year score. The new class is the class whose **base-year**
  score range (within the firm's above-/below-scale group) contains the new
  score: a firm moves up when it passes the base-year lowest score of a
  better class. Firms are never re-ranked by percentile, so classes are not
  forced back to the fixed shares.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.evaluation.config import CLASSES, EvaluationConfig, load_evaluation_config
from sim.evaluation.muni import score_firms

GONE = "gone"
FloatArray = npt.NDArray[np.float64]

# Indicator → (numerator, denominator) in end-year terms; "" = unchanged.
_AFTER = {
    "tax_per_mu": ("tax_after_wan", "land_after_mu"),
    "va_per_mu": ("va_after_wan", "land_after_mu"),
    "va_per_tce": ("va_after_wan", "energy_after_tce"),
    "va_per_tco2": ("va_after_wan", "co2_after_t"),
    "va_per_employee": ("va_after_wan", "employees_after"),
    "tax_per_tce": ("tax_after_wan", "energy_after_tce"),
}
_BEFORE = {
    "tax_per_mu": ("tax_wan", "land_mu"),
    "va_per_mu": ("value_added_wan", "land_mu"),
    "va_per_tce": ("value_added_wan", "energy_tce"),
    "va_per_tco2": ("value_added_wan", "co2_t"),
    "va_per_employee": ("value_added_wan", "employees"),
    "tax_per_tce": ("tax_wan", "energy_tce"),
}


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    out[(den <= 0) & (num > 0)] = np.inf
    return out


def evaluation_config(ds: xr.Dataset) -> EvaluationConfig:
    """The scenario's evaluation configuration, from the result's manifest."""
    try:
        overrides: Any = json.loads(ds.attrs.get("manifest", "{}"))["scenario"].get("evaluation")
    except (ValueError, KeyError, AttributeError):
        overrides = None
    return load_evaluation_config(overrides or None)


def class_after(ds: xr.Dataset) -> xr.DataArray:
    """Each enterprise's 亩均 class after the plan ("A".."D", "" unevaluated, "gone").

    ``ds`` is a single-scenario result (or one scenario of a comparison). See
    the module docstring for the rule.
    """
    before = ds["muni_class"].values.astype(str)
    action = ds["action"].values.astype(str)
    after = before.astype(object).copy()
    after[np.isin(action, ["exit", "merge"])] = GONE
    rescored = np.isin(action, ["relocate", "upgrade"]) & (before != "")
    if rescored.any() and "effect" in ds:
        after[rescored] = _reclass(ds, rescored, before)
    return xr.DataArray(after.astype(str), dims="enterprise",
                        coords={"enterprise": ds["enterprise"]})


def _reclass(ds: xr.Dataset, mask: npt.NDArray[np.bool_], before: npt.NDArray[np.str_]) -> Any:
    cfg = evaluation_config(ds)
    above = ds["above_scale"].values.astype(bool)
    effect = ds["effect"].sel(metric=["va_after_wan", "tax_after_wan", "energy_after_tce",
                                      "land_after_mu", "employees_after"])
    end = {m: effect.sel(metric=m).values[mask].astype(float) for m in effect["metric"].values}
    base = {c: ds[c].values[mask].astype(float) for c in
            ("tax_wan", "land_mu", "value_added_wan", "energy_tce", "co2_t", "employees")}
    end["co2_after_t"] = base["co2_t"] * _ratio(end["energy_after_tce"], base["energy_tce"])
    score = ds["score"].values.astype(float)
    new_score = score[mask].copy()
    for group, rule in ((True, cfg.above_scale), (False, cfg.below_scale)):
        sub = above[mask] == group
        if not sub.any():
            continue
        delta = (
            score_firms(_values(end, _AFTER, sub), rule)
            - score_firms(_values(base, _BEFORE, sub), rule)
        )
        new_score[sub] += delta
    return _class_of(new_score, above[mask], score, above, before)


def _values(source: dict[str, FloatArray], spec: dict[str, tuple[str, str]],
            sub: npt.NDArray[np.bool_]) -> dict[str, FloatArray]:
    """Indicator values of the firms in ``sub``; indicators not in ``spec`` are 0 both times.

    Indicators missing from a result (R&D share) are unchanged by the plan,
    so setting them to 0 before and after leaves the score *change* exact.
    """
    n = int(sub.sum())
    names = ["tax_per_mu", "va_per_mu", "va_per_tce", "va_per_tco2", "va_per_employee",
             "rd_share", "tax_per_tce"]
    out = {}
    for name in names:
        if name in spec:
            num, den = spec[name]
            out[name] = _ratio(source[num][sub], source[den][sub])
        else:
            out[name] = np.zeros(n)
    return out


def _class_of(new_score: FloatArray, new_above: npt.NDArray[np.bool_], score: FloatArray,
              above: npt.NDArray[np.bool_], before: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """Class whose base-year score range (same scale group) holds each new score."""
    out = np.empty(new_score.size, dtype="<U1")
    for group in (True, False):
        members = (above == group) & (before != "")
        sub = new_above == group
        if not sub.any():
            continue
        # lowest base-year score of classes A, B, C (D has no floor)
        floors = np.array([
            score[members & (before == c)].min() if (members & (before == c)).any() else np.inf
            for c in CLASSES[:-1]
        ])
        s = new_score[sub]
        index = np.full(s.size, len(CLASSES) - 1)
        for k in range(len(CLASSES) - 2, -1, -1):
            index = np.where(s >= floors[k], k, index)
        out[sub] = np.array(CLASSES)[index]
    return out


def class_counts(ds: xr.Dataset) -> tuple[dict[str, int], dict[str, int]]:
    """Firms per class before and after (after includes ``"gone"``), evaluated firms only."""
    before = ds["muni_class"].values.astype(str)
    after = class_after(ds).values
    evaluated = before != ""
    b: dict[str, int] = {str(c): int(np.sum(before[evaluated] == c)) for c in CLASSES}
    a = {c: int(np.sum(after[evaluated] == c)) for c in [*CLASSES, GONE]}
    return b, a
