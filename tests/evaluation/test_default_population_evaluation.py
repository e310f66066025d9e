"""The default population under the default evaluation: classes and the candidate pool."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sim.evaluation.config import load_evaluation_config
from sim.evaluation.muni import evaluate, summarise_evaluation

# Plan targets (hangzhou-plan-2021-2023): land freed, energy freed, CO2 cut.
PLAN_LAND_MU, PLAN_ENERGY_TCE, PLAN_CO2_T = 20_000, 600_000, 1_200_000


@pytest.fixture(scope="module")
def evaluated(default_population: xr.Dataset) -> xr.Dataset:
    return evaluate(default_population)


def test_class_shares_within_two_points(evaluated: xr.Dataset) -> None:
    shares = load_evaluation_config().class_shares
    summary = summarise_evaluation(evaluated)
    for group in ("above_scale", "below_scale", "all"):
        for c in "ABCD":
            assert summary["class_shares"][group][c] == pytest.approx(getattr(shares, c), abs=0.02)


def test_pool_can_meet_the_plan(evaluated: xr.Dataset) -> None:
    s = summarise_evaluation(evaluated)
    assert 1_500 <= s["candidates"] <= 3_500
    assert 0.3 <= PLAN_LAND_MU / s["candidate_land_mu"] <= 0.8
    assert 0.3 <= PLAN_ENERGY_TCE / s["candidate_energy_tce"] <= 0.8
    assert 0.3 <= PLAN_CO2_T / s["candidate_co2_t"] <= 0.8
    assert s["candidates"] >= 700  # the plan rectifies ≥ 700 firms


def test_pool_rule(evaluated: xr.Dataset) -> None:
    v = {k: evaluated[k].to_numpy() for k in evaluated.data_vars}
    cd = np.isin(v["muni_class"], ["C", "D"])
    rule = (cd & (v["flag_intensity"] | v["flag_two_high"])) | v["flag_violation"]
    assert (v["candidate"] == (rule & (v["land_mu"] >= 5))).all()
    assert v["violation"][~v["candidate"]].sum() == 0  # every violator is a candidate


def test_low_classes_are_less_efficient(evaluated: xr.Dataset) -> None:
    above = evaluated["above_scale"].to_numpy()
    cls = evaluated["muni_class"].to_numpy()
    tpm = evaluated["tax_wan"].to_numpy() / evaluated["land_mu"].to_numpy()
    assert np.median(tpm[above & (cls == "A")]) > 2 * np.median(tpm[above & (cls == "D")])
