"""Parsing YAML into data plus a source map: line numbers and file-level errors."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from scenario_test_models import VALID, write

from sim.errors import ScenarioError
from sim.scenario.loader import Location, format_path, parse_file


def test_plain_data_and_yaml_12_scalars(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.yaml",
        """\
        a: yes
        b: 1e3
        c: 0x1F
        d: 2021-06-30
        e: ~
        2021: year key
        f: 'quoted'
        """,
    )
    data = parse_file(p).data
    assert data == {
        "a": "yes",
        "b": 1000.0,
        "c": 31,
        "d": datetime.date(2021, 6, 30),
        "e": None,
        "2021": "year key",
        "f": "quoted",
    }
    assert type(data) is dict


def test_line_numbers_of_nested_values_and_list_items(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", VALID)
    src = parse_file(p).sources
    assert src[()] == Location(p, 1, 1)
    assert src[("horizon", "growth", "tax")] == Location(p, 5, 5)
    assert src[("targets", "energy", "sense")] == Location(p, 11, 5)
    assert src[("parks",)].line == 12
    assert src[("parks", 0)] == Location(p, 13, 5)
    assert src[("parks", 1)] == Location(p, 15, 5)
    assert src[("parks", 1, "color")] == Location(p, 16, 5)
    assert src[("districts", 1)] == Location(p, 20, 16)
    assert str(src[("parks", 1)]) == f"{p}:15"
    assert src[("parks", 1)].full == f"{p}:15:5"


def test_locate_falls_back_to_nearest_ancestor(tmp_path: Path) -> None:
    res = parse_file(write(tmp_path, "s.yaml", VALID))
    assert res.locate(("targets", "land", "nonexistent", 3)) == res.sources[("targets", "land")]
    assert res.locate(()) == res.sources[()]


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.yaml",
        """\
        common: &c
          value: 5
          sense: "<="
        targets:
          land: *c
          energy:
            <<: *c
            value: 7
        """,
    )
    res = parse_file(p)
    assert res.data["targets"] == {
        "land": {"value": 5, "sense": "<="},
        "energy": {"value": 7, "sense": "<="},
    }
    assert res.sources[("targets", "energy", "value")].line == 8
    assert res.sources[("targets", "energy", "sense")].line == 3  # from the anchor


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n")
    with pytest.raises(ScenarioError) as info:
        parse_file(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}:5:3: duplicate key 'x'")
    assert "first set at line 3" in msg


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", "3:2", "expected ',' or ']'"),
        ("a: 1\nb: 'unterminated\n", "3:1", "unexpected end of stream"),
        ("a:\n\tb: 1\n", "2:1", "not tabs"),
        ("a: 1\n---\nb: 2\n", "2:1", "single document"),
    ],
)
def test_syntax_error_position(tmp_path: Path, text: str, where: str, words: str) -> None:
    p = write(tmp_path, "s.yaml", text)
    with pytest.raises(ScenarioError) as info:
        parse_file(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}:{where}: YAML syntax error: ")
    assert words in msg
    assert "\n" not in msg


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    p = write(tmp_path, "s.yaml", text)
    with pytest.raises(ScenarioError, match=r"s\.yaml: the file is empty"):
        parse_file(p)


def test_non_utf8_file_names_encoding(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "# 情景\nname: 测试情景\n".encode("gbk"))
    with pytest.raises(ScenarioError) as info:
        parse_file(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}:1: the file is not UTF-8 text")
    assert "GBK" in msg
    assert "\n" not in msg


def test_utf8_bom_and_chinese_are_fine(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "\ufeffname: 测试情景\n".encode())
    assert parse_file(p).data == {"name": "测试情景"}


@pytest.mark.parametrize(
    ("text", "found"),
    [("- a\n- b\n", "found a list"), ("just words\n", "found the single value 'just words'")],
)
def test_top_level_must_be_mapping(tmp_path: Path, text: str, found: str) -> None:
    p = write(tmp_path, "s.yaml", text)
    with pytest.raises(ScenarioError) as info:
        parse_file(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}:1:1: the top level must be a mapping")
    assert found in msg


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        parse_file(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a directory"):
        parse_file(tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: !foo 1\n", "unknown tag '!foo'"),
        ("a: !!python/object:os.system x\n", "unknown tag '!!python/object:os.system'"),
        ("a: !reset 3\n", "!reset takes no value"),
        ("a:\n  - !reset\n", "!reset is only allowed as the value of a key"),
        ("a: !replace 3\n", "!replace applies to a mapping"),
        ("a: &x [*x]\n", "alias refers to the mapping or list that contains it"),
        ("? [a]\n: 1\n", "a key must be a plain word"),
        ("a: 2021-13-45\n", "cannot read the value '2021-13-45'"),
    ],
)
def test_other_file_errors(tmp_path: Path, text: str, words: str) -> None:
    p = write(tmp_path, "s.yaml", text)
    with pytest.raises(ScenarioError) as info:
        parse_file(p)
    assert str(info.value).startswith(f"{p}:")
    assert words in str(info.value)


def test_format_path() -> None:
    assert format_path(()) == "top level"
    assert format_path(("targets", "land_freed_mu", "value")) == "targets.land_freed_mu.value"
    assert format_path(("parks", 0, "name")) == "parks[0].name"
    assert format_path(("a", "x.y", "2021", "区县")) == "a['x.y'].2021.区县"


def test_an_anchor_defined_twice_names_both_lines(tmp_path: Path) -> None:
    """ruamel only warns about a reused anchor (and the test settings make warnings errors);
    the loader makes it a scenario error naming both places, found by the YAML fuzz test."""
    p = write(tmp_path, "s.yaml", "a: &x 1\nb: 2\nc: &x 3\nd: *x\n")
    with pytest.raises(ScenarioError) as info:
        parse_file(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}:3:4: anchor '&x' is defined again (first at line 1)")
