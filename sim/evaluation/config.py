"""Configuration of the 亩均论英雄 evaluation: defaults from ``sim/config/evaluation.yaml``.

:func:`load_evaluation_config` returns the validated defaults with a
scenario's overrides merged in (nested mappings merge key by key; lists and
scalars replace). Unknown keys, wrong types or class shares that do not sum
to 1 raise :class:`~sim.errors.ScenarioError` listing every problem, with
the likely intended key for a misspelt one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rapidfuzz import process

from sim.data.calibration import read_yaml
from sim.errors import InputError, ScenarioError

ClassName = Literal["A", "B", "C", "D"]
FlagName = Literal["intensity", "two_high", "violation", "class_cd"]
CLASSES: tuple[ClassName, ...] = ("A", "B", "C", "D")

# Indicator name → (numerator variable, denominator variable, units, Chinese name).
INDICATORS: dict[str, tuple[str, str, str, str]] = {
    "tax_per_mu": ("tax_wan", "land_mu", "万元/mu", "亩均税收"),
    "va_per_mu": ("value_added_wan", "land_mu", "万元/mu", "亩均增加值"),
    "va_per_tce": ("value_added_wan", "energy_tce", "万元/tce", "单位能耗增加值"),
    "va_per_tco2": ("value_added_wan", "co2_t", "万元/t CO2", "单位排放增加值"),
    "va_per_employee": ("value_added_wan", "employees", "万元/person", "全员劳动生产率"),
    "rd_share": ("rd_wan", "revenue_wan", "1", "研发经费占营业收入比重"),
    "tax_per_tce": ("tax_wan", "energy_tce", "万元/tce", "单位能耗税收"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Indicator(_Strict):
    """One scored indicator: weight (points) and benchmark (in the indicator's units)."""

    weight: float = Field(ge=0)
    benchmark: float = Field(gt=0)
    units: str = ""
    source: str = ""


class ScoreRule(_Strict):
    """Score = Σ weight · min(value / benchmark, cap) over ``indicators``."""

    cap: float = Field(gt=0)
    cap_source: str = ""
    indicators: dict[str, Indicator]

    @model_validator(mode="after")
    def _known(self) -> ScoreRule:
        unknown = [k for k in self.indicators if k not in INDICATORS]
        if unknown:
            raise ValueError(f"unknown indicator(s) {unknown}; known: {sorted(INDICATORS)}")
        return self


class Scope(_Strict):
    """Which firms are evaluated: land ≥ ``min_land_mu`` (mu)."""

    min_land_mu: float = Field(ge=0)
    source: str = ""


class ClassShares(_Strict):
    """Shares of classes A–D within each ranked group; they must sum to 1."""

    A: float = Field(ge=0, le=1)
    B: float = Field(ge=0, le=1)
    C: float = Field(ge=0, le=1)
    D: float = Field(ge=0, le=1)
    source: str = ""

    @model_validator(mode="after")
    def _sum_one(self) -> ClassShares:
        total = self.A + self.B + self.C + self.D
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"class shares must sum to 1, got {total:g}")
        return self

    def as_tuple(self) -> tuple[float, float, float, float]:
        """(A, B, C, D) shares."""
        return (self.A, self.B, self.C, self.D)


class Screening(_Strict):
    """The 高耗低效 candidate rule (see evaluation.yaml)."""

    classes: list[ClassName]
    any_of: list[FlagName]
    always: list[FlagName]
    intensity_factor: float = Field(gt=0)
    sector_intensity_benchmark: dict[str, float] = Field(default_factory=dict)
    sector_intensity_benchmark_below_scale: dict[str, float] = Field(default_factory=dict)
    source: str = ""


class EvaluationConfig(_Strict):
    """The whole 亩均 evaluation configuration."""

    scope: Scope
    use_given_class: bool
    above_scale: ScoreRule
    below_scale: ScoreRule
    class_shares: ClassShares
    screening: Screening


def default_evaluation_path() -> Path:
    """Path of the packaged ``sim/config/evaluation.yaml``."""
    return Path(str(resources.files("sim.config").joinpath("evaluation.yaml")))


def _defaults() -> dict[str, Any]:
    raw = read_yaml(default_evaluation_path(), "evaluation config")
    if not isinstance(raw, dict):
        raise InputError(f"{default_evaluation_path()}: expected a mapping at the top level.")
    return raw


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: mappings recursively, other values replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _describe(err: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err["loc"]]
    text = f"{'.'.join(loc) or '(top)'}: {err['msg']}"
    if err["type"] == "extra_forbidden":
        parent: Any = _defaults()
        for part in loc[:-1]:
            parent = parent.get(part, {}) if isinstance(parent, Mapping) else {}
        if isinstance(parent, Mapping) and parent:
            best = process.extractOne(loc[-1], [str(k) for k in parent])
            if best is not None and best[1] >= 60:
                text += f"; did you mean '{best[0]}'?"
    return text


def load_evaluation_config(overrides: Mapping[str, Any] | None = None) -> EvaluationConfig:
    """The default evaluation configuration with ``overrides`` merged in.

    Example: ``load_evaluation_config({"class_shares": {"A": 0.25, "C": 0.27}})``.

    Raises:
        ScenarioError: an override names an unknown key or has a wrong value.
    """
    raw = deep_merge(_defaults(), overrides or {})
    try:
        return EvaluationConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(err, raw) for err in exc.errors()]
        raise ScenarioError("invalid evaluation configuration:", problems) from None


def load_evaluation_overrides(path: str | Path) -> dict[str, Any]:
    """Read a YAML file of evaluation overrides (a mapping; empty file → {})."""
    p = Path(path)
    raw = read_yaml(p, "evaluation overrides")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError(f"{p}: evaluation overrides must be a mapping of keys to values.")
    return raw
