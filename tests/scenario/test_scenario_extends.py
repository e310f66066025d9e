"""``extends:``: deep merge, !reset / !replace, chains, cycles and the source map."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_test_models import VALID, write

from sim.errors import ScenarioError
from sim.scenario.loader import Location, resolve


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "base.yaml", VALID)


def test_override_nested_value_keeps_siblings(tmp_path: Path, base: Path) -> None:
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: base.yaml
        targets:
          land:
            value: 30000
        """,
    )
    res = resolve(child)
    assert res.data["targets"] == {
        "land": {"value": 30000},
        "energy": {"value": 600000, "sense": ">="},
    }
    assert "extends" not in res.data
    assert res.data["name"] == "test"
    assert res.files == [base, child]
    # The overridden value points at the child, the inherited ones at the parent.
    assert res.sources[("targets", "land", "value")] == Location(child, 4, 5)
    assert res.sources[("targets", "energy", "sense")] == Location(base, 11, 5)
    assert res.sources[("name",)] == Location(base, 1, 1)
    assert res.sources[("targets",)].file == child


def test_lists_are_replaced_not_merged(tmp_path: Path, base: Path) -> None:
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nparks:\n  - name: east\n")
    res = resolve(child)
    assert res.data["parks"] == [{"name": "east"}]
    assert res.sources[("parks", 0, "name")] == Location(child, 3, 5)
    assert ("parks", 1) not in res.sources
    assert ("parks", 0, "capacity_mu") not in res.sources


def test_null_replaces_and_reset_deletes(tmp_path: Path, base: Path) -> None:
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: base.yaml
        objective: !reset
        horizon:
          growth: !reset
        mode: null
        never_set: !reset
        """,
    )
    res = resolve(child)
    assert "objective" not in res.data
    assert res.data["horizon"] == {"base_year": 2020}
    assert res.data["mode"] is None
    assert "never_set" not in res.data
    assert not any(p[:2] == ("horizon", "growth") for p in res.sources)


def test_replace_tag_replaces_a_mapping(tmp_path: Path, base: Path) -> None:
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: base.yaml
        targets: !replace
          co2:
            value: 1
        """,
    )
    res = resolve(child)
    assert res.data["targets"] == {"co2": {"value": 1}}
    assert not any(p[:2] == ("targets", "land") for p in res.sources)


def test_multi_level_chain_and_parent_list(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\nmode: 1\nenabled: true\n")
    write(tmp_path, "sub/b.yaml", "extends: ../a.yaml\nmode: 2\nbudget_wan: 5\n")
    write(tmp_path, "c.yaml", "mode: 3\nobjective: max_va\n")
    d = write(tmp_path, "d.yaml", "extends: [sub/b.yaml, c.yaml]\nname: d\n")
    res = resolve(d)
    assert res.data == {
        "name": "d",
        "mode": 3,
        "enabled": True,
        "budget_wan": 5,
        "objective": "max_va",
    }
    assert [f.name for f in res.files] == ["a.yaml", "b.yaml", "c.yaml", "d.yaml"]
    assert res.sources[("enabled",)].file.name == "a.yaml"
    assert res.sources[("budget_wan",)] == Location(tmp_path / "sub" / "b.yaml", 3, 1)
    assert res.sources[("mode",)].file.name == "c.yaml"


def test_diamond_is_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "root.yaml", "name: root\n")
    write(tmp_path, "l.yaml", "extends: root.yaml\nmode: 1\n")
    write(tmp_path, "r.yaml", "extends: root.yaml\nenabled: false\n")
    top = write(tmp_path, "top.yaml", "extends: [l.yaml, r.yaml]\n")
    res = resolve(top)
    assert res.data == {"name": "root", "mode": 1, "enabled": False}
    assert [f.name for f in res.files] == ["root.yaml", "l.yaml", "r.yaml", "top.yaml"]


def test_cycle_is_named(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "name: b\nextends: c.yaml\n")
    write(tmp_path, "c.yaml", "extends: [a.yaml]\n")
    with pytest.raises(ScenarioError) as info:
        resolve(a)
    msg = str(info.value)
    assert "cycle" in msg
    assert msg.startswith(f"{tmp_path / 'c.yaml'}:1:")
    assert "a.yaml → " in msg and "b.yaml → " in msg and "c.yaml → " in msg


def test_self_extends_is_a_cycle(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "extends: ./a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        resolve(a)


def test_missing_parent_names_extends_line(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "name: x\nextends:\n  - nothere.yaml\n")
    with pytest.raises(ScenarioError) as info:
        resolve(child)
    msg = str(info.value)
    assert msg.startswith(f"{child}:3: extends: parent file 'nothere.yaml' not found")
    assert str(tmp_path / "nothere.yaml") in msg


@pytest.mark.parametrize("value", ["3", "{a: b}", "[a.yaml, 3]", ""])
def test_extends_must_name_files(tmp_path: Path, value: str) -> None:
    child = write(tmp_path, "child.yaml", f"name: x\nextends: {value}\n")
    with pytest.raises(ScenarioError, match=r"child\.yaml:2:1: 'extends' must be a file name"):
        resolve(child)


def test_error_in_parent_names_parent(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "a: 1\na: 2\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    with pytest.raises(ScenarioError, match=r"base\.yaml:2:1: duplicate key 'a'"):
        resolve(child)
