"""Monte Carlo: zero variance equals the deterministic plan; factors act where declared."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.errors import ScenarioError
from sim.results.kpis import compute_kpis
from sim.scenario.schema import Distribution
from sim.simulate.factors import factor_specs, sample
from sim.simulate.montecarlo import monte_carlo
from sim.simulate.trajectories import trajectories

RATIOS = ("tax_per_mu_wan", "va_per_mu_wan", "labour_productivity_wan",
          "energy_intensity_reduction")


def _with_parameters(model: Any, parameters: dict[str, Distribution]) -> Any:
    model.scenario.uncertainty.parameters = parameters
    return model


@pytest.fixture()
def small_model(small_run: Any) -> Any:
    model = small_run.model
    saved = dict(model.scenario.uncertainty.parameters)
    yield model
    model.scenario.uncertainty.parameters = saved


def test_zero_variance_equals_deterministic(small_model: Any, small_run: Any) -> None:
    """sd = 0 everywhere: every draw is the trajectory, and 2023 equals compute_kpis."""
    zero = {name: Distribution(dist="normal", mean=1.0, sd=0.0)
            for name in ("upgrade_saving", "cost", "va_growth", "redevelopment_takeup",
                         "project_delivery", "actions.upgrade.levels.1.va_gain_share")}
    model = _with_parameters(small_model, zero)
    choice = small_run.solution.choice
    mc = monte_carlo(model, choice, draws=50, seed=3)
    traj = trajectories(model, choice)
    for name in mc["series"].values.astype(str):
        np.testing.assert_array_equal(mc["path"].sel(series=name).values,
                                      np.broadcast_to(traj[name].values, (50, traj.sizes["year"])))
    kpis = {k.name: k for k in compute_kpis(model, choice)}
    end = mc["path_plan"].sel(year=2023).isel(draw=0)
    for name in (*RATIOS, "land_freed_mu", "energy_saved_tce", "co2_cut_t", "firms_rectified"):
        assert float(end.sel(series=name)) == kpis[name].achieved or float(
            end.sel(series=name)) == pytest.approx(kpis[name].achieved, rel=1e-12), name
    met_all = all(k.met for k in kpis.values())
    assert float(mc["p_all_met_plan"].sel(year=2023)) == (1.0 if met_all else 0.0)
    assert bool(mc["all_met_plan"].all()) == met_all


def test_factors_scale_their_effect_groups(small_model: Any, small_run: Any) -> None:
    """A fixed 0.5 on upgrade savings halves the upgrades' energy saved, nothing else moves."""
    choice = small_run.solution.choice
    model = small_model
    kinds = model.options.slot_kinds[choice]
    saved = np.nan_to_num(model.options.metric("energy_saved_tce"))[np.arange(len(choice)), choice]
    upgrade_saving = saved[kinds == "upgrade"].sum()
    assert upgrade_saving > 0
    _with_parameters(model, {"upgrade_saving": Distribution(dist="fixed", mean=0.5)})
    mc = monte_carlo(model, choice, draws=3, seed=1).sel(year=2023)
    plan = mc["path_plan"]
    assert float(plan.sel(series="energy_saved_tce")[0]) == pytest.approx(
        saved.sum() - 0.5 * upgrade_saving, rel=1e-12)
    land = small_run.kpis[0]
    assert float(plan.sel(series="land_freed_mu")[0]) == pytest.approx(land.achieved)
    _with_parameters(model, {"cost": Distribution(dist="fixed", mean=1.1)})
    mc = monte_carlo(model, choice, draws=2, seed=1)
    cost = {k.name: k.achieved for k in small_run.kpis}["public_cost_wan"]
    assert float(mc["path"].sel(series="public_cost_cum_wan", year=2025)[0]) == pytest.approx(
        1.1 * cost, rel=1e-12)


def test_distributions_and_seeds(small_model: Any) -> None:
    _with_parameters(small_model, {
        "cost": Distribution(dist="lognormal", mean=1.05, sd=0.1),
        "va_growth": Distribution(dist="triangular", low=0.5, mode=1.0, high=1.2),
        "project_delivery": Distribution(dist="uniform", low=0.7, high=1.0),
        "upgrade_saving": Distribution(dist="normal", mean=1.0, sd=2.0),
    })
    specs = factor_specs(small_model.scenario)
    a = sample(specs, 20000, 5)
    assert np.array_equal(a, sample(specs, 20000, 5))
    assert not np.array_equal(a, sample(specs, 20000, 6))
    assert a[:, 0].mean() == pytest.approx(1.05, rel=0.01)
    assert a[:, 0].std() == pytest.approx(0.1, rel=0.05)
    assert a[:, 1].min() >= 0.5 and a[:, 1].max() <= 1.2
    assert a[:, 2].min() >= 0.7 and a[:, 2].max() <= 1.0
    assert a[:, 3].min() == 0.0  # a normal factor is clipped at zero


def test_unknown_parameter_suggests(small_model: Any) -> None:
    small_model.scenario.uncertainty.parameters = {"upgrade_savings": Distribution(sd=0.1)}
    with pytest.raises(ScenarioError, match="did you mean 'upgrade_saving'"):
        factor_specs(small_model.scenario)
    small_model.scenario.uncertainty.parameters = {
        "actions.upgrade.levels.7.energy_saving_share": Distribution(sd=0.1)}
    with pytest.raises(ScenarioError, match="only 2 upgrade levels"):
        factor_specs(small_model.scenario)


def test_thousand_draws_fast_and_probabilities(small_model: Any, small_run: Any) -> None:
    _with_parameters(small_model, {
        "upgrade_saving": Distribution(sd=0.2), "cost": Distribution(sd=0.1),
        "redevelopment_takeup": Distribution(dist="uniform", low=0.5, high=1.0),
        "efficiency_trend": Distribution(sd=0.3),
    })
    started = time.perf_counter()
    mc = monte_carlo(small_model, small_run.solution.choice, draws=1000, seed=2)
    assert time.perf_counter() - started < 10.0
    p = mc["p_met"].values
    assert np.all((p >= 0) & (p <= 1))
    q = mc["quantiles"].sel(series="va_per_mu_wan", year=2025).values
    assert np.all(np.diff(q) >= 0)
    assert mc.sizes["draw"] == 1000 and mc.sizes["factor"] == 4


def test_montecarlo_cli_on_result(small_run: Any, tmp_path: Path) -> None:
    from sim.cli import _register_commands
    from sim.cli.app import app
    from sim.run import write_outputs

    paths = write_outputs(small_run, tmp_path)
    _register_commands()
    result = CliRunner().invoke(app, ["montecarlo", str(paths["result"]), "--draws", "200",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "all targets" in result.output
    assert (tmp_path / "small-mc.nc").exists()
    assert (tmp_path / "small-mc-fan.png").stat().st_size > 10_000
    result = CliRunner().invoke(app, ["trajectory", str(paths["result"])])
    assert result.exit_code == 0, result.output
    assert "2025" in result.output and "land floor" in result.output
