"""亩均论英雄 evaluation: composite score, A–D classes and 高耗低效 screening.

:func:`evaluate` takes a register (:mod:`sim.data.register`) and returns a
copy with these variables added (all over ``enterprise``):

* ``ind_<name>``: each indicator value, e.g. ``ind_tax_per_mu`` (万元/mu).
* ``energy_intensity`` (tce per 万元 VA) and ``intensity_benchmark`` (the
  sector's benchmark × the configured factor, tce per 万元 VA).
* ``score``: above-scale Σ_k w_k · min(value_k / benchmark_k, cap) over the
  six indicators; below-scale the same over tax/mu and tax per tce.
  Division by zero: a positive numerator over 0 counts as the cap, 0/0 as 0.
* ``evaluated``: land ≥ scope.min_land_mu; others get class "" and no flags.
* ``muni_class``: "A".."D" by percentile of score within the evaluated
  above-scale and below-scale firms separately ((rank − 0.5)/n against the
  cumulative class shares; ties share a class). A non-empty ``class_given``
  in the register wins when ``use_given_class`` is set.
* ``flag_class_cd``, ``flag_intensity``, ``flag_two_high``, ``flag_violation``
  and ``candidate`` (the configured screening rule).

All numbers come from :class:`~sim.evaluation.config.EvaluationConfig`
(``sim/config/evaluation.yaml``) and, for sector benchmarks, the calibration.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr
from scipy.stats import rankdata

from sim.data.calibration import Calibration, load_calibration
from sim.data.register import DIM
from sim.evaluation.config import (
    CLASSES,
    INDICATORS,
    EvaluationConfig,
    ScoreRule,
    load_evaluation_config,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den with x/0 = +inf for x > 0 and 0 otherwise (never NaN)."""
    out = np.zeros_like(num, dtype=np.float64)
    pos = den > 0
    np.divide(num, den, out=out, where=pos)
    out[~pos & (num > 0)] = np.inf
    return out


def indicator_values(register: xr.Dataset) -> dict[str, FloatArray]:
    """Every known indicator (see ``INDICATORS``) for every enterprise."""
    return {
        name: _ratio(
            register[num].to_numpy().astype(np.float64), register[den].to_numpy().astype(np.float64)
        )
        for name, (num, den, _units, _zh) in INDICATORS.items()
    }


def score_firms(values: dict[str, FloatArray], rule: ScoreRule) -> FloatArray:
    """Σ_k weight_k · min(value_k / benchmark_k, cap) (points; 100 = every benchmark met)."""
    n = len(next(iter(values.values())))
    total = np.zeros(n)
    for name, ind in rule.indicators.items():
        total += ind.weight * np.minimum(values[name] / ind.benchmark, rule.cap)
    return total


def classes_by_percentile(
    score: FloatArray, members: BoolArray, shares: tuple[float, ...]
) -> npt.NDArray[np.int64]:
    """Class index 0..3 (A..D) of each member by percentile of score; −1 for non-members."""
    out = np.full(score.shape[0], -1, dtype=np.int64)
    n = int(members.sum())
    if n == 0:
        return out
    pct = (rankdata(-score[members], method="average") - 0.5) / n
    cum = np.cumsum(shares)
    out[members] = np.minimum(np.searchsorted(cum, pct - 1e-12, side="right"), len(shares) - 1)
    return out


def sector_benchmarks(
    sector: npt.NDArray[np.str_], above: BoolArray, cfg: EvaluationConfig, cal: Calibration
) -> FloatArray:
    """Energy-intensity line (tce per 万元 VA) of each firm: sector benchmark × factor.

    Above-scale firms use the sector's ``intensity_benchmark``, below-scale firms
    its ``intensity_benchmark_below_scale`` (calibration, overridable per sector in
    the screening config); NaN for an unknown sector.
    """
    rule = cfg.screening
    table_a = {s.code: s.intensity_benchmark for s in cal.sectors}
    table_a.update(rule.sector_intensity_benchmark)
    table_b = {s.code: s.intensity_benchmark_below_scale for s in cal.sectors}
    table_b.update(rule.sector_intensity_benchmark_below_scale)
    codes = pd.Series(sector)
    bench = np.where(
        above,
        codes.map(table_a).to_numpy(dtype=np.float64),
        codes.map(table_b).to_numpy(dtype=np.float64),
    )
    return bench * rule.intensity_factor


def _classes(
    register: xr.Dataset, score: FloatArray, evaluated: BoolArray, cfg: EvaluationConfig
) -> npt.NDArray[np.str_]:
    above = register["above_scale"].to_numpy().astype(bool)
    shares = cfg.class_shares.as_tuple()
    idx = np.maximum(
        classes_by_percentile(score, evaluated & above, shares),
        classes_by_percentile(score, evaluated & ~above, shares),
    )
    labels = np.array([*CLASSES, ""])  # index −1 → ""
    cls = labels[idx].astype("<U1")
    if cfg.use_given_class and "class_given" in register:
        given = register["class_given"].to_numpy().astype(str)
        cls = np.where(evaluated & (given != ""), given, cls).astype("<U1")
    return cls


def _flags(
    register: xr.Dataset,
    cls: npt.NDArray[np.str_],
    evaluated: BoolArray,
    intensity: FloatArray,
    bench: FloatArray,
) -> dict[str, BoolArray]:
    with np.errstate(invalid="ignore"):
        above_bench = intensity > bench
    return {
        "class_cd": evaluated & np.isin(cls, ["C", "D"]),
        "intensity": evaluated & above_bench,
        "two_high": evaluated & register["two_high"].to_numpy().astype(bool),
        "violation": evaluated & register["violation"].to_numpy().astype(bool),
    }


def _candidates(
    flags: dict[str, BoolArray],
    cls: npt.NDArray[np.str_],
    evaluated: BoolArray,
    cfg: EvaluationConfig,
) -> BoolArray:
    rule = cfg.screening
    in_class = np.isin(cls, list(rule.classes))
    any_flag = np.zeros_like(evaluated)
    for name in rule.any_of:
        any_flag |= flags[name]
    if not rule.any_of:
        any_flag[:] = True
    always = np.zeros_like(evaluated)
    for name in rule.always:
        always |= flags[name]
    return evaluated & ((in_class & any_flag) | always)


def _var(
    values: Any, units: str, long_name: str, zh: str
) -> tuple[tuple[str], Any, dict[str, str]]:
    return ((DIM,), values, {"units": units, "long_name": long_name, "long_name_zh": zh})


def evaluate(
    register: xr.Dataset,
    config: EvaluationConfig | None = None,
    *,
    calibration: Calibration | None = None,
) -> xr.Dataset:
    """Run the 亩均论英雄 evaluation and 高耗低效 screening on a register.

    Args:
        register: a register Dataset over ``enterprise``.
        config: evaluation configuration; default ``load_evaluation_config()``.
        calibration: source of sector intensity benchmarks; default the packaged one.

    Returns:
        A copy of ``register`` with indicators, ``score``, ``muni_class``, flags and
        ``candidate`` added (see the module docstring).
    """
    cfg = config or load_evaluation_config()
    cal = calibration or load_calibration()
    values = indicator_values(register)
    above = register["above_scale"].to_numpy().astype(bool)
    evaluated = register["land_mu"].to_numpy().astype(np.float64) >= cfg.scope.min_land_mu
    score = np.where(
        above, score_firms(values, cfg.above_scale), score_firms(values, cfg.below_scale)
    )
    cls = _classes(register, score, evaluated, cfg)
    intensity = _ratio(
        register["energy_tce"].to_numpy().astype(np.float64),
        register["value_added_wan"].to_numpy().astype(np.float64),
    )
    bench = sector_benchmarks(register["sector"].to_numpy().astype(str), above, cfg, cal)
    flags = _flags(register, cls, evaluated, intensity, bench)
    out = register.copy()
    for name, (_num, _den, units, zh) in INDICATORS.items():
        out[f"ind_{name}"] = _var(values[name], units, name.replace("_", " "), zh)
    out["energy_intensity"] = _var(
        intensity, "tce/万元", "energy per value added", "单位增加值能耗"
    )
    out["intensity_benchmark"] = _var(
        bench, "tce/万元", "sector energy-intensity benchmark", "行业能耗强度基准"
    )
    out["score"] = _var(score, "1", "亩均 composite score", "亩均综合评价得分")
    out["evaluated"] = _var(evaluated, "1", "in the evaluation scope (land ≥ minimum)", "参评")
    out["muni_class"] = _var(cls, "1", "亩均 class (A best .. D worst)", "亩均评价等级")
    for name, zh in (
        ("class_cd", "C/D类"),
        ("intensity", "能耗强度超基准"),
        ("two_high", "两高"),
        ("violation", "违法违规"),
    ):
        out[f"flag_{name}"] = _var(flags[name], "1", f"screening flag: {name}", zh)
    out["candidate"] = _var(
        _candidates(flags, cls, evaluated, cfg), "1", "高耗低效 candidate", "高耗低效整治候选"
    )
    out.attrs["evaluation_config"] = json.dumps(cfg.model_dump(), ensure_ascii=False)
    return out


def _shares(cls: npt.NDArray[np.str_], mask: BoolArray) -> dict[str, float]:
    n = int(mask.sum())
    return {c: (float((cls[mask] == c).sum()) / n if n else 0.0) for c in CLASSES}


def summarise_evaluation(ds: xr.Dataset) -> dict[str, Any]:
    """Headline numbers of an evaluated register.

    Returns a dict with ``firms``, ``evaluated``, ``class_shares`` (for
    ``above_scale``, ``below_scale`` and ``all`` evaluated firms), ``candidates``
    (count), ``candidate_land_mu``, ``candidate_energy_tce``, ``candidate_co2_t``
    and ``candidate_reasons`` (counts by the flag that qualified them).
    """
    cls = ds["muni_class"].to_numpy().astype(str)
    ev = ds["evaluated"].to_numpy().astype(bool)
    above = ds["above_scale"].to_numpy().astype(bool)
    cand = ds["candidate"].to_numpy().astype(bool)
    flag = {
        k: ds[f"flag_{k}"].to_numpy().astype(bool) for k in ("intensity", "two_high", "violation")
    }
    return {
        "firms": int(ds.sizes[DIM]),
        "evaluated": int(ev.sum()),
        "class_shares": {
            "above_scale": _shares(cls, ev & above),
            "below_scale": _shares(cls, ev & ~above),
            "all": _shares(cls, ev),
        },
        "candidates": int(cand.sum()),
        "candidate_land_mu": float(ds["land_mu"].to_numpy()[cand].sum()),
        "candidate_energy_tce": float(ds["energy_tce"].to_numpy()[cand].sum()),
        "candidate_co2_t": float(ds["co2_t"].to_numpy()[cand].sum()),
        "candidate_reasons": {k: int((cand & v).sum()) for k, v in flag.items()},
    }
