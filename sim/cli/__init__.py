"""Command-line interface: ``tenglong COMMAND``.

Each concern has its own module of commands; importing it registers them.
User errors (:class:`sim.errors.TenglongError`) print one clear message and
exit non-zero, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

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


def main() -> None:
    """Entry point of the ``tenglong`` console script."""
    _register_commands()
    try:
        app()
    except TenglongError as exc:
        Console(stderr=True, highlight=False).print(
            "error: " + str(exc), markup=False, style="bold red", soft_wrap=True
        )
        sys.exit(exc.exit_code)
