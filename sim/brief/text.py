"""The words and numbers of a brief: formatted values and generated sentences.

Number formats (what a brief shows, and what its tests look for):

* :func:`fmt_value`: shares (unit ``share``) as a percentage with one
  decimal (``18.2%``); other values with thousands separators, no decimals
  when |v| ≥ 100 (``1,535``), else three significant digits (``45.0``).
* :func:`fmt_yuan`: 元 amounts in 万元/亿元 with three significant digits
  (``18.8万元``; en ``188k yuan``).
* Attainment: achieved / target × 100 with no decimals (``128%``).
* Headline: public cost in 亿元 with two decimals (``3.90亿元``; en
  ``390.39 million yuan``), jobs as an integer with separators, firms by action.

Sentences (:func:`binding_sentences`): the binding target with the largest
shadow value (|marginal cost| × target, the amount the target adds to the
objective at the margin) is "the tightest"; each binding target gets the
marginal cost of one more unit, e.g. "盘活低效工业用地目标约束最紧：每多盘活1亩，
边际成本约18.8万元。".
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sim.plots.style import fmt_number, label

UNITS_ZH = {
    "mu": "亩",
    "tce": "吨标准煤",
    "t CO2": "吨CO2",
    "firms": "家",
    "万元/mu": "万元/亩",
    "万元/person": "万元/人",
    "share": "%",
    "万元": "万元",
    "persons": "人",
    "projects": "个",
}
UNITS_EN = {"万元/mu": "10k yuan/mu", "万元/person": "10k yuan/person", "万元": "10k yuan",
            "share": "%", "t CO2": "t CO2"}

# "one more unit" of each KPI: (zh, en)
ONE_MORE: dict[str, tuple[str, str]] = {
    "land_freed_mu": ("每多盘活1亩", "each extra mu of land freed"),
    "energy_saved_tce": ("每多腾出1吨标准煤", "each extra tce of energy freed"),
    "co2_cut_t": ("每多减碳1吨", "each extra t of CO2 cut"),
    "firms_rectified": ("每多整治1家企业", "each extra firm rectified"),
    "tax_per_mu_wan": ("亩均税收每提高1万元/亩", "each extra 10k yuan/mu of tax per mu"),
    "va_per_mu_wan": ("亩均增加值每提高1万元/亩", "each extra 10k yuan/mu of VA per mu"),
    "labour_productivity_wan": ("劳动生产率每提高1万元/人",
                                "each extra 10k yuan/person of labour productivity"),
    "energy_intensity_reduction": ("能耗强度降幅每提高1个百分点",
                                   "each extra percentage point of energy-intensity cut"),
    "public_cost_wan": ("预算每收紧1万元", "each 10k yuan less budget"),
    "jobs_lost": ("岗位调整上限每收紧1人", "each job fewer allowed to be displaced"),
}


def unit_text(unit: str, lang: str = "zh") -> str:
    """Display form of a KPI unit (``mu`` → ``亩``)."""
    return UNITS_ZH.get(unit, unit) if lang == "zh" else UNITS_EN.get(unit, unit)


def fmt_value(value: float, unit: str = "") -> str:
    """A KPI value as the brief prints it (see the module docstring)."""
    if value is None or not np.isfinite(value):
        return "—"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_pct(ratio: float) -> str:
    """achieved / target as a whole percentage (``1.279`` → ``128%``)."""
    return "—" if not np.isfinite(ratio) else f"{ratio * 100:.0f}%"


def fmt_yuan(value: float, lang: str = "zh") -> str:
    """An amount in 元, e.g. ``18.8万元`` or ``188k yuan``."""
    text = fmt_number(value, lang, 3)
    return f"{text}元" if lang == "zh" else f"{text} yuan"


def fmt_cost_wan(value_wan: float, lang: str = "zh") -> str:
    """Public cost given in 万元, shown in 亿元 (zh) or million yuan (en), two decimals."""
    if lang == "zh":
        return f"{value_wan / 1e4:,.2f}亿元"
    return f"{value_wan / 100:,.2f} million yuan"


def _kpi_values(ds: xr.Dataset, name: str) -> tuple[float, float, float, bool, str]:
    row = ds.sel(kpi=name)
    return (
        float(row["kpi_target"]),
        float(row["kpi_achieved"]),
        float(row["kpi_marginal_cost_yuan"]),
        bool(row["kpi_binding"]),
        str(row["kpi_sense"].item()),
    )


def binding_kpis_ranked(ds: xr.Dataset) -> list[str]:
    """Binding KPIs of one result, largest shadow value (|mc| × |target|) first.

    A KPI binds when it has a target and ``kpi_binding`` is set or its
    marginal cost is finite and non-zero.
    """
    out = []
    for name in ds["kpi"].values.astype(str):
        target, _ach, mc, binding, _sense = _kpi_values(ds, name)
        if not np.isfinite(target):
            continue
        if (binding or (np.isfinite(mc) and mc != 0)) and np.isfinite(mc):
            out.append((abs(mc) * abs(target), name))
    return [n for _, n in sorted(out, key=lambda t: -t[0])]


def binding_sentences(ds: xr.Dataset, lang: str = "zh") -> list[str]:
    """What binds and what it costs, one sentence per binding target, tightest first."""
    names = binding_kpis_ranked(ds)
    sentences = []
    for i, name in enumerate(names):
        _t, _a, mc, _b, _s = _kpi_values(ds, name)
        zh, en = ONE_MORE.get(name, ("每多1单位", "each extra unit"))
        cost = fmt_yuan(abs(mc), lang)
        if lang == "zh":
            lead = label(name, "zh") + ("目标约束最紧" if i == 0 else "目标也有约束")
            sentences.append(f"{lead}：{zh}，边际成本约{cost}。")
        else:
            lead = (f"The {label(name, 'en')} target binds hardest" if i == 0
                    else f"The {label(name, 'en')} target also binds")
            sentences.append(f"{lead}: {en} costs about {cost} at the margin.")
    if not names:
        sentences.append("所有目标均有余量，没有约束性目标。" if lang == "zh"
                         else "No target binds: every target has slack.")
    return sentences


def unmet_sentences(ds: xr.Dataset, lang: str = "zh") -> list[str]:
    """One sentence per target that is not met (a shortfall plan)."""
    out = []
    for name in ds["kpi"].values.astype(str):
        row = ds.sel(kpi=name)
        if np.isfinite(float(row["kpi_target"])) and not bool(row["kpi_met"]):
            unit = unit_text(str(row["kpi_unit"].item()), lang)
            t, a = float(row["kpi_target"]), float(row["kpi_achieved"])
            if lang == "zh":
                out.append(f"{label(name, 'zh')}未达标：目标{fmt_value(t)}{unit}，"
                           f"实际{fmt_value(a)}{unit}。")
            else:
                out.append(f"{label(name, 'en')} is not met: target {fmt_value(t)} {unit}, "
                           f"achieved {fmt_value(a)} {unit}.")
    return out


def action_counts(ds: xr.Dataset) -> dict[str, int]:
    """Firms per acting action (exit, merge, relocate, upgrade) of one result."""
    action = ds["action"].values.astype(str)
    return {k: int(np.sum(action == k)) for k in ("exit", "merge", "relocate", "upgrade")}


def headline(ds: xr.Dataset, lang: str = "zh") -> str:
    """Public cost, jobs displaced and firms by action, as the brief's headline line."""
    cost = float(ds["kpi_achieved"].sel(kpi="public_cost_wan"))
    jobs = float(ds["kpi_achieved"].sel(kpi="jobs_lost"))
    counts = action_counts(ds)
    total = sum(counts.values())
    mix = "、".join(f"{label(k, 'zh')}{v}家" for k, v in counts.items() if v)
    if lang == "zh":
        return (f"财政成本 {fmt_cost_wan(cost)} · 岗位调整 {jobs:,.0f}人 · "
                f"整治企业 {total}家（{mix or '无'}）")
    mix_en = ", ".join(f"{v} {label(k, 'en')}" for k, v in counts.items() if v)
    return (f"public cost {fmt_cost_wan(cost, 'en')} · jobs displaced {jobs:,.0f} · "
            f"firms acting {total} ({mix_en or 'none'})")


def scenario_text(ds: xr.Dataset, lang: str = "zh") -> str:
    """The generated paragraph of a one-scenario page."""
    parts = unmet_sentences(ds, lang) + binding_sentences(ds, lang)
    return "".join(parts) if lang == "zh" else " ".join(parts)


def comparison_sentences(cmp: xr.Dataset, lang: str = "zh") -> list[str]:
    """Per scenario: its differences from the reference in cost, jobs, land and firms."""
    ref = str(cmp.attrs["reference"])
    out = []
    for name in cmp["scenario"].values.astype(str):
        if name == ref:
            continue
        diff = cmp["kpi_achieved_diff"].sel(scenario=name)
        d_cost = float(diff.sel(kpi="public_cost_wan"))
        d_jobs = float(diff.sel(kpi="jobs_lost"))
        d_land = float(diff.sel(kpi="land_freed_mu")) if "land_freed_mu" in cmp["kpi"] else 0.0
        count = cmp["action_count"].sel(scenario=name) - cmp["action_count"].sel(scenario=ref)
        d_firms = int(count.sel(action_kind=["exit", "merge", "relocate", "upgrade"]).sum())
        if lang == "zh":
            out.append(
                f"与{ref}相比，{name}财政成本{_more_less(d_cost)}{fmt_value(abs(d_cost))}万元，"
                f"岗位调整{_more_less(d_jobs)}{abs(d_jobs):,.0f}人，"
                f"盘活土地{_more_less(d_land)}{fmt_value(abs(d_land))}亩，"
                f"整治企业{_more_less(d_firms)}{abs(d_firms)}家。"
            )
        else:
            out.append(
                f"Against {ref}, {name} costs {_signed(d_cost)} 10k yuan, displaces "
                f"{_signed(d_jobs, 0)} jobs, frees {_signed(d_land)} mu and acts on "
                f"{_signed(d_firms, 0)} firms."
            )
    return out


def _more_less(value: float) -> str:
    return "多" if value > 0 else ("少" if value < 0 else "相同，差")


def _signed(value: float, digits: int | None = None) -> str:
    text = f"{abs(value):,.0f}" if digits == 0 else fmt_value(abs(value))
    return f"+{text}" if value > 0 else (f"-{text}" if value < 0 else "±0")
