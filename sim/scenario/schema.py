"""The scenario schema: every key a scenario YAML file may hold, with its default.

This module is the one place where defaults live. ``tenglong scenario-docs``
renders it as ``docs/scenario-reference.md``. Every model forbids unknown keys,
so a misspelt key is an error with a "did you mean" (see ``sim.scenario.loader``).

Units: money in 万元 (10^4 yuan), land in mu (亩), energy in tce, CO2 in t,
jobs in persons, shares as fractions (0.13 = 13%).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MuniClass = Literal["A", "B", "C", "D"]
SplitTarget = Literal["land_freed_mu", "energy_saved_tce", "co2_cut_t", "firms_rectified"]


def _split(*names: SplitTarget) -> list[SplitTarget]:
    return list(names)


def _classes(*names: MuniClass) -> list[MuniClass]:
    return list(names)


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are refused."""

    # allow_inf_nan=False: NaN or ±inf in a scenario is a mistake, never a setting.
    model_config = ConfigDict(extra="forbid", frozen=False, allow_inf_nan=False)


# --------------------------------------------------------------------- population
class SyntheticPopulation(Strict):
    """A calibrated synthetic enterprise register (see ``sim.data.synthetic``)."""

    n: int = Field(20000, gt=0, description="Number of industrial firms holding ≥ 5 mu.")
    seed: int = Field(0, description="Random seed of the population.")
    above_scale_share: float = Field(
        1 / 3, gt=0, lt=1, description="Share of firms above designated size (规上)."
    )


class Population(Strict):
    """Where the enterprises come from: a register file, else a synthetic population."""

    register_file: Path | None = Field(
        None,
        description="CSV, Parquet or Excel register (MODEL.md §3 columns), relative to the "
        "scenario file. When absent the synthetic population is used.",
    )
    synthetic: SyntheticPopulation = Field(default_factory=SyntheticPopulation)
    allow_custom_districts: bool = Field(
        False, description="Accept districts outside the 13 of Hangzhou (warn instead of fail)."
    )
    reference_firms: int = Field(
        20000,
        gt=0,
        description="Population size the absolute targets, limits and park capacities refer "
        "to. With `scale_to_population`, they are multiplied by n / reference_firms.",
    )
    scale_to_population: bool = Field(
        False,
        description="Scale absolute targets, limits and capacities with population size "
        "(for benchmarks on scaled copies of Hangzhou).",
    )


# --------------------------------------------------------------------- horizon
class Growth(Strict):
    """Baseline (no-action) trends per year, applied from base year to end year."""

    value_added: float = Field(
        0.07, gt=-1, le=1, description="Real VA growth per year of kept firms."
    )
    tax: float = Field(0.06, gt=-1, le=1, description="Tax growth per year of kept firms.")
    energy_efficiency: float = Field(
        0.03,
        gt=-1,
        lt=1,
        description="Yearly decline of energy per unit VA of kept firms (trend).",
    )
    employees: float = Field(
        0.0, gt=-1, le=1, description="Employment growth per year of kept firms."
    )


class Horizon(Strict):
    """Years of the plan. A next round (e.g. 2026–2028 from 2025) is an edit here."""

    base_year: int = Field(2020, description="Year of the register data.")
    start_year: int = Field(2021, description="First year actions take effect.")
    end_year: int = Field(2023, description="Year in which targets and ratio KPIs are measured.")
    report_until: int = Field(2025, description="Last year of simulated trajectories.")
    growth: Growth = Field(default_factory=Growth)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if not self.base_year < self.start_year <= self.end_year <= self.report_until:
            raise ValueError(
                "years must satisfy base_year < start_year <= end_year <= report_until, got "
                f"{self.base_year}, {self.start_year}, {self.end_year}, {self.report_until}"
            )
        if self.report_until - self.base_year > 100:
            raise ValueError(
                f"the horizon spans {self.report_until - self.base_year} years "
                f"({self.base_year}–{self.report_until}); at most 100 are modelled"
            )
        return self

    @property
    def years(self) -> list[int]:
        """Action years, start_year..end_year."""
        return list(range(self.start_year, self.end_year + 1))


# --------------------------------------------------------------------- eligibility
class Eligibility(Strict):
    """Which enterprises may act (整治提升 scope)."""

    candidates_only: bool = Field(
        True, description="Only 高耗低效 candidates from the screening may act; others keep."
    )
    exempt_classes: list[MuniClass] = Field(
        default_factory=lambda: _classes("A"),
        description="亩均 classes that never act (A-class exempt).",
    )
    violators_must_act: bool = Field(
        True, description="违法违规 firms cannot keep: they must take an action."
    )


# --------------------------------------------------------------------- actions
class Redevelopment(Strict):
    """New entrants on land freed by exits and relocations (腾笼 → 换鸟)."""

    share: float = Field(
        0.7, ge=0, le=1, description="Share of freed land redeveloped by new industrial entrants."
    )
    converted_share: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Share of freed land converted to non-industrial use (needs 1:1.2 "
        "replacement in the land balance).",
    )
    lag_years: int = Field(1, ge=0, description="Years between freeing and the entrant's output.")
    va_per_mu_wan: float = Field(300.0, ge=0, description="Entrant VA per mu (万元/mu/yr).")
    tax_per_mu_wan: float = Field(55.0, ge=0, description="Entrant tax per mu (万元/mu/yr).")
    energy_per_va_tce: float = Field(
        0.12, ge=0, description="Entrant energy per 万元 VA (tce/万元); ≤ 0.52 per Zhejiang."
    )
    jobs_per_mu: float = Field(0.8, ge=0, description="Entrant employees per mu.")
    land_resale_wan_per_mu_factor: float = Field(
        1.0,
        ge=0,
        description="Resale price of redeveloped land as a multiple of the district land price "
        "floor; it offsets the public buy-back cost.",
    )


class ExitAction(Strict):
    """整体腾退: the firm closes; its land is bought back and redeveloped."""

    enabled: bool = True
    energy_leakage_share: float = Field(
        0.0, ge=0, le=1, description="Share of the exited energy use that moves elsewhere."
    )
    buyback_price_factor: float = Field(
        2.0,
        ge=0,
        description="Buy-back price as a multiple of the district industrial land price "
        "floor (CALIBRATION: floors only; market prices are higher).",
    )
    severance_wan_per_job: float = Field(
        5.0, ge=0, description="Public severance and re-employment support per job (万元)."
    )


class MergeAction(Strict):
    """兼并重组: an A/B-class firm of the same sector nearby takes the firm over."""

    enabled: bool = True
    candidates_per_firm: int = Field(2, ge=1, le=5, description="Nearest acquirers offered.")
    acquirers_per_sector: int = Field(
        4, ge=1, description="Acquirer pool: the largest A/B-class firms per sector."
    )
    acquirer_classes: list[MuniClass] = Field(
        default_factory=lambda: _classes("A", "B"), description="Classes that may acquire."
    )
    capacity_share_of_own_land: float = Field(
        0.5,
        gt=0,
        description="An acquirer may absorb target land up to this share of its own land (mu).",
    )
    land_freed_share: float = Field(
        0.5, ge=0, le=1, description="Share of the target's land freed after consolidation."
    )
    jobs_retained_share: float = Field(0.7, ge=0, le=1, description="Share of jobs kept.")
    va_retained_share: float = Field(
        1.1, ge=0, description="Target VA after the merge as a multiple of its own (synergy)."
    )
    investment_wan_per_mu: float = Field(
        60.0, ge=0, description="Acquirer investment per mu of target land (万元/mu)."
    )
    subsidy_share: float = Field(0.03, ge=0, le=1, description="Public share of investment.")
    subsidy_cap_wan: float = Field(200.0, ge=0, description="Subsidy cap per merge (万元).")


class RelocateAction(Strict):
    """搬迁入园: the firm moves into an industrial park on less land."""

    enabled: bool = True
    candidates_per_firm: int = Field(2, ge=1, le=5, description="Nearest parks offered.")
    plot_ratio_gain: float = Field(
        2.0, ge=1, description="Old-site land / park land needed (plot ratio 0.55 → ~1.1–2)."
    )
    energy_saving_share: float = Field(
        0.2, ge=0, le=1, description="Energy saved by new equipment at the new site."
    )
    va_gain_share: float = Field(0.1, ge=0, description="VA gain after relocation.")
    jobs_retained_share: float = Field(0.9, ge=0, le=1, description="Share of jobs kept.")
    subsidy_wan_per_mu: float = Field(
        15.0, ge=0, description="Public relocation subsidy per mu of old site (万元/mu)."
    )
    capex_wan_per_mu: float = Field(
        80.0, ge=0, description="Private relocation capex per mu of park land (万元/mu)."
    )


class UpgradeLevel(Strict):
    """One level of 改造提升 (technical upgrade)."""

    name: str = Field(description="Level label, e.g. 'basic' or 'deep'.")
    energy_saving_share: float = Field(ge=0, le=1, description="Share of energy use saved.")
    va_gain_share: float = Field(ge=0, description="VA gain (share of the firm's VA).")
    jobs_change_share: float = Field(
        0.0, ge=-1, le=1, description="Change in employment (automation: negative)."
    )
    capex_wan_per_tce: float = Field(ge=0, description="Capex per tce/yr saved (万元 per tce/yr).")
    subsidy_share: float = Field(ge=0, le=1, description="Public share of capex (技改 subsidy).")


def _default_levels() -> list[UpgradeLevel]:
    return [
        UpgradeLevel(
            name="basic",
            energy_saving_share=0.12,
            va_gain_share=0.06,
            jobs_change_share=-0.03,
            capex_wan_per_tce=0.8,
            subsidy_share=0.2,
        ),
        UpgradeLevel(
            name="deep",
            energy_saving_share=0.28,
            va_gain_share=0.18,
            jobs_change_share=-0.08,
            capex_wan_per_tce=1.6,
            subsidy_share=0.3,
        ),
    ]


class UpgradeAction(Strict):
    """改造提升 at two or more levels."""

    enabled: bool = True
    levels: list[UpgradeLevel] = Field(default_factory=_default_levels, min_length=1)


class Actions(Strict):
    """Parameters of the four actions (keep is always allowed unless barred)."""

    exit: ExitAction = Field(default_factory=ExitAction)
    merge: MergeAction = Field(default_factory=MergeAction)
    relocate: RelocateAction = Field(default_factory=RelocateAction)
    upgrade: UpgradeAction = Field(default_factory=UpgradeAction)
    redevelopment: Redevelopment = Field(default_factory=Redevelopment)


# --------------------------------------------------------------------- new projects
class NewProjects(Strict):
    """换鸟: candidate new projects admitted on freed land with freed energy."""

    enabled: bool = True
    file: Path | None = Field(
        None,
        description="CSV of projects (id, district, sector, land_mu, energy_tce, "
        "value_added_wan, tax_wan, employees); synthetic when absent.",
    )
    synthetic_count: int = Field(150, ge=0, description="Synthetic candidate projects.")
    seed: int = Field(1, description="Seed of the synthetic projects.")
    replacement_ratio: float = Field(
        1.2,
        ge=1,
        description="Energy freed per tce used by admitted projects (1 = 等量, >1 = 减量 替代).",
    )
    land_from_freed_only: bool = Field(
        True, description="Admitted projects use freed land not taken by redevelopment."
    )


# --------------------------------------------------------------------- targets
class DistrictSplit(Strict):
    """任务分解: split city targets into district minimums."""

    mode: Literal["none", "pool", "explicit"] = Field(
        "pool",
        description="none; pool = each district's share of the candidate pool's land "
        "(energy, CO2, firms); explicit = the `shares` table.",
    )
    coverage: float = Field(
        0.7,
        ge=0,
        le=1,
        description="District minimums add up to this share of the city target (the rest "
        "is free to be met anywhere).",
    )
    shares: dict[str, float] = Field(
        default_factory=dict,
        description="Explicit district shares (mode = explicit): fractions between 0 and 1 "
        "adding up to at most 1; districts not named get no minimum.",
    )
    targets: list[SplitTarget] = Field(
        default_factory=lambda: _split("land_freed_mu", "energy_saved_tce"),
        description="Which city targets are split by district.",
    )

    @model_validator(mode="after")
    def _shares_are_fractions(self) -> DistrictSplit:
        bad = {k: v for k, v in self.shares.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"shares must lie between 0 and 1 (0.13 = 13%), got {bad}")
        total = sum(self.shares.values())
        if total > 1 + 1e-9:
            raise ValueError(
                f"shares add up to {total:g}; they split `coverage` of the city target, "
                "so they must add up to at most 1"
            )
        if self.mode == "explicit" and not self.shares:
            raise ValueError("mode 'explicit' needs a `shares` table (district: fraction)")
        return self


class Targets(Strict):
    """The plan's targets. ``null`` drops a target."""

    land_freed_mu: float | None = Field(20000, ge=0, description="盘活低效工业用地 (mu).")
    energy_saved_tce: float | None = Field(600000, ge=0, description="腾出用能 (tce/yr).")
    co2_cut_t: float | None = Field(1200000, ge=0, description="减碳 (t CO2/yr).")
    firms_rectified: float | None = Field(700, ge=0, description="整治提升企业 (firms).")
    tax_per_mu_wan: float | None = Field(
        45, ge=0, description="End-year above-scale 亩均税收 (万元/mu)."
    )
    va_per_mu_wan: float | None = Field(
        240, ge=0, description="End-year above-scale 亩均增加值 (万元/mu)."
    )
    labour_productivity_wan: float | None = Field(
        39, ge=0, description="End-year above-scale VA per employee (万元/person)."
    )
    energy_intensity_reduction: float | None = Field(
        0.13, ge=0, lt=1, description="Cut of energy per unit VA, base year → end year."
    )
    district_split: DistrictSplit = Field(default_factory=DistrictSplit)


class Limits(Strict):
    """Budget and social limits. ``null`` means no limit."""

    budget_wan: float | None = Field(
        1_500_000, ge=0, description="Total public cost over the plan (万元)."
    )
    jobs_lost_max: float | None = Field(
        60000, ge=0, description="City-wide jobs displaced at most (persons)."
    )
    district_jobs_lost_share_max: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Per district: jobs displaced at most this share of its candidates' jobs.",
    )


# --------------------------------------------------------------------- phasing
RampKind = Literal["exit", "merge", "relocate", "upgrade"]


def _default_ramp() -> dict[RampKind, list[float]]:
    return {"upgrade": [0.5, 1.0]}


class Trajectories(Strict):
    """How the chosen actions unfold year by year (月督查、季通报、年总评).

    Used by ``sim.simulate`` for the yearly KPI paths, whether or not phasing is
    enabled (without phasing every action takes effect in ``horizon.start_year``).
    """

    ramp_up: dict[RampKind, list[float]] = Field(
        default_factory=_default_ramp,
        description="Share of an action's energy saving and change of VA, tax, energy and jobs "
        "realised in its action year, the next year, ...; the last value holds afterwards. "
        "Kinds not listed take full effect in their action year. The optimiser's end-year "
        "accounting counts the full effect, so trajectories equal it at the end year only "
        "when the ramp-up is complete by then.",
    )
    project_lag_years: int = Field(
        1,
        ge=0,
        description="Years between admitting a new project (horizon.start_year) and its output.",
    )
    land_stock_mu: float = Field(
        470_000,
        gt=0,
        description="Industrial land stock in the base year (mu); city level, scaled with "
        "population.scale_to_population. Default above the 300 km² floor.",
    )
    land_floor_mu: float = Field(
        450_000,
        ge=0,
        description="严守300平方公里工业用地: the stock must stay at or above this (mu; 300 km²).",
    )
    land_replacement_ratio: float = Field(
        1.2,
        ge=0,
        description="占补平衡: new industrial land supplied per mu converted to other use.",
    )
    new_land_supply_mu_per_year: float = Field(
        0.0,
        ge=0,
        description="Other newly added industrial land per year (mu), e.g. 6000 per the plan; "
        "0 counts only the 1:1.2 replacement.",
    )

    @model_validator(mode="after")
    def _ramps(self) -> Trajectories:
        for kind, shares in self.ramp_up.items():
            if not shares or any(not 0 <= v <= 1 for v in shares):
                raise ValueError(
                    f"ramp_up.{kind}: give one or more shares between 0 and 1, got {shares}"
                )
        return self


class Phasing(Strict):
    """Multi-year scheduling: the optimiser chooses the year of each action."""

    enabled: bool = Field(False, description="Choose action years (else all act by end year).")
    cumulative_shares: dict[int, float] = Field(
        default_factory=lambda: {2021: 0.3, 2022: 0.65, 2023: 1.0},
        description="Share of each absolute target to reach by each year (cumulative).",
    )
    budget_wan_per_year: dict[int, float] = Field(
        default_factory=dict, description="Yearly budget caps (万元)."
    )
    discount_rate: float = Field(
        0.03,
        ge=0,
        description="Yearly discount rate of public cost; the min-cost objective is the "
        "present value in start_year, so an action costs less the later it is paid.",
    )
    trajectories: Trajectories = Field(
        default_factory=Trajectories,
        description="Yearly simulation of the plan: ramp-up, project lag, industrial land balance.",
    )

    @model_validator(mode="after")
    def _cumulative(self) -> Phasing:
        shares = sorted(self.cumulative_shares.items())
        bad = {y: v for y, v in shares if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"cumulative_shares must lie between 0 and 1, got {bad}")
        falls = [(a, b) for a, b in itertools.pairwise(shares) if b[1] < a[1]]
        if falls:
            (y0, v0), (y1, v1) = falls[0]
            raise ValueError(
                f"cumulative_shares are cumulative, so they cannot fall: {y0}: {v0:g} "
                f"then {y1}: {v1:g}"
            )
        return self


# --------------------------------------------------------------------- overrides
class Override(Strict):
    """一企一策: set one effect of one enterprise's option."""

    id: str = Field(description="Enterprise id.")
    option: str = Field(
        description="Option kind ('exit', 'merge', 'relocate', 'upgrade', 'keep'), or an "
        "option label like 'upgrade:deep' or 'merge#1'."
    )
    metric: str = Field(description="Metric name, e.g. 'public_cost_wan'; or 'available'.")
    value: float = Field(description="New value (for 'available': 0 removes the option).")


# --------------------------------------------------------------------- objective & solver
class Objective(Strict):
    """What the optimiser aims for."""

    kind: Literal["min_cost", "max_va", "min_jobs_lost", "weighted"] = "min_cost"
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="For kind=weighted: metric → weight, minimised (e.g. public_cost_wan: 1, "
        "jobs_lost: 20, va_after_wan: -0.5).",
    )


class Solver(Strict):
    """How the choice problem is solved."""

    method: Literal["auto", "mip", "pyomo", "decomposition"] = Field(
        "auto", description="auto: exact MIP when small, decomposition when large."
    )
    time_limit_s: float = Field(120.0, gt=0, description="Wall-clock limit of the solve (s).")
    gap: float = Field(1e-4, ge=0, description="Relative optimality gap to stop at.")
    verify_tolerance: float = Field(
        1e-6, gt=0, description="Largest relative violation accepted by the independent check."
    )


class Diagnosis(Strict):
    """Elastic re-solve when targets cannot all be met."""

    penalty_factor: float = Field(
        1000.0,
        gt=0,
        description="Shortfall penalty as a multiple of the largest per-unit objective effect.",
    )


# --------------------------------------------------------------------- uncertainty & sweeps
class Distribution(Strict):
    """A distribution of a multiplicative factor or a value."""

    dist: Literal["normal", "lognormal", "uniform", "triangular", "fixed"] = "normal"
    mean: float = 1.0
    sd: float = Field(0.0, ge=0)
    low: float | None = None
    high: float | None = None
    mode: float | None = None


class Uncertainty(Strict):
    """Monte Carlo: parameters drawn per draw (dotted scenario paths → distribution)."""

    draws: int = Field(200, ge=1, description="Number of Monte Carlo draws.")
    seed: int = Field(7, description="Seed of the draws.")
    parameters: dict[str, Distribution] = Field(
        default_factory=dict,
        description="Dotted scenario path (e.g. actions.upgrade.levels.0.energy_saving_share) "
        "or a named factor (upgrade_saving, cost, va_growth, ...; see sim.simulate.factors) → "
        "distribution of a multiplicative factor on its nominal value (mean 1).",
    )
    robust_alpha: float | None = Field(
        None, gt=0, lt=1, description="Robust planning: meet targets in ≥ 1−α of draws."
    )
    robust_draws: int = Field(
        40, ge=1, description="Robust planning: sampled draws whose target rows join the problem."
    )
    robust_mode: Literal["chance", "all"] = Field(
        "chance",
        description="chance: targets met in ≥ 1−α·robust_backoff of the sampled draws (one "
        "switch per draw); all: met in every sampled draw (the scenario approach).",
    )
    robust_backoff: float = Field(
        0.5,
        gt=0,
        le=1,
        description="In-sample violation share allowed = α × backoff, a margin so that the "
        "plan keeps ≥ 1−α on held-out draws.",
    )
    holdout_draws: int = Field(
        1000, ge=1, description="Held-out draws that validate a robust plan."
    )
    holdout_seed: int | None = Field(
        None, description="Seed of the held-out draws (default: seed + 1000, never the same)."
    )
    quantiles: list[float] = Field(
        default_factory=lambda: [0.05, 0.25, 0.5, 0.75, 0.95],
        description="Quantiles of the fan charts.",
    )


class Sweep(Strict):
    """A parameter sweep run in parallel (dask.distributed)."""

    mode: Literal["grid", "random"] = "grid"
    parameters: dict[str, list[Any]] = Field(
        default_factory=dict, description="Dotted scenario path → values (grid) or [low, high]."
    )
    samples: int = Field(20, ge=1, description="Members for mode=random.")
    seed: int = 11


# --------------------------------------------------------------------- root
class Scenario(Strict):
    """A 腾笼换鸟 scenario: population, rules, actions, targets, limits, objective, solver."""

    name: str = Field("scenario", description="Short name; results go to results/<name>.nc.")
    title: str = Field("", description="Title for briefs (Chinese or English).")
    description: str = Field("", description="What this scenario asks.")
    extends: Any = Field(
        None, description="Parent scenario file(s); resolved by the loader before validation."
    )
    seed: int = Field(0, description="Seed of everything random that is not a population.")
    population: Population = Field(default_factory=Population)
    evaluation: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the 亩均 evaluation configuration (sim/config/evaluation.yaml).",
    )
    horizon: Horizon = Field(default_factory=Horizon)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    actions: Actions = Field(default_factory=Actions)
    new_projects: NewProjects = Field(default_factory=NewProjects)
    targets: Targets = Field(default_factory=Targets)
    limits: Limits = Field(default_factory=Limits)
    phasing: Phasing = Field(default_factory=Phasing)
    overrides: list[Override] = Field(default_factory=list, description="一企一策 table.")
    overrides_file: Path | None = Field(
        None, description="CSV with columns id, option, metric, value (一企一策)."
    )
    objective: Objective = Field(default_factory=Objective)
    solver: Solver = Field(default_factory=Solver)
    diagnosis: Diagnosis = Field(default_factory=Diagnosis)
    uncertainty: Uncertainty = Field(default_factory=Uncertainty)
    sweep: Sweep | None = Field(None, description="Optional parameter sweep.")

    source_file: Path | None = Field(
        None, exclude=True, description="Set by the loader: the scenario's own file."
    )

    @field_validator("name")
    @classmethod
    def _file_name(cls, name: str) -> str:
        # Results go to <out>/<name>.nc, so the name must be a plain file name.
        if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
            raise ValueError(
                f"the name {name!r} must be a plain file name (results go to <out>/<name>.nc): "
                "not empty, no '/' or '\\'"
            )
        return name

    @model_validator(mode="after")
    def _phase_years_in_horizon(self) -> Scenario:
        if not self.phasing.enabled:
            return self
        years = self.horizon.years
        outside = sorted(
            y for y in [*self.phasing.cumulative_shares, *self.phasing.budget_wan_per_year]
            if y not in years
        )
        if outside:
            raise ValueError(
                f"phasing names years {outside} outside the action years "
                f"{years[0]}–{years[-1]} (horizon.start_year..end_year) of "
                "phasing.cumulative_shares / phasing.budget_wan_per_year"
            )
        return self
