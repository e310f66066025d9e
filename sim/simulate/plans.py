"""Where a plan to simulate comes from: a scenario (solved now) or a result file.

A result file (``tenglong run``) holds the resolved scenario and the register's
fingerprint in its manifest and every unit's chosen option. The model is
rebuilt from the manifest and the plan mapped back onto its option slots; a
register whose fingerprint changed since the run is refused.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.errors import InputError
from sim.pipeline import Model, build_model
from sim.scenario.schema import Scenario

IntArray = npt.NDArray[np.int64]


def is_result_file(path: str | os.PathLike[str]) -> bool:
    """True for a netCDF result (by suffix), False for a scenario YAML."""
    return Path(path).suffix.lower() in (".nc", ".nc4", ".h5")


def plan_from_result(path: str | os.PathLike[str]) -> tuple[Model, IntArray]:
    """The model and chosen plan of a result file written by ``tenglong run``."""
    from sim.results.dataset import read_result

    ds = read_result(Path(path))
    manifest: dict[str, Any] = json.loads(ds.attrs["manifest"])
    data = dict(manifest["scenario"])
    scenario = Scenario.model_validate(data)
    origin = manifest.get("scenario_file")
    base = Path(origin).parent if origin else Path(path).parent
    for holder, key in ((scenario.population, "register_file"), (scenario.new_projects, "file"),
                        (scenario, "overrides_file")):
        value = getattr(holder, key)
        if value is not None and not Path(value).is_absolute():
            setattr(holder, key, (base / value).resolve())
    inputs = manifest.get("inputs", {})
    n_firms = seed = None
    match = re.match(r"synthetic\(n=(\d+), seed=(-?\d+)", str(inputs.get("register", "")))
    if match:
        n_firms, seed = int(match.group(1)), int(match.group(2))
    model = build_model(scenario, n_firms=n_firms, seed=seed)
    expected = inputs.get("register_sha256")
    if expected and model.inputs.get("register_sha256") != expected:
        raise InputError(f"{path}: the register differs from the one this result was computed "
                         "on (its SHA-256 changed); rerun the scenario.")
    return model, _choice(model, ds, Path(path))


def _choice(model: Model, ds: Any, path: Path) -> IntArray:
    options = model.options
    if "unit_choice" in ds and list(ds["unit"].values.astype(str)) == list(options.unit_ids):
        return np.asarray(ds["unit_choice"].values, dtype=np.int64)
    labels = {label: k for k, label in enumerate(options.slot_labels)}
    firm_ids = options.unit_ids[~options.is_project]
    option = ds["option"].to_series().astype(str)
    try:
        chosen = [labels[option[i]] for i in firm_ids]
    except KeyError as exc:
        raise InputError(f"{path}: option {exc} of the result is not an option of the rebuilt "
                         "model; rerun the scenario.") from None
    choice = np.empty(len(options.unit_ids), dtype=np.int64)
    choice[~options.is_project] = chosen
    if options.is_project.any():
        admitted = ds["project_admitted"].to_series()
        keep, admit = labels["keep"], labels["admit"]
        choice[options.is_project] = [admit if bool(admitted[p]) else keep
                                      for p in options.unit_ids[options.is_project]]
    return choice


def solve_plan(scenario: str | os.PathLike[str] | Scenario, *, n_firms: int | None = None,
               method: str | None = None, time_limit: float | None = None
               ) -> tuple[Model, IntArray]:
    """Solve a scenario (``sim.run.run_scenario``) and return its model and plan."""
    from sim.run import run_scenario

    outcome = run_scenario(scenario, n_firms=n_firms, method=method, time_limit=time_limit)
    return outcome.model, np.asarray(outcome.solution.choice, dtype=np.int64)
