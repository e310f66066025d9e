"""Fixtures of the simulation tests: small solved Hangzhou plans.

Populations of 600 firms with ``population.scale_to_population`` keep the whole
folder well under three minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
HANGZHOU = ROOT / "scenarios" / "hangzhou-2023.yaml"



SMALL_YAML = f"""\
extends: {HANGZHOU}
name: small
population: {{synthetic: {{n: 600, seed: 5}}, scale_to_population: true}}
horizon: {{growth: {{value_added: 0.07, tax: 0.06}}}}
phasing: {{enabled: false}}
targets: {{tax_per_mu_wan: 40}}
solver: {{gap: 1.0e-3, time_limit_s: 60}}
"""


@pytest.fixture(scope="session")
def small_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 600-firm Hangzhou scenario without phasing (all actions in 2021)."""
    path = tmp_path_factory.mktemp("scenarios") / "small.yaml"
    path.write_text(SMALL_YAML, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_run(small_yaml: Path) -> Any:
    """The solved small scenario (a RunOutcome)."""
    from sim.run import run_scenario

    return run_scenario(small_yaml)


@dataclass
class Plan:
    """A model and a plan (one option index per unit)."""

    model: Any
    choice: np.ndarray


@pytest.fixture(scope="session")
def phased_plan() -> Plan:
    """A 1500-firm phased Hangzhou model with a random feasible-option plan.

    Every unit takes a random available option (seeded): every action kind in
    every action year 2021–2023, so the yearly accounting is exercised fully.
    """
    from sim.pipeline import build_model, load_scenario

    scenario, _ = load_scenario(HANGZHOU)
    scenario.population.scale_to_population = True
    model = build_model(scenario, n_firms=1500)
    available = model.problem.available
    rng = np.random.default_rng(3)
    score = np.where(available, rng.random(available.shape), -1.0)
    return Plan(model, np.argmax(score, axis=1).astype(np.int64))


def chosen_kinds(model: Any, choice: np.ndarray) -> np.ndarray:
    """Option kind of every unit's choice."""
    return np.asarray(model.options.slot_kinds[choice])
