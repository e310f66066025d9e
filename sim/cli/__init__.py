"""Command-line interface: ``tenglong COMMAND``.

Each concern has its own module of commands; importing it registers them.
User errors (:class:`sim.errors.TenglongError`) print one clear message and
exit non-zero, never a traceback. Ctrl-C (SIGINT) and SIGTERM stop the
command with a one-line message and exit 128 + the signal number (130, 143);
files being written are discarded (``sim.results.atomic``), finished ones kept.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Any, TextIO

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


class Interrupted(BaseException):
    """Raised in the main thread on SIGINT or SIGTERM (not a KeyboardInterrupt, so that
    click does not turn it into a bare "Aborted!"); unwinding runs every cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def _redeliver_unraisable(info: Any) -> None:
    """An interrupt that landed in a context that cannot raise (a weakref or
    ``__del__`` callback) is delivered again, so it stops the run cleanly
    instead of being printed as "Exception ignored" and lost.

    The signal is re-sent a moment later from a timer thread: ``os.kill`` of
    the own process runs the handler at once, that is still inside this hook,
    where the exception is again unraisable and printed with a traceback.
    """
    if isinstance(info.exc_value, Interrupted):
        timer = threading.Timer(0.05, os.kill, (os.getpid(), info.exc_value.signum))
        timer.daemon = True
        _redeliveries.append(timer)
        timer.start()
        return
    _python_unraisablehook(info)


_python_unraisablehook = sys.unraisablehook
#: pending re-sent interrupts; cancelled when the interrupt handlers are removed
_redeliveries: list[threading.Timer] = []


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT,
                                                                          signal.SIGTERM)}
    sys.unraisablehook = _redeliver_unraisable
    try:
        yield
    finally:
        for timer in _redeliveries:
            timer.cancel()
        _redeliveries.clear()
        sys.unraisablehook = _python_unraisablehook
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> None:
    """Entry point of the ``tenglong`` console script."""
    warnings.showwarning = _show_warning
    console = Console(stderr=True, highlight=False)
    try:
        with _signals_interrupt():  # first: Ctrl-C while the commands import is clean too
            _register_commands()
            app()
    except TenglongError as exc:
        console.print("error: " + str(exc), markup=False, style="bold red", soft_wrap=True)
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        console.print(
            f"interrupted ({name}): stopped; no partial file was left (files being written "
            "were discarded, finished ones kept).",
            markup=False, style="bold red", soft_wrap=True,
        )
        sys.exit(128 + exc.signum)
