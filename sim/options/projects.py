"""Candidate new projects (换鸟): big manufacturing projects seeking land and energy.

The plan aims to land 120 projects of ≥ 10亿元 investment. A project is
admitted only on freed land and with freed energy at the scenario's
replacement ratio (see ``sim.policy.constraints``). Projects come from a CSV
(``new_projects.file``) or are synthesised here from a seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sim.data.calibration import Calibration
from sim.errors import InputError

PROJECT_COLUMNS = {
    "id": "project id",
    "district": "district (name_zh)",
    "sector": "GB/T 4754 code",
    "land_mu": "land needed (mu)",
    "energy_tce": "energy use at full output (tce/yr)",
    "value_added_wan": "VA at full output (万元/yr)",
    "tax_wan": "tax at full output (万元/yr)",
    "employees": "jobs (persons)",
}
# Fast-growing and encouraged sectors new projects come from [R: CALIBRATION].
_PROJECT_SECTORS = ["C39", "C35", "C34", "C38", "C27", "C40", "C36"]


def synthetic_projects(count: int, seed: int, calibration: Calibration) -> xr.Dataset:
    """``count`` synthetic ≥ 10亿元 projects: ≈ 150 mu, ≈ 400万 VA/mu, low energy intensity."""
    rng = np.random.default_rng(seed)
    districts = [d.name_zh for d in calibration.districts]
    weights = np.array([d.weight for d in calibration.districts])
    land = np.round(rng.lognormal(np.log(120.0), 0.5, count), 1)
    va_per_mu = rng.lognormal(np.log(400.0), 0.3, count)
    va = land * va_per_mu
    frame = pd.DataFrame(
        {
            "id": [f"P{i:04d}" for i in range(count)],
            "district": rng.choice(districts, size=count, p=weights / weights.sum()),
            "sector": rng.choice(_PROJECT_SECTORS, size=count),
            "land_mu": land,
            "energy_tce": va * rng.uniform(0.05, 0.35, count),
            "value_added_wan": va,
            "tax_wan": va * rng.uniform(0.12, 0.22, count),
            "employees": np.round(land * rng.uniform(0.6, 1.4, count)),
        }
    )
    return _to_dataset(frame)


def read_projects(path: Path) -> xr.Dataset:
    """Read candidate projects from a CSV with the columns of ``PROJECT_COLUMNS``."""
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot read the projects table ({exc}).") from None
    missing = [c for c in PROJECT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing project columns {missing}; expected {PROJECT_COLUMNS}")
    problems = []
    for column in list(PROJECT_COLUMNS)[3:]:
        values = pd.to_numeric(frame[column], errors="coerce")
        for row in np.flatnonzero(values.isna() | (values < 0)):
            problems.append(
                f"{path}: row {row + 1} (line {row + 2}), column '{column}': "
                f"expected a non-negative number, got {frame[column].iloc[row]!r}"
            )
        frame[column] = values
    if problems:
        raise InputError(f"{path}: the projects table has {len(problems)} problems", problems)
    return _to_dataset(frame)


def _to_dataset(frame: pd.DataFrame) -> xr.Dataset:
    ds = xr.Dataset(
        {c: ("project", frame[c].to_numpy()) for c in PROJECT_COLUMNS if c != "id"},
        coords={"project": frame["id"].astype(str).to_numpy()},
    )
    for column, text in PROJECT_COLUMNS.items():
        if column in ds:
            ds[column].attrs["long_name"] = text
    return ds
