"""The generated scenario reference in docs/ matches the schema it documents."""

from __future__ import annotations

from pathlib import Path

from sim.scenario.reference import defaults_reference
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]


def test_scenario_reference_is_current() -> None:
    committed = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    generated = defaults_reference(Scenario)
    assert committed.strip() == generated.strip(), (
        "docs/scenario-reference.md is stale: run `tenglong scenario-docs -o "
        "docs/scenario-reference.md`"
    )


def test_every_schema_field_is_documented() -> None:
    text = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    for name in Scenario.model_fields:
        assert f"`{name}`" in text
