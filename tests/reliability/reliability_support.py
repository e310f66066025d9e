"""Helpers of the reliability suite: run the CLI as a user would, count fuzzed cases.

``call_cli`` runs ``sim.cli.main`` in-process (the console script's own entry
point, with its error handling) so that hundreds of fuzzed inputs fit in the
suite's time budget; ``run_cli`` starts a real ``tenglong`` subprocess for the
cases where the process boundary matters (tracebacks, signals, exit codes).
An exception escaping ``main`` in-process is what a user would see as a
traceback, so it propagates and fails the test.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANGZHOU = REPO / "scenarios" / "hangzhou-2023.yaml"

# How many fuzzed inputs each test ran (printed by the suite's conftest at the end).
FUZZ_COUNTS: Counter[str] = Counter()


@dataclass
class CliResult:
    """Exit code and captured output of one CLI call."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1  # sys.exit("message") prints the message and exits 1


def call_cli(*args: str | os.PathLike[str]) -> CliResult:
    """Run ``tenglong ARGS`` in this process through the console-script entry point.

    User-facing warnings (magnitude checks and the like) are allowed, as they
    are for a user; any exception other than ``SystemExit`` escapes.
    """
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = ["tenglong", *(str(a) for a in args)]
    saved = sys.argv
    sys.argv = argv
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                main()
            except SystemExit as exc:
                code = _exit_code(exc.code)
    finally:
        sys.argv = saved
    return CliResult(code, out.getvalue(), err.getvalue())


def tenglong_command() -> list[str]:
    """The command that starts the installed CLI with this interpreter."""
    return [sys.executable, "-c", "from sim.cli import main; main()"]


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for CLI subprocesses: wide terminal, no colour, unbuffered."""
    env = dict(os.environ)
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", "TERM": "dumb"})
    env.update(extra)
    return env


def run_cli(
    *args: str | os.PathLike[str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``tenglong ARGS`` in a subprocess; text output, with a timeout."""
    return subprocess.run(
        [*tenglong_command(), *(str(a) for a in args)],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_user_error(result: CliResult, path: Path, *also: Path) -> None:
    """A clean refusal: non-zero exit, no traceback, a message that names the file.

    ``also``: other files the message may name instead (a file the scenario refers to).
    """
    assert result.code != 0, f"exit 0 for a broken input {path}:\n{result.output}"
    assert "Traceback" not in result.output, result.output
    # (a progress display may leave an empty line before the message)
    assert result.stderr.lstrip().startswith("error: "), result.output
    # Rich may wrap long paths; compare without line breaks.
    flat = result.stderr.replace("\n", "")
    names = [p.name for p in (path, *also)]
    assert any(n in flat for n in names), f"the message names none of {names}:\n{result.stderr}"


def small_scenario(folder: Path, name: str = "small", n: int = 3000, **solver: object) -> Path:
    """A Hangzhou scenario scaled to ``n`` firms (targets scaled too), written in ``folder``."""
    lines = [
        f"extends: {HANGZHOU}",
        f"name: {name}",
        "population:",
        f"  synthetic: {{n: {n}}}",
        "  scale_to_population: true",
    ]
    if solver:
        lines.append("solver:")
        lines += [f"  {k}: {v}" for k, v in solver.items()]
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
