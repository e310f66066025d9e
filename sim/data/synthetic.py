"""A calibrated synthetic enterprise population (a Hangzhou scaled to n firms).

:func:`generate_population` draws a register (see :mod:`sim.data.register`)
without any data file. Every figure comes from ``sim/config/calibration.yaml``.
The draw is fully vectorised (no Python loop over firms; short loops over
sectors and districts only) and reproducible from ``seed``.

Model, per firm ``i`` in group ``g`` (above-scale 规上 or below-scale):

* sector ~ sector weights; district ~ district weights × sector affinity.
* latent efficiency ``e ~ N(0, 1)``; mean-one multipliers
  ``m(b, s) = exp(b·e + s·ε − (b² + s²)/2)`` with fresh ``ε ~ N(0, 1)``.
* land (mu) = 5 + c_g · size_rel[s] · exp(σ_g·z + size_loading·e): a floor at the 亩均
  evaluation's 5 mu and a heavy right tail (z ~ N(0, 1) is the size draw).
* VA (万元) = land · k_va · va_per_mu_rel[s] · m(+b, s): efficiency shows as output per mu.
* tax = VA · k_tax · tax_rate[s] · m(+b, s)    (low-tax firms hold more land per VA)
* energy (tce) = VA · k_e · level[s] · exp(−b·e + s·ε − κ·z − ½(b² + s² + κ²)), where
  level is the sector's energy intensity (to the power ``sector_intensity_exponent``
  for below-scale firms) and κ = ``intensity_scale_loading`` (economies of scale).
  Heavy tail: at the default size firms ≥ 1,000 tce are ≈ 8% of firms and hold
  ≈ 78% of all energy.
* employees = VA / (k_lp · productivity_rel[s] · m(+b, s))
* revenue = VA / (va_to_revenue · m(0, s)), clipped to the group's side of the
  2,000万元 规上 threshold; R&D = revenue · k_rd · rd_rel[s] · m(+b, s).
* CO2 (t) = energy · emission factor (2.0 t/tce).
* violation ~ 2% and 两高 ~ 7% (mostly two_high sectors, mostly below-scale), both
  more likely for low e; park: 60% of firms, a park of their district (by capacity).

The scale constants ``c_g, k_*`` are *raked* on the drawn population so
that each group's totals equal its per-firm control totals × group size:
above-scale VA = n_above · mean_va_wan, land = VA / va_per_mu, tax =
land · tax_per_mu, energy = VA / va_per_tce, employees = VA /
va_per_employee, R&D = revenue · rd_share. Totals therefore scale exactly
with n: ``generate_population(n)`` is a Hangzhou scaled by n / 20,000 (at the
default above-scale share 1/3, above-scale VA = 4.1e7 万元 · n / 20,000).
Below-scale VA is then capped and above-scale VA floored (a few firms) to
keep revenue on the right side of the threshold, so above-scale totals are
exact up to about 1% (below-scale VA ends ≈ 45% under its pre-cap target).
Caveat: with heavy tails the rake factors depend on the largest draws, so
counts such as "firms ≥ 1,000 tce" vary by ±1 point between seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.data.calibration import Calibration, load_calibration
from sim.data.register import build_register

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Targets:
    """Control totals and ratios of one group (units: 万元, mu, tce, persons)."""

    land_total: float
    va_total: float
    tax_per_mu: float
    va_per_tce: float
    va_per_employee: float
    rd_share: float
    va_to_revenue: float
    land_sigma: float


def _group_targets(cal: Calibration, n_above: int, n_below: int) -> tuple[_Targets, _Targets]:
    a, b = cal.groups.above_scale, cal.groups.below_scale
    va_a = n_above * a.mean_va_wan.value
    land_b = n_below * b.mean_land_mu.value
    above = _Targets(
        va_a / a.va_per_mu.value,
        va_a,
        a.tax_per_mu.value,
        a.va_per_tce.value,
        a.va_per_employee.value,
        a.rd_share.value,
        a.va_to_revenue.value,
        a.land_sigma.value,
    )
    below = _Targets(
        land_b,
        land_b * b.va_per_mu.value,
        b.tax_per_mu.value,
        b.va_per_tce.value,
        b.va_per_employee.value,
        b.rd_share.value,
        b.va_to_revenue.value,
        b.land_sigma.value,
    )
    return above, below


def _mean_one(
    rng: np.random.Generator, e: FloatArray, loading: float, sigma: float | FloatArray
) -> FloatArray:
    """exp(loading·e + sigma·ε − (loading² + sigma²)/2): a mean-one lognormal multiplier."""
    eps = rng.standard_normal(e.shape[0])
    return np.exp(loading * e + sigma * eps - 0.5 * (loading**2 + sigma**2))


def _rake(values: FloatArray, groups: list[BoolArray], totals: list[float]) -> FloatArray:
    """Scale ``values`` within each group mask so that its sum equals the group total."""
    out = values.copy()
    for mask, total in zip(groups, totals, strict=True):
        s = float(values[mask].sum())
        if s > 0:
            out[mask] *= total / s
    return out


def _draw_categories(
    rng: np.random.Generator, n: int, cal: Calibration
) -> tuple[IntArray, IntArray]:
    """Sector and district indices; district weights × the sector's affinity."""
    w = np.array([s.weight for s in cal.sectors], dtype=np.float64)
    sector = rng.choice(len(w), size=n, p=w / w.sum())
    names = cal.district_names
    dw = np.array([d.weight for d in cal.districts], dtype=np.float64)
    aff = np.ones((len(w), len(names)))
    for i, s in enumerate(cal.sectors):
        for d, mult in s.district_affinity.items():
            aff[i, names.index(d)] = mult
    cum = np.cumsum(dw * aff, axis=1)
    cum /= cum[:, -1:]
    u: FloatArray = rng.random(n)
    district = np.empty(n, dtype=np.intp)
    for i in range(len(w)):
        mask = sector == i
        district[mask] = np.searchsorted(cum[i], u[mask], side="right")
    return sector, np.minimum(district, len(names) - 1)


def _draw_above(rng: np.random.Generator, n: int, share: float) -> BoolArray:
    above = np.zeros(n, dtype=bool)
    above[rng.permutation(n)[: round(n * share)]] = True
    return above


def _sector_array(cal: Calibration, attr: str, sector: IntArray) -> FloatArray:
    return np.array([float(getattr(s, attr)) for s in cal.sectors])[sector]


def _economics(
    rng: np.random.Generator, cal: Calibration, sector: IntArray, above: BoolArray, e: FloatArray
) -> dict[str, FloatArray]:
    """Land, VA, tax, energy, employees, revenue and R&D, raked to the group targets."""
    n = e.shape[0]
    disp = cal.dispersion
    t_a, t_b = _group_targets(cal, int(above.sum()), int((~above).sum()))
    groups, targets = [above, ~above], [t_a, t_b]
    floor = cal.reference.min_land_mu.value

    sigma = np.where(above, t_a.land_sigma, t_b.land_sigma)
    z = rng.standard_normal(n)
    shape = _sector_array(cal, "size_rel", sector) * np.exp(sigma * z + disp.size_loading.value * e)
    excess = _rake(
        shape,
        groups,
        [t.land_total - floor * m.sum() for t, m in zip(targets, groups, strict=True)],
    )
    land = floor + excess

    va = (
        land
        * _sector_array(cal, "va_per_mu_rel", sector)
        * _mean_one(rng, e, disp.va_per_mu_loading.value, disp.va_per_mu_sigma.value)
    )
    va = _rake(va, groups, [t.va_total for t in targets])
    va = _threshold_limits(va, cal, above)
    tax = (
        va
        * _sector_array(cal, "tax_rate", sector)
        * _mean_one(rng, e, disp.tax_rate_loading.value, disp.tax_rate_sigma.value)
    )
    e_sigma = np.where(
        above,
        cal.groups.above_scale.energy_intensity_sigma.value,
        cal.groups.below_scale.energy_intensity_sigma.value,
    )
    level = _sector_array(cal, "energy_intensity", sector)
    level = np.where(above, level, level**cal.groups.below_scale.sector_intensity_exponent.value)
    kappa = disp.intensity_scale_loading.value
    dev = -disp.energy_intensity_loading.value * e + e_sigma * rng.standard_normal(n) - kappa * z
    dev_sd = np.sqrt(disp.energy_intensity_loading.value**2 + e_sigma**2 + kappa**2)
    energy = va * level * np.exp(dev - 0.5 * dev_sd**2)
    emp = va / (
        _sector_array(cal, "productivity_rel", sector)
        * _mean_one(rng, e, disp.productivity_loading.value, disp.productivity_sigma.value)
    )

    va_tot = [float(va[m].sum()) for m in groups]
    land_tot = [float(land[m].sum()) for m in groups]
    tax = _rake(tax, groups, [t.tax_per_mu * lt for t, lt in zip(targets, land_tot, strict=True)])
    energy = _rake(energy, groups, [v / t.va_per_tce for t, v in zip(targets, va_tot, strict=True)])
    emp = _rake(emp, groups, [v / t.va_per_employee for t, v in zip(targets, va_tot, strict=True)])
    emp = np.maximum(np.round(emp), 1.0)

    revenue = _revenue(rng, cal, va, above, targets)
    rd = (
        revenue
        * _sector_array(cal, "rd_rel", sector)
        * _mean_one(rng, e, disp.rd_loading.value, disp.rd_sigma.value)
    )
    rev_tot = [float(revenue[m].sum()) for m in groups]
    rd = _rake(rd, groups, [t.rd_share * r for t, r in zip(targets, rev_tot, strict=True)])
    return {
        "land_mu": land,
        "value_added_wan": va,
        "tax_wan": tax,
        "energy_tce": energy,
        "employees": emp,
        "revenue_wan": revenue,
        "rd_wan": rd,
    }


def _threshold_limits(va: FloatArray, cal: Calibration, above: BoolArray) -> FloatArray:
    """Floor above-scale VA and cap below-scale VA relative to the 2,000万 threshold."""
    thr = cal.reference.revenue_threshold_wan.value
    lo = cal.groups.above_scale.min_va_to_threshold.value * thr
    hi = cal.groups.below_scale.max_va_to_threshold.value * thr
    return np.where(above, np.maximum(va, lo), np.minimum(va, hi))


def _revenue(
    rng: np.random.Generator,
    cal: Calibration,
    va: FloatArray,
    above: BoolArray,
    targets: list[_Targets],
) -> FloatArray:
    """Revenue (万元) from VA and a noisy VA share, on the group's side of the threshold."""
    thr = cal.reference.revenue_threshold_wan.value
    ratio = np.where(above, targets[0].va_to_revenue, targets[1].va_to_revenue)
    zero = np.zeros_like(va)
    revenue = va / (ratio * _mean_one(rng, zero, 0.0, cal.dispersion.va_to_revenue_sigma.value))
    revenue = np.maximum(revenue, va)  # VA never exceeds revenue
    return np.where(above, np.maximum(revenue, thr), np.minimum(revenue, np.nextafter(thr, 0)))


def _flags(
    rng: np.random.Generator, cal: Calibration, sector: IntArray, above: BoolArray, e: FloatArray
) -> tuple[BoolArray, BoolArray]:
    """(violation, two_high), both more likely for low-efficiency firms (low e).

    两高 firms sit mostly in the two_high sectors and, within them, mostly among
    small backward plants: the above-scale probability is scaled by
    ``two_high_above_scale_factor`` and renormalised so that the sector share holds.
    """
    f = cal.flags
    p_v = f.violation_share.value * _mean_one(rng, e, -f.violation_efficiency_loading.value, 0.0)
    violation = rng.random(e.shape[0]) < np.minimum(p_v, 1.0)
    heavy = np.array([s.two_high for s in cal.sectors])[sector]
    base = np.where(heavy, f.two_high_share_in_heavy_sectors.value, f.two_high_share_other.value)
    factor = f.two_high_above_scale_factor.value
    share = float(above.mean())
    scale = np.where(above, factor, 1.0) / (share * factor + 1.0 - share)
    p_t = base * scale * _mean_one(rng, e, -f.two_high_efficiency_loading.value, 0.0)
    two_high = rng.random(e.shape[0]) < np.minimum(p_t, 1.0)
    return violation, two_high


def _parks(rng: np.random.Generator, cal: Calibration, district: IntArray) -> npt.NDArray[np.str_]:
    """Park id per firm ("" for none): park_share of firms, in a park of their district."""
    n = int(district.shape[0])
    width = max((len(p.id) for p in cal.parks), default=1)
    park = np.full(n, "", dtype=f"<U{width}")
    has = rng.random(n) < cal.flags.park_share.value
    u: FloatArray = rng.random(n)
    for d, name in enumerate(cal.district_names):
        parks = [p for p in cal.parks if p.district == name]
        mask = has & (district == d)
        if not parks or not mask.any():
            continue
        cap: FloatArray = np.cumsum(np.array([p.capacity_mu for p in parks], dtype=np.float64))
        share: FloatArray = cap / cap[-1]
        idx = np.minimum(np.searchsorted(share, u[mask], side="right"), len(parks) - 1)
        park[mask] = np.array([p.id for p in parks])[idx]
    return park


def _identity(
    n: int, cal: Calibration, sector: IntArray, district: IntArray
) -> dict[str, npt.NDArray[np.str_]]:
    """ids "E000001"..., names like "萧山C17企业000001", district and sector strings."""
    width = max(6, len(str(n)))
    num = np.char.zfill(np.arange(1, n + 1).astype(str), width)
    dist = np.array(cal.district_names)[district]
    sec = np.array(cal.sector_codes)[sector]
    name = np.char.add(np.char.add(np.char.add(dist, sec), "企业"), num)
    return {"id": np.char.add("E", num), "district": dist, "sector": sec, "name": name}


def _locations(
    rng: np.random.Generator, cal: Calibration, district: IntArray
) -> tuple[FloatArray, FloatArray]:
    cx = np.array([d.x_km for d in cal.districts])[district]
    cy = np.array([d.y_km for d in cal.districts])[district]
    spread = np.array([d.spread_km for d in cal.districts])[district]
    spread = spread * cal.dispersion.location_spread_factor.value
    n = district.shape[0]
    return cx + spread * rng.standard_normal(n), cy + spread * rng.standard_normal(n)


def generate_population(
    n: int = 20_000,
    seed: int = 0,
    *,
    above_scale_share: float | None = None,
    calibration: Calibration | None = None,
) -> xr.Dataset:
    """Draw a calibrated synthetic register of ``n`` manufacturing firms (all ≥ 5 mu).

    Args:
        n: number of firms (≥ 1). Totals scale with n / 20,000 (a scaled Hangzhou).
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same Dataset.
        above_scale_share: share of above-scale (规上) firms; default the calibration's 1/3.
        calibration: a loaded calibration; default the packaged ``calibration.yaml``.

    Returns:
        A register Dataset (see :data:`sim.data.register.COLUMNS`) whose attrs record
        the generator, seed and calibration version.
    """
    if n < 1:
        raise ValueError(f"generate_population: n must be ≥ 1, got {n}")
    cal = calibration or load_calibration()
    share = (
        cal.reference.above_scale_share.value if above_scale_share is None else above_scale_share
    )
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"generate_population: above_scale_share must be in [0, 1], got {share}")
    rng = np.random.default_rng(seed)
    above = _draw_above(rng, n, share)
    sector, district = _draw_categories(rng, n, cal)
    e = rng.standard_normal(n)
    cols: dict[str, npt.NDArray[Any]] = dict(_economics(rng, cal, sector, above, e))
    cols["co2_t"] = cols["energy_tce"] * cal.emission_factor_t_per_tce.value
    cols["violation"], cols["two_high"] = _flags(rng, cal, sector, above, e)
    cols["park"] = _parks(rng, cal, district)
    cols["x_km"], cols["y_km"] = _locations(rng, cal, district)
    cols.update(_identity(n, cal, sector, district))
    cols["above_scale"] = above
    cols["class_given"] = np.full(n, "", dtype="<U1")
    attrs = {
        "source": "synthetic",
        "generator": "sim.data.synthetic.generate_population",
        "seed": int(seed),
        "n": int(n),
        "above_scale_share": float(share),
        "calibration_version": int(cal.version),
    }
    return build_register(cols, attrs)
