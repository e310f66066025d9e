"""Bad district splits and phasing tables: clear errors with file, line and a suggestion.

A district in an explicit ``shares`` table that has no acting enterprise
(often a misspelling: ``西湖区`` for ``西湖``) would silently get no
minimum; shares outside [0, 1], shares adding up to more than 1, cumulative
shares that fall, and phasing years outside the action years are rejected
when the scenario is read.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.pipeline import build_model, load_scenario

REPO = Path(__file__).resolve().parents[2]
HANGZHOU = REPO / "scenarios" / "hangzhou-2023.yaml"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "split.yaml"
    text = f"extends: {HANGZHOU}\nname: split\npopulation:\n  synthetic: {{n: 300, seed: 1}}\n"
    path.write_text(text + textwrap.dedent(body), encoding="utf-8")
    return path


def test_unknown_district_names_file_line_and_likely_district(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        targets:
          district_split:
            mode: explicit
            shares:
              萧山: 0.4
              西湖区: 0.2
        """,
    )
    with pytest.raises(ScenarioError) as info:
        build_model(path)
    text = str(info.value)
    assert text.startswith(f"{path}:10: targets.district_split.shares names districts without")
    assert "'西湖区' has no enterprise that may act; did you mean '西湖'?" in text
    assert "萧山" in text.split("acting enterprises:")[1]  # the districts present are listed


def test_known_districts_build(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        targets:
          district_split:
            mode: explicit
            shares: {萧山: 0.4, 西湖: 0.2}
        """,
    )
    model = build_model(path)
    land = next(c for c in model.problem.constraints if c.name == "district:land_freed_mu")
    labels = land.group_labels or []
    rhs = dict(zip(labels, land.rhs_array().tolist(), strict=True))
    assert rhs["萧山"] == pytest.approx(2 * rhs["西湖"])  # 0.4 : 0.2
    assert all(v == 0.0 for k, v in rhs.items() if k not in ("萧山", "西湖"))


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            "targets:\n  district_split:\n    mode: explicit\n    shares: {萧山: 1.3}\n",
            6,
            "shares must lie between 0 and 1",
        ),
        (
            "targets:\n  district_split:\n    mode: explicit\n    shares: {萧山: 0.7, 西湖: 0.6}\n",
            6,
            "shares add up to 1.3",
        ),
        (
            "targets:\n  district_split:\n    mode: explicit\n",
            6,
            "mode 'explicit' needs a `shares` table",
        ),
        (
            "phasing:\n  cumulative_shares: !replace {2021: 0.5, 2022: 0.4, 2023: 1.0}\n",
            5,
            "cumulative_shares are cumulative, so they cannot fall: 2021: 0.5 then 2022: 0.4",
        ),
        (
            "phasing:\n  cumulative_shares: !replace {2021: 0.3, 2024: 1.0}\n",
            None,
            "phasing names years [2024] outside the action years 2021–2023",
        ),
    ],
)
def test_bad_tables_are_rejected_when_read(
    tmp_path: Path, body: str, line: int | None, message: str
) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert message in text
    if line is not None:
        assert f"{path}:{line}:" in text
