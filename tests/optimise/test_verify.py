"""Independent verification catches violated plans and names the row."""

from __future__ import annotations

import numpy as np
import pytest

from sim.errors import VerificationError
from sim.optimise.highs_backend import solve_highs
from sim.optimise.problem import ChoiceProblem, Constraint, Objective, Solution
from sim.optimise.verify import check, verify


def _problem(penalty: float | None = None) -> ChoiceProblem:
    effects = np.array(
        [[[0.0, 0.0], [3.0, 2.0]], [[0.0, 0.0], [2.0, 2.0]], [[0.0, 0.0], [4.0, 1.0]]]
    )  # metrics: value, cost
    return ChoiceProblem(
        effects,
        ["value", "cost"],
        [
            Constraint(
                "budget",
                {"cost": 1.0},
                "<=",
                np.array([2.0, 5.0]),
                group=np.array([0, 0, 1]),
                group_labels=["east", "west"],
            ),
            Constraint("value_floor", {"value": 1.0}, ">=", 8.0, penalty=penalty),
        ],
        Objective({"value": 1.0}, "max"),
        name="verify-demo",
    )


def test_verify_recomputes_rows() -> None:
    p = _problem()
    report = verify(p, np.array([1, 0, 1]))
    assert report.rows["lhs"].tolist() == [2.0, 1.0, 7.0]
    assert report.rows["label"].tolist() == ["budget[east]", "budget[west]", "value_floor"]
    assert report.objective == pytest.approx(7.0)
    assert report.worst_row == "value_floor"
    assert report.max_violation == pytest.approx(1.0 / 8.0)
    assert not report.ok


def test_check_names_the_violated_row() -> None:
    p = _problem()
    bad = Solution(np.array([1, 1, 1]), 9.0, 9.0, 0.0, "optimal", "hand-made")
    with pytest.raises(VerificationError, match=r"budget\[east\].*lhs 4 <= rhs 2"):
        check(p, bad)


def test_check_rejects_unavailable_choice() -> None:
    p = _problem()
    effects = p.effects.copy()
    effects[0, 1] = np.nan
    q = ChoiceProblem(effects, p.metrics, p.constraints, p.objective, name="x")
    with pytest.raises(VerificationError, match="unavailable"):
        check(q, Solution(np.array([1, 0, 0]), 0.0, 0.0, 0.0, "feasible", "hand-made"))


def test_check_rejects_wrong_objective() -> None:
    p = _problem(penalty=1.0)
    sol = solve_highs(p)
    sol.objective += 1.0
    with pytest.raises(VerificationError, match="recomputes"):
        check(p, sol)


def test_elastic_shortfall_is_allowed_and_reported() -> None:
    p = _problem(penalty=10.0)
    sol = solve_highs(p)
    # value ≤ 3 + 2 (east, budget 2 allows one) + 4 = 7 < 8: 1 short
    assert sol.status == "optimal"
    assert sol.slacks["value_floor"].tolist() == pytest.approx([1.0])
    assert sol.objective == pytest.approx(7.0 - 10.0)
    report = check(p, sol)
    row = report.rows.set_index("label").loc["value_floor"]
    assert row["violation"] == pytest.approx(1.0)
    assert row["allowed_shortfall"] == pytest.approx(1.0)
    assert row["net_violation"] == 0.0
    assert any("value_floor" in note for note in report.notes)
    # without the solver's slack the same plan fails
    sol.slacks = {}
    with pytest.raises(VerificationError, match="value_floor"):
        check(p, sol)


def test_no_plan_is_not_checked() -> None:
    p = _problem()
    sol = Solution(np.full(3, -1), float("nan"), float("nan"), float("nan"), "infeasible", "x")
    assert check(p, sol).notes
