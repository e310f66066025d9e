"""``tenglong run``, ``explain`` and ``show``: solve a scenario and read its result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
import xarray as xr
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.cli.app import app
from sim.errors import InputError
from sim.optimise.problem import ProgressEvent


def _console() -> Console:
    """Stdout console; at least 150 columns wide so the KPI table never folds."""
    import shutil

    width = shutil.get_terminal_size((150, 40)).columns
    return Console(soft_wrap=True, highlight=False, width=max(width, 150))


console = _console()


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="Output folder."),
    method: str | None = typer.Option(
        None, help="Override solver.method: auto, mip, pyomo or decomposition."
    ),
    time_limit: float | None = typer.Option(None, help="Override solver.time_limit_s (s)."),
    n_firms: int | None = typer.Option(
        None, help="Run a scaled copy: synthetic population of N firms, targets scaled by N/20,000."
    ),
    allow_shortfall: bool = typer.Option(
        False, help="When targets cannot all be met, write the least-shortfall plan (flagged)."
    ),
    plots: bool = typer.Option(True, help="Render the briefing plots next to the result."),
) -> None:
    """Solve a scenario and write results/<name>.nc, the decisions CSV and plots."""
    from sim.run import run_scenario, write_outputs

    with _progress() as (bar, task):

        def report(event: ProgressEvent) -> None:
            text = f"{event.phase}"
            if np.isfinite(event.incumbent):
                text += f"  incumbent {event.incumbent:,.6g}"
            if np.isfinite(event.bound):
                text += f"  bound {event.bound:,.6g}"
            if np.isfinite(event.gap):
                text += f"  gap {event.gap:.2e}"
            bar.update(task, description=text)

        bar.update(task, description="building the model")
        outcome = run_scenario(
            scenario,
            method=method,
            time_limit=time_limit,
            allow_shortfall=allow_shortfall,
            n_firms=n_firms,
            progress=report,
        )
        bar.update(task, description="writing results")
        paths = write_outputs(outcome, out)
        if plots:
            paths.update(_plots(outcome.dataset, out, outcome.model.scenario.name))
    print_summary(outcome.dataset)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")
    if outcome.shortfall:
        console.print("[bold yellow]SHORTFALL[/]: targets were not all met (see diagnosis above).")
        assert outcome.diagnosis is not None
        console.print(outcome.diagnosis.text(), markup=False)


class _progress:
    """A transient spinner with phase, bound, incumbent and gap."""

    def __enter__(self) -> tuple[Progress, TaskID]:
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.__enter__()
        return self.bar, self.bar.add_task("starting", total=None)

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)


def _plots(ds: xr.Dataset, out: Path, name: str) -> dict[str, Path]:
    try:
        from sim.plots.briefing import scenario_figures
    except ModuleNotFoundError:
        return {}
    return {f"plot {k}": p for k, p in scenario_figures(ds, out / f"{name}-plots").items()}


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def print_summary(ds: xr.Dataset) -> None:
    """The terminal table: every target, achieved value, binding, marginal cost."""
    table = Table(title=f"{ds.attrs.get('scenario', '')}: targets and KPIs (end year)")
    for column in (
        "KPI",
        "unit",
        "target",
        "achieved",
        "base year",
        "no action",
        "met",
        "binds",
        "marginal cost (元/unit)",
    ):
        table.add_column(column, justify="right" if column not in ("KPI", "unit") else "left")
    for k in ds["kpi"].values:
        row = ds.sel(kpi=k)
        target = float(row["kpi_target"])
        base = float(row["kpi_base"])
        table.add_row(
            f"{row['kpi_label_zh'].item()} {k}",
            str(row["kpi_unit"].item()),
            _fmt(target),
            _fmt(float(row["kpi_achieved"])),
            _fmt(base) if base else "",
            _fmt(float(row["kpi_baseline_end"])) if float(row["kpi_baseline_end"]) else "",
            "" if not np.isfinite(target) else ("yes" if bool(row["kpi_met"]) else "[red]NO[/]"),
            "yes" if bool(row["kpi_binding"]) and np.isfinite(target) else "",
            _fmt(float(row["kpi_marginal_cost_yuan"])) if bool(row["kpi_binding"]) else "",
        )
    console.print(table)
    actions = ds["action"].values[ds["acting"].values.astype(bool)]
    kinds, counts = np.unique(actions, return_counts=True)
    mix = ", ".join(f"{k} {c}" for k, c in zip(kinds, counts, strict=True))
    console.print(
        f"status {ds.attrs['status']} ({ds.attrs['method']}), "
        f"objective {ds.attrs['objective']:,.6g}, "
        f"bound {ds.attrs['bound']:,.6g}, gap {ds.attrs['gap']:.2e}, "
        f"independent check max violation {ds.attrs['max_violation']:.1e}"
    )
    console.print(f"actions of {actions.size} acting firms: {mix}", markup=False)
    if ds.attrs["status"] == "feasible":
        reason = json.loads(ds.attrs.get("manifest", "{}")).get("status", {}).get("message", "")
        console.print(
            f"[bold yellow]NOT PROVEN OPTIMAL[/]: the solver stopped ({reason or 'limit reached'}) "
            f"with a gap of {ds.attrs['gap']:.2%}. The plan meets every constraint, but the "
            f"best possible objective may be as far as {ds.attrs['bound']:,.6g}. Raise "
            "--time-limit (solver.time_limit_s) to close the gap."
        )


@app.command()
def explain(
    result: Path = typer.Argument(..., help="Result file (.nc) written by `tenglong run`."),
    enterprise_id: str = typer.Argument(..., help="Enterprise id."),
) -> None:
    """Why did this firm get its action? Its data, every option's effects and the price gap."""
    from sim.results.dataset import read_result
    from sim.results.explain import explain_enterprise

    ds = read_result(result)
    ids = ds["enterprise"].values.astype(str)
    if enterprise_id not in ids:
        from sim.scenario.suggest import did_you_mean

        raise InputError(
            f"{result}: no enterprise {enterprise_id!r}{did_you_mean(enterprise_id, ids[:50000])}"
        )
    console.print(explain_enterprise(ds, enterprise_id), markup=False)


@app.command()
def show(
    result: Path = typer.Argument(..., help="Result file (.nc)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the whole manifest as JSON (resolved scenario included)."
    ),
) -> None:
    """Print a result file's manifest (what produced it) and its KPI table."""
    from sim.results.dataset import read_result

    ds = read_result(result)
    manifest = json.loads(ds.attrs["manifest"])
    if as_json:
        typer.echo(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
        return
    info = Table(title=f"{result}: provenance", show_header=False)
    for key in ("created_utc", "command", "scenario_file", "git_commit"):
        info.add_row(key, str(manifest.get(key)))
    effective = manifest.get("scenario_effective") or manifest.get("scenario", {})
    info.add_row(
        "scenario",
        f"{effective.get('name')} (seed {effective.get('seed')}; "
        f"{len(manifest.get('scenario', {}))} sections set in the file, every value in "
        "`show --json`)",
    )
    for key, value in manifest.get("inputs", {}).items():
        info.add_row(f"input {key}", str(value))
    for key, value in manifest.get("versions", {}).items():
        info.add_row(f"version {key}", str(value))
    for key, value in manifest.get("solver", {}).items():
        info.add_row(f"solver {key}", str(value))
    for key, value in manifest.get("status", {}).items():
        info.add_row(f"status {key}", str(value))
    for key, value in manifest.get("timings_s", {}).items():
        info.add_row(f"time {key}", f"{value} s")
    console.print(info)
    print_summary(ds)
