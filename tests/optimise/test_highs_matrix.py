"""The direct HiGHS matrix: layout, maps, and reuse."""

from __future__ import annotations

import numpy as np
import pytest
from choice_factories import random_tiny_problem

from sim.optimise.highs_backend import build_highs_matrix, solve_highs
from sim.optimise.problem import ChoiceProblem, Constraint, Objective, ProgressEvent


def test_matrix_layout_and_maps() -> None:
    effects = np.array([[[1.0, 2.0], [3.0, np.nan]], [[np.nan, np.nan], [5.0, 6.0]]])
    p = ChoiceProblem(
        effects,
        ["a", "b"],
        [
            Constraint("ca", {"a": 1.0}, "<=", 4.0),
            Constraint(
                "cb",
                {"b": 2.0},
                "==",
                np.array([1.0, 2.0]),
                group=np.array([[0, 1], [1, -1]]),
                penalty=3.0,
            ),
        ],
        Objective({"a": 1.0}, "max"),
    )
    m = build_highs_matrix(p)
    assert m.col_unit.tolist() == [0, 0, 1] and m.col_option.tolist() == [0, 1, 1]
    assert m.n_choice_cols == 3 and m.n_cols == 3 + 4  # two slacks per == row
    assert m.row_family.tolist() == [-1, -1, 0, 1, 1]
    assert m.row_group.tolist() == [0, 1, 0, 0, 1]
    assert m.family_rows == {"ca": slice(2, 3), "cb": slice(3, 5)}
    dense = m.matrix.toarray()
    assert dense[:2, :3].tolist() == [[1, 1, 0], [0, 0, 1]]
    assert dense[2, :3].tolist() == [1, 3, 5]
    # (1, 1) is in no cb row (-1); effect b of (0, 1) is NaN → 0
    assert dense[3:, :3].tolist() == [[4, 0, 0], [0, 0, 0]]
    assert m.row_lower.tolist()[2:] == [-np.inf, 1.0, 2.0]
    assert m.col_cost[3:].tolist() == [-3.0] * 4  # penalties lower a maximisation
    _cols, rows, signs = m.slack_cols["cb"]
    assert rows.tolist() == [0, 1, 0, 1] and signs.tolist() == [1, 1, -1, -1]


def test_progress_events_bracket_the_solve() -> None:
    events: list[ProgressEvent] = []
    p = random_tiny_problem(3)
    sol = solve_highs(p, progress=events.append)
    assert events[0].phase == "start" and events[-1].phase == "end"
    assert events[-1].message == sol.status
    assert all(e.elapsed_s >= 0 for e in events)


def test_infeasible_is_distinct_from_no_solution() -> None:
    effects = np.array([[[1.0], [2.0]]])
    p = ChoiceProblem(
        effects, ["a"], [Constraint("c", {"a": 1.0}, ">=", 5.0)], Objective({"a": 1.0})
    )
    sol = solve_highs(p)
    assert sol.status == "infeasible"
    assert sol.choice.tolist() == [-1]
    assert np.isnan(sol.objective)


def test_bad_group_indices_rejected() -> None:
    effects = np.ones((2, 2, 1))
    p = ChoiceProblem(
        effects,
        ["a"],
        [Constraint("c", {"a": 1.0}, "<=", np.array([1.0]), group=np.array([0, 3]))],
        Objective({"a": 1.0}),
    )
    with pytest.raises(ValueError, match="group indices"):
        build_highs_matrix(p)


def test_solver_info_and_timings() -> None:
    sol = solve_highs(random_tiny_problem(5), time_limit=10, mip_gap=1e-4)
    assert sol.solver_info["name"] == "highs"
    assert "time_limit=10.0" in sol.solver_info["options"]
    assert set(sol.timings) == {"build", "solve"}


def test_threads_can_change_between_calls() -> None:
    p = random_tiny_problem(4)
    objectives = {solve_highs(p, threads=t).objective for t in (1, 2, 1)}
    assert len(objectives) == 1
