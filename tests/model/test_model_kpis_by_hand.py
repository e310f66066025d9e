"""Issue #3, part 2: a small plan's effects and KPIs computed by hand.

Four firms with literal data; every scenario parameter that enters the
arithmetic is written out in the scenario below, and every expected number
is literal arithmetic on those figures. The plan: F1 exits, F2 (below
scale) upgrades deep, F3 relocates into its park, F4 is A-class and exempt
(outside the choice problem, kept by rule).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from model_factories import register_from

from sim.data.calibration import load_calibration
from sim.pipeline import Model, build_model
from sim.results.kpis import KPI, compute_kpis
from sim.scenario.schema import Scenario

FIRMS: dict[str, list[Any]] = {
    "id": ["F1", "F2", "F3", "F4"],
    "district": ["萧山", "萧山", "富阳", "富阳"],
    "sector": ["C17", "C17", "C22", "C22"],
    "land_mu": [40.0, 25.0, 60.0, 30.0],
    "employees": [80.0, 50.0, 120.0, 40.0],
    "value_added_wan": [2000.0, 1500.0, 3000.0, 2500.0],
    "tax_wan": [200.0, 150.0, 250.0, 300.0],
    "energy_tce": [3000.0, 1200.0, 9000.0, 1500.0],
    "revenue_wan": [8000.0, 6000.0, 12000.0, 10000.0],
    "co2_t": [6000.0, 2400.0, 18000.0, 3000.0],
    "rd_wan": [50.0, 30.0, 60.0, 80.0],
    "above_scale": [True, False, True, True],
    "park": [""] * 4,
    "violation": [False] * 4,
    "two_high": [True, False, True, False],
    "name": ["甲", "乙", "丙", "丁"],
    "x_km": [12.0, 13.0, -32.0, -30.0],
    "y_km": [-22.0, -21.0, -28.0, -27.0],
    "class_given": ["D", "C", "C", "A"],
}

# District industrial-land price floors of the packaged calibration (万元/mu).
PRICE = {"萧山": 16.8, "富阳": 12.0}

SCENARIO: dict[str, Any] = {
    "name": "by-hand",
    "population": {"reference_firms": 4},
    "horizon": {
        "base_year": 2020,
        "start_year": 2021,
        "end_year": 2023,
        "report_until": 2025,
        "growth": {"value_added": 0.07, "tax": 0.06, "energy_efficiency": 0.03, "employees": 0.01},
    },
    "eligibility": {"candidates_only": False, "exempt_classes": ["A"], "violators_must_act": True},
    "actions": {
        "exit": {
            "energy_leakage_share": 0.1,
            "buyback_price_factor": 2.0,
            "severance_wan_per_job": 5.0,
        },
        "merge": {
            "candidates_per_firm": 1,
            "land_freed_share": 0.5,
            "jobs_retained_share": 0.7,
            "va_retained_share": 1.1,
            "investment_wan_per_mu": 60.0,
            "subsidy_share": 0.03,
            "subsidy_cap_wan": 200.0,
        },
        "relocate": {
            "candidates_per_firm": 1,
            "plot_ratio_gain": 2.0,
            "energy_saving_share": 0.2,
            "va_gain_share": 0.1,
            "jobs_retained_share": 0.9,
            "subsidy_wan_per_mu": 15.0,
            "capex_wan_per_mu": 80.0,
        },
        "upgrade": {
            "levels": [
                {
                    "name": "basic",
                    "energy_saving_share": 0.12,
                    "va_gain_share": 0.06,
                    "jobs_change_share": -0.03,
                    "capex_wan_per_tce": 0.8,
                    "subsidy_share": 0.2,
                },
                {
                    "name": "deep",
                    "energy_saving_share": 0.28,
                    "va_gain_share": 0.18,
                    "jobs_change_share": -0.08,
                    "capex_wan_per_tce": 1.6,
                    "subsidy_share": 0.3,
                },
            ]
        },
        "redevelopment": {
            "share": 0.7,
            "converted_share": 0.1,
            "lag_years": 1,
            "va_per_mu_wan": 300.0,
            "tax_per_mu_wan": 55.0,
            "energy_per_va_tce": 0.12,
            "jobs_per_mu": 0.8,
            "land_resale_wan_per_mu_factor": 1.0,
        },
    },
    "new_projects": {"enabled": False},
    "targets": {
        "land_freed_mu": 90.0,
        "energy_saved_tce": 5000.0,
        "co2_cut_t": 9000.0,
        "firms_rectified": 3,
        "tax_per_mu_wan": 40.0,
        "va_per_mu_wan": 200.0,
        "labour_productivity_wan": 100.0,
        "energy_intensity_reduction": 0.6,
        "district_split": {"mode": "none"},
    },
    "limits": {"budget_wan": 3000.0, "jobs_lost_max": 100.0},
    "phasing": {"enabled": False},
}

# Growth factors base year 2020 → end year 2023 (three years).
G_VA = 1.07**3
G_TAX = 1.06**3
G_ENERGY = 1.07**3 * 0.97**3
G_EMP = 1.01**3

PLAN = {"F1": "exit@2021", "F2": "upgrade:deep@2021", "F3": "relocate#1@2021"}


@pytest.fixture(scope="module")
def model() -> Model:
    return build_model(Scenario.model_validate(SCENARIO), register=register_from(FIRMS))


@pytest.fixture(scope="module")
def kpis(model: Model) -> dict[str, KPI]:
    return {k.name: k for k in compute_kpis(model, _choice(model))}


def _choice(model: Model) -> np.ndarray:
    labels = model.options.slot_labels
    return np.array([labels.index(PLAN[u]) for u in model.options.unit_ids], dtype=np.int64)


def effect(model: Model, unit: str, option: str, metric: str) -> float:
    return float(model.options.to_dataarray().sel(unit=unit, option=option, metric=metric))


def test_setup(model: Model) -> None:
    calibration = {d.name_zh: d.land_price_floor_wan_per_mu for d in load_calibration().districts}
    assert {d: calibration[d] for d in PRICE} == PRICE
    # F4 (A-class, exempt) is outside the problem; C17 has no A/B acquirer
    assert model.options.unit_ids.tolist() == ["F1", "F2", "F3"]
    assert model.register["muni_class"].values.tolist() == ["D", "C", "C", "A"]
    assert np.isnan(model.options.to_dataarray().sel(unit="F1", option="merge#1@2021")).all()
    assert model.options.target[2, model.options.slot_labels.index("merge#1@2021")] == "F4"


def test_exit_effects(model: Model) -> None:
    e = {m: effect(model, "F1", "exit@2021", m) for m in model.options.metrics}
    assert e["rectified"] == 1.0
    assert e["land_freed_mu"] == pytest.approx(40.0)
    assert e["energy_saved_tce"] == pytest.approx(3000 * (1 - 0.1))
    assert e["co2_cut_t"] == pytest.approx(6000 * (1 - 0.1))
    assert e["jobs_lost"] == pytest.approx(80.0)
    buyback = 40 * 16.8 * 2.0  # land × district floor × buy-back factor = 1344
    resale = 40 * 0.7 * 16.8 * 1.0  # redeveloped land × floor × resale factor = 470.4
    severance = 80 * 5.0  # 400
    assert e["public_cost_wan"] == pytest.approx(buyback - resale + severance)
    assert e["public_cost_wan"] == pytest.approx(1273.6)
    assert e["private_capex_wan"] == 0.0
    assert e["land_converted_mu"] == pytest.approx(40 * 0.1)
    assert e["land_for_projects_mu"] == pytest.approx(40 * (1 - 0.7 - 0.1))
    # end state: nothing of its own, entrants on 28 mu (2021 + lag 1 ≤ 2023)
    assert e["land_after_mu"] == pytest.approx(28.0)
    assert e["va_after_wan"] == pytest.approx(28 * 300.0)
    assert e["tax_after_wan"] == pytest.approx(28 * 55.0)
    assert e["energy_after_tce"] == pytest.approx(28 * 300.0 * 0.12)
    assert e["employees_after"] == pytest.approx(28 * 0.8)
    assert e["tax_kpi_wan"] == pytest.approx(1540.0)  # entrants count as above scale


def test_upgrade_effects_and_cost_split(model: Model) -> None:
    e = {m: effect(model, "F2", "upgrade:deep@2021", m) for m in model.options.metrics}
    saved = 1200 * 0.28  # 336 tce/yr
    capex = saved * 1.6  # 537.6 万元
    assert e["energy_saved_tce"] == pytest.approx(336.0)
    assert e["co2_cut_t"] == pytest.approx(2400 * 0.28)
    assert e["public_cost_wan"] == pytest.approx(capex * 0.3)  # 161.28
    assert e["private_capex_wan"] == pytest.approx(capex * 0.7)  # 376.32
    assert e["public_cost_wan"] + e["private_capex_wan"] == pytest.approx(537.6)
    assert e["land_freed_mu"] == 0.0
    assert e["jobs_lost"] == pytest.approx(50 * 0.08)
    assert e["va_after_wan"] == pytest.approx(1500 * 1.18 * G_VA)
    assert e["tax_after_wan"] == pytest.approx(150 * 1.18 * G_TAX)
    assert e["energy_after_tce"] == pytest.approx(1200 * 0.72 * G_ENERGY)
    assert e["employees_after"] == pytest.approx(50 * 0.92 * G_EMP)
    assert e["land_after_mu"] == pytest.approx(25.0)
    # below scale: outside the ratio KPIs
    for m in ("va_kpi_wan", "tax_kpi_wan", "energy_kpi_tce", "land_kpi_mu", "employees_kpi"):
        assert e[m] == 0.0


def test_relocate_effects(model: Model) -> None:
    e = {m: effect(model, "F3", "relocate#1@2021", m) for m in model.options.metrics}
    assert e["land_freed_mu"] == pytest.approx(60.0)
    assert e["park_land_mu"] == pytest.approx(60 / 2.0)
    assert e["energy_saved_tce"] == pytest.approx(9000 * 0.2)
    assert e["jobs_lost"] == pytest.approx(120 * (1 - 0.9))
    # buy-back 60·12·2 − resale 42·12 + subsidy 60·15
    assert e["public_cost_wan"] == pytest.approx(1440 - 504 + 900)
    assert e["private_capex_wan"] == pytest.approx(30 * 80.0)
    assert e["va_kpi_wan"] == pytest.approx(3000 * 1.1 * G_VA + 42 * 300.0)
    assert e["tax_kpi_wan"] == pytest.approx(250 * 1.1 * G_TAX + 42 * 55.0)
    assert e["land_kpi_mu"] == pytest.approx(30 + 42)
    assert e["energy_kpi_tce"] == pytest.approx(9000 * 0.8 * G_ENERGY + 42 * 300 * 0.12)
    assert e["employees_kpi"] == pytest.approx(120 * 0.9 * G_EMP + 42 * 0.8)


def test_merge_effects(model: Model) -> None:
    """F3 merging into F4 (intensity 1500/2500 = 0.6 tce/万元, tax rate 0.12)."""
    e = {m: effect(model, "F3", "merge#1@2021", m) for m in model.options.metrics}
    va_base = 3000 * 1.1
    energy_new = va_base * 0.6  # 1980
    assert e["land_freed_mu"] == pytest.approx(30.0)
    assert e["acquirer_land_mu"] == pytest.approx(30.0)
    assert e["energy_saved_tce"] == pytest.approx(9000 - energy_new)
    assert e["co2_cut_t"] == pytest.approx(18000 * (9000 - energy_new) / 9000)
    subsidy = min(200.0, 0.03 * 60 * 60)  # 108
    assert e["public_cost_wan"] == pytest.approx(30 * 12 * 2 - 21 * 12 + subsidy)
    assert e["private_capex_wan"] == pytest.approx(60 * 60 - subsidy)
    assert e["jobs_lost"] == pytest.approx(120 * 0.3)
    assert e["va_kpi_wan"] == pytest.approx(va_base * G_VA + 21 * 300)
    assert e["tax_kpi_wan"] == pytest.approx(va_base * G_VA * 0.12 + 21 * 55)
    assert e["energy_kpi_tce"] == pytest.approx(energy_new * G_ENERGY + 21 * 300 * 0.12)


def test_keep_effects(model: Model) -> None:
    e = {m: effect(model, "F1", "keep", m) for m in model.options.metrics}
    assert e["va_after_wan"] == pytest.approx(2000 * G_VA)
    assert e["tax_kpi_wan"] == pytest.approx(200 * G_TAX)
    assert e["energy_kpi_tce"] == pytest.approx(3000 * G_ENERGY)
    assert e["employees_kpi"] == pytest.approx(80 * G_EMP)
    assert e["public_cost_wan"] == 0.0 and e["rectified"] == 0.0


def test_plan_totals(kpis: dict[str, KPI]) -> None:
    assert kpis["land_freed_mu"].achieved == pytest.approx(40 + 60)
    assert kpis["energy_saved_tce"].achieved == pytest.approx(2700 + 336 + 1800)
    assert kpis["co2_cut_t"].achieved == pytest.approx(5400 + 672 + 3600)
    assert kpis["firms_rectified"].achieved == 3
    assert kpis["public_cost_wan"].achieved == pytest.approx(1273.6 + 161.28 + 1836)
    assert kpis["private_capex_wan"].achieved == pytest.approx(0 + 376.32 + 2400)
    assert kpis["jobs_lost"].achieved == pytest.approx(80 + 4 + 12)
    assert kpis["projects_admitted"].achieved == 0
    assert kpis["land_freed_mu"].target == 90.0 and kpis["land_freed_mu"].met
    assert not kpis["energy_saved_tce"].met  # 4836 < 5000
    assert kpis["co2_cut_t"].met  # 9672 ≥ 9000
    assert not kpis["public_cost_wan"].met  # 3270.88 > 3000


def test_end_year_ratio_kpis(kpis: dict[str, KPI]) -> None:
    # above scale at the end year: F1's entrants, F3 relocated + entrants, F4 kept
    tax = 28 * 55 + (250 * 1.1 * G_TAX + 42 * 55) + 300 * G_TAX
    va = 28 * 300 + (3000 * 1.1 * G_VA + 42 * 300) + 2500 * G_VA
    land = 28 + (30 + 42) + 30
    employees = 28 * 0.8 + (120 * 0.9 * G_EMP + 42 * 0.8) + 40 * G_EMP
    energy = 28 * 300 * 0.12 + (9000 * 0.8 * G_ENERGY + 42 * 300 * 0.12) + 1500 * G_ENERGY
    base_intensity = (3000 + 9000 + 1500) / (2000 + 3000 + 2500)  # 1.8, above scale only
    assert kpis["tax_per_mu_wan"].achieved == pytest.approx(tax / land)
    assert kpis["va_per_mu_wan"].achieved == pytest.approx(va / land)
    assert kpis["labour_productivity_wan"].achieved == pytest.approx(va / employees)
    assert kpis["energy_intensity_reduction"].achieved == pytest.approx(
        1 - (energy / va) / base_intensity
    )
    # base year and no action (every firm keeps)
    assert kpis["tax_per_mu_wan"].base == pytest.approx((200 + 250 + 300) / (40 + 60 + 30))
    assert kpis["va_per_mu_wan"].base == pytest.approx(7500 / 130)
    assert kpis["labour_productivity_wan"].base == pytest.approx(7500 / 240)
    assert kpis["energy_intensity_reduction"].base == pytest.approx(0.0)
    assert kpis["tax_per_mu_wan"].baseline_end == pytest.approx(750 * G_TAX / 130)
    assert kpis["labour_productivity_wan"].baseline_end == pytest.approx(
        7500 * G_VA / (240 * G_EMP)
    )
    assert kpis["energy_intensity_reduction"].baseline_end == pytest.approx(1 - 0.97**3)
    assert kpis["tax_per_mu_wan"].target == 40.0
    assert not kpis["tax_per_mu_wan"].met  # 34.9 < 40
    assert kpis["va_per_mu_wan"].met  # 216.2 ≥ 200


def test_kpi_rows_agree_with_the_ratios(model: Model, kpis: dict[str, KPI]) -> None:
    """The linearised KPI rows hold exactly when the ratio meets its target."""
    from sim.optimise.verify import verify

    report = verify(model.problem, _choice(model))
    violation = dict(zip(report.rows["constraint"], report.rows["violation"], strict=True))
    for name in (
        "tax_per_mu_wan",
        "va_per_mu_wan",
        "labour_productivity_wan",
        "energy_intensity_reduction",
    ):
        satisfied = violation[f"kpi:{name}"] <= 1e-9
        assert satisfied == kpis[name].met, name


def test_result_dataset_carries_the_hand_numbers(model: Model, kpis: dict[str, KPI]) -> None:
    from sim.optimise.problem import Solution
    from sim.optimise.verify import verify
    from sim.results.dataset import build_result, decisions_table

    choice = _choice(model)
    solution = Solution(choice, 3270.88, 3270.88, 0.0, "optimal", "hand")
    report = verify(model.problem, choice)
    ds = build_result(model, solution, report, list(kpis.values()), "{}")
    effect = ds["effect"].to_pandas()
    assert effect.loc["F1", "land_freed_mu"] == pytest.approx(40.0)
    assert effect.loc["F2", "public_cost_wan"] == pytest.approx(161.28)
    assert effect.loc["F3", "private_capex_wan"] == pytest.approx(2400.0)
    # F4 is outside the problem: it keeps, grown from the base year
    assert effect.loc["F4", "va_after_wan"] == pytest.approx(2500 * G_VA)
    assert effect.loc["F4", "public_cost_wan"] == 0.0
    totals = ds["totals"].sum("by_sector").to_pandas()
    assert totals.loc["萧山", "land_freed_mu"] == pytest.approx(40.0)
    assert totals.loc["富阳", "land_freed_mu"] == pytest.approx(60.0)
    assert totals.loc["萧山", "public_cost_wan"] == pytest.approx(1273.6 + 161.28)
    assert totals.loc["富阳", "public_cost_wan"] == pytest.approx(1836.0)
    achieved = ds["kpi_achieved"].to_pandas()
    assert achieved["energy_saved_tce"] == pytest.approx(4836.0)
    assert achieved["tax_per_mu_wan"] == pytest.approx(kpis["tax_per_mu_wan"].achieved)
    table = decisions_table(ds).set_index("id")
    assert table.loc["F3", "option"] == "relocate#1@2021"
    assert (
        table.loc["F3", "action_target"]
        == model.options.parks.ids[
            int(model.options.park_index[2, model.options.slot_labels.index("relocate#1@2021")])
        ]
    )
    assert table.loc["F2", "action"] == "upgrade" and table.loc["F2", "action_target"] == "deep"
    assert "F4" not in table.index
