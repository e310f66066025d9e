"""Neighbourhood choice of the large-neighbourhood search (sim.optimise.neighbourhoods):
which units each MIP frees, its options and time, and the schedule over the search."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.optimise import neighbourhoods
from sim.optimise.highs_backend import solve_highs
from sim.optimise.lagrangian import LagrangianModel, margins
from sim.optimise.neighbourhoods import Draw, Schedule, near_options, related_units
from sim.optimise.price_search import solve_direct
from sim.optimise.problem import ChoiceProblem, Constraint, Objective

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.instances import policy_like_problem


def test_neighbourhood_keeps_fractional_units_and_skips_fixed_ones() -> None:
    from sim.optimise.neighbourhoods import neighbourhood, next_neighbourhood_size

    margin = np.array([5.0, 0.1, 3.0, 0.0, 9.0, 0.2, 7.0, 0.3])
    frac = np.zeros(8, dtype=bool)
    frac[[4, 6]] = True  # large margins, but fractional in the LP: always in
    searchable = np.ones(8, dtype=bool)
    searchable[3] = False  # one option left after reduced-cost fixing: never in
    units = neighbourhood(margin, frac, searchable, 4, np.random.default_rng(0))
    assert units.tolist() == sorted(units.tolist())
    assert {4, 6} <= set(units.tolist()) and 3 not in units
    assert units.size == 4
    again = neighbourhood(margin, frac, searchable, 4, np.random.default_rng(0))
    assert again.tolist() == units.tolist()  # seeded: runs repeat
    assert neighbourhood(margin, frac, searchable, 99, np.random.default_rng(0)).size == 7
    assert next_neighbourhood_size(100, "infeasible", 10, 1000) == 200
    assert next_neighbourhood_size(100, "optimal", 10, 1000) == 150
    assert next_neighbourhood_size(100, "feasible", 10, 1000) == 66
    assert next_neighbourhood_size(30, "no_solution", 10, 1000) == 26
    assert next_neighbourhood_size(800, "infeasible", 10, 1000) == 1000
    # a time-limited MIP that improved the plan keeps its size
    assert next_neighbourhood_size(100, "feasible", 10, 1000, improved=True) == 100
    assert next_neighbourhood_size(100, "no_solution", 10, 1000, improved=False) == 66


def test_neighbourhood_with_an_incumbent_is_drawn_by_loss() -> None:
    from sim.optimise.neighbourhoods import neighbourhood

    n = 40
    margin = np.zeros(n)
    frac = np.zeros(n, dtype=bool)
    frac[0] = True
    searchable = np.ones(n, dtype=bool)
    searchable[1] = False
    loss = np.zeros(n)
    loss[20:] = 10.0  # half of the units lose 10 each, half are at their best option
    picks = np.zeros(n)
    for seed in range(200):
        units = neighbourhood(margin, frac, searchable, 8, np.random.default_rng(seed), loss)
        assert units.size == 8 and 0 in units and 1 not in units
        picks[units] += 1
    # the offset is a tenth of the mean positive loss (1.0): losing units are
    # drawn far more often, units at their best option still sometimes
    assert picks[20:].sum() > 5 * picks[2:20].sum() > 0


def test_near_options_keep_the_cheapest_pairs_and_the_incumbent() -> None:
    from sim.optimise.neighbourhoods import near_options

    assert neighbourhoods.NEAR_PAIRS_PER_UNIT == 4.0
    # 2 units x 7 options: the 8 (= 4 x 2) pairs of smallest loss are cut at
    # the 9th smallest loss, 8.0 (ties included)
    pair_loss = np.array(
        [[0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0],
         [0.0, 1.0, 3.0, 5.0, 7.0, 9.0, 11.0]]
    )
    allowed = np.ones((2, 7), dtype=bool)
    allowed[1, 1] = False  # fixed out by reduced cost: never kept
    incumbent = np.array([6, 0])  # unit 0's plan option is its costliest: kept
    near = near_options(pair_loss, allowed, incumbent)
    expected = np.array(
        [[True, True, True, True, True, False, True],
         [True, False, True, True, True, False, False]]
    )
    np.testing.assert_array_equal(near, expected)
    # few pairs: all allowed pairs stay
    small = near_options(pair_loss[:, :3], allowed[:, :3], np.array([0, 0]))
    np.testing.assert_array_equal(small, allowed[:, :3])


def test_neighbourhood_of_every_unit_gets_all_the_time_left() -> None:
    from sim.optimise.neighbourhoods import neighbourhood_time

    assert neighbourhood_time(1469, 1469, 39.0) == 39.0  # the full MIP
    assert neighbourhood_time(500, 1469, 39.0) == pytest.approx(9.75)
    assert neighbourhood_time(500, 1469, 200.0) == 20.0
    assert neighbourhood_time(500, 1469, 2.0) == 1.0
    assert neighbourhood_time(500, 1469, 0.5) == 0.5


def test_the_second_neighbourhood_is_row_related_then_each_kind_runs_while_it_gains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sim.optimise.neighbourhoods import SWITCH_GAIN, wants_related

    small, large = 0.5 * SWITCH_GAIN, 2.0 * SWITCH_GAIN
    # after the first (loss-drawn) MIP: row-related, whatever it gained
    assert wants_related(False, large, first=True) and wants_related(False, small, True)
    # then: loss-drawn while they gain, row-related while those do
    assert not wants_related(False, large, first=False)
    assert wants_related(False, small, first=False)
    assert wants_related(True, large, first=False)
    assert not wants_related(True, small, first=False)
    monkeypatch.setattr(neighbourhoods, "RELATED_EARLY", False)
    assert not wants_related(False, large, first=True)


def _merge_problem() -> ChoiceProblem:
    """8 firms x (keep, merge, exit); merges fill acquirer rows, every firm is in a district."""
    n = 8
    effects = np.zeros((n, 3, 2))
    effects[:, :, 0] = [[0.0, 2.0, 0.0]] * n  # acquirer land of a merge
    effects[:, :, 1] = [[0.0, 1.0, 3.0]] * n  # land freed
    acquirer = np.full((n, 3), -1)
    acquirer[:, 1] = [0, 1, 0, 2, 1, 0, 2, 2]
    district = np.array([0, 0, 1, 1, 1, 0, 1, 1])
    return ChoiceProblem(
        effects=effects,
        metrics=["acq_land", "freed"],
        constraints=[
            Constraint("acquirer", {"acq_land": 1.0}, "<=", np.full(3, 4.0), group=acquirer),
            Constraint("district", {"freed": 1.0}, ">=", np.array([2.0, 2.0]), group=district),
        ],
        objective=Objective({"freed": 1.0}, "max"),
    )


def test_related_neighbourhood_is_the_seeds_rows() -> None:

    model = LagrangianModel(_merge_problem())
    d = np.zeros((8, 3))
    d[0] = [0.0, 5.0, 1.0]  # unit 0: best is the merge into acquirer 0
    incumbent = np.zeros(8, dtype=np.int64)
    incumbent[0] = 2  # ... but the plan has it exit: the only losing unit
    allowed = np.ones((8, 3), dtype=bool)
    allowed[5, 1] = False  # unit 5's merge into acquirer 0 is fixed out
    _, top, margin = margins(d)
    loss = top - d[np.arange(8), incumbent]
    units = related_units(model, d, top, allowed, incumbent, loss, margin,
                           np.random.default_rng(0))
    # district 0 (units 0, 1, 5: the seed's district under every option) and
    # acquirer 0 (units 0 and 2; unit 5 may not merge, but is in district 0)
    assert units.tolist() == [0, 1, 2, 5]
    # nobody loses: no neighbourhood
    none = related_units(model, d, top, allowed, np.argmax(d, axis=1), np.zeros(8), margin,
                          np.random.default_rng(0))
    assert none.size == 0


def test_related_neighbourhood_is_capped_and_keeps_its_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    monkeypatch.setattr(neighbourhoods, "RELATED_UNITS", 2)
    model = LagrangianModel(_merge_problem())
    d = np.zeros((8, 3))
    d[0] = [0.0, 5.0, 1.0]
    incumbent = np.zeros(8, dtype=np.int64)
    incumbent[0] = 2
    _, top, margin = margins(d)
    loss = top - d[np.arange(8), incumbent]
    for seed in range(5):
        units = related_units(model, d, top, np.ones((8, 3), dtype=bool), incumbent, loss,
                               margin, np.random.default_rng(seed))
        assert units.size == 2 and 0 in units
        assert set(units.tolist()) <= {0, 1, 2, 5}


def _rins_problem(capacity: float) -> ChoiceProblem:
    """3 units × (keep, act), max value, one weight row: acting is worth 12, 9
    and 5 (from 1, 0, 0) and weighs 1, 1 and 0."""
    effects = np.zeros((3, 2, 2))
    effects[:, :, 0] = [[1.0, 12.0], [0.0, 9.0], [0.0, 5.0]]  # value
    effects[:, :, 1] = [[0.0, 1.0], [0.0, 1.0], [0.0, 0.0]]  # weight
    return ChoiceProblem(
        effects=effects,
        metrics=["value", "weight"],
        constraints=[Constraint("weight", {"weight": 1.0}, "<=", capacity)],
        objective=Objective({"value": 1.0}, "max"),
    )


def test_rins_frees_the_units_where_the_lp_leaves_the_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With weight 1.5 the LP acts for unit 0 (gain 11 per weight), half of unit
    1 (gain 9) and unit 2 (free): against the plan (keep, act, act) units 0 and
    1 differ and unit 2 agrees, so RINS fixes unit 2 alone."""
    from sim.optimise.neighbourhoods import rins_units

    model = LagrangianModel(_rins_problem(1.5))
    plan = np.array([0, 1, 1])
    units = np.arange(3)
    allowed = np.ones((3, 2), dtype=bool)
    rng = np.random.default_rng(0)
    monkeypatch.setattr(neighbourhoods, "RINS_EXTRA", 0.0)
    assert rins_units(model, units, allowed, plan, rng, 10.0).tolist() == [0, 1]
    # a neighbourhood of units 0 and 2, unit 1 fixed acting (weight 1): the LP
    # acts for half of unit 0 (0.5 of weight left) and for unit 2, as the plan does
    assert rins_units(model, np.array([0, 2]), allowed[[0, 2]], plan, rng, 10.0).tolist() == [0]
    # every agreeing unit is freed with probability RINS_EXTRA
    monkeypatch.setattr(neighbourhoods, "RINS_EXTRA", 1.0)
    assert rins_units(model, units, allowed, plan, rng, 10.0).tolist() == [0, 1, 2]


def test_rins_keeps_the_whole_neighbourhood_when_the_lp_agrees_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With weight 2 the LP acts for every unit, as the plan does: nothing would be
    free, so the neighbourhood is left as drawn rather than emptied."""
    from sim.optimise.neighbourhoods import rins_units

    monkeypatch.setattr(neighbourhoods, "RINS_EXTRA", 0.0)
    model = LagrangianModel(_rins_problem(2.0))
    units = rins_units(model, np.arange(3), np.ones((3, 2), dtype=bool), np.array([1, 1, 1]),
                        np.random.default_rng(0), 10.0)
    assert units.tolist() == [0, 1, 2]


def test_slack_neighbourhood_spans_the_row_the_plan_overfills_and_its_rivals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slack-related neighbourhood takes the one row with priced slack, half of
    its units from those with an allowed option on that row and half from the
    others; rows to skip are passed over while another has priced slack; no
    priced slack, no neighbourhood."""
    from sim.optimise.neighbourhoods import slack_units

    model = LagrangianModel(policy_like_problem(3000, 1))
    n, n_opt = model.n, model.n_options
    plan = np.argmax(np.where(model.available, model.c, -np.inf), axis=1)
    act = model.activity(plan)
    slack = model.slack(act)
    # a grouped row the plan meets with room to spare, priced inside its box
    # (> 0 on a ``≤`` row, < 0 on a ``≥`` row): its priced slack is positive
    row = next(r for f in model.families if f.rows is not None
               for r in range(f.offset, f.offset + f.n_rows) if slack[r] > 0)
    lam = np.zeros(model.m)
    lam[row] = np.sign(model.rhs[row] - act[row])
    assert np.array_equal(model.clip(lam), lam) and lam[row] * (model.rhs[row] - act[row]) > 0
    _, d = model.dual_value(lam)
    _, _, margin = margins(d)
    allowed = model.available.copy()
    monkeypatch.setattr(neighbourhoods, "RELATED_UNITS", 400)
    units, chosen_row = slack_units(model, lam, allowed, plan, margin,
                                     np.random.default_rng(0))
    assert chosen_row == row
    on_row = np.zeros(n, dtype=bool)
    for fam in model.families:
        if fam.offset <= row < fam.offset + fam.n_rows:
            on_row |= ((fam.rows_of(slice(None), n_opt) == row) & allowed
                       & (fam.values != 0.0)).any(axis=1)
    free = allowed.sum(axis=1) > 1
    assert np.all(np.diff(units) > 0) and units.size == 400
    assert int(on_row[units].sum()) == min(200, int((on_row & free).sum()))
    assert free[units].all()
    # a row whose last slack MIP found nothing is passed over while another
    # row has priced slack, and drawn again when none has
    other = next(r for f in model.families if f.rows is not None
                 for r in range(f.offset, f.offset + f.n_rows) if slack[r] > 0 and r != row)
    two = lam.copy()
    two[other] = np.sign(model.rhs[other] - act[other])
    skip = np.zeros(model.m, dtype=bool)
    skip[row] = True
    for seed in range(5):
        assert slack_units(model, two, allowed, plan, margin, np.random.default_rng(seed),
                            skip)[1] == other
    assert slack_units(model, lam, allowed, plan, margin, np.random.default_rng(0),
                        skip)[1] == row
    # no row with priced slack: nothing to draw
    none, no_row = slack_units(model, np.zeros(model.m), allowed, plan, margin,
                                np.random.default_rng(0))
    assert none.size == 0 and no_row == -1


@cache
def _priced_search() -> tuple[LagrangianModel, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A policy-like model (district, park and acquirer rows) with its LP prices,
    reduced costs, fractional units and HiGHS' optimal plan."""
    problem = policy_like_problem(800, 3)
    model = LagrangianModel(problem)
    lp = solve_direct(model, 60.0, 0, lambda *_: None, None)
    assert lp is not None and lp.converged and lp.lp_x is not None
    frac = np.zeros(model.n, dtype=bool)
    frac[lp.core] = ((lp.lp_x > 1e-6) & (lp.lp_x < 1 - 1e-6)).any(axis=1)
    plan = solve_highs(problem, time_limit=60, mip_gap=1e-9).choice
    return model, lp.lam, model.reduced(lp.lam), frac, plan


def _schedule(seed: int = 0, k: int = 120) -> Schedule:
    model, lam, d, frac, _ = _priced_search()
    return Schedule(model, lam, d, frac, k, np.random.default_rng(seed))


def test_schedule_runs_the_first_plan_then_row_related_then_alternates_by_gain() -> None:
    """The first draw (no plan) is loss-free: the fractional units plus the
    smallest margins, every allowed option, 10 s at most. After it, the next is
    row-related (around a losing unit, narrowed by its LP); a related MIP that
    gains nothing hands over to a loss-drawn one open to the near-best options;
    the next related draw is across a row the plan over-fills at a price."""
    model, lam, _, frac, plan = _priced_search()
    schedule = _schedule()
    allowed = model.available.copy()
    first = schedule.draw(allowed, None, plan, lambda: 60.0)
    assert first.kind == "heuristic" and not first.related and first.options is allowed
    assert first.units.size == 120 and np.all(np.diff(first.units) > 0)
    assert frac[first.units].sum() == frac.sum()  # every fractional unit is in
    assert first.time_limit == 10.0

    schedule.record(first, "feasible", True, True, np.inf)
    related = schedule.draw(allowed, plan, plan, lambda: 60.0)
    assert related.kind == "related" and related.related and related.row == -1
    assert 0 < related.units.size <= related.drawn  # RINS narrowed the rows' units
    assert related.time_limit == neighbourhoods.RELATED_MIP_SECONDS

    k_before = schedule.k_mip
    schedule.record(related, "optimal", False, False, 0.0)
    assert schedule.k_mip == k_before  # only loss-drawn MIPs resize
    loss_drawn = schedule.draw(allowed, plan, plan, lambda: 60.0)
    assert loss_drawn.kind == "heuristic"
    assert np.array_equal(loss_drawn.options, near_options(schedule.pair_loss, allowed, plan))
    assert loss_drawn.units.size == k_before
    assert loss_drawn.time_limit == neighbourhoods.LOSS_MIP_SECONDS

    schedule.record(loss_drawn, "optimal", False, False, 0.0)
    assert schedule.k_mip == k_before + k_before // 2  # solved without a better plan: grow
    slack = schedule.draw(allowed, plan, plan, lambda: 60.0)
    assert slack.kind == "slack" and slack.related
    priced_slack = lam * (model.rhs - model.activity(plan))
    assert priced_slack[slack.row] > 0


def test_schedule_passes_over_a_fruitless_slack_row_until_the_plan_changes() -> None:
    """A slack MIP that found nothing marks its row; any new plan clears the marks."""
    schedule = _schedule()
    model = schedule.model
    job = Draw(np.arange(5), model.available, 1.0, "slack", row=3)
    schedule.record(job, "optimal", False, False, 0.0)
    assert np.flatnonzero(schedule.fruitless).tolist() == [3]
    schedule.record(Draw(np.arange(5), model.available, 1.0, "related"), "optimal", False,
                    False, 0.0)
    assert np.flatnonzero(schedule.fruitless).tolist() == [3]  # other kinds leave it
    schedule.record(Draw(np.arange(5), model.available, 1.0, "heuristic"), "feasible", False,
                    True, 1e-3)
    assert not schedule.fruitless.any()


@pytest.mark.parametrize("mixed", [True, False])
def test_beside_draws_disjoint_units_for_the_second_lane(
    monkeypatch: pytest.MonkeyPatch, mixed: bool
) -> None:
    """The lane's neighbourhood shares no unit with the main one. Beside a
    row-related MIP it is loss-drawn with near-best options and a loss-drawn
    MIP's time (LANE_MIXED), or else row-related with the main one's options
    and time; none when every unit is in the main neighbourhood."""
    monkeypatch.setattr(neighbourhoods, "LANE_MIXED", mixed)
    model, _, _, _, plan = _priced_search()
    allowed = model.available.copy()
    schedule = _schedule()
    schedule.record(schedule.draw(allowed, None, plan, lambda: 60.0), "feasible", True, True,
                    np.inf)
    main = schedule.draw(allowed, plan, plan, lambda: 60.0)
    assert main.kind == "related"
    other = schedule.beside(main, allowed, plan, lambda: 60.0)
    assert other is not None and not np.isin(other.units, main.units).any()
    if mixed:
        assert other.kind == "heuristic"
        assert np.array_equal(other.options, near_options(schedule.pair_loss, allowed, plan))
        assert other.time_limit == neighbourhoods.LOSS_MIP_SECONDS
    else:
        assert other.kind == "related" and other.options is main.options
        assert other.time_limit == main.time_limit
    everyone = Draw(np.arange(model.n), allowed, 1.0, "heuristic")
    assert schedule.beside(everyone, allowed, plan, lambda: 60.0) is None


def test_schedule_repeats_with_its_seed() -> None:
    """The same seed gives the same sequence of draws; another seed another one."""
    model, _, _, _, plan = _priced_search()
    allowed = model.available.copy()

    def run(seed: int) -> list[list[int]]:
        schedule = _schedule(seed)
        out = []
        incumbent = None
        for _ in range(4):
            job = schedule.draw(allowed, incumbent, plan, lambda: 60.0)
            out.append(job.units.tolist())
            schedule.record(job, "optimal", False, incumbent is None, 0.0)
            incumbent = plan
        return out

    assert run(0) == run(0)
    assert run(0) != run(1)
