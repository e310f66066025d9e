"""Yearly trajectories: accounting identities, agreement with the end-year KPIs, results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.pipeline import build_model, load_scenario
from sim.results.kpis import compute_kpis, keep_choice
from sim.simulate.engine import growth_paths
from sim.simulate.factors import QUANTITIES
from sim.simulate.trajectories import add_trajectories, trajectories

ROOT = Path(__file__).resolve().parents[2]
RATIOS = ("tax_per_mu_wan", "va_per_mu_wan", "labour_productivity_wan",
          "energy_intensity_reduction")
FLOW_KPIS = {"land_freed_mu": "land_freed_mu", "energy_saved_tce": "energy_saved_tce",
             "co2_cut_t": "co2_cut_t", "firms_rectified": "firms_rectified",
             "jobs_lost": "jobs_displaced", "public_cost_wan": "public_cost_cum_wan"}


def _reference_state(model: Any, choice: np.ndarray, quantity: str) -> np.ndarray:
    """All-firm total of one state quantity per year, firm by firm (a plain loop)."""
    scenario = model.scenario
    h = scenario.horizon
    years = np.arange(h.base_year, h.report_until + 1)
    growth = growth_paths(scenario, years)[0]
    q = QUANTITIES.index(quantity)
    column = {"energy_tce": "energy_tce", "employees": "employees", "va_wan": "value_added_wan",
              "tax_wan": "tax_wan", "land_mu": "land_mu"}[quantity]
    metric = {"energy_tce": "energy_after_tce", "employees": "employees_after",
              "va_wan": "va_after_wan", "tax_wan": "tax_after_wan",
              "land_mu": "land_after_mu"}[quantity]
    r = scenario.actions.redevelopment
    per_mu = {"va_wan": r.va_per_mu_wan, "tax_wan": r.tax_per_mu_wan,
              "energy_tce": r.va_per_mu_wan * r.energy_per_va_tce, "land_mu": 1.0,
              "employees": r.jobs_per_mu}[quantity]
    ramps = scenario.phasing.trajectories.ramp_up
    x0 = np.asarray(model.register[column].values, dtype=float)
    total = np.outer(growth[:, q], x0).sum(axis=1)  # everyone keeps
    options = model.options
    firm_index = np.flatnonzero(model.acting)
    m = options.metrics.index(metric)
    freed = options.metrics.index("land_freed_mu")
    end = h.end_year - h.base_year
    for unit, slot_index in enumerate(choice):
        slot = options.slots[slot_index]
        value = options.effects[unit, slot_index, m]
        if options.is_project[unit]:
            if slot.kind == "admit":
                lag = scenario.phasing.trajectories.project_lag_years
                total += np.where(years >= h.start_year + lag, value, 0.0)
            continue
        if slot.kind == "keep":
            continue
        x = x0[firm_index[unit]]
        entrant = options.effects[unit, slot_index, freed] * r.share * per_mu
        entrant_at_end = slot.year + r.lag_years <= h.end_year
        own_end = value - entrant * entrant_at_end
        for k, year in enumerate(years):
            if year < slot.year:
                continue
            shares = ramps.get(slot.kind, [1.0])
            ramp = shares[min(year - slot.year, len(shares) - 1)]
            change = own_end - x * growth[end, q]
            total[k] += ramp * change * growth[k, q] / growth[end, q]
            if year >= slot.year + r.lag_years:
                total[k] += entrant
    return total


def test_land_balance_identity(phased_plan: Any) -> None:
    """stock_t = stock_{t−1} − converted_t + 1.2·converted_t, from the scenario's start stock."""
    model, choice = phased_plan.model, phased_plan.choice
    ds = trajectories(model, choice)
    stock = ds["industrial_land_stock_mu"].values
    converted = np.diff(ds["land_converted_mu"].values, prepend=0.0)
    replacement = ds["land_replacement_mu"].values
    np.testing.assert_allclose(replacement, 1.2 * converted, rtol=1e-12)
    np.testing.assert_allclose(stock[1:], stock[:-1] - converted[1:] + replacement[1:], rtol=1e-12)
    assert stock[0] == pytest.approx(470_000 * model.scale)
    assert converted.sum() > 0
    assert bool(ds["land_floor_ok"].all())
    assert float(ds["land_floor_mu"]) == pytest.approx(450_000 * model.scale)


@pytest.mark.parametrize("quantity", ["energy_tce", "employees", "va_wan", "land_mu"])
def test_state_balance_matches_firm_by_firm(phased_plan: Any, quantity: str) -> None:
    """Baseline + Σ action changes + entrants + projects = the path, year by year."""
    model, choice = phased_plan.model, phased_plan.choice
    ds = trajectories(model, choice)
    state = ds["state_all"].sel(quantity=quantity)
    np.testing.assert_allclose(state.sum("component").values,
                               _reference_state(model, choice, quantity), rtol=1e-9)
    if quantity in ("energy_tce", "employees", "va_wan"):
        name = quantity
        np.testing.assert_allclose(ds[name].values, state.sum("component").values, rtol=1e-12)
    years = ds["year"].values
    growth = growth_paths(model.scenario, years)[0, :, QUANTITIES.index(quantity)]
    column = {"energy_tce": "energy_tce", "employees": "employees", "va_wan": "value_added_wan",
              "land_mu": "land_mu"}[quantity]
    base = float(model.register[column].sum())
    np.testing.assert_allclose(state.sel(component="baseline").values, base * growth, rtol=1e-12)


def test_actions_spread_over_years(phased_plan: Any) -> None:
    """Phasing: cumulative flows step up in action years; cost is counted in its year."""
    model, choice = phased_plan.model, phased_plan.choice
    ds = trajectories(model, choice)
    years = np.array([model.options.slots[c].year for c in choice
                      if model.options.slots[c].kind not in ("keep", "admit")])
    assert len(set(years.tolist())) >= 2, "the fixture should act in several years"
    land = ds["land_freed_mu"]
    assert float(land.sel(year=2020)) == 0.0
    assert np.all(np.diff(land.values) >= -1e-9)
    kpis = {k.name: k for k in compute_kpis(model, choice)}
    assert float(ds["public_cost_wan"].sum()) == pytest.approx(kpis["public_cost_wan"].achieved)
    levels = ds["target_level"].sel(target="land_freed_mu")
    assert float(levels.sel(year=2021)) == pytest.approx(0.3 * 20000 * model.scale)
    met = float(land.sel(year=2023)) >= float(levels.sel(year=2023))
    assert bool(ds["target_met"].sel(target="land_freed_mu", year=2023)) == met


def test_end_year_equals_kpis_when_ramp_complete(small_run: Any) -> None:
    """All actions in 2021, upgrades ramp 50% → 100% by 2022: 2023 equals compute_kpis."""
    model, choice = small_run.model, small_run.solution.choice
    assert "upgrade" in set(model.options.slot_kinds[choice])
    ds = trajectories(model, choice).sel(year=2023)
    kpis = {k.name: k.achieved for k in compute_kpis(model, choice)}
    for name in RATIOS:
        assert float(ds[name]) == pytest.approx(kpis[name], rel=1e-9), name
    for kpi, series in FLOW_KPIS.items():
        assert float(ds[series]) == pytest.approx(kpis[kpi], rel=1e-9), kpi


def test_end_year_differs_by_ramp_only(phased_plan: Any) -> None:
    """Phased: without ramp-up the end year equals the KPIs; with it, 2023 upgrades lag."""
    model, choice = phased_plan.model, phased_plan.choice
    kpis = {k.name: k.achieved for k in compute_kpis(model, choice)}
    ramps = model.scenario.phasing.trajectories.ramp_up
    try:
        model.scenario.phasing.trajectories.ramp_up = {}
        flat = trajectories(model, choice).sel(year=2023)
    finally:
        model.scenario.phasing.trajectories.ramp_up = ramps
    for name in RATIOS:
        assert float(flat[name]) == pytest.approx(kpis[name], rel=1e-9), name
    ramped = trajectories(model, choice).sel(year=2023)
    assert float(ramped["energy_saved_plan_tce"]) == pytest.approx(kpis["energy_saved_tce"])
    late = [model.options.slots[c] for c in choice]
    late_upgrades = sum(s.kind == "upgrade" and s.year == 2023 for s in late)
    if late_upgrades:
        assert float(ramped["energy_saved_tce"]) < kpis["energy_saved_tce"]
    else:
        assert float(ramped["energy_saved_tce"]) == pytest.approx(kpis["energy_saved_tce"])


def test_result_dataset_carries_trajectories(small_run: Any) -> None:
    ds = small_run.dataset
    assert ds.sizes["year"] == 6
    for name in ("traj_land_freed_mu", "traj_tax_per_mu_wan", "traj_industrial_land_stock_mu",
                 "traj_state_kpi", "traj_target_level"):
        assert name in ds, name
    assert ds["traj_state_kpi"].dims == ("year", "traj_component", "traj_quantity")
    again = add_trajectories(ds.drop_vars([v for v in ds.data_vars if str(v).startswith("traj_")]),
                             small_run.model, small_run.solution.choice)
    np.testing.assert_array_equal(again["traj_va_per_mu_wan"].values,
                                  ds["traj_va_per_mu_wan"].values)


def test_next_round_years_are_parameters() -> None:
    """The 2026–2028 scenario is a horizon edit: trajectories run 2025..2030."""
    scenario, _ = load_scenario(ROOT / "scenarios" / "hangzhou-2026-2028.yaml")
    scenario.population.scale_to_population = True
    model = build_model(scenario, n_firms=400)
    ds = trajectories(model, keep_choice(model))
    assert ds["year"].values.tolist() == list(range(2025, 2031))
    assert model.scenario.phasing.cumulative_shares == {2026: 0.3, 2027: 0.65, 2028: 1.0}
    levels = ds["target_level"].sel(target="land_freed_mu")
    assert np.isnan(float(levels.sel(year=2025)))
    assert float(levels.sel(year=2026)) == pytest.approx(0.3 * 20000 * model.scale)
