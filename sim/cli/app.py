"""The typer application that every command module registers on.

Command modules live beside this file, one per concern; ``sim.cli.__init__``
imports them so that their ``@app.command()`` decorators run.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tenglong",
    help="腾笼换鸟 industrial-restructuring model: generate, evaluate, optimise, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """腾笼换鸟 industrial-restructuring model: generate, evaluate, optimise, compare."""


@app.command()
def version() -> None:
    """Print the tenglong version."""
    from sim import __version__

    typer.echo(f"tenglong {__version__}")
