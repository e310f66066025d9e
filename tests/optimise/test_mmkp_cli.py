"""``tenglong mmkp`` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from choice_factories import MMKP_DIR
from typer.testing import CliRunner

import sim.cli.mmkp_cmds  # noqa: F401  (registers the command)
from sim.cli.app import app
from sim.errors import InputError

needs_data = pytest.mark.skipif(not MMKP_DIR.is_dir(), reason=f"{MMKP_DIR} absent")
runner = CliRunner()


@needs_data
def test_khan_reproduced() -> None:
    result = runner.invoke(app, ["mmkp", str(MMKP_DIR / "khan" / "I02")])
    assert result.exit_code == 0, result.output
    assert "optimum   364.00" in result.output
    assert "reproduced" in result.output and "NOT" not in result.output
    assert "choice    " in result.output


@needs_data
def test_hh_one_problem_with_pyomo() -> None:
    path = MMKP_DIR / "hiremath_hill" / "TestSet1.5GP10IT5KP.txt"
    result = runner.invoke(
        app, ["mmkp", str(path), "--format", "hh", "--problem", "2", "--method", "pyomo"]
    )
    assert result.exit_code == 0, result.output
    assert "optimum   463.00" in result.output and "→ reproduced" in result.output


def test_user_errors_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "tiny"
    path.write_text("\n 1 1 1\n 5\n 1\n 1.00 2\n")
    for args, match in [
        (["--format", "xyz"], "unknown --format"),
        (["--method", "cplex9"], "unknown --method"),
        (["--problem", "2"], "--problem must be 1"),
        (["--time-limit", "0"], "positive"),
    ]:
        result = runner.invoke(app, ["mmkp", str(path), *args])
        assert isinstance(result.exception, InputError), result.output
        assert match in str(result.exception)
    result = runner.invoke(app, ["mmkp", str(path)])
    assert result.exit_code == 0 and "optimum   1.00" in result.output
