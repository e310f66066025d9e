"""Every briefing plot builds from a small result and draws the numbers it should.

The checks read the artists back (bar widths and heights, line positions)
and compare them with numbers computed here from the result Datasets with
plain numpy.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from result_factories import BASE, N_FIRMS, TIGHT, small_results, small_scenario

from sim.errors import InputError
from sim.plots import briefing
from sim.plots.pareto import pareto_sweep, plot_pareto
from sim.plots.style import DPI, FONT_FAMILY, label, new_figure, save_figure
from sim.results.compare import compare


@pytest.fixture(scope="module")
def base() -> xr.Dataset:
    return small_results()[0]


@pytest.fixture(scope="module")
def cmp() -> xr.Dataset:
    return compare(list(small_results()))


def _patches(fig: Figure, gid: str) -> list[Rectangle]:
    return [p for ax in fig.axes for p in ax.patches
            if isinstance(p, Rectangle) and p.get_gid() == gid]


def _lines(fig: Figure, gid: str) -> list[object]:
    return [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]


def _metric(ds: xr.Dataset, metric: str) -> np.ndarray:
    return np.asarray(ds["effect"].sel(metric=metric).values, dtype=float)


def _attainment_kpis(ds: xr.Dataset) -> list[str]:
    """KPIs with a target in any scenario: ≥ targets first, then ≤ limits (kpi order)."""
    target = ds["kpi_target"].values
    has = np.isfinite(target).any(axis=0) if target.ndim == 2 else np.isfinite(target)
    sense = ds["kpi_sense"].values.astype(str)
    names = ds["kpi"].values.astype(str)
    return [*names[has & (sense == ">=")], *names[has & (sense == "<=")]]


def _top_to_bottom(patches: list[Rectangle]) -> list[Rectangle]:
    return sorted(patches, key=lambda p: -(p.get_y() + p.get_height() / 2))


# --------------------------------------------------------------------- attainment
def test_attainment_bars_are_kpi_ratios(cmp: xr.Dataset) -> None:
    fig = briefing.plot_target_attainment(cmp)
    kpis = _attainment_kpis(cmp)
    for name in (BASE, TIGHT):
        bars = _top_to_bottom(_patches(fig, f"attainment:{name}"))
        assert len(bars) == len(kpis)
        achieved = cmp["kpi_achieved"].sel(scenario=name, kpi=kpis).values
        target = cmp["kpi_target"].sel(scenario=name, kpi=kpis).values
        np.testing.assert_allclose([b.get_width() for b in bars], 100 * achieved / target,
                                   rtol=1e-12)
    (line,) = _lines(fig, "target_line")
    assert list(line.get_xdata()) == [100.0, 100.0]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == label(kpis[0], "zh")
    assert any("上限" in t for t in labels)  # the budget and jobs limits are marked


def test_attainment_of_a_single_result(base: xr.Dataset) -> None:
    fig = briefing.plot_target_attainment(base, lang="en")
    kpis = _attainment_kpis(base)
    bars = _top_to_bottom(_patches(fig, f"attainment:{BASE}"))
    expected = 100 * base["kpi_achieved"].sel(kpi=kpis).values / base["kpi_target"].sel(
        kpi=kpis).values
    np.testing.assert_allclose([b.get_width() for b in bars], expected)
    assert fig.axes[0].get_xlabel() == "attainment (achieved / target, %)"


# --------------------------------------------------------------------- action mix
@pytest.mark.parametrize("by", ["district", "sector"])
def test_action_mix_counts(base: xr.Dataset, by: str) -> None:
    fig = briefing.plot_action_mix(base, by=by)
    action = base["action"].values.astype(str)
    groups = base[by].values.astype(str)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    for kind in ("exit", "merge", "relocate", "upgrade"):
        bars = sorted(_patches(fig, kind), key=lambda p: p.get_x())
        assert sum(b.get_height() for b in bars) == np.sum(action == kind)
        for bar, group in zip(bars, ticks, strict=False):
            assert bar.get_height() == np.sum((action == kind) & (groups == group))
    acting = np.isin(action, ["exit", "merge", "relocate", "upgrade"])
    assert set(ticks) == set(groups[acting])


def test_action_mix_from_a_comparison_picks_the_scenario(cmp: xr.Dataset) -> None:
    tight = small_results()[1]
    fig = briefing.plot_action_mix(cmp, scenario=TIGHT)
    exits = sum(b.get_height() for b in _patches(fig, "exit"))
    assert exits == np.sum(tight["action"].values.astype(str) == "exit")
    with pytest.raises(InputError, match="no scenario 'nope'"):
        briefing.plot_action_mix(cmp, scenario="nope")


def test_action_counts_per_scenario(cmp: xr.Dataset) -> None:
    fig = briefing.plot_action_counts(cmp)
    for kind in ("exit", "merge", "upgrade"):
        bars = _top_to_bottom(_patches(fig, kind))
        if not bars:
            continue
        expected = [np.sum(ds["action"].values.astype(str) == kind) for ds in small_results()]
        assert [b.get_width() for b in bars] == expected


# --------------------------------------------------------------------- MAC curve
def _next_best_by_hand(ds: xr.Dataset, firm: str) -> float:
    """元/t of the best-scoring option of another acting kind (NaN if none cuts CO2)."""
    slots = ds["option_slot"].values.astype(str)
    chosen = str(ds["action"].sel(enterprise=firm).item())
    best, best_score = None, np.inf
    for k, slot in enumerate(slots):
        kind = slot.split("@")[0].split("#")[0].split(":")[0]
        if kind in ("keep", "admit", chosen):
            continue
        score = float(ds["option_score"].sel(unit=firm).values[k])
        if np.isfinite(score) and score < best_score:
            best, best_score = k, score
    if best is None:
        return np.nan
    eff = ds["option_effect"].sel(unit=firm).isel(option_slot=best)
    co2 = float(eff.sel(metric="co2_cut_t"))
    return float(eff.sel(metric="public_cost_wan")) * 1e4 / co2 if co2 > 0 else np.nan


def test_mac_curve(base: xr.Dataset) -> None:
    fig = briefing.plot_mac_curve(base)
    bars = sorted(_patches(fig, "mac"), key=lambda p: p.get_x())
    co2 = _metric(base, "co2_cut_t")
    cost = _metric(base, "public_cost_wan")
    acting = (base["action"].values.astype(str) != "keep") & (co2 > 0)
    assert len(bars) == acting.sum()
    widths = np.array([b.get_width() for b in bars])
    heights = np.array([b.get_height() for b in bars])
    np.testing.assert_allclose(widths.sum(), co2[acting].sum(), rtol=1e-12)
    np.testing.assert_allclose(np.sort(heights), np.sort(cost[acting] * 1e4 / co2[acting]))
    assert np.all(np.diff(heights) >= 0)  # sorted by cost
    lefts = np.array([b.get_x() for b in bars])
    np.testing.assert_allclose(lefts[1:], np.cumsum(widths)[:-1])  # bars touch
    (target,) = _lines(fig, "co2_target")
    assert target.get_xdata()[0] == pytest.approx(1.2e6 * N_FIRMS / 20000)
    assert target.get_xdata()[0] == pytest.approx(float(base["kpi_target"].sel(kpi="co2_cut_t")))
    # next-best ticks: one per firm whose best other action cuts CO2, at its cost per t
    ids = base["enterprise"].values.astype(str)[acting]
    by_hand = np.array([_next_best_by_hand(base, firm) for firm in ids])
    data = briefing.mac_data(base)
    np.testing.assert_allclose(np.sort(data["next_cost"][np.isfinite(data["next_cost"])]),
                               np.sort(by_hand[np.isfinite(by_hand)]), rtol=1e-5)
    ticks = [c for ax in fig.axes for c in ax.collections
             if isinstance(c, LineCollection) and c.get_gid() == "mac_next"]
    finite = np.isfinite(by_hand) & (by_hand > 0)
    if finite.any():
        assert len(ticks[0].get_segments()) == finite.sum()


def test_mac_curve_without_per_option_data(base: xr.Dataset) -> None:
    slim = base.drop_vars(["option_effect", "option_score", "option_target", "unit_choice"])
    data = briefing.mac_data(slim)
    assert np.isnan(data["next_cost"]).all()
    assert data["width"].sum() == pytest.approx(briefing.mac_data(base)["width"].sum())


# --------------------------------------------------------------------- marginal costs
def test_marginal_cost_bars_are_duals(cmp: xr.Dataset) -> None:
    fig = briefing.plot_marginal_costs(cmp)
    mc = cmp["kpi_marginal_cost_yuan"].values
    target = np.isfinite(cmp["kpi_target"].values)
    binds = target & np.isfinite(mc) & (cmp["kpi_binding"].values.astype(bool) | (mc != 0))
    kpis = cmp["kpi"].values[binds.any(axis=0)]
    assert len(kpis) >= 1
    for k, name in enumerate((BASE, TIGHT)):
        bars = _top_to_bottom(_patches(fig, f"mc:{name}"))
        expected = np.abs(cmp["kpi_marginal_cost_yuan"].sel(scenario=name, kpi=kpis).values)
        expected = np.where(binds[k][np.isin(cmp["kpi"].values, kpis)], expected, 0.0)
        np.testing.assert_allclose([b.get_width() for b in bars], expected)
    # the binding jobs limit of the tight scenario has a price
    if "jobs_lost" in kpis:
        assert float(np.abs(cmp["kpi_marginal_cost_yuan"].sel(scenario=TIGHT, kpi="jobs_lost"))) > 0


def test_marginal_costs_without_binding_target(base: xr.Dataset) -> None:
    slack = base.copy()
    slack["kpi_binding"] = slack["kpi_binding"] & False
    slack["kpi_marginal_cost_yuan"] = slack["kpi_marginal_cost_yuan"] * 0
    fig = briefing.plot_marginal_costs(slack)
    assert any(label("mc_none", "zh") in t.get_text() for t in fig.axes[0].texts)


# --------------------------------------------------------------------- classes, freed
def test_class_distribution(base: xr.Dataset) -> None:
    fig = briefing.plot_class_distribution(base)
    cls = base["muni_class"].values.astype(str)
    action = base["action"].values.astype(str)
    evaluated = cls != ""
    before = sorted(_patches(fig, "before"), key=lambda p: p.get_x())
    after = sorted(_patches(fig, "after"), key=lambda p: p.get_x())
    assert [b.get_height() for b in before] == [np.sum(cls == c) for c in "ABCD"]
    gone = np.sum(evaluated & np.isin(action, ["exit", "merge"]))
    assert after[-1].get_height() == gone
    assert sum(b.get_height() for b in after) == evaluated.sum()
    # firms that keep stay in their class, so a class can only lose its exits and merges
    # and gain re-scored upgrades/relocations
    for k, c in enumerate("ABCD"):
        stay = np.sum((cls == c) & (action == "keep"))
        assert after[k].get_height() >= stay


def test_freed_by_district(base: xr.Dataset) -> None:
    fig = briefing.plot_freed_by_district(base)
    districts, index = np.unique(base["district"].values.astype(str), return_inverse=True)
    land = np.bincount(index, weights=_metric(base, "land_freed_mu"))
    energy = np.bincount(index, weights=_metric(base, "energy_saved_tce"))
    land_bars = _top_to_bottom(_patches(fig, f"land_freed_mu:{BASE}"))
    energy_bars = _top_to_bottom(_patches(fig, f"energy_saved_tce:{BASE}"))
    order = np.argsort(-land, kind="stable")
    np.testing.assert_allclose([b.get_width() for b in land_bars], land[order])
    np.testing.assert_allclose([b.get_width() * 1e4 for b in energy_bars], energy[order])
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == list(districts[order])


# --------------------------------------------------------------------- Pareto
def test_pareto_sweep_and_plot(base: xr.Dataset) -> None:
    jobs0 = float(base["kpi_achieved"].sel(kpi="jobs_lost"))
    sweep = pareto_sweep(small_scenario(BASE), points=2, least_cost=base, time_limit=20,
                         tight_end=0.9 * jobs0)  # one new run: ε = 90% of least-cost jobs
    cost0 = float(base["kpi_achieved"].sel(kpi="public_cost_wan"))
    assert sweep.sizes["point"] == 2 and sweep.attrs["dropped"] == 0
    np.testing.assert_allclose(sweep["epsilon"].values, [jobs0, 0.9 * jobs0])
    assert np.all(np.diff(sweep["epsilon"].values) < 0)  # ever tighter limits
    assert np.all(sweep["jobs_lost"].values <= sweep["epsilon"].values * (1 + 1e-6) + 1e-6)
    assert np.all(sweep["public_cost_wan"].values >= cost0 * (1 - 2e-3))  # least cost first
    fig = plot_pareto(sweep)
    (line,) = _lines(fig, "frontier")
    order = np.argsort(sweep["jobs_lost"].values)
    np.testing.assert_allclose(line.get_xdata(), sweep["jobs_lost"].values[order])
    np.testing.assert_allclose(line.get_ydata(), sweep["public_cost_wan"].values[order] / 1e4)
    with pytest.raises(InputError, match="pareto metric"):
        pareto_sweep(small_scenario(BASE), metric="tax")


# --------------------------------------------------------------------- rendering
BUILDERS = {
    "attainment": lambda ds, lang: briefing.plot_target_attainment(ds, lang),
    "action_district": lambda ds, lang: briefing.plot_action_mix(ds, "district", lang),
    "action_sector": lambda ds, lang: briefing.plot_action_mix(ds, "sector", lang),
    "mac": lambda ds, lang: briefing.plot_mac_curve(ds, lang),
    "marginal_cost": lambda ds, lang: briefing.plot_marginal_costs(ds, lang),
    "classes": lambda ds, lang: briefing.plot_class_distribution(ds, lang),
    "freed": lambda ds, lang: briefing.plot_freed_by_district(ds, lang),
    "actions": lambda ds, lang: briefing.plot_action_counts(ds, lang),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_chinese_renders_without_missing_glyphs(name: str, cmp: xr.Dataset,
                                                tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph ... missing" UserWarning fails here
        fig = BUILDERS[name](cmp, "zh")
        save_figure(fig, tmp_path / f"{name}.png")
    text = " ".join(
        [ax.get_title(loc="left") + ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes]
        + [t.get_text() for ax in fig.axes
           for t in [*ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels()]]
    )
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)  # Chinese was drawn


def test_missing_glyph_would_be_caught(tmp_path: Path) -> None:
    fig = new_figure((2, 1))
    fig.text(0.1, 0.5, "目标 \u2b1f")  # a pentagon the CJK font does not have
    with warnings.catch_warnings(), pytest.raises(UserWarning, match=r"[Gg]lyph"):
        warnings.simplefilter("error")
        save_figure(fig, tmp_path / "bad.png")
    import matplotlib

    assert matplotlib.rcParams["font.sans-serif"][0] == FONT_FAMILY


def test_scenario_figures_png_svg_pdf(base: xr.Dataset, tmp_path: Path) -> None:
    paths = briefing.scenario_figures(base, tmp_path, lang="zh")
    assert set(paths) == {"attainment", "action_district", "action_sector", "mac",
                          "marginal_cost", "classes", "freed"}
    for name, path in paths.items():
        assert path.name == f"{name}-zh.png" and path.exists()
    height, width = matplotlib.image.imread(paths["classes"]).shape[:2]
    w_in, h_in = briefing.plot_class_distribution(base).get_size_inches()
    assert abs(width - w_in * DPI) <= 1 and abs(height - h_in * DPI) <= 1  # 200 dpi
    vector = save_figure(briefing.plot_class_distribution(base), tmp_path / "v.png",
                         ("svg", "pdf"))
    assert vector[0].read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert vector[1].read_bytes().startswith(b"%PDF")
    with pytest.raises(InputError, match="unknown language"):
        briefing.scenario_figures(base, tmp_path, lang="fr")


def test_comparison_figures(cmp: xr.Dataset, tmp_path: Path) -> None:
    paths = briefing.comparison_figures(cmp, tmp_path, lang="en")
    assert set(paths) == {"attainment", "actions", "marginal_cost", "freed"}
    assert all(p.exists() for p in paths.values())


def test_figures_record_the_manifest_that_produced_them(
    base: xr.Dataset, cmp: xr.Dataset, tmp_path: Path
) -> None:
    import json

    from sim.plots.style import read_png_provenance

    paths = briefing.scenario_figures(base, tmp_path / "one", lang="zh", formats=("png", "svg"))
    for path in paths.values():
        assert read_png_provenance(path) == base.attrs["manifest"]
    svg = paths["mac"].with_suffix(".svg").read_text(encoding="utf-8")
    assert '"git_commit"' in svg  # Dublin Core <dc:source> of the SVG
    paths = briefing.comparison_figures(cmp, tmp_path / "cmp", lang="en")
    text = read_png_provenance(paths["attainment"])
    assert text is not None
    per_scenario = json.loads(text)
    names = [str(s) for s in cmp["scenario"].values]
    assert sorted(per_scenario) == sorted(names)
    for name, value in zip(names, cmp["manifest"].values, strict=True):
        assert per_scenario[name] == json.loads(str(value))
    # a figure saved without provenance has none
    bare = save_figure(briefing.plot_class_distribution(base), tmp_path / "bare.png")[0]
    assert read_png_provenance(bare) is None
