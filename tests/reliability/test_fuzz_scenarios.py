"""Fuzzing scenario files: every broken scenario is refused cleanly.

Property: ``tenglong validate FILE`` (and ``diff``) either accepts the file,
and then the scenario holds only finite numbers and a usable name, or exits
non-zero with one ``error:`` message naming the file and no traceback.
Broken inputs: junk bytes, foreign encodings (GBK, UTF-16, UTF-32, Big5),
junk characters spliced into valid YAML, non-mapping tops, and structural
mutations of the Hangzhou scenario (deleted, misspelt and retyped keys; NaN,
infinities, negative, zero and huge numbers; wrong containers).
"""

from __future__ import annotations

import copy
import io
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import FUZZ_COUNTS, HANGZHOU, CliResult, assert_user_error, call_cli
from ruamel.yaml import YAML

from sim.scenario.loader import format_path, load_model
from sim.scenario.schema import Scenario

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HANGZHOU_TEXT = HANGZHOU.read_text(encoding="utf-8")


def _base_data() -> dict[str, Any]:
    """The Hangzhou scenario with every default spelt out, plus a few list/dict leaves."""
    data: dict[str, Any] = load_model(HANGZHOU, Scenario).model_dump(mode="json")
    data.pop("extends")
    data["objective"]["weights"] = {"public_cost_wan": 1.0, "jobs_lost": 20.0}
    data["targets"]["district_split"]["shares"] = {"萧山": 0.2, "余杭": 0.1}
    data["phasing"]["budget_wan_per_year"] = {"2021": 500000.0}
    data["overrides"] = [
        {"id": "E000001", "option": "exit", "metric": "public_cost_wan", "value": 10.0}
    ]
    data["uncertainty"]["parameters"] = {"cost": {"dist": "normal", "mean": 1.0, "sd": 0.1}}
    return data


BASE = _base_data()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (mapping keys, list indices) in ``value``, containers included."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


PATHS = [p for p in _paths(BASE) if p]
KEY_PATHS = [p for p in PATHS if isinstance(p[-1], str)]

BAD_VALUES = st.one_of(
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            -1,
            -1.5,
            0,
            0.0,
            1e308,
            -1e308,
            10**30,
            -(10**30),
            2**63,
            True,
            False,
            None,
            "",
            "twenty thousand",
            "NaN",
            "1e999",
            "２００００",
            [],
            [1, 2],
            {},
            {"value": 1},
            "../../etc",
            "a/b",
            ".",
            "萧山",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.text(max_size=12),
)


def _typo(key: str, data: st.DataObject) -> str:
    """A misspelling: drop, double, swap or replace one character, or change case."""
    if not key:
        return "x"
    i = data.draw(st.integers(0, len(key) - 1), label="position")
    kind = data.draw(st.sampled_from(["drop", "double", "swap", "replace", "upper", "space"]))
    if kind == "drop":
        out = key[:i] + key[i + 1 :]
    elif kind == "double":
        out = key[:i] + key[i] * 2 + key[i + 1 :]
    elif kind == "swap" and i + 1 < len(key):
        out = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    elif kind == "upper":
        out = key.upper()
    elif kind == "space":
        out = key[:i] + " " + key[i:]
    else:
        out = key[:i] + data.draw(st.sampled_from("abcxyz_-0")) + key[i + 1 :]
    return out if out != key else key + "s"


def _parent(data: dict[str, Any], path: tuple[Any, ...]) -> Any:
    holder: Any = data
    for part in path[:-1]:
        holder = holder[part]
    return holder


def _mutate(data: dict[str, Any], draw: st.DataObject) -> Any:
    """Apply 1-3 random mutations to a deep copy of ``data``; may return a non-mapping."""
    out: Any = copy.deepcopy(data)
    for _ in range(draw.draw(st.integers(1, 3), label="mutations")):
        if not isinstance(out, dict):
            break
        live = [p for p in _paths(out) if p]
        if not live:
            break
        op = draw.draw(st.sampled_from(["delete", "rename", "retype", "retype", "top"]))
        path = draw.draw(st.sampled_from(live), label="path")
        holder = _parent(out, path)
        if op == "top":
            out = draw.draw(st.sampled_from([[out], "scenario", 42, None, [1, 2], True]))
        elif op == "delete":
            del holder[path[-1]]
        elif op == "rename" and isinstance(path[-1], str):
            holder[_typo(path[-1], draw)] = holder.pop(path[-1])
        else:
            holder[path[-1]] = draw.draw(BAD_VALUES, label="value")
    return out


def _dump(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def check_validate(path: Path) -> CliResult:
    """Validate ``path`` through the CLI; an accepted scenario must be usable."""
    FUZZ_COUNTS["scenario"] += 1
    result = call_cli("validate", path)
    if result.code == 0:
        assert "Traceback" not in result.output
        scenario = load_model(path, Scenario)
        bad = [f for f in _floats(scenario.model_dump(mode="json")) if not math.isfinite(f)]
        assert not bad, f"validate accepted non-finite numbers {bad} in {path}"
        name = scenario.name
        assert name.strip() and "/" not in name and "\\" not in name and name not in (".", ".."), (
            f"validate accepted the scenario name {name!r}, which is not a file name"
        )
    else:
        assert_user_error(result, path)
    return result


@FUZZ
@given(data=st.data())
def test_mutated_hangzhou_scenarios(tmp_path: Path, data: st.DataObject) -> None:
    mutated = _mutate(BASE, data)
    path = tmp_path / "mutated.yaml"
    path.write_text(_dump(mutated), encoding="utf-8")
    check_validate(path)


JUNK = st.sampled_from(
    [
        "\t",
        ":",
        ": :",
        "- ",
        "'",
        '"',
        "{",
        "}]",
        "&a ",
        "*a",
        "*nope",
        "!!python/object:os.system ",
        "!reset ",
        "!replace ",
        "!!binary ",
        "<<: *a\n",
        "\x00",
        "\ufeff",
        "\r",
        "\x1b[31m",
        "%YAML 1.1\n",
        "---\n",
        "...\n",
        "? ",
        "|",
        ">",
        "#",
        "\u2028",
        "腾笼换鸟",
        "extends: nowhere.yaml\n",
        "extends: mutated.yaml\n",
        "extends: [1, 2]\n",
        "extends: .\n",
    ]
)


@FUZZ
@given(pieces=st.lists(st.tuples(st.floats(0, 1), JUNK), min_size=1, max_size=4))
def test_junk_spliced_into_yaml(tmp_path: Path, pieces: list[tuple[float, str]]) -> None:
    text = HANGZHOU_TEXT
    for where, junk in pieces:
        i = int(where * len(text))
        text = text[:i] + junk + text[i:]
    path = tmp_path / "mutated.yaml"
    path.write_text(text, encoding="utf-8")
    check_validate(path)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_binary_junk(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(raw)
    check_validate(path)


ENCODINGS = ["gbk", "gb18030", "big5", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "shift_jis"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_foreign_encodings_are_refused_or_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"hangzhou-{encoding}.yaml"
    path.write_bytes(HANGZHOU_TEXT.encode(encoding, errors="replace"))
    result = check_validate(path)
    assert result.code != 0
    assert "UTF-8" in result.stderr


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n", "# only a comment\n", "---\n", "- a\n- b\n", "42\n", "just words\n", "null\n",
     "[]\n", "{}\n", "~\n", "name: x\nname: y\n", "? [a]\n: 1\n"],
)
def test_degenerate_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "degenerate.yaml"
    path.write_text(text, encoding="utf-8")
    check_validate(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert_user_error(call_cli("validate", tmp_path / "absent.yaml"), tmp_path / "absent.yaml")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert_user_error(call_cli("validate", folder), folder)
    FUZZ_COUNTS["scenario"] += 2


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_diff_of_broken_scenarios(tmp_path: Path, data: st.DataObject) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(HANGZHOU_TEXT, encoding="utf-8")
    bad = tmp_path / "mutated.yaml"
    bad.write_text(_dump(_mutate(BASE, data)), encoding="utf-8")
    FUZZ_COUNTS["scenario"] += 1
    result = call_cli("diff", good, bad)
    if result.code != 0:
        assert_user_error(result, bad)


NUMERIC_PATHS = [
    p for p in PATHS
    if isinstance(_parent(BASE, p)[p[-1]], (int, float))
    and not isinstance(_parent(BASE, p)[p[-1]], bool)
]
EXTREMES: list[Any] = [math.nan, math.inf, -math.inf, -1, 0, 1e308, 10**30, "12abc"]


@pytest.mark.parametrize("value", EXTREMES, ids=repr)
def test_every_number_with_extreme_values(tmp_path: Path, value: Any) -> None:
    """Every numeric key of the scenario set at once to NaN, ±inf, negative, zero, huge.

    A file is refused or accepted as a whole; for NaN and infinities every key
    must be named in the problem list (all problems are reported at once).
    """
    data = copy.deepcopy(BASE)
    for path in NUMERIC_PATHS:
        _parent(data, path)[path[-1]] = value
    file = tmp_path / "extreme.yaml"
    file.write_text(_dump(data), encoding="utf-8")
    result = check_validate(file)
    if isinstance(value, float) and not math.isfinite(value):
        missing = [p for p in NUMERIC_PATHS if f"at {format_path(p)}:" not in result.stderr]
        assert not missing, f"{value} accepted without a problem at {missing}"


@pytest.mark.parametrize("name", ["", " ", ".", "..", "a/b", "../../outside", "a\\b", "x\x00y"])
def test_scenario_names_that_are_not_file_names(tmp_path: Path, name: str) -> None:
    data = copy.deepcopy(BASE)
    data["name"] = name
    file = tmp_path / "named.yaml"
    file.write_text(_dump(data), encoding="utf-8")
    check_validate(file)
