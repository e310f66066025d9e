"""Briefing figures of a result or a comparison, in Chinese (default) or English.

Every plot function takes ``lang`` ("zh" or "en") and a keyword-only
``figsize`` (inches; the default suits a full-width A4 figure).

Every plot is a function that takes a result Dataset (``results/<name>.nc``)
or a comparison Dataset (:func:`sim.results.compare.compare`) and returns a
:class:`matplotlib.figure.Figure`; nothing is written unless you call
:func:`sim.plots.style.save_figure` or :func:`scenario_figures`.

* :func:`plot_target_attainment`: achieved / target (%) of every KPI with a
  target, one bar per scenario, with the 100% line; limits (budget, jobs)
  are hatched and read as "share of the limit used".
* :func:`plot_action_mix`: acting firms by action (stacked) per district or
  per sector.
* :func:`plot_action_counts`: firms by action per scenario (comparisons).
* :func:`plot_mac_curve`: marginal abatement cost curve: each firm that acts
  and cuts CO2 is a bar, width = its CO2 cut (t/yr), height = public cost per
  t CO2 of its chosen action (元/t); short black lines are the same for its
  next-best option; bars are sorted by cost; the dashed line is the CO2
  target.
* :func:`plot_marginal_costs`: marginal cost of each binding target, from
  the duals (``kpi_marginal_cost_yuan``, 元 per unit; absolute value, so a
  limit reads as the cost of tightening it by one unit).
* :func:`plot_class_distribution`: 亩均 classes before and after the plan
  (rule in :mod:`sim.plots.classes`).
* :func:`plot_freed_by_district`: land (mu) and energy (tce) freed by
  district.
* :func:`plot_pareto`: the frontier of a :func:`sim.plots.pareto.pareto_sweep`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.errors import InputError
from sim.evaluation.config import CLASSES
from sim.options.slots import YEARLESS_KINDS
from sim.plots.classes import GONE, class_counts
from sim.plots.pareto import pareto_sweep, plot_pareto
from sim.plots.style import (
    ACTION_COLORS,
    ACTION_ORDER,
    CLASS_COLORS,
    FIG_WIDE,
    NEUTRAL,
    TARGET_LINE_COLOR,
    check_lang,
    figure_provenance,
    fmt_number,
    label,
    mc_unit,
    new_figure,
    save_figure,
    scenario_colors,
)
from sim.results.compare import compare, is_comparison

__all__ = [
    "comparison_figures",
    "pareto_sweep",
    "plot_action_counts",
    "plot_action_mix",
    "plot_class_distribution",
    "plot_freed_by_district",
    "plot_mac_curve",
    "plot_marginal_costs",
    "plot_pareto",
    "plot_target_attainment",
    "scenario_figures",
    "select_scenario",
]

ATTAINMENT_CAP_PCT = 250.0  # x-axis end of the attainment plot (longer bars are labelled)
ACTING_KINDS = [k for k in ACTION_ORDER if k != "keep"]
PANEL_COLORS = {"land_freed_mu": "#8c6d31", "energy_saved_tce": "#e07b39"}


# --------------------------------------------------------------------- helpers
def as_comparison(ds: xr.Dataset) -> xr.Dataset:
    """A comparison Dataset as is; a single result as a one-scenario comparison."""
    return ds if is_comparison(ds) else compare([ds])


def select_scenario(ds: xr.Dataset, scenario: str | None = None) -> xr.Dataset:
    """One scenario's view: a result as is; from a comparison, ``scenario`` (default reference).

    The view of a comparison holds the per-enterprise actions and effects only
    when the comparison has its enterprise part (same population).
    """
    if not is_comparison(ds):
        return ds
    name = scenario or str(ds.attrs.get("reference"))
    names = [str(s) for s in ds["scenario"].values]
    if name not in names:
        raise InputError(f"no scenario {name!r} in the comparison; it has {', '.join(names)}.")
    view = ds.sel(scenario=name)
    view.attrs = {"scenario": name, "manifest": str(view["manifest"].item()),
                  "status": str(view["status"].item())}
    return view


def _title(ds: xr.Dataset, key: str, lang: str) -> str:
    name = ds.attrs.get("scenario")
    base = label(key, lang)
    return f"{base}：{name}" if (name and lang == "zh") else (f"{base}: {name}" if name else base)


def _kpi_name(kpi: str, lang: str) -> str:
    return label(kpi, lang)


def _need(ds: xr.Dataset, names: Iterable[str], what: str) -> None:
    missing = [n for n in names if n not in ds]
    if missing:
        raise InputError(f"{what} needs {', '.join(missing)} in the Dataset (not present).")


# --------------------------------------------------------------------- attainment
def plot_target_attainment(
    ds: xr.Dataset, lang: str = "zh", *, figsize: tuple[float, float] | None = None
) -> Figure:
    """Achieved / target in % for each KPI with a target, one bar per scenario.

    Bars are horizontal; bar length = 100 × ``kpi_achieved / kpi_target``.
    Targets (≥) come first, limits (≤: budget, jobs) after, hatched: for them
    the bar is the share of the limit used, and ≤ 100% means within it. The
    axis ends at 250%; longer bars carry their value at the axis end.
    """
    check_lang(lang)
    cmp = as_comparison(ds)
    ratio = cmp["kpi_attainment"] * 100.0
    has_target = np.isfinite(cmp["kpi_target"].values).any(axis=0)
    sense = cmp["kpi_sense"].values.astype(str)
    kpis = [k for k, h, s in zip(cmp["kpi"].values.astype(str), has_target, sense, strict=True)
            if h and s == ">="]
    kpis += [k for k, h, s in zip(cmp["kpi"].values.astype(str), has_target, sense, strict=True)
             if h and s == "<="]
    scenarios = [str(s) for s in cmp["scenario"].values]
    n_s, n_k = len(scenarios), len(kpis)
    fig = new_figure(figsize or (FIG_WIDE[0], max(2.6, 0.2 * n_k * max(1.5, min(n_s, 3)) + 1.2)))
    ax = fig.add_subplot()
    height = 0.8 / n_s
    y0 = np.arange(n_k)[::-1].astype(float)  # first KPI at the top
    is_limit = np.array([cmp["kpi_sense"].sel(kpi=k).item() == "<=" for k in kpis])
    values = ratio.sel(kpi=kpis).values  # (scenario, kpi)
    finite = values[np.isfinite(values)]
    top = float(min(ATTAINMENT_CAP_PCT, max(110.0, finite.max() * 1.08 if finite.size else 110.0)))
    for i, (name, color) in enumerate(zip(scenarios, scenario_colors(n_s), strict=True)):
        y = y0 + (n_s - 1) / 2 * height - i * height
        bars = ax.barh(y, values[i], height=height * 0.92, color=color,
                       label=name if n_s > 1 else None, edgecolor="white", linewidth=0.4,
                       gid=f"attainment:{name}")
        for bar, limit in zip(bars.patches, is_limit, strict=True):
            if limit:
                bar.set_hatch("////")
                bar.set_edgecolor("white")
        if n_s <= 3:
            for yy, v in zip(y, values[i], strict=True):
                if not np.isfinite(v):
                    continue
                text = f"{v:.0f}%"
                if v > top:
                    ax.text(top, yy, f"{text} →", va="center", ha="right", fontsize=6.5,
                            color="white")
                else:
                    ax.text(v + top * 0.01, yy, text, va="center", ha="left", fontsize=6.5,
                            color=NEUTRAL)
    ax.axvline(100.0, label=label("target_line", lang), color=TARGET_LINE_COLOR, linestyle="--",
               linewidth=1.2, gid="target_line")
    names = [_kpi_name(k, lang) + (f"（{label('limit_use', lang)}）" if lim and lang == "zh"
                                   else f" ({label('limit_use', lang)})" if lim else "")
             for k, lim in zip(kpis, is_limit, strict=True)]
    ax.set_yticks(y0, names)
    ax.set_xlim(0, top * 1.06)
    ax.set_xlabel(label("attainment", lang))
    ax.grid(axis="y", visible=False)
    title = label("attainment_title", lang)
    if n_s == 1:
        title = f"{title}：{scenarios[0]}" if lang == "zh" else f"{title}: {scenarios[0]}"
    ax.set_title(title, loc="left")
    if n_s > 1:
        fig.legend(loc="outside lower center", ncols=min(n_s + 1, 4), fontsize=7)
    else:
        ax.legend(loc="lower right", fontsize=7, frameon=True, facecolor="white",
                  edgecolor="none", framealpha=0.9)
    return fig


# --------------------------------------------------------------------- action mix
def action_table(ds: xr.Dataset, by: str = "district") -> tuple[list[str], npt.NDArray[np.int64]]:
    """Acting firms by group × action kind (exit, merge, relocate, upgrade).

    Returns the group labels (most acting firms first; groups with none
    dropped) and the counts ``(group, kind)`` in :data:`ACTING_KINDS` order.
    """
    if by not in ("district", "sector"):
        raise InputError(f"action mix by {by!r}: use 'district' or 'sector'.")
    _need(ds, [by, "action"], "the action mix")
    groups, g_index = np.unique(ds[by].values.astype(str), return_inverse=True)
    kinds = np.array(ACTING_KINDS)
    action = ds["action"].values.astype(str)
    k_index = np.searchsorted(kinds, action, sorter=np.argsort(kinds))
    order = np.argsort(kinds)
    acting = np.isin(action, kinds)
    k_code = order[np.clip(k_index, 0, kinds.size - 1)]
    counts = np.bincount(g_index[acting] * kinds.size + k_code[acting],
                         minlength=groups.size * kinds.size).reshape(groups.size, kinds.size)
    total = counts.sum(axis=1)
    keep = np.flatnonzero(total > 0)
    keep = keep[np.argsort(-total[keep], kind="stable")]
    return [str(g) for g in groups[keep]], counts[keep]


def plot_action_mix(
    ds: xr.Dataset,
    by: str = "district",
    lang: str = "zh",
    scenario: str | None = None,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Stacked bars of acting firms (exit, merge, relocate, upgrade) per district or sector.

    Bar segment height = number of firms taking that action in the group;
    groups with no acting firm are left out, the busiest first. From a
    comparison, ``scenario`` picks the scenario (default the reference).
    """
    check_lang(lang)
    view = select_scenario(ds, scenario)
    groups, counts = action_table(view, by)
    fig = new_figure(figsize or FIG_WIDE)
    ax = fig.add_subplot()
    x = np.arange(len(groups))
    bottom = np.zeros(len(groups))
    for k, kind in enumerate(ACTING_KINDS):
        if counts.size and counts[:, k].any():
            ax.bar(x, counts[:, k], bottom=bottom, color=ACTION_COLORS[kind],
                   label=label(kind, lang), width=0.75, gid=kind)
        bottom += counts[:, k] if counts.size else 0
    rotate = 45 if (by == "sector" and len(groups) > 14) else 0
    ax.set_xticks(x, groups, rotation=rotate, ha="right" if rotate else "center")
    ax.set_ylabel(label("firms", lang))
    ax.set_xlabel(label(by, lang))
    ax.grid(axis="x", visible=False)
    ax.set_title(_title(view, f"action_mix_{by}", lang), loc="left")
    ax.legend(ncols=4, loc="upper right")
    if len(groups):
        ax.set_ylim(0, bottom.max() * 1.15)
    return fig


def plot_action_counts(
    ds: xr.Dataset, lang: str = "zh", *, figsize: tuple[float, float] | None = None
) -> Figure:
    """Firms by action per scenario (stacked horizontal bars; keep left out).

    Segment length = ``action_count`` of the scenario and action.
    """
    check_lang(lang)
    cmp = as_comparison(ds)
    scenarios = [str(s) for s in cmp["scenario"].values]
    fig = new_figure(figsize or (FIG_WIDE[0], max(1.8, 0.45 * len(scenarios) + 1.0)))
    ax = fig.add_subplot()
    y = np.arange(len(scenarios))[::-1]
    left = np.zeros(len(scenarios))
    for kind in ACTING_KINDS:
        v = cmp["action_count"].sel(action_kind=kind).values.astype(float)
        if v.any():
            ax.barh(y, v, left=left, color=ACTION_COLORS[kind], label=label(kind, lang),
                    height=0.6, gid=kind)
        left += v
    for yy, total in zip(y, left, strict=True):
        ax.text(total, yy, f" {total:.0f}", va="center", fontsize=7, color=NEUTRAL)
    ax.set_yticks(y, scenarios)
    ax.set_xlabel(label("firms", lang))
    ax.set_xlim(0, max(1.0, left.max()) * 1.12)
    ax.grid(axis="y", visible=False)
    ax.set_title("各情景整治企业数" if lang == "zh" else "Acting firms by scenario", loc="left")
    fig.legend(loc="outside lower center", ncols=4, fontsize=7)
    return fig


# --------------------------------------------------------------------- MAC curve
def _slot_kind(slot: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """Action kind of option-slot labels: 'merge#1@2021' → 'merge', 'upgrade:deep' → 'upgrade'."""
    kinds = np.array([*ACTION_ORDER, "admit"])
    out = np.full(slot.shape, "", dtype=object)
    for kind in kinds:
        out[np.char.startswith(slot.astype(str), str(kind))] = kind
    return out.astype(str)


def next_best_other_action(
    ds: xr.Dataset,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Public cost (万元) and CO2 cut (t/yr) of each firm's best alternative *action*.

    "Best" is the best ``option_score`` (the Lagrangian score at the
    targets' marginal prices; lower is better for a minimised objective)
    among the firm's available options of another acting kind: keep and the
    chosen kind (the same action in another year) do not count, so this is
    the next-best way *this firm* could abate. NaN for
    firms outside the choice problem, without another action, or when the
    result holds no per-option data. Arrays over ``enterprise``.
    """
    n = ds.sizes["enterprise"]
    cost, co2 = np.full(n, np.nan), np.full(n, np.nan)
    if not {"option_effect", "option_score", "unit"} <= set(ds.variables):
        return cost, co2
    units = ds["unit"].values.astype(str)
    ids = ds["enterprise"].values.astype(str)
    pos = np.searchsorted(units, ids, sorter=np.argsort(units))
    pos = np.argsort(units)[np.clip(pos, 0, units.size - 1)]
    found = units[pos] == ids
    score = ds["option_score"].values[pos[found]].astype(float)  # (firm, slot)
    slot_kind = _slot_kind(ds["option_slot"].values.astype(str))
    chosen = ds["action"].values.astype(str)[found]
    if str(ds.attrs.get("objective_sense", "min")) == "max":
        score = -score
    acting_slot = ~np.isin(slot_kind, YEARLESS_KINDS)
    other = (slot_kind[None, :] != chosen[:, None]) & acting_slot[None, :]
    score = np.where(other, score, np.inf)
    score = np.where(np.isnan(score), np.inf, score)
    best = np.argmin(score, axis=1)
    ok = np.isfinite(score[np.arange(best.size), best])
    metrics = list(ds["metric"].values.astype(str))
    eff = ds["option_effect"].values[pos[found], best]  # (firm, metric)
    c = np.where(ok, eff[:, metrics.index("public_cost_wan")], np.nan)
    t = np.where(ok, eff[:, metrics.index("co2_cut_t")], np.nan)
    cost[found], co2[found] = c, t
    return cost, co2


def mac_data(ds: xr.Dataset) -> dict[str, npt.NDArray[np.float64]]:
    """Data of the MAC curve, sorted by cost per t.

    Firms that act (action ≠ keep) and cut CO2 (``co2_cut_t`` > 0). Keys:
    ``width`` (t CO2/yr cut by the chosen action), ``cost`` (元 per t CO2 of
    the chosen action: public_cost_wan × 10^4 / co2_cut_t), ``left`` (cumulative
    t CO2 before the firm), ``kind`` (action code, index in ``ACTION_ORDER``),
    ``next_cost`` (元/t of the best option of another action, see
    :func:`next_best_other_action`; NaN when it cuts no CO2 or is unknown).
    """
    _need(ds, ["action", "effect"], "the MAC curve")
    action = ds["action"].values.astype(str)
    cost_wan = ds["effect"].sel(metric="public_cost_wan").values
    co2 = ds["effect"].sel(metric="co2_cut_t").values
    on = (action != "keep") & (co2 > 0)
    width = co2[on].astype(float)
    cost = cost_wan[on] * 1.0e4 / width
    nb_cost, nb_co2 = next_best_other_action(ds)
    with np.errstate(divide="ignore", invalid="ignore"):
        next_cost = np.where(nb_co2[on] > 0, nb_cost[on] * 1.0e4 / nb_co2[on], np.nan)
    kind = np.searchsorted(np.array(ACTION_ORDER), action[on], sorter=np.argsort(ACTION_ORDER))
    kind = np.argsort(ACTION_ORDER)[np.clip(kind, 0, len(ACTION_ORDER) - 1)]
    order = np.argsort(cost, kind="stable")
    width, cost, next_cost, kind = width[order], cost[order], next_cost[order], kind[order]
    left = np.concatenate([[0.0], np.cumsum(width)[:-1]])
    return {"width": width, "cost": cost, "left": left, "next_cost": next_cost,
            "kind": kind.astype(float)}


def _co2_target(ds: xr.Dataset) -> float:
    if "kpi_target" in ds and "co2_cut_t" in ds["kpi"].values:
        return float(ds["kpi_target"].sel(kpi="co2_cut_t"))
    return float("nan")


def plot_mac_curve(
    ds: xr.Dataset,
    lang: str = "zh",
    scenario: str | None = None,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Marginal abatement cost curve of the plan (元 per t CO2 against cumulative t CO2).

    One bar per firm that acts and cuts CO2: width = its CO2 cut (t/yr), height
    = public cost of its chosen action per t cut (元/t), colour = the action,
    sorted by cost; the widths add up to the plan's total CO2 cut by acting
    firms. Black ticks: cost per t of the firm's best option of another action
    (:func:`next_best_other_action`), when that option cuts CO2. Dashed
    vertical line: the CO2 target (``kpi_target`` of ``co2_cut_t``, t/yr).
    The y axis is logarithmic (costs span orders of magnitude) and ends where
    99.5% of the abatement is reached (× 4); the x axis is labelled in 万t
    (zh) or kt (en).
    """
    check_lang(lang)
    view = select_scenario(ds, scenario)
    data = mac_data(view)
    fig = new_figure(figsize or FIG_WIDE)
    ax = fig.add_subplot()
    if data["width"].size:
        colors = np.array([ACTION_COLORS[k] for k in ACTION_ORDER])[data["kind"].astype(int)]
        ax.bar(data["left"], data["cost"], width=data["width"], align="edge", color=colors,
               linewidth=0, gid="mac")
        nxt = np.isfinite(data["next_cost"]) & (data["next_cost"] > 0)
        if nxt.any():
            ax.hlines(data["next_cost"][nxt], data["left"][nxt],
                      data["left"][nxt] + data["width"][nxt], colors="black", linewidth=1.3,
                      label=label("mac_next", lang), gid="mac_next")
        positive = data["cost"][data["cost"] > 0]
        low = 10.0 ** np.floor(np.log10(positive.min())) if positive.size else 1.0
        cum = np.cumsum(data["width"]) / data["width"].sum()
        high = data["cost"][min(int(np.searchsorted(cum, 0.995)), data["cost"].size - 1)] * 4
        ax.set_yscale("log")
        ax.set_ylim(low, max(high, low * 10))
    target = _co2_target(view)
    if np.isfinite(target):
        ax.axvline(target, label=f"{label('mac_target', lang)} {_tons(target, lang)}",
                   gid="co2_target", color=TARGET_LINE_COLOR, linestyle="--", linewidth=1.2)
    scale = 1.0e4 if lang == "zh" else 1.0e3
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v / scale:,.4g}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v, lang, 2)))
    ax.set_xlabel(label("mac_x", lang))
    ax.set_ylabel(label("mac_y", lang))
    total = data["width"].sum()
    ax.set_xlim(0, max(total, target if np.isfinite(target) else 0.0, 1.0) * 1.03)
    ax.grid(axis="x", visible=False)
    ax.set_title(_title(view, "mac_title", lang), loc="left")
    present = sorted(set(data["kind"].astype(int).tolist()))
    handles = [Patch(facecolor=ACTION_COLORS[ACTION_ORDER[k]], label=label(ACTION_ORDER[k], lang))
               for k in present]
    extra, names = ax.get_legend_handles_labels()
    xmax = ax.get_xlim()[1]
    frac = target / xmax if np.isfinite(target) and xmax > 0 else 1.0
    anchor = (frac + 0.02, 1.0) if frac < 0.5 else (0.0, 1.0)
    ax.legend(handles=handles + extra, labels=[h.get_label() for h in handles] + names,
              loc="upper left", bbox_to_anchor=anchor, fontsize=7, frameon=True,
              facecolor="white", edgecolor="none", framealpha=0.9)
    return fig


def _tons(t: float, lang: str) -> str:
    return f"{t / 1e4:,.4g}万吨" if lang == "zh" else f"{t / 1e3:,.4g} kt"


# --------------------------------------------------------------------- marginal costs
def binding_kpis(ds: xr.Dataset) -> list[str]:
    """KPIs with a target that bind: ``kpi_binding`` or a non-zero finite marginal cost.

    For a comparison, a KPI is listed when it binds in any scenario.
    """
    mc = ds["kpi_marginal_cost_yuan"]
    target = np.isfinite(ds["kpi_target"])
    binds = (ds["kpi_binding"].astype(bool) | (np.abs(mc.fillna(0.0)) > 0)) & target
    binds = binds & np.isfinite(mc)
    if "scenario" in binds.dims:
        binds = binds.any("scenario")
    return [str(k) for k in ds["kpi"].values[binds.values]]


def plot_marginal_costs(
    ds: xr.Dataset, lang: str = "zh", *, figsize: tuple[float, float] | None = None
) -> Figure:
    """Marginal cost of each binding target, from the duals, per scenario.

    Bar length = |``kpi_marginal_cost_yuan``| (元 per unit of the KPI: per mu,
    per tce, per t CO2, per firm, per 万元/mu of a ratio KPI, per percentage
    point of intensity cut, per person of a jobs limit). For a ≥ target it is
    the cost of one more unit; for a ≤ limit the cost of tightening it by one.
    Log scale: the units differ by orders of magnitude.
    """
    check_lang(lang)
    cmp = as_comparison(ds)
    kpis = binding_kpis(cmp)
    scenarios = [str(s) for s in cmp["scenario"].values]
    n_s = len(scenarios)
    fig = new_figure(
        figsize or (FIG_WIDE[0], max(2.0, 0.3 * max(1, len(kpis)) * max(1, min(n_s, 3)) + 1.0))
    )
    ax = fig.add_subplot()
    ax.set_title(label("mc_title", lang), loc="left")
    if not kpis:
        ax.text(0.5, 0.5, label("mc_none", lang), ha="center", va="center",
                transform=ax.transAxes, color=NEUTRAL)
        ax.set_axis_off()
        return fig
    values = np.abs(cmp["kpi_marginal_cost_yuan"].sel(kpi=kpis).values)  # (scenario, kpi)
    binding = cmp["kpi_binding"].sel(kpi=kpis).values.astype(bool) | (values > 0)
    values = np.where(binding & np.isfinite(values), values, 0.0)
    height = 0.8 / n_s
    y0 = np.arange(len(kpis))[::-1].astype(float)
    for i, (name, color) in enumerate(zip(scenarios, scenario_colors(n_s), strict=True)):
        y = y0 + (n_s - 1) / 2 * height - i * height
        ax.barh(y, values[i], height=height * 0.9, color=color, label=name, gid=f"mc:{name}")
        for yy, v, k in zip(y, values[i], kpis, strict=True):
            if v > 0:
                ax.text(v * 1.08, yy, f"{fmt_number(v, lang, 3)} {mc_unit(k, lang)}",
                        va="center", fontsize=6.5, color=NEUTRAL)
    positive = values[values > 0]
    ax.set_xscale("log")
    ax.set_xlim(positive.min() / 3, positive.max() * 20)
    sense = cmp["kpi_sense"].sel(kpi=kpis).values.astype(str)
    suffix = "（上限）" if lang == "zh" else " (limit)"
    names = [_kpi_name(k, lang) + (suffix if s == "<=" else "")
             for k, s in zip(kpis, sense, strict=True)]
    ax.set_yticks(y0, names)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v, lang, 2)))
    ax.set_xlabel(label("mc_x", lang))
    ax.grid(axis="y", visible=False)
    if n_s > 1:
        fig.legend(loc="outside lower center", ncols=min(n_s, 4), fontsize=7)
    return fig


# --------------------------------------------------------------------- classes
def plot_class_distribution(
    ds: xr.Dataset,
    lang: str = "zh",
    scenario: str | None = None,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """亩均 class counts before and after the plan (evaluated firms).

    Before: base-year ``muni_class``. After: exited and merged firms leave
    (last bar, "退出/并入"); relocated and upgraded firms are re-scored with
    their end-year effects against the base-year class boundaries; others
    keep their class (rule: :mod:`sim.plots.classes`).
    """
    check_lang(lang)
    view = select_scenario(ds, scenario)
    _need(view, ["muni_class", "action", "score"], "the class distribution")
    before, after = class_counts(view)
    cats = [*CLASSES, GONE]
    fig = new_figure(figsize or (FIG_WIDE[0] * 0.62, 2.9))
    ax = fig.add_subplot()
    x = np.arange(len(cats))
    b = np.array([before.get(c, 0) for c in cats], dtype=float)
    a = np.array([after[c] for c in cats], dtype=float)
    w = 0.38
    colors = [CLASS_COLORS.get(c, "#7f7f7f") for c in CLASSES] + ["#7f7f7f"]
    ax.bar(x[:-1] - w / 2, b[:-1], width=w, color=colors[:-1], alpha=0.45,
           label=label("class_before", lang), gid="before", edgecolor="white")
    after_x = np.where(x < len(CLASSES), x + w / 2, x)
    ax.bar(after_x, a, width=w, color=colors, label=label("class_after", lang), gid="after",
           edgecolor="white")
    for xx, v in zip(x - w / 2, b, strict=True):
        if v:
            ax.text(xx, v, f"{v:.0f}", ha="center", va="bottom", fontsize=6.5, color=NEUTRAL)
    for xx, v in zip(after_x, a, strict=True):
        ax.text(xx, v, f"{v:.0f}", ha="center", va="bottom", fontsize=6.5, color="black")
    names = [*CLASSES[:], label("gone", lang)]
    ax.set_xticks(x, [f"{c}类" if lang == "zh" and c in CLASSES else
                      (f"class {c}" if c in CLASSES else c) for c in names])
    ax.set_ylabel(label("class_y", lang))
    ax.set_ylim(0, max(b.max(), a.max()) * 1.15)
    ax.grid(axis="x", visible=False)
    ax.set_title(_title(view, "class_title", lang), loc="left")
    handles = [Patch(facecolor="#7f7f7f", alpha=0.45, label=label("class_before", lang)),
               Patch(facecolor="#7f7f7f", label=label("class_after", lang))]
    ax.legend(handles=handles, loc="upper right")
    return fig


# --------------------------------------------------------------------- freed by district
def freed_by_district(ds: xr.Dataset) -> xr.Dataset:
    """Land freed (mu) and energy freed (tce/yr) by district, from ``totals``.

    Over ``by_district`` (and ``scenario`` for a comparison).
    """
    _need(ds, ["totals"], "land and energy by district")
    t = ds["totals"].sum("by_sector")
    return xr.Dataset({"land_freed_mu": t.sel(metric="land_freed_mu", drop=True),
                       "energy_saved_tce": t.sel(metric="energy_saved_tce", drop=True)})


def plot_freed_by_district(
    ds: xr.Dataset, lang: str = "zh", *, figsize: tuple[float, float] | None = None
) -> Figure:
    """Two panels: land freed (mu) and energy freed (万tce/yr; en: 10 kt coal eq.) by district.

    Horizontal bars, one per scenario for a comparison, districts sorted by
    land freed in the (reference) scenario.
    """
    check_lang(lang)
    cmp = as_comparison(ds)
    freed = freed_by_district(cmp)
    ref = str(cmp.attrs.get("reference"))
    order = np.argsort(-freed["land_freed_mu"].sel(scenario=ref).values, kind="stable")
    districts = freed["by_district"].values.astype(str)[order]
    scenarios = [str(s) for s in cmp["scenario"].values]
    n_s = len(scenarios)
    fig = new_figure(
        figsize or (FIG_WIDE[0], max(2.6, 0.22 * len(districts) * max(1, min(n_s, 2)) + 1.0))
    )
    axes = fig.subplots(1, 2, sharey=True)
    height = 0.8 / n_s
    y0 = np.arange(len(districts))[::-1].astype(float)
    panels = (("land_freed_mu", 1.0, "freed_land"), ("energy_saved_tce", 1.0e4, "freed_energy"))
    for ax, (var, scale, key) in zip(axes, panels, strict=True):
        values = freed[var].values[:, order] / scale  # (scenario, district)
        colors = scenario_colors(n_s) if n_s > 1 else [PANEL_COLORS[var]]
        for i, (name, color) in enumerate(zip(scenarios, colors, strict=True)):
            y = y0 + (n_s - 1) / 2 * height - i * height
            ax.barh(y, values[i], height=height * 0.9, color=color, label=name, gid=f"{var}:{name}")
        ax.set_xlabel(label(key, lang))
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.4g}"))
    axes[0].set_yticks(y0, districts)
    title = label("freed_title", lang)
    if n_s == 1:
        title = f"{title}：{scenarios[0]}" if lang == "zh" else f"{title}: {scenarios[0]}"
    else:
        axes[1].legend(loc="lower right")
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    return fig


# --------------------------------------------------------------------- sets
def scenario_figures(
    ds: xr.Dataset, out_dir: str | Path, lang: str = "zh", formats: Iterable[str] = ("png",)
) -> dict[str, Path]:
    """Render the single-scenario figure set into ``out_dir``; return name → PNG (or first) path.

    The set: ``attainment``, ``action_district``, ``action_sector``, ``mac``
    (when the result holds CO2 effects), ``marginal_cost``, ``classes``,
    ``freed``. The Pareto frontier is not part of it (it reruns the
    scenario; see :func:`sim.plots.pareto.pareto_sweep`).
    """
    check_lang(lang)
    out = Path(out_dir)
    view = select_scenario(ds)
    builders = {
        "attainment": lambda: plot_target_attainment(view, lang),
        "action_district": lambda: plot_action_mix(view, "district", lang),
        "action_sector": lambda: plot_action_mix(view, "sector", lang),
        "mac": lambda: plot_mac_curve(view, lang),
        "marginal_cost": lambda: plot_marginal_costs(view, lang),
        "classes": lambda: plot_class_distribution(view, lang),
        "freed": lambda: plot_freed_by_district(view, lang),
    }
    return _render(builders, out, lang, formats, figure_provenance(ds))


def comparison_figures(
    cmp: xr.Dataset, out_dir: str | Path, lang: str = "zh", formats: Iterable[str] = ("png",)
) -> dict[str, Path]:
    """Render the comparison figure set: attainment, actions, marginal costs, freed."""
    check_lang(lang)
    builders = {
        "attainment": lambda: plot_target_attainment(cmp, lang),
        "actions": lambda: plot_action_counts(cmp, lang),
        "marginal_cost": lambda: plot_marginal_costs(cmp, lang),
        "freed": lambda: plot_freed_by_district(cmp, lang),
    }
    return _render(builders, Path(out_dir), lang, formats, figure_provenance(cmp))


def _render(builders: Mapping[str, Callable[[], Figure]], out: Path, lang: str,
            formats: Iterable[str], provenance: str) -> dict[str, Path]:
    kinds = list(formats)
    paths: dict[str, Path] = {}
    for name, build in builders.items():
        fig = build()
        written = save_figure(fig, out / f"{name}-{lang}.png", kinds, provenance)
        paths[name] = written[0]
    return paths


def scenario_title(ds: xr.Dataset) -> str:
    """The scenario's title from its manifest (may be empty)."""
    try:
        return str(json.loads(ds.attrs.get("manifest", "{}"))["scenario"].get("title", ""))
    except (ValueError, KeyError, AttributeError):
        return ""
