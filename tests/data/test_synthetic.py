"""Calibration properties of the synthetic population (CALIBRATION.md, issue #2)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.stats import spearmanr

from sim.data.calibration import load_calibration
from sim.data.register import COLUMNS, VARIABLES
from sim.data.synthetic import generate_population

HEAVY = ["C17", "C22", "C25", "C26", "C28", "C30", "C31", "C32"]


def _above(ds: xr.Dataset) -> np.ndarray:
    return ds["above_scale"].to_numpy()


def _total(ds: xr.Dataset, var: str, mask: np.ndarray) -> float:
    return float(ds[var].to_numpy()[mask].sum())


def test_register_structure(default_population: xr.Dataset) -> None:
    ds = default_population
    assert ds.sizes == {"enterprise": 20_000}
    assert ds["enterprise"].dtype.kind == "U"
    assert set(VARIABLES) <= set(ds.data_vars)
    for c in COLUMNS:
        attrs = ds[c.name].attrs if c.name != "id" else ds["enterprise"].attrs
        assert attrs["units"] and attrs["long_name"] and attrs["long_name_zh"], c.name
    assert ds["land_mu"].attrs["units"] == "mu"
    assert ds["energy_tce"].attrs["units"] == "tce"
    assert ds["co2_t"].attrs["units"] == "t CO2"
    assert ds["value_added_wan"].attrs["units"] == "万元"
    assert ds["sector"].dtype.kind == "U" and ds["above_scale"].dtype == bool


def test_default_size_and_above_scale_share(default_population: xr.Dataset) -> None:
    ds = default_population
    assert (ds["land_mu"] >= 5).all()
    assert int(_above(ds).sum()) == round(20_000 / 3)
    rev = ds["revenue_wan"].to_numpy()
    assert (rev[_above(ds)] >= 2000).all() and (rev[~_above(ds)] < 2000).all()
    assert set(np.unique(ds["sector"].to_numpy())) <= set(load_calibration().sector_codes)
    assert set(np.unique(ds["district"].to_numpy())) <= set(load_calibration().district_names)


def test_above_scale_aggregates(default_population: xr.Dataset) -> None:
    ds = default_population
    a = _above(ds)
    va, land = _total(ds, "value_added_wan", a), _total(ds, "land_mu", a)
    assert va == pytest.approx(4.1e7, rel=0.10)
    assert 30 <= _total(ds, "tax_wan", a) / land <= 36  # plan target 45 binds
    assert 165 <= va / land <= 195  # plan target 240 binds
    assert 28 <= va / _total(ds, "employees", a) <= 33  # plan target 39 binds
    assert _total(ds, "energy_tce", a) == pytest.approx(15e6, rel=0.10)
    assert 2.5 <= va / _total(ds, "energy_tce", a) <= 3.0
    assert 210_000 <= land <= 250_000


def test_energy_heavy_tail(default_population: xr.Dataset) -> None:
    energy = default_population["energy_tce"].to_numpy()
    big = energy >= 1000
    assert big.mean() < 0.10
    assert 0.65 <= energy[big].sum() / energy.sum() <= 0.80


def test_energy_heavy_sectors_have_low_va_per_tce(default_population: xr.Dataset) -> None:
    ds = default_population
    heavy = np.isin(ds["sector"].to_numpy(), HEAVY)
    ratio_heavy = _total(ds, "value_added_wan", heavy) / _total(ds, "energy_tce", heavy)
    ratio_light = _total(ds, "value_added_wan", ~heavy) / _total(ds, "energy_tce", ~heavy)
    assert ratio_heavy < 0.3 * ratio_light
    assert _total(ds, "energy_tce", heavy) > 0.6 * float(ds["energy_tce"].sum())


def test_low_tax_firms_hold_more_land_per_output(default_population: xr.Dataset) -> None:
    ds = default_population
    va = ds["value_added_wan"].to_numpy()
    tax_rate = ds["tax_wan"].to_numpy() / va
    land_per_va = ds["land_mu"].to_numpy() / va
    for mask in (_above(ds), ~_above(ds), np.ones(va.size, bool)):
        rho = spearmanr(tax_rate[mask], land_per_va[mask])[0]
        assert rho < -0.15


def test_flags_and_parks(default_population: xr.Dataset) -> None:
    ds = default_population
    cal = load_calibration()
    assert 0.01 <= float(ds["violation"].mean()) <= 0.03
    two_high = ds["two_high"].to_numpy()
    assert 0.05 <= two_high.mean() <= 0.10
    assert np.isin(ds["sector"].to_numpy()[two_high], HEAVY).mean() > 0.8
    park = ds["park"].to_numpy()
    assert 0.55 <= (park != "").mean() <= 0.65
    park_district = {p.id: p.district for p in cal.parks}
    in_park = park != ""
    assert set(np.unique(park[in_park])) <= set(park_district)
    expected = np.array([park_district[p] for p in park[in_park]])
    assert (expected == ds["district"].to_numpy()[in_park]).all()


def test_co2_is_energy_times_emission_factor(default_population: xr.Dataset) -> None:
    ds = default_population
    np.testing.assert_allclose(ds["co2_t"], ds["energy_tce"] * 2.0)


@pytest.mark.parametrize("n", [1_000, 100_000])
def test_totals_scale_with_n(n: int, default_population: xr.Dataset) -> None:
    ds = generate_population(n, seed=1)
    a = _above(ds)
    ref = default_population
    scale = n / 20_000
    for var in ("value_added_wan", "land_mu", "tax_wan", "energy_tce", "employees"):
        assert _total(ds, var, a) == pytest.approx(_total(ref, var, _above(ref)) * scale, rel=0.05)


def test_tiny_populations() -> None:
    for n in (1, 2, 5):
        ds = generate_population(n, seed=3)
        assert ds.sizes["enterprise"] == n
        assert np.isfinite(ds["value_added_wan"]).all() and (ds["land_mu"] >= 5).all()


def test_same_seed_identical_different_seed_differs() -> None:
    a = generate_population(2_000, seed=7)
    b = generate_population(2_000, seed=7)
    xr.testing.assert_identical(a, b)
    c = generate_population(2_000, seed=8)
    assert not a["land_mu"].equals(c["land_mu"])
    assert not (a["sector"] == c["sector"]).all()


def test_above_scale_share_parameter() -> None:
    ds = generate_population(3_000, seed=2, above_scale_share=0.5)
    assert int(ds["above_scale"].sum()) == 1_500
    with pytest.raises(ValueError, match="above_scale_share"):
        generate_population(10, above_scale_share=1.5)
    with pytest.raises(ValueError, match="n must be"):
        generate_population(0)
