"""Tiny literal registers, scenarios and solver access for the policy-model tests.

Everything here is hand-written data (no generator), so that tests can compute
expected values by hand. Districts and their land-price floors are the
packaged calibration's (萧山 16.8, 富阳 12.0, 余杭 13.6 万元/mu).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from sim.data.register import build_register
from sim.optimise.problem import ChoiceProblem, Solution
from sim.pipeline import Model, build_model
from sim.scenario.schema import Scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"

# Six firms across three districts; sectors C17 (textiles) and C22 (paper).
# F2 is a violator; F5/F6 are A-class (acquirers of their sectors), F4 B-class.
TINY_FIRMS: dict[str, list[Any]] = {
    "id": ["F1", "F2", "F3", "F4", "F5", "F6"],
    "district": ["萧山", "萧山", "富阳", "富阳", "余杭", "余杭"],
    "sector": ["C17", "C17", "C22", "C22", "C17", "C22"],
    "land_mu": [40.0, 25.0, 60.0, 30.0, 50.0, 20.0],
    "employees": [80.0, 50.0, 120.0, 40.0, 100.0, 30.0],
    "value_added_wan": [2000.0, 1500.0, 3000.0, 2500.0, 8000.0, 4000.0],
    "tax_wan": [200.0, 150.0, 250.0, 300.0, 1200.0, 600.0],
    "energy_tce": [3000.0, 1200.0, 9000.0, 1500.0, 2000.0, 800.0],
    "revenue_wan": [8000.0, 6000.0, 12000.0, 10000.0, 30000.0, 15000.0],
    "co2_t": [6000.0, 2400.0, 18000.0, 3000.0, 4000.0, 1600.0],
    "rd_wan": [50.0, 30.0, 60.0, 80.0, 900.0, 400.0],
    "above_scale": [True, False, True, True, True, True],
    "park": [""] * 6,
    "violation": [False, True, False, False, False, False],
    "two_high": [True, False, True, False, False, False],
    "name": ["甲", "乙", "丙", "丁", "戊", "己"],
    "x_km": [12.0, 13.0, -32.0, -30.0, -22.0, -21.0],
    "y_km": [-22.0, -21.0, -28.0, -27.0, 8.0, 9.0],
    "class_given": ["D", "C", "C", "B", "A", "A"],
}

# Two candidate new projects (换鸟) for the tiny population.
TINY_PROJECTS = pd.DataFrame(
    {
        "id": ["P1", "P2"],
        "district": ["萧山", "富阳"],
        "sector": ["C39", "C35"],
        "land_mu": [10.0, 14.0],
        "energy_tce": [500.0, 900.0],
        "value_added_wan": [4000.0, 5000.0],
        "tax_wan": [700.0, 800.0],
        "employees": [20.0, 25.0],
    }
)

NO_TARGETS: dict[str, Any] = {
    "land_freed_mu": None,
    "energy_saved_tce": None,
    "co2_cut_t": None,
    "firms_rectified": None,
    "tax_per_mu_wan": None,
    "va_per_mu_wan": None,
    "labour_productivity_wan": None,
    "energy_intensity_reduction": None,
    "district_split": {"mode": "none"},
}


def register_from(columns: Mapping[str, list[Any]], keep: list[int] | None = None) -> xr.Dataset:
    """A register of the given columns, optionally of a subset of rows."""
    cols = {k: list(v) for k, v in columns.items()}
    if keep is not None:
        cols = {k: [v[i] for i in keep] for k, v in cols.items()}
    return build_register(cols)


def write_projects(path: Path, frame: pd.DataFrame = TINY_PROJECTS) -> Path:
    """Write a projects CSV (``new_projects.file``)."""
    frame.to_csv(path, index=False)
    return path


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``extra`` into a copy of ``base`` (mappings merge, others replace)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def tiny_scenario(projects_csv: Path | None = None, **extra: Any) -> Scenario:
    """A scenario for the tiny population: every firm may act, no targets, no limits.

    One acquirer and one park per firm; phasing off. ``reference_firms`` 600
    makes the packaged park capacities (1,500–2,500 mu) 1/100 of that (the
    capacity always follows ``n / reference_firms``), so that they can bind.
    """
    base: dict[str, Any] = {
        "name": "tiny",
        "population": {"reference_firms": 600},
        "eligibility": {"candidates_only": False, "exempt_classes": [], "violators_must_act": True},
        "actions": {
            "merge": {"candidates_per_firm": 1},
            "relocate": {"candidates_per_firm": 1},
        },
        "new_projects": (
            {"enabled": True, "file": str(projects_csv)}
            if projects_csv is not None
            else {"enabled": False}
        ),
        "targets": NO_TARGETS,
        "limits": {"budget_wan": None, "jobs_lost_max": None},
        "phasing": {"enabled": False},
        "solver": {"gap": 1e-9},
    }
    return Scenario.model_validate(merge(base, extra))


def tiny_model(scenario: Scenario, register: xr.Dataset | None = None) -> Model:
    """The policy model of ``scenario`` on the tiny register (or ``register``)."""
    if register is None:
        register = register_from(TINY_FIRMS)
    return build_model(scenario, register=register)


# ---------------------------------------------------------------- solving
def solve_with(problem: ChoiceProblem, method: str, *, gap: float = 1e-9) -> Solution:
    """Solve through ``sim.optimise.solve.solve`` when present, else the backend directly."""
    try:
        from sim.optimise.solve import solve
    except ModuleNotFoundError:
        pass
    else:
        return solve(problem, method=method, gap_tol=gap, time_limit=60.0)
    if method == "mip":
        from sim.optimise.highs_backend import solve_highs

        return solve_highs(problem, mip_gap=gap, time_limit=60.0)
    if method == "pyomo":
        from sim.optimise.pyomo_backend import solve_pyomo

        return solve_pyomo(problem, mip_gap=gap, time_limit=60.0)
    if method == "decomposition":
        from sim.optimise.decomposition import solve_decomposition

        return solve_decomposition(problem, gap_tol=gap, time_limit=60.0)
    raise ValueError(method)


def available_methods() -> list[str]:
    """Solver methods to compare with brute force."""
    methods = ["mip", "pyomo"]
    try:
        import sim.optimise.decomposition  # noqa: F401
    except ModuleNotFoundError:
        return methods
    return [*methods, "decomposition"]


def kinds_of(model: Model, choice: npt.NDArray[np.int64]) -> dict[str, str]:
    """Chosen option kind per unit id."""
    kinds = model.options.slot_kinds[choice]
    return dict(zip(model.options.unit_ids.tolist(), kinds.tolist(), strict=True))


def labels_of(model: Model, choice: npt.NDArray[np.int64]) -> dict[str, str]:
    """Chosen option label per unit id."""
    labels = np.array(model.options.slot_labels)[choice]
    return dict(zip(model.options.unit_ids.tolist(), labels.tolist(), strict=True))


def no_action_totals(register: xr.Dataset, scenario: Scenario) -> dict[str, float]:
    """End-year above-scale totals when every firm keeps, straight from the register."""
    g = scenario.horizon.growth
    years = scenario.horizon.end_year - scenario.horizon.base_year
    above = register["above_scale"].values.astype(bool)

    def total(name: str) -> float:
        return float(np.asarray(register[name].values, dtype=float)[above].sum())

    va_factor = (1 + g.value_added) ** years
    return {
        "va": total("value_added_wan") * va_factor,
        "tax": total("tax_wan") * (1 + g.tax) ** years,
        "energy": total("energy_tce") * va_factor * (1 - g.energy_efficiency) ** years,
        "land": total("land_mu"),
        "employees": total("employees") * (1 + g.employees) ** years,
        "base_intensity": total("energy_tce") / total("value_added_wan"),
    }
