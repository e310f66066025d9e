"""``tenglong compare``, ``diff-results``, ``brief`` and ``pareto``: read across results.

* ``compare A.nc B.yaml ...``: one comparison Dataset along ``scenario``
  (scenario files without a result in ``--out-dir`` are run first).
* ``diff-results A.nc B.nc``: which enterprises changed action.
* ``brief FILE.nc``: a one-page-per-scenario A4 PDF brief.
* ``pareto SCENARIO.yaml``: an ε-constraint sweep and its frontier plot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
import xarray as xr
from rich.console import Console
from rich.table import Table

from sim.cli.app import app
from sim.errors import InputError

console = Console(soft_wrap=True, highlight=False)

SCENARIO_SUFFIXES = (".yaml", ".yml")


def resolve_inputs(
    inputs: list[Path],
    out_dir: Path,
    *,
    n_firms: int | None = None,
    time_limit: float | None = None,
    rerun: bool = False,
) -> list[Path]:
    """Result files for each input: a ``.nc`` as is; a scenario's ``out_dir/<name>.nc``.

    A scenario whose result does not exist yet (or with ``rerun``) is run
    with :func:`sim.run.run_scenario` and written with :func:`sim.run.write_outputs`.
    """
    paths = []
    for item in inputs:
        if item.suffix.lower() not in SCENARIO_SUFFIXES:
            if not item.exists():
                raise InputError(f"{item}: no such result file.")
            paths.append(item)
            continue
        from sim.pipeline import load_scenario

        scenario, _ = load_scenario(item)
        target = out_dir / f"{scenario.name}.nc"
        if rerun or not target.exists():
            from sim.run import run_scenario, write_outputs

            console.print(f"running {item} → {target}", markup=False)
            outcome = run_scenario(scenario, n_firms=n_firms, time_limit=time_limit)
            write_outputs(outcome, out_dir)
        else:
            console.print(f"{item}: using the existing result {target}", markup=False)
        paths.append(target)
    return paths


def _cell(value: float, unit: str) -> str:
    from sim.brief.text import fmt_value

    return fmt_value(value, unit)


def print_comparison(cmp: xr.Dataset) -> None:
    """The terminal table: each KPI with a target, per scenario achieved (attainment) and Δ."""
    from sim.brief.text import fmt_pct

    ref = str(cmp.attrs["reference"])
    names = [str(s) for s in cmp["scenario"].values]
    table = Table(title=f"comparison (reference {ref}): achieved (attainment) and Δ vs reference")
    table.add_column("KPI")
    table.add_column("unit")
    table.add_column(f"target ({ref})", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for kpi in cmp["kpi"].values.astype(str):
        targets = cmp["kpi_target"].sel(kpi=kpi).values
        if not np.isfinite(targets).any():
            continue
        unit = str(cmp["kpi_unit"].sel(kpi=kpi).item())
        cells = []
        for name in names:
            achieved = float(cmp["kpi_achieved"].sel(kpi=kpi, scenario=name))
            ratio = float(cmp["kpi_attainment"].sel(kpi=kpi, scenario=name))
            met = bool(cmp["kpi_met"].sel(kpi=kpi, scenario=name))
            text = f"{_cell(achieved, unit)} ({fmt_pct(ratio)})"
            if not met:
                text = f"[red]{text} NOT MET[/]"
            if name != ref:
                diff = float(cmp["kpi_achieved_diff"].sel(kpi=kpi, scenario=name))
                text += f"\nΔ {'+' if diff > 0 else ''}{_cell(diff, unit)}"
            cells.append(text)
        table.add_row(f"{cmp['kpi_label_zh'].sel(kpi=kpi).item()} {kpi}", unit,
                      _cell(float(cmp["kpi_target"].sel(kpi=kpi, scenario=ref)), unit), *cells)
    acting = cmp["action_count"].sel(action_kind=["exit", "merge", "relocate", "upgrade"])
    table.add_row("firms acting (exit/merge/relocate/upgrade)", "firms", "",
                  *[f"{int(acting.sel(scenario=n).sum())} ("
                    + "/".join(str(int(v)) for v in acting.sel(scenario=n).values) + ")"
                    for n in names])
    table.add_row("status (gap)", "", "",
                  *[f"{cmp['status'].sel(scenario=n).item()} "
                    f"({float(cmp['gap'].sel(scenario=n)):.1e})" for n in names])
    console.print(table)
    if int(cmp.attrs.get("enterprise_level", 0)):
        changed = cmp["action_changed"].sum("enterprise")
        console.print("enterprises whose action differs from the reference: "
                      + ", ".join(f"{n} {int(changed.sel(scenario=n))}" for n in names if n != ref),
                      markup=False)


@app.command()
def compare(
    inputs: list[Path] = typer.Argument(..., help="Result files (.nc) or scenario files (.yaml)."),
    reference: str | None = typer.Option(
        None, "--reference", help="Scenario the differences are taken against (default: first)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Combined Dataset (.nc); default OUT_DIR/comparison.nc."
    ),
    out_dir: Path = typer.Option(
        Path("results"), "--out-dir", help="Where scenario results are looked up and written."
    ),
    n_firms: int | None = typer.Option(None, help="Population size for scenarios run now."),
    time_limit: float | None = typer.Option(None, help="Solver time limit (s) for runs."),
    rerun: bool = typer.Option(False, help="Rerun scenario files even if a result exists."),
) -> None:
    """Compare scenarios: KPI vs target for all, differences against the reference."""
    from sim.results.compare import compare as compare_results
    from sim.results.compare import write_comparison

    paths = resolve_inputs(inputs, out_dir, n_firms=n_firms, time_limit=time_limit, rerun=rerun)
    cmp = compare_results(paths, reference=reference)
    target = output or out_dir / "comparison.nc"
    write_comparison(cmp, target)
    print_comparison(cmp)
    console.print(f"comparison: {target}", markup=False)


@app.command("diff-results")
def diff_results(
    a: Path = typer.Argument(..., help="Result A (.nc)."),
    b: Path = typer.Argument(..., help="Result B (.nc)."),
    limit: int = typer.Option(20, "--limit", "-n", min=0, help="List this many changed firms."),
) -> None:
    """Which enterprises changed action between two results (counts by from → to, first N)."""
    from sim.results.compare import action_changes
    from sim.results.dataset import read_result

    da, db = read_result(a), read_result(b)
    counts, first = action_changes(da, db, limit=limit)
    name_a, name_b = da.attrs.get("scenario", str(a)), db.attrs.get("scenario", str(b))
    console.print(
        f"{first.attrs['matched']} enterprises matched by id "
        f"({first.attrs['only_a']} only in {name_a}, {first.attrs['only_b']} only in {name_b}); "
        f"{first.attrs['changed']} changed action.",
        markup=False,
    )
    if counts.empty:
        return
    table = Table(title=f"action changes {name_a} → {name_b}")
    table.add_column(f"from ({name_a})")
    table.add_column(f"to ({name_b})")
    table.add_column("firms", justify="right")
    for row in counts.itertuples(index=False):
        table.add_row(str(row.from_action), str(row.to_action), str(row.firms))
    console.print(table)
    if limit and not first.empty:
        listing = Table(title=f"first {len(first)} changed enterprises (id order)")
        cols = {"id": "id", "district": "district", "sector": "sector", "muni_class": "class",
                "from_option": f"{name_a}", "to_option": f"{name_b}", "to_target": "target"}
        cols = {k: v for k, v in cols.items() if k in first.columns}
        for title in cols.values():
            listing.add_column(title, no_wrap=True)
        for row in first[list(cols)].itertuples(index=False):
            listing.add_row(*[str(v) for v in row])
        console.print(listing)


@app.command()
def brief(
    source: Path = typer.Argument(..., help="Result (.nc) or comparison (.nc) file."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="PDF path (default: SOURCE with suffix -brief.pdf)."
    ),
    lang: str = typer.Option("zh", "--lang", help="zh or en."),
    html: bool = typer.Option(False, "--html", help="Also write an HTML copy beside the PDF."),
) -> None:
    """Write a one-page-per-scenario A4 brief: targets, cost, what binds, four figures."""
    from sim.brief.pdf import make_brief

    target = output or source.with_name(f"{source.stem}-brief.pdf")
    path = make_brief(source, target, lang=lang, html_copy=html)
    console.print(f"brief: {path}", markup=False)
    if html:
        console.print(f"html: {path.with_suffix('.html')}", markup=False)


@app.command()
def pareto(
    scenario: Path = typer.Argument(..., help="Scenario YAML."),
    metric: str = typer.Option("jobs_lost", help="jobs_lost or va_after_wan."),
    points: int = typer.Option(6, min=2, help="Number of ε values."),
    n_firms: int | None = typer.Option(None, help="Override the synthetic population size."),
    time_limit: float | None = typer.Option(None, help="Solver time limit per run (s)."),
    output: Path = typer.Option(
        Path("results/pareto.png"), "--output", "-o", help="Plot (.png, .svg or .pdf); the "
        "sweep Dataset is written beside it as .nc."
    ),
    lang: str = typer.Option("zh", "--lang", help="zh or en."),
) -> None:
    """Pareto frontier of public cost vs jobs lost (or VA) by an ε-constraint sweep."""
    from sim.plots.pareto import pareto_sweep, plot_pareto
    from sim.plots.style import check_lang, figure_provenance, save_figure
    from sim.results.atomic import atomic_path

    check_lang(lang)
    sweep = pareto_sweep(scenario, metric=metric, points=points, n_firms=n_firms,
                         time_limit=time_limit)
    table = Table(title=f"Pareto sweep ({metric}); {sweep.attrs['dropped']} infeasible dropped")
    for col in ("ε", "public cost 万元", "jobs lost", "VA end 万元", "status"):
        table.add_column(col, justify="right")
    for k in range(sweep.sizes["point"]):
        p = sweep.isel(point=k)
        table.add_row(f"{float(p['epsilon']):,.0f}", f"{float(p['public_cost_wan']):,.0f}",
                      f"{float(p['jobs_lost']):,.0f}", f"{float(p['va_after_wan']):,.0f}",
                      str(p["status"].item()))
    console.print(table)
    written = save_figure(plot_pareto(sweep, lang), output, provenance=figure_provenance(sweep))
    nc = output.with_suffix(".nc")
    with atomic_path(nc) as tmp:
        sweep.to_netcdf(tmp, engine="h5netcdf")
    for path in [*written, nc]:
        console.print(f"written: {path}", markup=False)
