"""The quick restriction: a first plan from "every action in the first year" on large problems."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from choice_factories import REPO

import sim.optimise.decomposition as dec
from sim.optimise.highs_backend import solve_highs
from sim.optimise.lagrangian import LagrangianModel
from sim.optimise.problem import ChoiceProblem, IntArray, ProgressEvent, restrict_options
from sim.optimise.verify import check
from sim.pipeline import build_model

SCENARIO = REPO / "scenarios" / "hangzhou-2023.yaml"


@cache
def _city(n_firms: int) -> ChoiceProblem:
    """The shipped (phased) city model on a small synthetic population."""
    return build_model(SCENARIO, n_firms=n_firms, seed=3).problem


def _row_activity(problem: ChoiceProblem, choice: IntArray) -> list[np.ndarray]:
    """Every constraint row's left-hand side, summed by hand from the effects."""
    units = np.arange(problem.n_units)
    metric = {m: k for k, m in enumerate(problem.metrics)}
    out = []
    for c in problem.constraints:
        chosen = problem.effects[units, choice]  # (n_units, n_metrics)
        lhs = sum(w * np.nan_to_num(chosen[:, metric[m]]) for m, w in c.coefficients.items())
        lhs = np.broadcast_to(np.asarray(lhs, dtype=float), (problem.n_units,))
        if c.group is None:
            out.append(np.array([lhs.sum()]))
            continue
        row = c.group if c.group.ndim == 1 else c.group[units, choice]
        inside = row >= 0
        out.append(np.bincount(row[inside], lhs[inside], minlength=c.n_rows))
    return out


def test_city_model_marks_first_year_slots_and_action_families() -> None:
    problem = _city(600)
    assert problem.quick_options is not None and problem.option_labels is not None
    quick = [label for label, k in zip(problem.option_labels, problem.quick_options, strict=True)
             if k]
    slow = [label for label, k in zip(problem.option_labels, problem.quick_options, strict=True)
            if not k]
    assert "keep" in quick
    assert all(label == "keep" or label.endswith("@2021") for label in quick if label != "admit")
    assert slow and all(label.endswith(("@2022", "@2023")) for label in slow)
    # the years of one action share a family; different actions do not
    family = problem.option_family
    assert family is not None
    action = [label.split("@")[0] for label in problem.option_labels]
    for a, fa in zip(action, family, strict=True):
        for b, fb in zip(action, family, strict=True):
            assert (a == b) == (fa == fb), (a, b)


def test_restricted_plan_has_the_same_rows_in_the_whole_problem() -> None:
    """A plan of the restriction, mapped back, gives the same row sums (acquirer and park rows
    map (unit, option) pairs to rows) and the same objective."""
    problem = _city(600)
    keep = problem.quick_options
    assert keep is not None
    sub = restrict_options(problem, keep)
    assert sub.n_options == int(keep.sum()) and sub.quick_options is None
    rng = np.random.default_rng(0)
    avail = sub.available
    pick = np.array([rng.choice(np.flatnonzero(a)) for a in avail])  # any available option
    whole = np.flatnonzero(keep)[pick]
    for a, b in zip(_row_activity(sub, pick), _row_activity(problem, whole), strict=True):
        np.testing.assert_allclose(a, b)
    assert sub.option_labels == [problem.option_labels[j] for j in np.flatnonzero(keep)]


def test_restriction_that_strands_a_unit_is_refused() -> None:
    problem = _city(600)
    with pytest.raises(ValueError, match="no available option"):
        restrict_options(problem, np.zeros(problem.n_options, dtype=bool))


def test_quick_plan_seeds_the_decomposition_and_the_bound_stays_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the size threshold lowered, the restriction's plan is offered first; the final plan
    is checked against the whole problem and its bound still brackets HiGHS's."""
    monkeypatch.setattr(dec, "QUICK_PAIRS", 0)
    monkeypatch.setattr(dec, "QUICK_MIN_SECONDS", 0.0)
    problem = _city(600)
    events: list[ProgressEvent] = []
    sol = dec.solve_decomposition(problem, time_limit=15, gap_tol=1e-3, progress=events.append)
    quick = [e.message for e in events if e.phase == "quick"]
    assert quick and "taken" in quick[0], quick
    assert "variants of the chosen actions re-optimised: better" in quick[1], quick
    assert any(e.phase.startswith("quick-") for e in events)  # the restriction's own progress
    # its bound is not the whole problem's: it is never shown as one
    assert all(np.isnan(e.bound) for e in events if e.phase.startswith("quick-"))
    check(problem, sol)
    # min-cost: our bound ≤ optimum ≤ HiGHS's plan, HiGHS's bound ≤ optimum ≤ our plan
    exact = solve_highs(problem, mip_gap=1e-3, time_limit=20)
    assert exact.status in ("optimal", "feasible")
    tol = 1e-7 * abs(exact.objective)
    assert sol.bound <= exact.objective + tol
    assert exact.bound <= sol.objective + tol


def test_small_problems_skip_the_quick_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dec, "QUICK_MIN_SECONDS", 0.0)
    problem = _city(600)
    events: list[ProgressEvent] = []
    dec.solve_decomposition(problem, time_limit=5, gap_tol=1e-3, progress=events.append)
    assert not any(e.phase.startswith("quick") for e in events)


def test_short_solves_skip_the_quick_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large enough for the quick plan, but the time limit is below QUICK_MIN_SECONDS."""
    monkeypatch.setattr(dec, "QUICK_PAIRS", 0)
    monkeypatch.setattr(dec, "QUICK_MIN_SECONDS", 10.0)
    problem = _city(600)
    events: list[ProgressEvent] = []
    sol = dec.solve_decomposition(problem, time_limit=8, gap_tol=1e-3, progress=events.append)
    assert not any(e.phase.startswith("quick") for e in events)
    check(problem, sol)


def test_retiming_keeps_each_action_and_finds_the_best_years() -> None:
    """From the all-in-the-first-year plan, re-optimising the variants (years) of each chosen
    action matches an exact MIP over the same per-unit restriction, solved independently."""
    problem = _city(600)
    keep, family = problem.quick_options, problem.option_family
    assert keep is not None and family is not None
    sub = restrict_options(problem, keep)
    first = solve_highs(sub, mip_gap=1e-9, time_limit=60)
    start = np.flatnonzero(keep)[first.choice]
    model = LagrangianModel(problem)
    plan = dec._retime(model, start, family, 60.0, 1e-9, np.random.default_rng(0))
    assert plan is not None
    np.testing.assert_array_equal(family[plan], family[start])  # same actions
    assert (plan != start).any()  # some years moved

    # independent reference: the whole problem with every other action made unavailable
    same = family[None, :] == family[start][:, None]
    effects = np.where(same[:, :, None], problem.effects, np.nan)
    reference = solve_highs(replace(problem, effects=effects), mip_gap=1e-9, time_limit=60)
    value, feasible, _ = model.evaluate(plan)
    assert feasible
    assert -value == pytest.approx(reference.objective, rel=1e-6)
    assert reference.objective < first.objective  # later years are cheaper in present value


@pytest.mark.parametrize("hint", ["quick_options", "option_family"])
def test_a_hint_of_the_wrong_length_is_refused(hint: str) -> None:
    problem = _city(600)
    expected = rf"{hint} has shape \(2,\), expected \({problem.n_options},\)"
    with pytest.raises(ValueError, match=expected):
        replace(problem, **{hint: np.ones(2, dtype=np.int64)})
