"""Brute force, direct HiGHS and Pyomo agree on many random tiny problems."""

from __future__ import annotations

import numpy as np
import pytest
from choice_factories import random_tiny_problem

from sim.optimise.brute_force import brute_force
from sim.optimise.highs_backend import solve_highs
from sim.optimise.problem import ChoiceProblem, Constraint, Objective
from sim.optimise.pyomo_backend import solve_pyomo
from sim.optimise.verify import check

SEEDS = range(120)


def _agree(problem: ChoiceProblem) -> str:
    ref = brute_force(problem)
    for sol in (solve_highs(problem), solve_pyomo(problem)):
        assert sol.status == ref.status, (problem.name, sol.method, sol.status, ref.status)
        if ref.status == "optimal":
            assert sol.objective == pytest.approx(ref.objective, abs=1e-6), sol.method
            assert sol.gap <= 1e-6
            check(problem, sol)
        else:
            assert np.all(sol.choice == -1)
    return ref.status


@pytest.mark.parametrize("elastic", [False, True])
def test_random_tiny_problems_agree(elastic: bool) -> None:
    statuses = [_agree(random_tiny_problem(seed, elastic=elastic)) for seed in SEEDS]
    # the generator must exercise both outcomes
    assert statuses.count("optimal") > 20
    if not elastic:
        assert statuses.count("infeasible") > 10


def test_generator_covers_the_cases() -> None:
    problems = [random_tiny_problem(s) for s in SEEDS]
    senses = {c.sense for p in problems for c in p.constraints}
    shapes = {None if c.group is None else c.group.ndim for p in problems for c in p.constraints}
    assert senses == {"<=", ">=", "=="}
    assert shapes == {None, 1, 2}
    assert {p.objective.sense for p in problems} == {"min", "max"}
    assert any((~p.available).any() for p in problems)


def test_hand_made_problem_with_known_answer() -> None:
    # 3 units, options (keep, exit, upgrade); budget ≤ 3, land freed ≥ 2 per district
    nan = np.nan
    effects = np.array(
        [
            [[0, 0, 0], [4, 1, 1], [2, 3, 0]],
            [[0, 0, 0], [3, 2, 1], [nan, nan, nan]],
            [[0, 0, 0], [1, 1, 1], [5, 0, 0]],
        ],
        dtype=float,
    )  # metrics: value gain, cost, land freed
    problem = ChoiceProblem(
        effects,
        ["gain", "cost", "land"],
        [
            Constraint("budget", {"cost": 1.0}, "<=", 3.0),
            Constraint(
                "land", {"land": 1.0}, ">=", np.array([1.0, 1.0]), group=np.array([0, 0, 1])
            ),
        ],
        Objective({"gain": 1.0}, "max"),
    )
    for sol in (brute_force(problem), solve_highs(problem), solve_pyomo(problem)):
        assert sol.status == "optimal"
        # district 1 needs unit 2 to exit (cost 1); the budget then leaves room
        # for one exit in district 0, and unit 0's is worth more
        assert sol.objective == pytest.approx(5.0)
        assert sol.choice.tolist() == [1, 0, 1]


def test_brute_force_refuses_large_problems() -> None:
    effects = np.zeros((9, 2, 1))
    problem = ChoiceProblem(effects, ["a"], [], Objective({"a": 1.0}))
    with pytest.raises(ValueError, match="tiny problems"):
        brute_force(problem)


def test_unavailable_options_are_never_chosen() -> None:
    effects = np.array([[[10.0], [np.nan]], [[np.nan], [1.0]]])
    problem = ChoiceProblem(effects, ["v"], [], Objective({"v": 1.0}, "min"))
    for sol in (solve_highs(problem), solve_pyomo(problem), brute_force(problem)):
        assert sol.choice.tolist() == [0, 1]
        assert sol.objective == pytest.approx(11.0)


@pytest.mark.parametrize(
    ("rhs", "penalty", "expected"),
    [
        (5.0, None, "infeasible"),
        (5.0, 2.0, 12.0),
        (-1.0, None, 2.0),
        (-1.0, 2.0, 2.0),
    ],
)
def test_empty_row(rhs: float, penalty: float | None, expected: str | float) -> None:
    # row 0 of the family has no members: its lhs is the constant 0
    problem = ChoiceProblem(
        np.ones((2, 2, 1)),
        ["a"],
        [
            Constraint(
                "c", {"a": 1.0}, ">=", np.array([rhs, 0.0]), group=np.array([1, 1]), penalty=penalty
            )
        ],
        Objective({"a": 1.0}),
    )
    for sol in (solve_pyomo(problem), solve_highs(problem), brute_force(problem)):
        if expected == "infeasible":
            assert sol.status == "infeasible", sol.method
        else:
            assert sol.status == "optimal" and sol.objective == pytest.approx(expected), sol.method
