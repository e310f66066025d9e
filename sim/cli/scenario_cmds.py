"""Scenario commands: ``tenglong validate``, ``tenglong diff``, ``tenglong scenario-docs``.

Each takes a hidden ``--model module:Class`` option that swaps the scenario
schema for another pydantic model (used by the tests; handy for checking any
YAML file against any model).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.cli.app import app
from sim.errors import ScenarioError, TenglongError
from sim.scenario.diff import DiffEntry, diff_scenarios, show_value
from sim.scenario.loader import Location, ResolvedYaml, YamlPath, load_with_sources
from sim.scenario.reference import defaults_reference

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        hidden=True,
        help="Validate against this pydantic model (module:Class) instead of the schema.",
    ),
]


def _model_cls(spec: str | None) -> type[BaseModel] | None:
    """Resolve ``module:Class`` to a pydantic model class (``None`` → the schema)."""
    if spec is None:
        return None
    module_name, _, attr = spec.partition(":")
    try:
        obj: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        raise TenglongError(f"--model {spec}: no such model (expected module:Class).") from None
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        raise TenglongError(f"--model {spec}: not a pydantic model class.")
    return obj


def _leaves(value: Any, path: YamlPath = ()) -> list[YamlPath]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list) and any(isinstance(i, dict) for i in value):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


def summary_lines(model: BaseModel, resolved: ResolvedYaml) -> list[str]:
    """Three lines describing a loaded scenario.

    The extends chain, how many values the files set versus the defaults,
    then the lines of ``model.summary_lines()`` when the model defines it
    (a one-line policy summary, say), else the top-level sections set.
    """
    chain = " → ".join(str(f) for f in resolved.files)
    leaves = _leaves(model.model_dump(mode="json", by_alias=True))
    explicit = sum(1 for p in leaves if p in resolved.sources)
    lines = [
        f"files: {chain}",
        f"values: {len(leaves)} in all, {explicit} set in the files, "
        f"{len(leaves) - explicit} from defaults",
    ]
    custom = getattr(model, "summary_lines", None)
    if callable(custom):
        lines.extend(str(line) for line in custom())
    else:
        sections = ", ".join(resolved.data) or "(none)"
        lines.append(f"sections set: {sections}")
    return lines


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    model: ModelOption = None,
) -> None:
    """Check a scenario file; print a summary, or every problem with its file and line."""
    try:
        obj, resolved = load_with_sources(scenario, _model_cls(model))
    except ScenarioError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            "error: " + str(exc), markup=False, style="bold red"
        )
        raise typer.Exit(exc.exit_code) from None
    typer.echo(f"ok: {scenario}")
    for line in summary_lines(obj, resolved):
        typer.echo(f"  {line}")


def _cell(value: Any, present: bool, source: Location | None) -> Text:
    if not present:
        return Text("—", style="dim")
    text = Text(show_value(value))
    text.append("\n" + (str(source) if source is not None else "default"), style="dim")
    return text


def _table(a: Path, b: Path, entries: list[DiffEntry]) -> Table:
    n = len(entries)
    table = Table(title=f"{a} → {b}: {n} difference{'s' if n != 1 else ''}", show_lines=True)
    table.add_column("key", overflow="fold")
    table.add_column("change")
    table.add_column(f"A: {a.name}", overflow="fold")
    table.add_column(f"B: {b.name}", overflow="fold")
    styles = {"added": "green", "removed": "red", "changed": "yellow"}
    for e in entries:
        table.add_row(
            Text(e.key),
            Text(e.kind, style=styles[e.kind]),
            _cell(e.a, e.kind != "added", e.a_source),
            _cell(e.b, e.kind != "removed", e.b_source),
        )
    return table


@app.command()
def diff(
    a: Annotated[Path, typer.Argument(help="Scenario A (YAML).")],
    b: Annotated[Path, typer.Argument(help="Scenario B (YAML).")],
    model: ModelOption = None,
) -> None:
    """Show what differs between two scenarios, after `extends` and defaults."""
    entries = diff_scenarios(a, b, _model_cls(model))
    if not entries:
        typer.echo(f"no differences between {a} and {b} (after extends and defaults)")
        return
    Console(highlight=False).print(_table(a, b, entries))


@app.command("scenario-docs")
def scenario_docs(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this Markdown file.")
    ] = None,
    model: ModelOption = None,
) -> None:
    """Print (or write) the Markdown reference of every scenario key and its default."""
    text = defaults_reference(_model_cls(model))
    if output is None:
        typer.echo(text, nl=False)
        return
    from sim.results.atomic import atomic_write_text

    atomic_write_text(output, text)
    typer.echo(f"wrote {output}")
