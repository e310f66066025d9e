"""Scenario diff, the defaults reference, did-you-mean, and the scenario CLI commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_test_models import VALID, Root, write
from typer.testing import CliRunner

import sim.cli.scenario_cmds  # noqa: F401  (registers the commands)
from sim.cli.app import app
from sim.errors import ScenarioError, TenglongError
from sim.scenario.diff import DiffEntry, diff_data, diff_scenarios, show_value
from sim.scenario.loader import Location
from sim.scenario.reference import defaults_reference
from sim.scenario.suggest import did_you_mean, suggest

MODEL = "scenario_test_models:Root"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    a = write(tmp_path, "a.yaml", VALID)
    b = write(
        tmp_path,
        "b.yaml",
        """\
        extends: a.yaml
        targets:
          land:
            value: 25000
          co2:
            value: 1200000
        horizon:
          growth:
            tax: !reset
        parks:
          - name: north
            capacity_mu: 500
        mode: auto
        """,
    )
    return a, b


def test_diff_changed_added_removed(pair: tuple[Path, Path]) -> None:
    a, b = pair
    entries = {e.key: e for e in diff_scenarios(a, b, Root)}
    assert set(entries) == {
        "targets.land.value",
        "targets.co2",
        "horizon.growth.tax",
        "parks[1]",
        "mode",
    }
    land = entries["targets.land.value"]
    assert (land.kind, land.a, land.b) == ("changed", 20000.0, 25000.0)
    assert land.a_source == Location(a, 8, 5)
    assert land.b_source == Location(b, 4, 5)

    co2 = entries["targets.co2"]
    assert (co2.kind, co2.a, co2.b) == ("added", None, {"value": 1200000.0, "sense": ">="})
    assert co2.b_source == Location(b, 5, 3)

    tax = entries["horizon.growth.tax"]
    assert (tax.kind, tax.a, tax.b) == ("changed", 0.05, 0.06)
    assert tax.a_source == Location(a, 5, 5)
    assert tax.b_source is None  # back to the default

    south = entries["parks[1]"]
    assert south.kind == "removed"
    assert south.a == {"name": "south", "capacity_mu": 100.0, "color": "blue"}
    assert south.a_source == Location(a, 15, 5)

    assert (entries["mode"].a, entries["mode"].b) == (0.5, "auto")


def test_diff_identical_and_defaults_only(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "name: base\n")
    b = write(tmp_path, "b.yaml", "objective: min_cost\n")  # equal to the defaults
    assert diff_scenarios(a, b, Root) == []


def test_diff_invalid_side_raises(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "name: x\n")
    b = write(tmp_path, "b.yaml", "nme: x\n")
    with pytest.raises(ScenarioError, match="did you mean 'name'"):
        diff_scenarios(a, b, Root)


def test_diff_data_shapes() -> None:
    assert diff_data({"a": None}, {"a": {"x": 1}}) == [
        DiffEntry(("a",), "changed", None, {"x": 1}, None, None)
    ]
    assert diff_data({"l": [1, 2]}, {"l": [1, 2, 3]})[0].kind == "changed"
    assert diff_data({"x": float("nan")}, {"x": float("nan")}) == []
    assert diff_data({"x": 1}, {"x": 1.0}) == []
    assert diff_data({"x": True}, {"x": 1})[0].kind == "changed"
    assert show_value({"a": "区"}) == '{"a": "区"}'
    assert show_value(None) == "null"
    assert len(show_value(list(range(100)), limit=20)) == 20


def test_defaults_reference() -> None:
    text = defaults_reference(Root)
    assert text.startswith("# Scenario file reference\n")
    assert "## Top level" in text
    assert "## `horizon`" in text and "## `horizon.growth`" in text
    assert "## `targets.<key>`" in text and "## `parks[]`" in text
    assert "| `value` | number, > 0 | **required** | Target value. (unit: mu) |" in text
    assert "| `sense` | one of '>=', '<=' | `'>='` |" in text
    assert "| `capacity_mu` | number, ≥ 0 | `100.0` |" in text
    assert "| `color` | one of 'red', 'blue' | `'red'` |" in text
    assert "| `mode` | number or one of 'auto' | `'auto'` |" in text
    assert "| `budget_wan` | number or null | `null` |" in text
    assert "| `horizon` | mapping, see `horizon` | (section defaults) |" in text
    assert "| `value_added` | number | `0.07` | VA growth per year. |" in text
    assert "A miniature scenario." in text
    assert "Unknown keys are refused." not in text  # the base class docstring


def test_suggest() -> None:
    assert suggest("tragets", ["name", "targets"]) == "targets"
    assert suggest("Land-Freed", ["land_freed", "energy"]) == "land_freed"
    assert suggest("xyzzy", ["targets"]) is None
    assert suggest("=", [">=", "<="]) is None  # ambiguous
    assert suggest("land", ["land_freed_mu", "energy_saved_tce"]) == "land_freed_mu"
    assert suggest("a", []) is None
    assert did_you_mean("tragets", ["targets"]) == "; did you mean 'targets'?"
    assert did_you_mean("targets", ["targets"]) == ""


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_cli_validate_ok(runner: CliRunner, pair: tuple[Path, Path]) -> None:
    _, b = pair
    result = runner.invoke(app, ["validate", str(b), "--model", MODEL])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"ok: {b}"
    assert len(lines) == 4
    assert "a.yaml → " in lines[1]
    assert "from defaults" in lines[2]
    assert lines[3].startswith("  sections set: name, horizon, targets")


def test_cli_validate_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", "tragets: {}\nmode: fast\n")
    result = runner.invoke(app, ["validate", str(bad), "--model", MODEL])
    assert result.exit_code == 2
    assert "unknown key 'tragets'; did you mean 'targets'?" in result.stderr
    assert f"{bad}:2: at mode: expected a number or one of 'auto', got 'fast'" in result.stderr


def test_cli_diff_table(runner: CliRunner, pair: tuple[Path, Path]) -> None:
    a, b = pair
    result = runner.invoke(app, ["diff", str(a), str(b), "--model", MODEL])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "5 differences" in out
    for text in ("targets.land.value", "20000.0", "25000.0", "added", "removed", "default"):
        assert text in out
    assert f"{b}:4" in out


def test_cli_diff_identical(runner: CliRunner, tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "name: base\n")
    result = runner.invoke(app, ["diff", str(a), str(a), "--model", MODEL])
    assert result.exit_code == 0
    assert "no differences" in result.stdout


def test_cli_scenario_docs(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "docs" / "ref.md"
    out.parent.mkdir()
    result = runner.invoke(app, ["scenario-docs", "-o", str(out), "--model", MODEL])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == defaults_reference(Root)
    printed = runner.invoke(app, ["scenario-docs", "--model", MODEL])
    assert printed.stdout == defaults_reference(Root)


def test_cli_bad_model_option(runner: CliRunner, tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "name: base\n")
    result = runner.invoke(app, ["validate", str(a), "--model", "nope:Nothing"])
    assert isinstance(result.exception, TenglongError)
