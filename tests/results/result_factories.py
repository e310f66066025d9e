"""Small solved Hangzhou results shared by the compare, plot and brief tests.

Two scenarios on the same 600-firm population (``scale_to_population``, no
phasing, so every solve is a small MIP): the plan as written with a 40万元/mu
tax KPI, and a variant whose jobs-lost limit (12,000 → 360 persons at this
size) binds. They are solved once per test process (``functools.cache``),
through :func:`sim.run.run_scenario`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import xarray as xr

ROOT = Path(__file__).resolve().parents[2]
HANGZHOU = ROOT / "scenarios" / "hangzhou-2023.yaml"
N_FIRMS = 600
TIME_LIMIT_S = 30.0
BASE = "small-base"
TIGHT = "small-jobs"
TIGHT_JOBS_MAX = 12_000  # scenario units (persons at 20,000 firms)




def small_scenario(name: str = BASE, jobs_lost_max: float | None = None) -> Any:
    """The shipped Hangzhou scenario on a small, fixed population (a fresh copy)."""
    from sim.pipeline import load_scenario

    scenario, _ = load_scenario(HANGZHOU)
    scenario.name = name
    scenario.population.synthetic.n = N_FIRMS
    scenario.population.synthetic.seed = 5
    scenario.population.scale_to_population = True
    scenario.phasing.enabled = False
    scenario.targets.tax_per_mu_wan = 40
    scenario.solver.gap = 1e-3
    scenario.solver.time_limit_s = TIME_LIMIT_S
    if jobs_lost_max is not None:
        scenario.limits.jobs_lost_max = jobs_lost_max
    return scenario


@functools.cache
def small_results() -> tuple[xr.Dataset, xr.Dataset]:
    """(base, jobs-tight) result Datasets, solved once per process."""
    from sim.run import run_scenario

    base = run_scenario(small_scenario(BASE)).dataset
    tight = run_scenario(small_scenario(TIGHT, TIGHT_JOBS_MAX)).dataset
    return base, tight
