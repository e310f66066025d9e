"""Data commands: ``tenglong generate`` and ``tenglong evaluate``.

``generate`` draws a calibrated synthetic register and writes it (.csv,
.parquet or .nc by suffix). ``evaluate`` reads a register (.csv, .xlsx,
.parquet or .nc), runs the 亩均论英雄 evaluation and 高耗低效 screening, writes
the per-enterprise table atomically and prints a summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import xarray as xr
from rich.console import Console
from rich.table import Table

from sim.cli.app import app
from sim.data.register import load_register, save_register
from sim.data.synthetic import generate_population
from sim.errors import RegisterError
from sim.evaluation.config import load_evaluation_config, load_evaluation_overrides
from sim.evaluation.muni import evaluate, summarise_evaluation

_OUTPUT_SUFFIXES = (".csv", ".parquet", ".nc")
_TABLE_COLUMNS = (
    "district", "sector", "above_scale", "land_mu", "value_added_wan", "tax_wan", "energy_tce",
    "co2_t", "score", "muni_class", "flag_class_cd", "flag_intensity", "flag_two_high",
    "flag_violation", "candidate",
)  # fmt: skip


def _console() -> Console:
    return Console(highlight=False)


def _check_output(path: Path) -> None:
    if path.suffix.lower() not in _OUTPUT_SUFFIXES:
        raise RegisterError(
            f"{path}: cannot write '{path.suffix}'; use one of {', '.join(_OUTPUT_SUFFIXES)}."
        )


def _population_summary(ds: xr.Dataset) -> Table:
    """Firms, above-scale aggregates and the energy tail (万元, mu, tce)."""
    above = ds["above_scale"].to_numpy().astype(bool)
    va = ds["value_added_wan"].to_numpy()[above].sum()
    land = ds["land_mu"].to_numpy()[above].sum()
    tax = ds["tax_wan"].to_numpy()[above].sum()
    emp = ds["employees"].to_numpy()[above].sum()
    energy = ds["energy_tce"].to_numpy()
    big = energy >= 1000
    table = Table(title="synthetic population", show_header=False)
    rows: list[tuple[str, str]] = [
        ("firms (all ≥ 5 mu)", f"{ds.sizes['enterprise']:,}"),
        ("above-scale firms (规上)", f"{int(above.sum()):,}"),
        ("above-scale VA", f"{va / 1e4:,.0f} 亿元"),
        ("above-scale land", f"{land:,.0f} mu"),
        ("above-scale tax / mu", f"{tax / max(land, 1e-9):.1f} 万元"),
        ("above-scale VA / mu", f"{va / max(land, 1e-9):.1f} 万元"),
        ("above-scale VA / employee", f"{va / max(emp, 1e-9):.1f} 万元"),
        ("above-scale energy", f"{energy[above].sum() / 1e4:,.1f} 万tce"),
        ("firms ≥ 1,000 tce: share of firms / energy",
         f"{big.mean():.1%} / {energy[big].sum() / max(energy.sum(), 1e-9):.1%}"),
    ]  # fmt: skip
    for k, v in rows:
        table.add_row(k, v)
    return table


@app.command()
def generate(
    output: Annotated[Path, typer.Option("--output", "-o", help=".csv, .parquet or .nc")],
    n: Annotated[int, typer.Option("--n", min=1, help="number of firms")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
) -> None:
    """Generate a calibrated synthetic register (a Hangzhou scaled to N firms)."""
    _check_output(output)
    ds = generate_population(n, seed)
    save_register(ds, output)
    console = _console()
    console.print(_population_summary(ds))
    console.print(f"wrote {output}")


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="亩均论英雄 evaluation")
    table.add_column("group")
    for c in ("A", "B", "C", "D"):
        table.add_column(c, justify="right")
    for group, shares in summary["class_shares"].items():
        table.add_row(group, *(f"{shares[c]:.1%}" for c in ("A", "B", "C", "D")))
    return table


def _candidate_lines(summary: dict[str, Any]) -> list[str]:
    reasons = ", ".join(f"{k} {v:,}" for k, v in summary["candidate_reasons"].items())
    return [
        f"evaluated firms: {summary['evaluated']:,} of {summary['firms']:,}",
        f"高耗低效 candidates: {summary['candidates']:,} ({reasons})",
        f"  land {summary['candidate_land_mu']:,.0f} mu, energy "
        f"{summary['candidate_energy_tce']:,.0f} tce, CO2 {summary['candidate_co2_t']:,.0f} t",
    ]


def _table_dataset(ds: xr.Dataset) -> xr.Dataset:
    names = [c for c in _TABLE_COLUMNS if c in ds] + ["name"]
    return ds[names]


@app.command("evaluate")
def evaluate_cmd(
    file: Annotated[Path, typer.Argument(help="register: .csv, .xlsx, .parquet or .nc")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="table: .csv, .parquet or .nc")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML of evaluation overrides")
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Excel sheet name")] = None,
    allow_custom_districts: Annotated[
        bool, typer.Option("--allow-custom-districts", help="accept districts outside the list")
    ] = False,
) -> None:
    """Run the 亩均论英雄 evaluation and 高耗低效 screening on a register."""
    if output is not None:
        _check_output(output)
    overrides = load_evaluation_overrides(config) if config is not None else None
    cfg = load_evaluation_config(overrides)
    register = load_register(file, sheet=sheet, allow_custom_districts=allow_custom_districts)
    result = evaluate(register, cfg)
    summary = summarise_evaluation(result)
    console = _console()
    console.print(_summary_table(summary))
    for line in _candidate_lines(summary):
        console.print(line)
    if output is not None:
        table = result if output.suffix.lower() == ".nc" else _table_dataset(result)
        save_register(table, output)
        console.print(f"wrote {output}")
    if not np.isfinite(result["score"].to_numpy()).all():
        console.print("note: some scores are not finite (check the register's values)")
