"""From a scenario to a choice problem: the policy model, assembled.

``build_model`` runs the data flow up to the optimiser:

    scenario → register (file or synthetic) → 亩均 evaluation → acting units
      → options and effects (+ 一企一策 overrides) → constraints → ChoiceProblem

and keeps every intermediate piece on a :class:`Model`, so that results,
explanations and simulations can read them without recomputing.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from sim.data.calibration import Calibration, load_calibration
from sim.data.register import load_register
from sim.data.synthetic import generate_population
from sim.errors import ScenarioError
from sim.evaluation.config import load_evaluation_config
from sim.evaluation.muni import evaluate
from sim.optimise.problem import BoolArray, ChoiceProblem, Objective
from sim.options.effects import (
    OptionSet,
    Units,
    build_options,
    derive_columns,
    growth_factors,
)
from sim.options.overrides import apply_overrides, read_overrides_file
from sim.options.projects import read_projects, synthetic_projects
from sim.policy.constraints import Baseline, all_constraints
from sim.scenario.loader import load_with_sources
from sim.scenario.schema import Scenario

OBJECTIVES: dict[str, Objective] = {
    "min_cost": Objective({"public_cost_pv_wan": 1.0}, "min"),
    "max_va": Objective({"va_after_wan": 1.0}, "max"),
    "min_jobs_lost": Objective({"jobs_lost": 1.0}, "min"),
}


@dataclass
class Model:
    """A scenario's policy model, ready to solve.

    Attributes:
        scenario: the validated scenario (``extends`` resolved).
        scenario_data: the resolved scenario as plain data (for manifests).
        register: the evaluated register (亩均 score, class, screening flags).
        acting: ``(n_enterprises,)`` True for firms in the choice problem.
        options: effects and labels of every unit's options.
        problem: the generic choice problem handed to the solvers.
        baseline: fixed contributions of firms outside the problem.
        calibration: the calibration used.
        scale: population size / ``population.reference_firms``.
        timings: seconds per build phase.
        inputs: where the population came from (path and SHA-256, or generator and seed).
    """

    scenario: Scenario
    scenario_data: dict[str, Any]
    register: xr.Dataset
    acting: npt.NDArray[np.bool_]
    options: OptionSet
    problem: ChoiceProblem
    baseline: Baseline
    calibration: Calibration
    scale: float
    timings: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)


def load_scenario(path: str | os.PathLike[str]) -> tuple[Scenario, dict[str, Any]]:
    """Load and validate a scenario file; relative paths become absolute.

    A relative path inside a scenario is relative to the file that wrote it
    (which may be a parent reached through ``extends``).
    """
    model, resolved = load_with_sources(path, Scenario)
    assert isinstance(model, Scenario)
    for key in (("population", "register_file"), ("new_projects", "file"), ("overrides_file",)):
        holder: Any = model
        for part in key[:-1]:
            holder = getattr(holder, part)
        value = getattr(holder, key[-1])
        if value is not None and not Path(value).is_absolute():
            location = resolved.sources.get(key)
            base = Path(location.file).parent if location is not None else Path(path).parent
            setattr(holder, key[-1], (base / value).resolve())
    model.source_file = Path(path).resolve()
    return model, resolved.data


def build_model(
    scenario: Scenario | str | os.PathLike[str],
    *,
    n_firms: int | None = None,
    seed: int | None = None,
    register: xr.Dataset | None = None,
) -> Model:
    """Build the policy model of a scenario.

    Args:
        scenario: a validated :class:`Scenario` or the path of a scenario file.
        n_firms: override the synthetic population size (benchmarks); targets,
            limits and capacities then scale with n / ``population.reference_firms``.
        seed: override the synthetic population seed.
        register: use this (already loaded) register instead of the scenario's.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if isinstance(scenario, Scenario):
        data = scenario.model_dump(mode="json")
    else:
        scenario, data = load_scenario(scenario)
    if n_firms is not None:
        # A resized population is a scaled copy of the scenario: absolute
        # targets, limits and capacities scale with it.
        scenario.population.synthetic.n = n_firms
        scenario.population.register_file = None
        scenario.population.scale_to_population = True
    if seed is not None:
        scenario.population.synthetic.seed = seed
    calibration = load_calibration()

    raw, inputs = _population(scenario, calibration, register)
    timings["population_s"] = time.perf_counter() - start
    t = time.perf_counter()
    evaluated = evaluate(raw, load_evaluation_config(scenario.evaluation or None))
    timings["evaluation_s"] = time.perf_counter() - t

    t = time.perf_counter()
    scale = evaluated.sizes["enterprise"] / scenario.population.reference_firms
    acting = _acting_firms(evaluated, scenario)
    projects = _projects(scenario, calibration, scale)
    units = Units(np.flatnonzero(acting).astype(np.int64), projects)
    options = build_options(evaluated, scenario, calibration, units, scale=scale)
    overrides = list(scenario.overrides)
    if scenario.overrides_file is not None:
        overrides += read_overrides_file(Path(scenario.overrides_file))
    if apply_overrides(options, overrides, str(scenario.source_file or "scenario")):
        derive_columns(options.effects, options.metrics, options.slots, scenario)
    baseline = _baseline(evaluated, acting, scenario, scale)
    try:
        problem = ChoiceProblem(
            effects=options.effects,
            metrics=options.metrics,
            constraints=all_constraints(options, scenario, baseline),
            objective=_objective(scenario),
            unit_ids=options.unit_ids,
            option_labels=options.slot_labels,
            name=scenario.name,
            quick_options=_first_year_options(options),
            option_family=_action_of_slots(options),
        )
    except ValueError as exc:  # the problem's own consistency checks, in scenario terms
        raise ScenarioError(
            f"{scenario.source_file or 'scenario'}: the scenario gives no valid choice problem: "
            f"{exc}{_problem_hint(str(exc), options.metrics)}"
        ) from None
    timings["build_s"] = time.perf_counter() - t
    return Model(
        scenario=scenario,
        scenario_data=data,
        register=evaluated,
        acting=acting,
        options=options,
        problem=problem,
        baseline=baseline,
        calibration=calibration,
        scale=scale,
        timings=timings,
        inputs=inputs,
    )


def _first_year_options(options: OptionSet) -> BoolArray | None:
    """With phasing, the slots acting in the first action year (plus keep/admit).

    Plans that do everything in the first year meet every cumulative yearly
    share, and pricing them is as fast as the unphased model; the
    decomposition uses them for an early plan on large problems.
    """
    years = {s.year for s in options.slots if s.acts}
    if len(years) < 2:
        return None
    first = min(years)
    return np.array([not s.acts or s.year == first for s in options.slots])


def _action_of_slots(options: OptionSet) -> npt.NDArray[np.int64]:
    """An id per slot naming its action (kind and variant): the years of one action share it."""
    actions = [(s.kind, s.variant) for s in options.slots]
    ids = {a: k for k, a in enumerate(dict.fromkeys(actions))}
    return np.array([ids[a] for a in actions], dtype=np.int64)


def _population(
    scenario: Scenario, calibration: Calibration, register: xr.Dataset | None
) -> tuple[xr.Dataset, dict[str, str]]:
    pop = scenario.population
    if register is not None:
        return register, {"register": "in-memory", "register_sha256": _dataset_hash(register)}
    if pop.register_file is not None:
        path = Path(pop.register_file)
        loaded = load_register(
            path, allow_custom_districts=pop.allow_custom_districts, calibration=calibration
        )
        return loaded, {"register": str(path), "register_sha256": file_sha256(path)}
    syn = pop.synthetic
    generated = generate_population(
        syn.n, syn.seed, above_scale_share=syn.above_scale_share, calibration=calibration
    )
    return generated, {
        "register": (
            f"synthetic(n={syn.n}, seed={syn.seed}, "
            f"above_scale_share={syn.above_scale_share:.6g})"
        ),
        "register_sha256": _dataset_hash(generated),
    }


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (the register's fingerprint in manifests)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dataset_hash(ds: xr.Dataset) -> str:
    """SHA-256 over the register's variables (order-stable)."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(np.asarray(ds["enterprise"].values).astype(str).tobytes())
    for name in sorted(str(v) for v in ds.data_vars):
        values = np.asarray(ds[name].values)
        digest.update(name.encode())
        digest.update(
            values.astype(str).tobytes() if values.dtype.kind in "OUS" else values.tobytes()
        )
    return digest.hexdigest()


def _acting_firms(register: xr.Dataset, scenario: Scenario) -> npt.NDArray[np.bool_]:
    """Firms that take part in the choice problem.

    Candidates (or everyone, without ``candidates_only``), less exempt
    classes; violators always take part when they must act.
    """
    rules = scenario.eligibility
    candidate = register["candidate"].values.astype(bool)
    violation = register["violation"].values.astype(bool)
    exempt = np.isin(register["muni_class"].values.astype(str), list(rules.exempt_classes))
    pool = candidate if rules.candidates_only else np.ones_like(candidate)
    must = violation & rules.violators_must_act
    return np.asarray((pool & ~exempt) | must)


def _projects(scenario: Scenario, calibration: Calibration, scale: float) -> xr.Dataset | None:
    spec = scenario.new_projects
    if not spec.enabled:
        return None
    if spec.file is not None:
        return read_projects(Path(spec.file))
    count = spec.synthetic_count
    if scenario.population.scale_to_population:
        count = round(count * scale)
    return synthetic_projects(count, spec.seed, calibration) if count > 0 else None


def _baseline(
    register: xr.Dataset, acting: npt.NDArray[np.bool_], scenario: Scenario, scale: float
) -> Baseline:
    """End-year above-scale sums of firms that keep by rule; base-year intensity."""
    above = register["above_scale"].values.astype(bool)
    fixed = above & ~acting
    g = growth_factors(scenario, scenario.horizon.base_year)

    def total(name: str, mask: npt.NDArray[np.bool_]) -> float:
        return float(np.asarray(register[name].values, dtype=float)[mask].sum())

    columns = {"va": "value_added_wan", "tax": "tax_wan", "energy": "energy_tce",
               "land": "land_mu", "employees": "employees"}
    constant = {key: total(column, fixed) * g[key] for key, column in columns.items()}
    base_intensity = total("energy_tce", above) / max(total("value_added_wan", above), 1e-9)
    return Baseline(kpi_constant=constant, base_energy_per_va=base_intensity, scale=scale)


def _problem_hint(message: str, metrics: list[str]) -> str:
    if "no available option" in message:
        return (
            " (these firms may not keep, e.g. eligibility.violators_must_act, and every "
            "action open to them is disabled in actions)"
        )
    if "unknown metrics" in message:
        return f"; objective.weights may use: {', '.join(metrics)}"
    return ""


def _objective(scenario: Scenario) -> Objective:
    spec = scenario.objective
    if spec.kind == "weighted":
        return Objective(dict(spec.weights), "min")
    return OBJECTIVES[spec.kind]
