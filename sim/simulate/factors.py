"""Uncertain parameters as multiplicative factors on groups of effects.

A scenario's ``uncertainty.parameters`` maps a *named factor* or a *dotted
scenario path* to a :class:`~sim.scenario.schema.Distribution` of a
multiplicative factor on the parameter's nominal value (mean 1 = nominal).
Every supported parameter acts linearly (or, for growth rates, through the
growth path) on one group of a plan's effects, so that a plan can be
re-evaluated under thousands of draws without rebuilding the model:

* ``flow``: a plan flow (``land_freed_mu``, ``energy_saved_tce``, ``co2_cut_t``,
  ``public_cost_wan``, ``private_capex_wan``, ``jobs_lost`` …) of the options of
  some kinds (and upgrade level);
* ``delta``: the change of the end-state (VA, tax, energy, land, employees)
  an option makes relative to keeping, for some kinds;
* ``entrant``: the state of new entrants on redeveloped land;
* ``project``: the state of admitted new projects;
* ``growth``: a baseline growth rate (``value_added``, ``tax``,
  ``energy_efficiency``, ``employees``), multiplied by the factor.

Named factors (``NAMED_FACTORS``) and dotted paths (``dotted_factor``) both
resolve to a :class:`FactorSpec`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.errors import ScenarioError
from sim.scenario.schema import Distribution, Scenario
from sim.scenario.suggest import suggest

FloatArray = npt.NDArray[np.float64]

#: Plan flows tracked by the simulation (per unit-option, as in ``sim.options.effects``).
FLOWS = (
    "rectified",
    "land_freed_mu",
    "energy_saved_tce",
    "co2_cut_t",
    "public_cost_wan",
    "private_capex_wan",
    "jobs_lost",
    "land_converted_mu",
)
#: End-state quantities (万元/yr, 万元/yr, tce/yr, mu, persons).
QUANTITIES = ("va_wan", "tax_wan", "energy_tce", "land_mu", "employees")
GROWTH_KEYS = ("value_added", "tax", "energy_efficiency", "employees")
ACTION_KINDS = ("exit", "merge", "relocate", "upgrade")


@dataclass(frozen=True)
class FactorEffect:
    """Where a factor multiplies.

    Attributes:
        part: ``flow``, ``delta``, ``entrant``, ``project`` or ``growth``.
        names: flow names, quantity names or growth keys it multiplies.
        kinds: option kinds it applies to (``None``: all kinds).
        variant: upgrade level name (``None``: every variant).
    """

    part: str
    names: tuple[str, ...]
    kinds: tuple[str, ...] | None = None
    variant: str | None = None


@dataclass(frozen=True)
class FactorSpec:
    """One uncertain factor: its scenario key, distribution and effect groups."""

    key: str
    distribution: Distribution
    effects: tuple[FactorEffect, ...]


def _saving(kinds: tuple[str, ...], variant: str | None = None) -> tuple[FactorEffect, ...]:
    return (
        FactorEffect("flow", ("energy_saved_tce", "co2_cut_t"), kinds, variant),
        FactorEffect("delta", ("energy_tce",), kinds, variant),
    )


def _gain(kinds: tuple[str, ...], variant: str | None = None) -> tuple[FactorEffect, ...]:
    return (FactorEffect("delta", ("va_wan", "tax_wan"), kinds, variant),)


#: Named factors → (description, effect groups).
NAMED_FACTORS: dict[str, tuple[str, tuple[FactorEffect, ...]]] = {
    "upgrade_saving": ("energy saved (and CO2 cut) by upgrades", _saving(("upgrade",))),
    "relocate_saving": ("energy saved by relocations", _saving(("relocate",))),
    "merge_saving": ("energy saved by merges", _saving(("merge",))),
    "energy_saving": (
        "energy saved by upgrades, relocations and merges",
        _saving(("upgrade", "relocate", "merge")),
    ),
    "upgrade_va": ("VA and tax gain of upgrades", _gain(("upgrade",))),
    "relocate_va": ("VA and tax gain of relocations", _gain(("relocate",))),
    "cost": ("public cost of every action", (FactorEffect("flow", ("public_cost_wan",)),)),
    "capex": ("private capex of every action", (FactorEffect("flow", ("private_capex_wan",)),)),
    "jobs_loss": ("jobs displaced by every action", (FactorEffect("flow", ("jobs_lost",)),)),
    "va_growth": ("baseline VA growth rate", (FactorEffect("growth", ("value_added",)),)),
    "growth": ("baseline VA growth rate (alias)", (FactorEffect("growth", ("value_added",)),)),
    "tax_growth": ("baseline tax growth rate", (FactorEffect("growth", ("tax",)),)),
    "efficiency_trend": (
        "baseline yearly energy-efficiency gain",
        (FactorEffect("growth", ("energy_efficiency",)),),
    ),
    "employment_growth": ("baseline employment growth", (FactorEffect("growth", ("employees",)),)),
    "redevelopment_takeup": (
        "land taken up by entrants on freed land (share redeveloped)",
        (FactorEffect("entrant", QUANTITIES),),
    ),
    "entrant_productivity": (
        "entrants' VA and tax per mu (energy follows VA)",
        (FactorEffect("entrant", ("va_wan", "tax_wan", "energy_tce")),),
    ),
    "project_delivery": (
        "admitted new projects delivered (落地率)",
        (FactorEffect("project", QUANTITIES),),
    ),
}

_LEVEL = r"actions\.upgrade\.levels\.(\d+)\."
#: Dotted scenario paths that act linearly on an effect group (level index → level name).
DOTTED_PATTERNS: list[tuple[str, str]] = [
    (_LEVEL + "energy_saving_share", "level_saving"),
    (_LEVEL + "va_gain_share", "level_va"),
    (_LEVEL + "capex_wan_per_tce", "level_capex"),
    (r"actions\.relocate\.energy_saving_share", "relocate_saving"),
    (r"actions\.relocate\.va_gain_share", "relocate_va"),
    (r"actions\.redevelopment\.share", "redevelopment_takeup"),
    (r"actions\.redevelopment\.va_per_mu_wan", "entrant_va"),
    (r"actions\.redevelopment\.tax_per_mu_wan", "entrant_tax"),
    (r"actions\.redevelopment\.energy_per_va_tce", "entrant_energy"),
    (r"actions\.redevelopment\.jobs_per_mu", "entrant_jobs"),
    (r"horizon\.growth\.(value_added|tax|energy_efficiency|employees)", "growth"),
]
SUPPORTED_PATHS = [
    "actions.upgrade.levels.N.energy_saving_share",
    "actions.upgrade.levels.N.va_gain_share",
    "actions.upgrade.levels.N.capex_wan_per_tce",
    "actions.relocate.energy_saving_share",
    "actions.relocate.va_gain_share",
    "actions.redevelopment.share",
    "actions.redevelopment.va_per_mu_wan",
    "actions.redevelopment.tax_per_mu_wan",
    "actions.redevelopment.energy_per_va_tce",
    "actions.redevelopment.jobs_per_mu",
    "horizon.growth.value_added",
    "horizon.growth.tax",
    "horizon.growth.energy_efficiency",
    "horizon.growth.employees",
]


def dotted_factor(path: str, scenario: Scenario) -> tuple[FactorEffect, ...]:
    """Effect groups of a dotted scenario path; :class:`ScenarioError` when unsupported."""
    for pattern, kind in DOTTED_PATTERNS:
        match = re.fullmatch(pattern, path)
        if match is None:
            continue
        if kind.startswith("level_"):
            levels = scenario.actions.upgrade.levels
            index = int(match.group(1))
            if index >= len(levels):
                raise ScenarioError(
                    f"uncertainty.parameters: '{path}': there are only {len(levels)} upgrade "
                    "levels (indices from 0)."
                )
            name = levels[index].name
            if kind == "level_saving":
                return _saving(("upgrade",), name)
            if kind == "level_va":
                return _gain(("upgrade",), name)
            return (FactorEffect("flow", ("public_cost_wan", "private_capex_wan"), ("upgrade",),
                                 name),)
        if kind == "growth":
            return (FactorEffect("growth", (match.group(1),)),)
        entrant = {
            "entrant_va": ("va_wan", "energy_tce"),
            "entrant_tax": ("tax_wan",),
            "entrant_energy": ("energy_tce",),
            "entrant_jobs": ("employees",),
        }
        if kind in entrant:
            return (FactorEffect("entrant", entrant[kind]),)
        return NAMED_FACTORS[kind][1]
    hint = suggest(path, [*NAMED_FACTORS, *SUPPORTED_PATHS])
    raise ScenarioError(
        f"uncertainty.parameters: '{path}' is neither a named factor nor a supported scenario "
        "path" + (f"; did you mean '{hint}'?" if hint else ".")
        + "\nNamed factors: " + ", ".join(NAMED_FACTORS)
        + "\nScenario paths: " + ", ".join(SUPPORTED_PATHS)
    )


def factor_specs(scenario: Scenario) -> list[FactorSpec]:
    """The scenario's uncertain factors, in the order they are written."""
    out = []
    for key, dist in scenario.uncertainty.parameters.items():
        effects = NAMED_FACTORS[key][1] if key in NAMED_FACTORS else dotted_factor(key, scenario)
        _check_distribution(key, dist)
        out.append(FactorSpec(key, dist, effects))
    return out


def _check_distribution(key: str, d: Distribution) -> None:
    where = f"uncertainty.parameters.{key}"
    if d.dist in ("uniform", "triangular") and (d.low is None or d.high is None):
        raise ScenarioError(f"{where}: a {d.dist} distribution needs 'low' and 'high'.")
    if d.dist in ("uniform", "triangular"):
        assert d.low is not None and d.high is not None
        mode = d.mean if d.mode is None else d.mode
        if not d.low <= d.high or (d.dist == "triangular" and not d.low <= mode <= d.high):
            raise ScenarioError(f"{where}: need low ≤ mode ≤ high, got {d.low}, {mode}, {d.high}.")
    if d.dist == "lognormal" and d.mean <= 0:
        raise ScenarioError(f"{where}: a lognormal factor needs a positive mean, got {d.mean}.")


def sample(specs: list[FactorSpec], draws: int, seed: int) -> FloatArray:
    """``(draws, n_factors)`` factor values; reproducible from ``seed``.

    ``normal`` is clipped at 0 (a factor cannot be negative); ``lognormal``
    has the given mean and standard deviation; ``fixed`` is ``mean``. A
    zero-variance distribution returns exactly ``mean``.
    """
    rng = np.random.default_rng(seed)
    out = np.ones((draws, len(specs)))
    for k, spec in enumerate(specs):
        d = spec.distribution
        if d.dist == "fixed" or (d.dist in ("normal", "lognormal") and d.sd == 0.0):
            out[:, k] = d.mean
            continue
        if d.dist == "normal":
            out[:, k] = np.maximum(d.mean + d.sd * rng.standard_normal(draws), 0.0)
        elif d.dist == "lognormal":
            sigma2 = np.log1p((d.sd / d.mean) ** 2)
            mu = np.log(d.mean) - sigma2 / 2
            out[:, k] = np.exp(mu + np.sqrt(sigma2) * rng.standard_normal(draws))
        elif d.dist == "uniform":
            assert d.low is not None and d.high is not None
            out[:, k] = rng.uniform(d.low, d.high, draws)
        else:
            assert d.low is not None and d.high is not None
            mode = d.mean if d.mode is None else d.mode
            if d.low == d.high:
                out[:, k] = d.low
            else:
                out[:, k] = rng.triangular(d.low, mode, d.high, draws)
    return out
