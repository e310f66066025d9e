"""Monte Carlo of a plan under uncertain parameters: how likely are the targets met, year by year?

The plan (a choice per unit) is fixed; the parameters declared in
``uncertainty.parameters`` are drawn ``draws`` times as multiplicative factors
(:mod:`sim.simulate.factors`). The plan's effects are split and summed by
option slot once (:func:`sim.simulate.engine.plan_totals`), then all draws are
evaluated together as ``draws × slots × metrics`` einsums — no loop over draws
or enterprises — so 1,000 draws of the Hangzhou plan take well under a second.

Two accountings are reported: *realised* (the trajectories' ramp-up of
upgrades; what a 年总评 would measure) and *plan* (every action counts in full
from its action year, as the optimiser and the robust plan count it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.pipeline import Model
from sim.simulate.engine import SERIES, evaluate, multipliers, plan_totals, series
from sim.simulate.factors import FactorSpec, factor_specs, sample
from sim.simulate.trajectories import TARGETS, met, target_levels

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Series drawn in the fan chart, in order.
FAN_SERIES = (
    "land_freed_mu",
    "energy_saved_tce",
    "co2_cut_t",
    "tax_per_mu_wan",
    "va_per_mu_wan",
    "labour_productivity_wan",
    "energy_intensity_reduction",
    "public_cost_cum_wan",
    "industrial_land_stock_mu",
)


def monte_carlo(
    model: Model,
    choice: IntArray,
    draws: int | None = None,
    seed: int | None = None,
    *,
    specs: list[FactorSpec] | None = None,
    values: FloatArray | None = None,
) -> xr.Dataset:
    """Evaluate a plan under ``draws`` draws of the scenario's uncertain parameters.

    Args:
        model: the built model (its scenario's ``uncertainty`` block is used).
        choice: the plan, one option index per unit of ``model.problem``.
        draws: number of draws (default ``uncertainty.draws``).
        seed: seed of the draws (default ``uncertainty.seed``).
        specs, values: explicit factors and their values ``(draws, len(specs))``
            instead of sampling (used by robust planning).

    Returns:
        A Dataset over ``draw``, ``year``, ``series``, ``target``, ``factor``
        and ``quantile``: ``path(draw, year, series)`` (realised) and
        ``path_plan`` (plan accounting); ``factor_value(draw, factor)``;
        ``target_level(target, year)``, ``target_sense``, ``target_series``;
        ``p_met(target, year)`` and ``p_met_plan`` (share of draws meeting each
        target in each year; 1 where a year has no level);
        ``p_all_met(year)``, ``p_all_met_plan``; ``all_met_plan(draw)`` (every
        target met in every year up to the end year, plan accounting);
        ``quantiles(quantile, year, series)`` of the realised paths. Units in
        ``series_unit``; labels in ``series_label_zh``.
    """
    started = time.perf_counter()
    unc = model.scenario.uncertainty
    specs = factor_specs(model.scenario) if specs is None else specs
    if values is None:
        n = unc.draws if draws is None else int(draws)
        seed = unc.seed if seed is None else int(seed)
        values = sample(specs, n, seed)
    choice = np.asarray(choice, dtype=np.int64)
    totals = plan_totals(model, choice)
    mult = multipliers(model, specs, values)
    base = model.baseline.base_energy_per_va
    realised_paths = evaluate(model, totals, mult, ramp=True)
    plan_paths = evaluate(model, totals, mult, ramp=False)
    realised = series(realised_paths, base, realised=True)
    plan = series(plan_paths, base, realised=False)
    years = realised_paths.years
    names = list(SERIES)
    path = np.stack([realised[n] for n in names], axis=-1)
    path_plan = np.stack([plan[n] for n in names], axis=-1)

    levels = target_levels(model, years)
    targets = list(TARGETS)
    met_r = np.stack([met(realised[TARGETS[t][0]], levels[t][None, :], TARGETS[t][1])
                      for t in targets], axis=1)  # (draw, target, year)
    met_p = np.stack([met(plan[TARGETS[t][0]], levels[t][None, :], TARGETS[t][1])
                      for t in targets], axis=1)
    end = model.scenario.horizon.end_year
    quantiles = np.asarray(unc.quantiles, dtype=float)
    ds = xr.Dataset(
        {
            "path": (("draw", "year", "series"), path),
            "path_plan": (("draw", "year", "series"), path_plan),
            "factor_value": (("draw", "factor"), values),
            "target_level": (("target", "year"), np.stack([levels[t] for t in targets])),
            "target_sense": ("target", [TARGETS[t][1] for t in targets]),
            "target_series": ("target", [TARGETS[t][0] for t in targets]),
            "target_label_zh": ("target", [TARGETS[t][2] for t in targets]),
            "p_met": (("target", "year"), met_r.mean(axis=0)),
            "p_met_plan": (("target", "year"), met_p.mean(axis=0)),
            "p_all_met": ("year", met_r.all(axis=1).mean(axis=0)),
            "p_all_met_plan": ("year", met_p.all(axis=1).mean(axis=0)),
            "all_met_plan": ("draw", met_p[:, :, years <= end].all(axis=(1, 2))),
            "quantiles": (("quantile", "year", "series"), np.quantile(path, quantiles, axis=0)),
        },
        coords={
            "draw": np.arange(values.shape[0]),
            "year": years,
            "series": names,
            "series_unit": ("series", [SERIES[n][1] for n in names]),
            "series_label_zh": ("series", [SERIES[n][0] for n in names]),
            "target": targets,
            "factor": [s.key for s in specs],
            "quantile": quantiles,
        },
    )
    ds.attrs = {
        "title": f"tenglong Monte Carlo: {model.scenario.name}",
        "scenario": model.scenario.name,
        "draws": int(values.shape[0]),
        "seed": -1 if seed is None else int(seed),
        "parameters": json.dumps({s.key: s.distribution.model_dump() for s in specs},
                                 ensure_ascii=False),
        "end_year": end,
        "elapsed_s": time.perf_counter() - started,
    }
    return ds


def probability_table(mc: xr.Dataset, *, plan: bool = False) -> list[tuple[str, str,
                                                                            dict[int, float]]]:
    """``(target, label, {year: probability})`` for targets with a level in some year."""
    p = mc["p_met_plan" if plan else "p_met"]
    out = []
    for k, target in enumerate(mc["target"].values.astype(str)):
        levels = mc["target_level"].values[k]
        if np.isnan(levels).all():
            continue
        years = mc["year"].values[~np.isnan(levels)]
        probs = {int(y): float(p.sel(target=target, year=y)) for y in years}
        out.append((target, str(mc["target_label_zh"].values[k]), probs))
    return out


def plot_fan(mc: xr.Dataset, path: str | Path, *, lang: str = "zh") -> list[Path]:
    """Fan chart of the realised paths: quantile bands, median, targets and P(met).

    Written atomically as PNG (and the formats of ``path``'s suffix) with the
    house style of :mod:`sim.plots.style` (CJK font) when available.
    """
    try:
        from sim.plots import style
    except ImportError:  # pragma: no cover - the plots layer ships with tenglong
        style = None  # type: ignore[assignment]
    if style is not None:
        fig = style.new_figure((9.0, 7.5))
    else:  # pragma: no cover
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9.0, 7.5), layout="constrained")
        FigureCanvasAgg(fig)
    names = [n for n in FAN_SERIES if n in mc["series"].values]
    axes = fig.subplots(3, 3).ravel()
    years = mc["year"].values
    q = mc["quantiles"]
    qs = q["quantile"].values
    targets_by_series = {str(s): str(t) for t, s in zip(mc["target"].values,
                                                         mc["target_series"].values, strict=True)}
    for ax, name in zip(axes, names, strict=False):
        lo_hi = [(qs[i], qs[-1 - i]) for i in range(len(qs) // 2)]
        for k, (lo, hi) in enumerate(lo_hi):
            ax.fill_between(years, q.sel(quantile=lo, series=name), q.sel(quantile=hi, series=name),
                            color="#1f4e79", alpha=0.18 + 0.17 * k, linewidth=0)
        median = mc["path"].sel(series=name).median("draw")
        ax.plot(years, median, color="#1f4e79", linewidth=1.4)
        target = targets_by_series.get(name)
        if target is not None:
            level = mc["target_level"].sel(target=target).values
            if not np.isnan(level).all():
                ax.plot(years, level, color="#c0392b", linestyle="--", linewidth=1.1)
                end = int(mc.attrs.get("end_year", years[-1]))
                p = float(mc["p_met"].sel(target=target, year=end))
                text = f"P(达标,{end}) = {p:.0%}" if lang == "zh" else f"P(met, {end}) = {p:.0%}"
                ax.text(0.02, 0.95, text, transform=ax.transAxes, va="top", fontsize=7)
        k = list(mc["series"].values).index(name)
        label = str(mc["series_label_zh"].values[k]) if lang == "zh" else name
        ax.set_title(f"{label}", fontsize=8.5)
        ax.set_ylabel(str(mc["series_unit"].values[k]), fontsize=7)
        ax.set_xticks(years)
        ax.tick_params(axis="x", labelrotation=45)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    title = (f"{mc.attrs.get('scenario', '')}：{mc.attrs.get('draws')} 次抽样的目标路径（扇形图）"
             if lang == "zh" else f"{mc.attrs.get('scenario', '')}: fan chart of "
             f"{mc.attrs.get('draws')} draws")
    fig.suptitle(title, fontsize=10)
    if style is not None:
        return style.save_figure(fig, path, provenance=style.figure_provenance(mc))
    from sim.results.atomic import atomic_path  # pragma: no cover

    with atomic_path(Path(path)) as tmp:  # pragma: no cover
        fig.savefig(tmp, format="png", dpi=200)
    return [Path(path)]  # pragma: no cover


def write_mc(mc: xr.Dataset, path: str | Path) -> Path:
    """Write a Monte Carlo Dataset to netCDF atomically."""
    from sim.results.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        mc.to_netcdf(tmp, engine="h5netcdf")
    return path
