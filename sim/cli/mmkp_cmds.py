"""``tenglong mmkp``: solve a published MMKP instance and compare with its optimum."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from sim.cli.app import app
from sim.errors import InputError
from sim.optimise.mmkp import MMKPInstance, read_hh, read_khan
from sim.optimise.problem import ChoiceProblem, Solution

FORMATS = ("khan", "hh")
METHODS = ("highs", "pyomo")


def solve_with(problem: ChoiceProblem, method: str, time_limit: float | None) -> Solution:
    """The single dispatch point from a method name to a solver."""
    if method == "highs":
        from sim.optimise.highs_backend import solve_highs

        return solve_highs(problem, time_limit=time_limit)
    if method == "pyomo":
        from sim.optimise.pyomo_backend import solve_pyomo

        return solve_pyomo(problem, time_limit=time_limit)
    raise InputError(f"unknown --method {method!r}; expected one of {', '.join(METHODS)}")


def load_instances(file: Path, fmt: str, problem: int | None) -> list[MMKPInstance]:
    """Read the instances of ``file`` in format ``fmt``, optionally only problem ``problem``."""
    if fmt not in FORMATS:
        raise InputError(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    instances = [read_khan(file)] if fmt == "khan" else read_hh(file)
    if problem is None:
        return instances
    if fmt == "khan":
        if problem != 1:
            raise InputError(f"{file}: a Khan file holds one problem; --problem must be 1")
        return instances
    chosen = [inst for inst in instances if inst.problem_number == problem]
    if not chosen:
        numbers = [inst.problem_number for inst in instances]
        raise InputError(
            f"{file}: no problem {problem}; the file holds problems {min(numbers)}…{max(numbers)}"  # type: ignore[type-var]
        )
    return chosen


def _report(inst: MMKPInstance, sol: Solution) -> list[str]:
    lines = [
        f"instance  {inst.name}  ({inst.n_groups} groups × {inst.n_items} items × "
        f"{inst.n_resources} resources)",
        f"status    {sol.status}  ({sol.message})" if sol.message else f"status    {sol.status}",
        f"optimum   {sol.objective:.2f}",
        f"bound     {sol.bound:.2f}",
        f"gap       {sol.gap:.3g}",
        "time      "
        + ", ".join(f"{k} {v:.2f} s" for k, v in sol.timings.items())
        + f" ({sol.method})",
    ]
    if sol.status in ("optimal", "feasible"):
        lines.append("choice    " + " ".join(str(int(c)) for c in sol.choice))
    if inst.optimum is not None:
        reproduced = sol.status in ("optimal", "feasible") and bool(
            np.isclose(sol.objective, inst.optimum, rtol=0, atol=1e-6 * max(1.0, abs(inst.optimum)))
        )
        verdict = "reproduced" if reproduced else "NOT reproduced"
        lines.append(f"reference {inst.optimum:.2f}  → {verdict}")
    elif inst.upper_bound is not None:
        lines.append(f"reference upper bound {inst.upper_bound:.2f} (no proven optimum in file)")
    return lines


@app.command()
def mmkp(
    file: Annotated[Path, typer.Argument(help="MMKP instance file.")],
    format: Annotated[str, typer.Option("--format", help="khan or hh.")] = "khan",
    problem: Annotated[
        int | None, typer.Option("--problem", help="Problem number within an HH file.")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="highs or pyomo.")] = "highs",
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds per problem.")
    ] = None,
) -> None:
    """Solve a published MMKP instance and check it against its known optimum.

    Prints the optimum, bound, gap, status, time, the chosen item per group
    (0-based, file order) and whether the file's reference optimum is reproduced.
    """
    if method not in METHODS:
        raise InputError(f"unknown --method {method!r}; expected one of {', '.join(METHODS)}")
    if time_limit is not None and time_limit <= 0:
        raise InputError(f"--time-limit must be positive, got {time_limit}")
    for k, inst in enumerate(load_instances(file, format, problem)):
        if k:
            typer.echo("")
        sol = solve_with(inst.to_problem(), method, time_limit)
        for line in _report(inst, sol):
            typer.echo(line)
