"""Issue #3, part 6: golden rows of every constraint family, checked by hand.

A hand-made option set (three firms in two districts and one project; keep,
exit, merge, relocate and admit slots) and a literal baseline go through each
family function of :mod:`sim.policy.constraints`; the produced
:class:`Constraint` objects are compared field by field (name, coefficients,
sense, right-hand sides, groups and labels) with values worked out here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from model_factories import merge

from sim.optimise.problem import Constraint
from sim.options.candidates import AcquirerPool, ParkPool
from sim.options.effects import OptionSet, metric_names
from sim.options.slots import Slot
from sim.policy import constraints as fam
from sim.policy.constraints import Baseline
from sim.scenario.schema import Scenario

NAN = np.nan
SLOTS = [
    Slot("keep", "", 2020),
    Slot("exit", "", 2021),
    Slot("merge", "1", 2021),
    Slot("relocate", "1", 2022),
    Slot("admit", "", 2021),
]
# unit → slot → metric → value (absent: 0 for available slots; None: slot unavailable)
EFFECTS: dict[str, list[dict[str, float] | None]] = {
    "F1": [
        {},
        {"land_freed_mu": 40, "energy_saved_tce": 300, "rectified": 1, "jobs_lost": 80},
        {
            "land_freed_mu": 20,
            "energy_saved_tce": 100,
            "rectified": 1,
            "jobs_lost": 20,
            "acquirer_land_mu": 20,
        },
        {
            "land_freed_mu": 40,
            "energy_saved_tce": 60,
            "rectified": 1,
            "jobs_lost": 8,
            "park_land_mu": 20,
        },
        None,
    ],
    "F2": [
        None,  # a violator: keep barred
        {"land_freed_mu": 25, "energy_saved_tce": 500, "rectified": 1, "jobs_lost": 50},
        None,  # no acquirer
        {
            "land_freed_mu": 25,
            "energy_saved_tce": 100,
            "rectified": 1,
            "jobs_lost": 5,
            "park_land_mu": 12.5,
        },
        None,
    ],
    "F3": [
        {},
        {"land_freed_mu": 60, "energy_saved_tce": 1200, "rectified": 1, "jobs_lost": 120},
        {
            "land_freed_mu": 30,
            "energy_saved_tce": 700,
            "rectified": 1,
            "jobs_lost": 36,
            "acquirer_land_mu": 30,
        },
        {
            "land_freed_mu": 60,
            "energy_saved_tce": 240,
            "rectified": 1,
            "jobs_lost": 12,
            "park_land_mu": 30,
        },
        None,
    ],
    "P1": [{}, None, None, None, {"land_for_projects_mu": -10, "project_energy_tce": 400}],
}
DISTRICT = ["萧山", "萧山", "富阳", "萧山"]
# park of each relocation, acquirer of each merge (-1: none)
PARK = {("F1", 3): 0, ("F2", 3): 1, ("F3", 3): 0}
ACQUIRER = {("F1", 2): 0, ("F3", 2): 0}

SCENARIO: dict[str, Any] = {
    "population": {"scale_to_population": True},
    "horizon": {"base_year": 2020, "start_year": 2021, "end_year": 2022, "report_until": 2023},
    "targets": {
        "land_freed_mu": 100,
        "energy_saved_tce": 2000,
        "co2_cut_t": None,
        "firms_rectified": 3,
        "tax_per_mu_wan": 45,
        "va_per_mu_wan": 240,
        "labour_productivity_wan": None,
        "energy_intensity_reduction": 0.13,
        "district_split": {
            "mode": "pool",
            "coverage": 0.7,
            "targets": ["land_freed_mu", "energy_saved_tce"],
        },
    },
    "limits": {"budget_wan": 5000, "jobs_lost_max": 60, "district_jobs_lost_share_max": 0.3},
    "phasing": {
        "enabled": True,
        "cumulative_shares": {2021: 0.4, 2022: 1.0},
        "budget_wan_per_year": {2021: 1000},
    },
    "new_projects": {"replacement_ratio": 1.2, "land_from_freed_only": True},
    "actions": {"merge": {"capacity_share_of_own_land": 0.5}},
}
# firms outside the problem; population / reference = 0.1 (scale_to_population on)
BASELINE = Baseline(
    kpi_constant={"va": 1000.0, "tax": 100.0, "energy": 500.0, "land": 20.0, "employees": 10.0},
    base_energy_per_va=0.5,
    scale=0.1,
)
# districts sorted by np.unique: 富阳 (U+5BCC) before 萧山 (U+8427)
DISTRICT_GROUP = np.array([1, 1, 0, -1])
DISTRICT_LABELS = ["富阳", "萧山"]


def _scenario(**extra: Any) -> Scenario:
    return Scenario.model_validate(merge(SCENARIO, extra))


def _options(scenario: Scenario) -> OptionSet:
    metrics = metric_names(scenario)
    units = list(EFFECTS)
    effects = np.full((len(units), len(SLOTS), len(metrics)), NAN)
    park_index = np.full((len(units), len(SLOTS)), -1, dtype=np.int64)
    acquirer_index = np.full((len(units), len(SLOTS)), -1, dtype=np.int64)
    for i, unit in enumerate(units):
        for s, cell in enumerate(EFFECTS[unit]):
            if cell is None:
                continue
            effects[i, s, :] = 0.0
            for metric, value in cell.items():
                effects[i, s, metrics.index(metric)] = value
            park_index[i, s] = PARK.get((unit, s), -1)
            acquirer_index[i, s] = ACQUIRER.get((unit, s), -1)
    return OptionSet(
        effects=effects,
        metrics=metrics,
        slots=SLOTS,
        unit_ids=np.array(units),
        is_project=np.array([False, False, False, True]),
        target=np.full((len(units), len(SLOTS)), ""),
        park_index=park_index,
        acquirer_index=acquirer_index,
        district=np.array(DISTRICT),
        parks=ParkPool(
            ids=["pA", "pB"],
            names_zh=["甲园", "乙园"],
            district=["富阳", "萧山"],
            capacity_mu=np.array([30.0, 50.0]),
            choice=np.zeros((3, 1), dtype=np.int64),
        ),
        acquirers=AcquirerPool(
            ids=np.array(["A1"]),
            land_mu=np.array([40.0]),
            energy_per_va=np.array([0.2]),
            tax_per_va=np.array([0.1]),
            choice=np.zeros((3, 1), dtype=np.int64),
        ),
    )


def assert_rows(actual: list[Constraint], expected: list[Constraint]) -> None:
    """Compare families field by field (floats to 1e-12 relative)."""
    assert [c.name for c in actual] == [c.name for c in expected]
    for a, e in zip(actual, expected, strict=True):
        assert a.sense == e.sense, a.name
        assert a.coefficients.keys() == e.coefficients.keys(), a.name
        for metric, value in e.coefficients.items():
            assert a.coefficients[metric] == pytest.approx(value, rel=1e-12), (a.name, metric)
        np.testing.assert_allclose(np.asarray(a.rhs, float), np.asarray(e.rhs, float), rtol=1e-12)
        assert np.shape(a.rhs) == np.shape(e.rhs), a.name
        if e.group is None:
            assert a.group is None, a.name
        else:
            assert a.group is not None, a.name
            np.testing.assert_array_equal(np.asarray(a.group), e.group)
        assert a.group_labels == e.group_labels, a.name
        assert a.penalty is None


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return _scenario()


@pytest.fixture(scope="module")
def options(scenario: Scenario) -> OptionSet:
    return _options(scenario)


def test_city_targets(options: OptionSet, scenario: Scenario) -> None:
    # absolute targets × 0.1 (scale_to_population); co2 dropped (null)
    assert_rows(
        fam.city_targets(options, scenario, BASELINE),
        [
            Constraint("target:land_freed_mu", {"land_freed_mu": 1.0}, ">=", 10.0),
            Constraint("target:energy_saved_tce", {"energy_saved_tce": 1.0}, ">=", 200.0),
            Constraint("target:firms_rectified", {"rectified": 1.0}, ">=", 0.3),
        ],
    )


def test_city_targets_unscaled(options: OptionSet) -> None:
    scenario = _scenario(population={"scale_to_population": False})
    rows = fam.city_targets(options, scenario, BASELINE)
    assert [float(np.asarray(c.rhs)) for c in rows] == [100.0, 2000.0, 3.0]


def test_district_targets_pool(options: OptionSet, scenario: Scenario) -> None:
    # potential per district = Σ of each firm's best option: land 富阳 60, 萧山 40 + 25;
    # energy 富阳 1200, 萧山 300 + 500; the project is left out (group −1)
    land = 0.7 * 10.0 * np.array([60.0, 65.0]) / 125.0
    energy = 0.7 * 200.0 * np.array([1200.0, 800.0]) / 2000.0
    assert_rows(
        fam.district_targets(options, scenario, BASELINE),
        [
            Constraint(
                "district:land_freed_mu",
                {"land_freed_mu": 1.0},
                ">=",
                land,
                DISTRICT_GROUP,
                DISTRICT_LABELS,
            ),
            Constraint(
                "district:energy_saved_tce",
                {"energy_saved_tce": 1.0},
                ">=",
                energy,
                DISTRICT_GROUP,
                DISTRICT_LABELS,
            ),
        ],
    )
    np.testing.assert_allclose(land, [3.36, 3.64])
    np.testing.assert_allclose(energy, [84.0, 56.0])


def test_district_targets_explicit_and_none(options: OptionSet) -> None:
    split = {
        "mode": "explicit",
        "coverage": 0.5,
        "shares": {"萧山": 0.8},
        "targets": ["firms_rectified"],
    }
    scenario = _scenario(targets={"district_split": split})
    assert_rows(
        fam.district_targets(options, scenario, BASELINE),
        [
            Constraint(
                "district:firms_rectified",
                {"rectified": 1.0},
                ">=",
                0.5 * 0.3 * np.array([0.0, 0.8]),
                DISTRICT_GROUP,
                DISTRICT_LABELS,
            ),
        ],
    )
    none = _scenario(targets={"district_split": {"mode": "none"}})
    assert fam.district_targets(options, none, BASELINE) == []


def test_ratio_kpis(options: OptionSet, scenario: Scenario) -> None:
    # Σ tax − 45 Σ land ≥ −(100 − 45·20); Σ va − 240 Σ land ≥ −(1000 − 240·20);
    # Σ energy − 0.87·0.5 Σ va ≤ −(500 − 0.435·1000); productivity dropped (null)
    assert_rows(
        fam.ratio_kpis(options, scenario, BASELINE),
        [
            Constraint(
                "kpi:tax_per_mu_wan", {"tax_kpi_wan": 1.0, "land_kpi_mu": -45.0}, ">=", 800.0
            ),
            Constraint(
                "kpi:va_per_mu_wan", {"va_kpi_wan": 1.0, "land_kpi_mu": -240.0}, ">=", 3800.0
            ),
            Constraint(
                "kpi:energy_intensity_reduction",
                {"energy_kpi_tce": 1.0, "va_kpi_wan": -0.435},
                "<=",
                -65.0,
            ),
        ],
    )


def test_ratio_kpi_labour_productivity(options: OptionSet) -> None:
    scenario = _scenario(
        targets={
            "tax_per_mu_wan": None,
            "va_per_mu_wan": None,
            "labour_productivity_wan": 39,
            "energy_intensity_reduction": None,
        }
    )
    assert_rows(
        fam.ratio_kpis(options, scenario, BASELINE),
        [
            Constraint(
                "kpi:labour_productivity_wan",
                {"va_kpi_wan": 1.0, "employees_kpi": -39.0},
                ">=",
                -(1000.0 - 390.0),
            ),
        ],
    )


def test_phased_targets(options: OptionSet, scenario: Scenario) -> None:
    # 2021: 40% of each (scaled) absolute target, counted from the action year;
    # the end year 2022 is the city target itself; the 2021 budget × 0.1
    assert_rows(
        fam.phased_targets(options, scenario, BASELINE),
        [
            Constraint("phase:land_freed_mu@2021", {"land_freed_mu_by_2021": 1.0}, ">=", 4.0),
            Constraint(
                "phase:energy_saved_tce@2021", {"energy_saved_tce_by_2021": 1.0}, ">=", 80.0
            ),
            Constraint("phase:firms_rectified@2021", {"rectified_by_2021": 1.0}, ">=", 0.12),
            Constraint("limit:budget_wan@2021", {"public_cost_wan_in_2021": 1.0}, "<=", 100.0),
        ],
    )
    off = _scenario(phasing={"enabled": False})
    assert fam.phased_targets(_options(off), off, BASELINE) == []


def test_limits(options: OptionSet, scenario: Scenario) -> None:
    # jobs if the firm takes its most job-costly option: 富阳 120, 萧山 80 + 50
    assert_rows(
        fam.limits(options, scenario, BASELINE),
        [
            Constraint("limit:budget_wan", {"public_cost_wan": 1.0}, "<=", 500.0),
            Constraint("limit:jobs_lost", {"jobs_lost": 1.0}, "<=", 6.0),
            Constraint(
                "limit:district_jobs_lost",
                {"jobs_lost": 1.0},
                "<=",
                0.3 * np.array([120.0, 130.0]),
                DISTRICT_GROUP,
                DISTRICT_LABELS,
            ),
        ],
    )
    none = _scenario(
        limits={"budget_wan": None, "jobs_lost_max": None, "district_jobs_lost_share_max": None}
    )
    assert fam.limits(options, none, BASELINE) == []


def test_capacities(options: OptionSet, scenario: Scenario) -> None:
    park_group = np.full((4, 5), -1)
    park_group[0, 3], park_group[1, 3], park_group[2, 3] = 0, 1, 0
    acquirer_group = np.full((4, 5), -1)
    acquirer_group[0, 2], acquirer_group[2, 2] = 0, 0
    assert_rows(
        fam.capacities(options, scenario, BASELINE),
        [
            Constraint(
                "capacity:park",
                {"park_land_mu": 1.0},
                "<=",
                np.array([30.0, 50.0]),
                park_group,
                ["pA", "pB"],
            ),
            Constraint(
                "capacity:acquirer",
                {"acquirer_land_mu": 1.0},
                "<=",
                np.array([20.0]),
                acquirer_group,
                ["A1"],
            ),
        ],
    )
    off = _scenario(actions={"relocate": {"enabled": False}, "merge": {"enabled": False}})
    assert fam.capacities(options, off, BASELINE) == []


def test_new_projects(options: OptionSet, scenario: Scenario) -> None:
    assert_rows(
        fam.new_projects(options, scenario, BASELINE),
        [
            Constraint(
                "projects:energy", {"energy_saved_tce": 1.0, "project_energy_tce": -1.2}, ">=", 0.0
            ),
            Constraint("projects:land", {"land_for_projects_mu": 1.0}, ">=", 0.0),
        ],
    )
    anywhere = _scenario(new_projects={"land_from_freed_only": False})
    assert [c.name for c in fam.new_projects(options, anywhere, BASELINE)] == ["projects:energy"]
    off = _scenario(new_projects={"enabled": False})
    assert fam.new_projects(options, off, BASELINE) == []


def test_all_constraints_order_and_target_rows(options: OptionSet, scenario: Scenario) -> None:
    rows = fam.all_constraints(options, scenario, BASELINE)
    expected = [c.name for family in fam.FAMILIES for c in family(options, scenario, BASELINE)]
    assert [c.name for c in rows] == expected
    assert len(rows) == 3 + 2 + 3 + 4 + 3 + 2 + 2
    targets = [c.name for c in rows if fam.is_target(c.name)]
    assert targets == [
        c.name for c in rows if c.name.split(":")[0] in ("target", "district", "kpi", "phase")
    ]
    assert "limit:budget_wan@2021" not in targets


def test_golden_rows_evaluate_as_computed_by_hand(options: OptionSet, scenario: Scenario) -> None:
    """The rows on a plan: F1 exits, F2 relocates (2022), F3 merges, P1 is admitted."""
    from sim.optimise.problem import ChoiceProblem, Objective
    from sim.optimise.verify import row_lhs

    problem = ChoiceProblem(
        effects=options.effects,
        metrics=options.metrics,
        constraints=fam.all_constraints(options, scenario, BASELINE),
        objective=Objective({"public_cost_wan": 1.0}),
    )
    choice = np.array([1, 3, 2, 4])
    lhs = {c.name: row_lhs(problem, c, choice) for c in problem.constraints}
    np.testing.assert_allclose(lhs["target:land_freed_mu"], [40 + 25 + 30])
    np.testing.assert_allclose(lhs["district:land_freed_mu"], [30, 40 + 25])  # 富阳, 萧山
    np.testing.assert_allclose(lhs["capacity:park"], [0, 12.5])
    np.testing.assert_allclose(lhs["capacity:acquirer"], [30])
    np.testing.assert_allclose(lhs["projects:energy"], [300 + 100 + 700 - 1.2 * 400])
    np.testing.assert_allclose(lhs["projects:land"], [-10])
    np.testing.assert_allclose(lhs["limit:district_jobs_lost"], [36, 80 + 5])
