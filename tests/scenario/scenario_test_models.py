"""Small pydantic models and helpers for the scenario-loader tests (independent of the schema)."""

from __future__ import annotations

import textwrap
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    """Unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Color(StrEnum):
    """A park colour (tests enum errors)."""

    red = "red"
    blue = "blue"


class Target(Strict):
    """A minimum or maximum target."""

    value: float = Field(gt=0, description="Target value.", json_schema_extra={"unit": "mu"})
    sense: Literal[">=", "<="] = ">="


class Growth(Strict):
    """Yearly growth rates."""

    value_added: float = Field(default=0.07, description="VA growth per year.")
    tax: float = 0.06


class Horizon(Strict):
    """Plan years."""

    base_year: int = 2020
    end_year: int = 2023
    growth: Growth = Field(default_factory=Growth)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end_year < self.base_year:
            raise ValueError("end_year must not be before base_year")
        return self


class Park(Strict):
    """An industrial park."""

    name: str
    capacity_mu: float = Field(default=100.0, ge=0)
    color: Color = Color.red


class Root(Strict):
    """A miniature scenario."""

    name: str = "base"
    horizon: Horizon = Field(default_factory=Horizon)
    targets: dict[str, Target] = Field(default_factory=dict)
    parks: list[Park] = Field(default_factory=list)
    objective: Literal["min_cost", "max_va"] = "min_cost"
    mode: float | Literal["auto"] = "auto"
    enabled: bool = True
    districts: list[str] = Field(default_factory=list)
    budget_wan: float | None = None


VALID = """\
name: test
horizon:
  base_year: 2020
  growth:
    tax: 0.05
targets:
  land:
    value: 20000
  energy:
    value: 600000
    sense: ">="
parks:
  - name: north
    capacity_mu: 500
  - name: south
    color: blue
objective: max_va
mode: 0.5
enabled: false
districts: [a, b]
budget_wan: null
"""


def write(directory: Path, name: str, text: str | bytes) -> Path:
    """Write ``text`` (dedented) or raw bytes to ``directory/name`` and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
