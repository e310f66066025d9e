"""Candidate acquirers (兼并重组) and parks (搬迁入园) per enterprise.

Both are picked by distance, vectorised over enterprises: an acquirer is one
of the largest A/B-class firms of the same sector; a park is one of the
parks in the calibration file, located at its district's centroid.
Loops run over sectors (≈ 30), never over enterprises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.data.calibration import Calibration

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class AcquirerPool:
    """The firms that may take others over, and each unit's nearest ones.

    Attributes:
        ids: enterprise ids of the acquirers (length A).
        land_mu: each acquirer's own land (mu).
        energy_per_va: each acquirer's energy intensity (tce per 万元 VA).
        tax_per_va: each acquirer's tax per 万元 VA.
        choice: ``(n_units, k)`` index into the pool of unit i's k-th nearest
            same-sector acquirer; -1 where there is none.
    """

    ids: npt.NDArray[np.str_]
    land_mu: FloatArray
    energy_per_va: FloatArray
    tax_per_va: FloatArray
    choice: IntArray


@dataclass
class ParkPool:
    """Parks with spare land and each unit's nearest parks.

    Attributes:
        ids: park ids (length P). district: each park's district.
        capacity_mu: spare land per park (mu), already scaled to the population.
        choice: ``(n_units, k)`` index of unit i's k-th nearest park.
    """

    ids: list[str]
    names_zh: list[str]
    district: list[str]
    capacity_mu: FloatArray
    choice: IntArray


def pick_acquirers(
    register: xr.Dataset,
    muni_class: npt.NDArray[np.str_],
    units: IntArray,
    *,
    per_sector: int,
    per_unit: int,
    classes: list[str],
) -> AcquirerPool:
    """Choose the acquirer pool and each unit's ``per_unit`` nearest acquirers.

    The pool holds, per sector, the ``per_sector`` largest firms (by VA) of
    the allowed classes. A unit is never its own acquirer.
    """
    sector = register["sector"].values.astype(str)
    va = register["value_added_wan"].values.astype(float)
    allowed = np.isin(muni_class, classes) & (va > 0)
    order = np.lexsort((-va, sector))  # by sector, then VA descending
    eligible_sorted = order[allowed[order]]
    sec_sorted = sector[eligible_sorted]
    first_of_sector = np.r_[True, sec_sorted[1:] != sec_sorted[:-1]]
    rank = np.arange(len(sec_sorted)) - np.maximum.accumulate(
        np.where(first_of_sector, np.arange(len(sec_sorted)), 0)
    )
    pool = np.sort(eligible_sorted[rank < per_sector])

    x = register["x_km"].values.astype(float)
    y = register["y_km"].values.astype(float)
    choice = np.full((len(units), per_unit), -1, dtype=np.int64)
    unit_sector = sector[units]
    for code in np.unique(unit_sector):
        members = np.flatnonzero(sector[pool] == code)
        rows = np.flatnonzero(unit_sector == code)
        if members.size == 0:
            continue
        dist = np.hypot(
            x[units[rows], None] - x[pool[members]][None, :],
            y[units[rows], None] - y[pool[members]][None, :],
        )
        dist[units[rows, None] == pool[members][None, :]] = np.inf  # not oneself
        k = min(per_unit, members.size)
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
        picked = members[nearest]
        picked[np.isinf(np.take_along_axis(dist, nearest, axis=1))] = -1
        choice[rows, :k] = picked

    energy = register["energy_tce"].values.astype(float)
    tax = register["tax_wan"].values.astype(float)
    return AcquirerPool(
        ids=register["enterprise"].values[pool].astype(str),
        land_mu=register["land_mu"].values[pool].astype(float),
        energy_per_va=energy[pool] / va[pool],
        tax_per_va=tax[pool] / va[pool],
        choice=choice,
    )


def pick_parks(
    register: xr.Dataset,
    calibration: Calibration,
    units: IntArray,
    *,
    per_unit: int,
    capacity_scale: float,
) -> ParkPool:
    """Each unit's ``per_unit`` nearest parks (parks sit at district centroids)."""
    centroid = {d.name_zh: (d.x_km, d.y_km) for d in calibration.districts}
    parks = calibration.parks
    px = np.array([centroid[p.district][0] for p in parks])
    py = np.array([centroid[p.district][1] for p in parks])
    x = register["x_km"].values.astype(float)[units]
    y = register["y_km"].values.astype(float)[units]
    dist = np.hypot(x[:, None] - px[None, :], y[:, None] - py[None, :])
    k = min(per_unit, len(parks))
    choice = np.full((len(units), per_unit), -1, dtype=np.int64)
    choice[:, :k] = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return ParkPool(
        ids=[p.id for p in parks],
        names_zh=[p.name_zh for p in parks],
        district=[p.district for p in parks],
        capacity_mu=np.array([p.capacity_mu for p in parks]) * capacity_scale,
        choice=choice,
    )
