"""Simulation layer of tenglong: a plan over years, draws and parameter sweeps.

* :func:`sim.simulate.trajectories.trajectories` — yearly KPI paths of a plan,
  base year to ``horizon.report_until`` (月督查、季通报、年总评);
  :func:`~sim.simulate.trajectories.add_trajectories` joins them to a result
  Dataset (``traj_*`` variables; ``sim.run.run_scenario`` calls it).
* :func:`sim.simulate.montecarlo.monte_carlo` — the plan under ``draws`` draws
  of ``uncertainty.parameters`` (:mod:`sim.simulate.factors`), vectorised over
  draws: P(target met) by year, fan-chart quantiles.
* :func:`sim.simulate.robust.robust_plan` — a plan meeting the targets in
  ≥ 1 − α of the draws (per-draw rows in the choice problem), validated on
  held-out draws.
* :func:`sim.simulate.sweep.run_sweep` — a scenario's ``sweep:`` block on
  dask.distributed, stored per member, resumable.

The engine under all of them is :mod:`sim.simulate.engine`.
"""
