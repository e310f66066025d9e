"""Command-line interface: ``tenglong COMMAND``.

Each concern has its own module of commands; importing it registers them.
User errors (:class:`sim.errors.TenglongError`) print one clear message and
exit non-zero, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import TextIO

from rich.console import Console

from sim.cli.app import app
from sim.errors import TenglongError

# Command modules, in the order of the data flow. A module that does not
# exist yet is simply skipped so that the CLI works while the project grows.
_COMMAND_MODULES = [
    "sim.cli.data_cmds",
    "sim.cli.scenario_cmds",
    "sim.cli.model_cmds",
    "sim.cli.mmkp_cmds",
    "sim.cli.simulate_cmds",
    "sim.cli.compare_cmds",
]


def _register_commands() -> None:
    for module in _COMMAND_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Print a user-facing warning as one ``warning:`` line, without the code line.

    ``UserWarning`` s are messages for the user (a register whose land looks
    like m², custom districts); other categories keep Python's format.
    """
    if not issubclass(category, UserWarning) or issubclass(category, DeprecationWarning):
        _python_showwarning(message, category, filename, lineno, file, line)
        return
    Console(file=file or sys.stderr, highlight=False).print(
        f"warning: {message}", markup=False, style="yellow", soft_wrap=True
    )


_python_showwarning = warnings.showwarning


def main() -> None:
    """Entry point of the ``tenglong`` console script."""
    _register_commands()
    warnings.showwarning = _show_warning
    try:
        app()
    except TenglongError as exc:
        Console(stderr=True, highlight=False).print(
            "error: " + str(exc), markup=False, style="bold red", soft_wrap=True
        )
        sys.exit(exc.exit_code)
