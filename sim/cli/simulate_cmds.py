"""``tenglong trajectory``, ``montecarlo``, ``robust`` and ``sweep``: plans over years, draws."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer
import xarray as xr
from rich.console import Console
from rich.table import Table

from sim.cli.app import app
from sim.errors import InputError

if TYPE_CHECKING:
    from sim.pipeline import Model
    from sim.simulate.plans import IntArray

console = Console(soft_wrap=True, highlight=False)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def _plan(source: Path, n_firms: int | None, time_limit: float | None) -> tuple[Model, IntArray]:
    from sim.simulate.plans import is_result_file, plan_from_result, solve_plan

    if not source.exists():
        raise InputError(f"{source}: no such scenario or result file.")
    if is_result_file(source):
        return plan_from_result(source)
    return solve_plan(source, n_firms=n_firms, time_limit=time_limit)


@app.command()
def trajectory(
    source: Path = typer.Argument(..., help="Result file (.nc) or scenario YAML (solved now)."),
    n_firms: int | None = typer.Option(None, help="Override the synthetic population size."),
) -> None:
    """Print the plan's yearly KPI paths (月督查、季通报、年总评), base year to report_until."""
    from sim.simulate.engine import SERIES
    from sim.simulate.trajectories import trajectories

    model, choice = _plan(source, n_firms, None)
    ds = trajectories(model, choice)
    years = ds["year"].values
    table = Table(title=f"{model.scenario.name}: yearly trajectories")
    table.add_column("series")
    table.add_column("unit")
    for y in years:
        table.add_column(str(int(y)), justify="right")
    for name, (_, unit) in SERIES.items():
        table.add_row(name, unit, *[_fmt(float(v)) for v in ds[name].values])
    console.print(table)
    stock_ok = bool(ds["land_floor_ok"].all())
    console.print(f"industrial land floor {ds['land_floor_mu'].item():,.0f} mu: "
                  + ("kept every year" if stock_ok else "[red]BREACHED[/]"))


@app.command()
def montecarlo(
    source: Path = typer.Argument(..., help="Scenario YAML (solved first) or result file (.nc)."),
    draws: int | None = typer.Option(None, "--draws", "-n", help="Draws (uncertainty.draws)."),
    seed: int | None = typer.Option(None, help="Seed of the draws (uncertainty.seed)."),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="Output folder."),
    n_firms: int | None = typer.Option(None, help="Override the synthetic population size."),
    plot: bool = typer.Option(True, help="Write the fan chart PNG."),
    lang: str = typer.Option("zh", help="Figure language: zh or en."),
) -> None:
    """Probability that each target is met, by year; writes results/<name>-mc.nc and a fan chart."""
    from sim.simulate.montecarlo import monte_carlo, plot_fan, write_mc

    model, choice = _plan(source, n_firms, None)
    mc = monte_carlo(model, choice, draws=draws, seed=seed)
    name = model.scenario.name
    _print_probabilities(mc)
    paths = {"result": write_mc(mc, out / f"{name}-mc.nc")}
    if plot:
        for k, p in enumerate(plot_fan(mc, out / f"{name}-mc-fan.png", lang=lang)):
            paths[f"fan chart {k}" if k else "fan chart"] = p
    if not mc.sizes["factor"]:
        console.print("note: the scenario declares no uncertain parameters "
                      "(uncertainty.parameters); every draw is the deterministic plan.")
    console.print(f"{mc.attrs['draws']} draws evaluated in {mc.attrs['elapsed_s']:.2f} s")
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


def _print_probabilities(mc: xr.Dataset) -> None:
    from sim.simulate.montecarlo import probability_table

    years = [int(y) for y in mc["year"].values]
    table = Table(title=f"{mc.attrs.get('scenario', '')}: P(target met) over "
                  f"{mc.attrs.get('draws')} draws (realised / plan accounting)")
    table.add_column("target")
    for y in years:
        table.add_column(str(y), justify="right")
    plan = {t: p for t, _, p in probability_table(mc, plan=True)}
    for target, label, probs in probability_table(mc):
        cells = []
        for y in years:
            if y not in probs:
                cells.append("")
                continue
            p, q = probs[y], plan[target][y]
            text = f"{p:.0%}" if abs(p - q) < 1e-12 else f"{p:.0%} / {q:.0%}"
            cells.append(text if p >= 0.9 else f"[red]{text}[/]")
        table.add_row(f"{label} {target}", *cells)
    all_met = [f"{float(v):.0%}" for v in mc["p_all_met"].values]
    table.add_row("[bold]all targets[/]", *all_met)
    console.print(table)


@app.command()
def robust(
    scenario: Path = typer.Argument(..., help="Scenario YAML with an uncertainty: block."),
    alpha: float | None = typer.Option(None, help="Override uncertainty.robust_alpha."),
    draws: int | None = typer.Option(None, help="Override uncertainty.robust_draws."),
    mode: str | None = typer.Option(None, help="chance or all (uncertainty.robust_mode)."),
    holdout_draws: int | None = typer.Option(None, help="Override uncertainty.holdout_draws."),
    n_firms: int | None = typer.Option(None, help="Override the synthetic population size."),
    time_limit: float | None = typer.Option(None, help="Override solver.time_limit_s (s)."),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="Output folder."),
) -> None:
    """Plan that meets the targets in ≥ 1−α of the draws; its cost and held-out validation."""
    from sim.pipeline import build_model
    from sim.simulate.montecarlo import write_mc
    from sim.simulate.robust import robust_plan

    if not scenario.exists():
        raise InputError(f"{scenario}: no such scenario file.")
    model = build_model(scenario, n_firms=n_firms)
    result = robust_plan(model, alpha=alpha, draws=draws, mode=mode,
                         holdout_draws=holdout_draws, time_limit=time_limit)
    console.print(result.summary(), markup=False)
    _print_probabilities(result.holdout)
    path = write_mc(result.holdout.assign(robust_choice=("unit", result.choice)).assign_coords(
        unit=model.options.unit_ids), out / f"{model.scenario.name}-robust-mc.nc")
    console.print(f"held-out Monte Carlo of the robust plan: {path}")


@app.command()
def sweep(
    scenario: Path = typer.Argument(..., help="Scenario YAML with a sweep: block."),
    scheduler: str | None = typer.Option(
        None, help="Address of a running dask scheduler (default: a local cluster)."),
    workers: int = typer.Option(2, help="Workers of the local cluster."),
    serial: bool = typer.Option(False, "--serial", help="Run members one by one in-process."),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="Output folder."),
    store: Path | None = typer.Option(
        None, help="Folder of per-member files (default results/<name>-sweep.members)."),
    n_firms: int | None = typer.Option(None, help="Override the synthetic population size."),
    time_limit: float | None = typer.Option(None, help="Override solver.time_limit_s (s)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Run the scenario's sweep in parallel (dask); resumable; writes results/<name>-sweep.nc."""
    from sim.pipeline import load_scenario
    from sim.simulate.sweep import run_sweep

    if not scenario.exists():
        raise InputError(f"{scenario}: no such scenario file.")
    name = load_scenario(scenario)[0].name
    target = out / f"{name}-sweep.nc"
    ds = run_sweep(scenario, scheduler="serial" if serial else scheduler, workers=workers,
                   store=store, out=target, progress=progress, n_firms=n_firms,
                   time_limit=time_limit)
    table = Table(title=f"{name}: sweep of {ds.sizes['member']} members")
    params = [str(p) for p in ds["parameter"].values]
    for column in ("member", *params, "status", "objective", "targets met", "actions"):
        table.add_column(column, justify="left" if column in ("status", "actions") else "right")
    targets = np.isfinite(ds["kpi_target"].values)
    for i in range(ds.sizes["member"]):
        row = ds.isel(member=i)
        counts = " ".join(f"{str(a)[0]}{int(c)}" for a, c in zip(
            ds["action"].values, row["action_count"].values, strict=True) if a != "keep" and c)
        met = row["kpi_met"].values[targets[i]]
        table.add_row(str(row["scenario"].item()),
                      *[_fmt(float(v)) for v in row["parameter_value"].values],
                      str(row["status"].item()), _fmt(float(row["objective"])),
                      f"{int(met.sum())}/{met.size}", counts)
    console.print(table)
    console.print("actions: e = exit, m = merge, r = relocate, u = upgrade, a = projects admitted")
    import json

    computed = json.loads(ds.attrs["members_computed"])
    resumed = json.loads(ds.attrs["members_resumed"])
    console.print(f"computed {len(computed)} members, resumed {len(resumed)} stored ones")
    console.print(f"result: {target}")
