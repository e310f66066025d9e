"""Errors a user can act on.

Anything raised as a :class:`TenglongError` is printed by the CLI as its
message alone (no traceback) and exits with :attr:`TenglongError.exit_code`.
Messages name the file, the line or the row and column, what was expected,
and for a misspelt key the likely intended one.
"""

from __future__ import annotations


class TenglongError(Exception):
    """Base of every error meant for the user rather than the developer."""

    exit_code: int = 2


class InputError(TenglongError):
    """A register, scenario or instance file cannot be read or is invalid.

    ``problems`` holds every individual problem found, so that a user sees
    all of them at once rather than one per run.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        full = message
        if self.problems:
            full += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(full)


class ScenarioError(InputError):
    """A scenario file is invalid (unknown key, wrong type, bad `extends`)."""


class RegisterError(InputError):
    """An enterprise register is invalid (missing column, NaN, bad sector...)."""


class InfeasibleError(TenglongError):
    """The scenario's targets cannot all be met; carries the diagnosis text."""

    exit_code = 3


class VerificationError(TenglongError):
    """The independent recomputation found a constraint violated by the solver's plan."""

    exit_code = 4
