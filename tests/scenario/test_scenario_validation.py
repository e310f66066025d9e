"""Validation errors: every problem, with file:line, path and human wording."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from ruamel.yaml import YAML
from scenario_test_models import VALID, Park, Root, Strict, write

from sim.errors import ScenarioError
from sim.scenario.loader import load_model, load_model_from_dict, resolve


def problems(path: Path, model: type[BaseModel] = Root) -> list[str]:
    """The problem lines of the ScenarioError that loading ``path`` raises."""
    with pytest.raises(ScenarioError) as info:
        load_model(path, model)
    return info.value.problems


def test_valid_file_loads(tmp_path: Path) -> None:
    m = load_model(write(tmp_path, "s.yaml", VALID), Root)
    assert isinstance(m, Root)
    assert m.targets["land"].value == 20000
    assert m.parks[1].color.value == "blue"
    assert m.horizon.growth.value_added == 0.07  # default filled in


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "name: x\ntragets:\n  land: {value: 1}\n")
    assert problems(p) == [f"{p}:2: at top level: unknown key 'tragets'; did you mean 'targets'?"]


def test_unknown_nested_key_suggests_from_nested_model(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.yaml",
        """\
        horizon:
          growth:
            value_add: 0.1
        parks:
          - name: a
            capacty: 3
        targets:
          land: {value: 1, sens: "<="}
        """,
    )
    assert problems(p) == [
        f"{p}:3: at horizon.growth: unknown key 'value_add'; did you mean 'value_added'?",
        f"{p}:6: at parks[0]: unknown key 'capacty'; did you mean 'capacity_mu'?",
        f"{p}:8: at targets.land: unknown key 'sens'; did you mean 'sense'?",
    ]


def test_unknown_key_without_close_match_lists_allowed_keys(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "horizon:\n  zzzzzz: 1\n")
    assert problems(p) == [
        f"{p}:2: at horizon: unknown key 'zzzzzz'; allowed keys: base_year, end_year, growth"
    ]


def test_wrong_type_names_expected_type_and_line(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.yaml",
        """\
        targets:
          land:
            value: twenty thousand
        horizon:
          base_year: 2020.5
        enabled: maybe
        name: 330102
        parks: {name: a}
        districts: a
        """,
    )
    assert problems(p) == [
        f"{p}:3: at targets.land.value: expected a number, got 'twenty thousand'",
        f"{p}:5: at horizon.base_year: expected a whole number, got 2020.5",
        f"{p}:6: at enabled: expected true or false, got 'maybe' (write true or false)",
        f"{p}:7: at name: expected text, got 330102 "
        "(write it in quotes, '330102', if it is a code or a name)",
        f"{p}:8: at parks: expected a list, got a mapping",
        f"{p}:9: at districts: expected a list, got 'a'",
    ]


def test_missing_key_names_parent_line(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "name: x\ntargets:\n  land:\n    sense: '<='\n")
    assert problems(p) == [f"{p}:3: at targets.land: missing required key 'value'"]


def test_missing_key_in_list_item(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "parks:\n  - capacity_mu: 1\n")
    assert problems(p) == [f"{p}:2: at parks[0]: missing required key 'name'"]


def test_literal_and_enum_list_allowed_values(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.yaml",
        """\
        objective: min_cots
        targets:
          land: {value: 1, sense: "="}
        parks:
          - {name: a, color: green}
        """,
    )
    assert problems(p) == [
        f"{p}:1: at objective: expected one of 'min_cost', 'max_va', got 'min_cots'; "
        "did you mean 'min_cost'?",
        f"{p}:3: at targets.land.sense: expected one of '>=', '<=', got '='",
        f"{p}:5: at parks[0].color: expected one of 'red', 'blue', got 'green'",
    ]


def test_bounds_union_and_validator_messages(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.yaml",
        """\
        targets:
          land: {value: -3}
        parks: [{name: a, capacity_mu: -1}]
        mode: fast
        horizon: {base_year: 2025, end_year: 2023}
        """,
    )
    assert problems(p) == [
        f"{p}:2: at targets.land.value: must be greater than 0, got -3",
        f"{p}:3: at parks[0].capacity_mu: must be at least 0, got -1",
        f"{p}:4: at mode: expected a number or one of 'auto', got 'fast'",
        f"{p}:5: at horizon: end_year must not be before base_year",
    ]


def test_multiple_errors_reported_together_across_files(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "name: b\ntargets:\n  land: {value: lots}\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nobjectve: max_va\nmode: []\n")
    with pytest.raises(ScenarioError) as info:
        load_model(child, Root)
    err = info.value
    assert str(err).startswith(f"{child}: the scenario is invalid (3 problems):\n  - ")
    assert err.problems == [
        f"{child}:2: at top level: unknown key 'objectve'; did you mean 'objective'?",
        f"{child}:3: at mode: expected a number or one of 'auto', got a list of 0 items",
        f"{base}:3: at targets.land.value: expected a number, got 'lots'",
    ]


def test_load_model_from_dict() -> None:
    m = load_model_from_dict({"name": "x"}, Root)
    assert m.name == "x"
    with pytest.raises(ScenarioError) as info:
        load_model_from_dict({"parks": [{"nme": "a"}]}, Root, origin="<python>")
    assert str(info.value).startswith("<python>: the scenario is invalid (2 problems):")
    assert info.value.problems == [
        "<python>: at parks[0]: missing required key 'name'",
        "<python>: at parks[0]: unknown key 'nme'; did you mean 'name'?",
    ]


def test_load_model_from_dict_with_sources(tmp_path: Path) -> None:
    p = write(tmp_path, "s.yaml", "parks:\n  - name: 3\n")
    res = resolve(p)
    with pytest.raises(ScenarioError) as info:
        load_model_from_dict(res.data, Root, sources=res.sources)
    assert info.value.problems[0].startswith(f"{p}:2: at parks[0].name: expected text, got 3")


def test_any_model_class_works(tmp_path: Path) -> None:
    p = write(tmp_path, "park.yaml", "name: a\ncapacity_mu: 5\n")
    assert load_model(p, Park).capacity_mu == 5


# ----------------------------------------------------------------------------- property tests

_yaml = YAML(typ="safe", pure=True)
_BASE: dict[str, Any] = _yaml.load(VALID)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["auto", "red", "min_cost", ">=", "2021-01-01", "yes", "", "0x10"]),
)
_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=6), _scalars, max_size=3),
)


def _containers(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every dict and list in ``data`` (the root included)."""
    out = []
    if isinstance(data, dict | list):
        out.append(path)
        items = data.items() if isinstance(data, dict) else enumerate(data)
        for k, v in items:
            out.extend(_containers(v, (*path, k)))
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


def _misspell(word: str, draw: st.DrawFn) -> str:
    i = draw(st.integers(0, max(len(word) - 1, 0)))
    op = draw(st.sampled_from(["drop", "swap", "insert", "case"]))
    if op == "drop" and word:
        return word[:i] + word[i + 1 :]
    if op == "swap" and len(word) > 1:
        j = min(i + 1, len(word) - 1)
        chars = list(word)
        chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)
    if op == "case":
        return word.upper()
    return word[:i] + draw(st.sampled_from(string.ascii_lowercase + "_- ")) + word[i:]


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """The valid scenario with 1–4 random mutations."""
    data = _yaml.load(VALID)
    for _ in range(draw(st.integers(1, 4))):
        container = _get(data, draw(st.sampled_from(_containers(data))))
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        op = draw(st.sampled_from(["delete", "misspell", "replace", "add"]))
        if op == "add" or not keys:
            if isinstance(container, dict):
                container[draw(st.text(min_size=1, max_size=8))] = draw(_values)
            else:
                container.append(draw(_values))
            continue
        key = draw(st.sampled_from(keys))
        if op == "delete":
            del container[key]
        elif op == "misspell" and isinstance(key, str):
            container[_misspell(key, draw)] = container.pop(key)
        else:
            container[key] = draw(_values)
    return data


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=mutated())
def test_mutations_give_model_or_scenario_error(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.yaml"
        with p.open("w", encoding="utf-8") as f:
            _yaml.dump(data, f)
        try:
            m = load_model(p, Root)
        except ScenarioError as exc:
            assert exc.problems or "problem" not in str(exc)
            for line in exc.problems:
                assert line.startswith(f"{p}:") and ": at " in line
        else:
            assert isinstance(m, Root)


_noise = st.text(alphabet=":-[]{}#&*!|>'\"\t\n ,?%@`ab1.~", max_size=6)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, len(VALID)), span=st.integers(0, 8), insert=_noise)
def test_text_mutations_give_model_or_scenario_error(cut: int, span: int, insert: str) -> None:
    text = VALID[:cut] + insert + VALID[cut + span :]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.yaml"
        p.write_text(text, encoding="utf-8")
        try:
            m = load_model(p, Root)
        except ScenarioError as exc:
            assert str(exc).startswith(str(p))
        else:
            assert isinstance(m, Root)


class WithSource(Root):
    """Root with the loader-managed ``source_file`` field."""

    source_file: Path | None = Field(default=None, exclude=True)


def test_source_file_is_set_by_loader(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "name: b\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nsource_file: elsewhere.yaml\n")
    m = load_model(child, WithSource)
    assert m.source_file == child
    assert "source_file" not in m.model_dump()


class Yearly(Strict):
    """A mapping with integer keys."""

    shares: dict[int, float] = Field(default_factory=dict)


def test_integer_keys_and_bad_key(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.yaml", "shares: {2021: 0.3, 2022: 1}\n")
    assert load_model(ok, Yearly).shares == {2021: 0.3, 2022: 1.0}
    bad = write(tmp_path, "bad.yaml", "shares:\n  2021: 0.3\n  later: 1\n")
    assert problems(bad, Yearly) == [
        f"{bad}:3: at shares.later: invalid key: expected a whole number, got 'later'"
    ]
