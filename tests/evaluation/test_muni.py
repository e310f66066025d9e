"""亩均论英雄 evaluation on a hand-computed example (issue #2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from sim.data.register import build_register
from sim.evaluation.config import load_evaluation_config
from sim.evaluation.muni import evaluate, summarise_evaluation

# Round benchmarks so that every ratio below is checkable by eye.
OVERRIDES: dict[str, Any] = {
    "above_scale": {
        "cap": 2.0,
        "indicators": {
            "tax_per_mu": {"benchmark": 40},  # weight 30
            "va_per_mu": {"benchmark": 200},  # weight 20
            "va_per_tce": {"benchmark": 2},  # weight 20
            "va_per_tco2": {"benchmark": 1},  # weight 10
            "va_per_employee": {"benchmark": 25},  # weight 10
            "rd_share": {"benchmark": 0.02},  # weight 10
        },
    },
    "below_scale": {
        "cap": 3.0,
        "indicators": {"tax_per_mu": {"benchmark": 10}, "tax_per_tce": {"benchmark": 0.2}},
    },
    "screening": {
        "sector_intensity_benchmark": {"C26": 0.4},
        "sector_intensity_benchmark_below_scale": {"C26": 0.5},
    },
}

# F1..F5 above-scale, B1..B2 below-scale, S1 on 3 mu (outside the ≥ 5 mu scope).
FIRMS = {
    #      land  tax   VA    tce   CO2   emp  revenue  R&D  above  two_high violation
    "F1": (10, 400, 2000, 1000, 2000, 80, 10000, 200, True, False, False),
    "F2": (10, 800, 6000, 1000, 2000, 120, 20000, 800, True, False, False),
    "F3": (20, 400, 2000, 2000, 4000, 160, 10000, 100, True, True, False),
    "F4": (10, 200, 2000, 500, 1000, 80, 10000, 0, True, False, True),
    "F5": (10, 0, 1000, 0, 0, 0, 0, 0, True, False, False),
    "B1": (10, 50, 200, 500, 1000, 10, 1000, 0, False, False, False),
    "B2": (10, 400, 400, 100, 200, 10, 1500, 0, False, False, False),
    "S1": (3, 0, 10, 900, 1800, 5, 100, 0, True, True, True),
}
NAMES = ("land_mu", "tax_wan", "value_added_wan", "energy_tce", "co2_t", "employees",
         "revenue_wan", "rd_wan", "above_scale", "two_high", "violation")  # fmt: skip


def _register(class_given: dict[str, str] | None = None) -> xr.Dataset:
    ids = list(FIRMS)
    cols: dict[str, Any] = {"id": ids}
    for k, name in enumerate(NAMES):
        cols[name] = [FIRMS[i][k] for i in ids]
    n = len(ids)
    cols.update(
        district=["萧山"] * n, sector=["C26"] * n, park=[""] * n, name=ids,
        x_km=[0.0] * n, y_km=[0.0] * n,
        class_given=[(class_given or {}).get(i, "") for i in ids],
    )  # fmt: skip
    return build_register(cols)


@pytest.fixture(scope="module")
def result() -> xr.Dataset:
    return evaluate(_register(), load_evaluation_config(OVERRIDES))


def test_scores_by_hand(result: xr.Dataset) -> None:
    # F1: every ratio exactly at benchmark: 30+20+20+10+10+10.
    # F2: 80/40=2 ·30; 600/200=3→cap 2 ·20; 6/2=3→2 ·20; 3/1→2 ·10; 50/25=2 ·10; .04/.02=2 ·10.
    # F3: all ratios 0.5.
    # F4: 20/40=.5·30=15; 200/200·20=20; 4/2=2·20=40; 2/1=2·10=20; 25/25·10=10; 0 → 105.
    # F5: tax 0; 100/200·20=10; x/0 tce → cap 2·20=40; x/0 CO2 → 2·10=20; x/0 emp → 2·10=20;
    #     0/0 R&D → 0 → 90.
    # B1: 5/10=.5·50=25; 0.1/0.2=.5·50=25 → 50.   B2: 40/10=4→cap 3·50; 4/0.2=20→3·50 → 300.
    expected = {"F1": 100, "F2": 200, "F3": 50, "F4": 105, "F5": 90, "B1": 50, "B2": 300}
    for firm, score in expected.items():
        assert float(result["score"].sel(enterprise=firm)) == pytest.approx(score)


def test_classes_by_percentile_within_groups(result: xr.Dataset) -> None:
    # Above-scale ranks F2, F4, F1, F5, F3 → (r − 0.5)/5 = .1 .3 .5 .7 .9 against
    # cumulative shares .2 .6 .92 1 → A B B C C. Below-scale B2, B1 → .25 .75 → B C.
    expected = {"F2": "A", "F4": "B", "F1": "B", "F5": "C", "F3": "C", "B2": "B", "B1": "C",
                "S1": ""}  # fmt: skip
    got = dict(zip(result["enterprise"].values, result["muni_class"].values, strict=True))
    assert got == expected


def test_flags_and_candidates(result: xr.Dataset) -> None:
    def flagged(var: str) -> set[str]:
        return set(result["enterprise"].values[result[var].values])

    # intensity (tce/万元): F1 .5 > .4, F3 1.0 > .4, B1 2.5 > .5; F2 .17, F4 .25, F5 0, B2 .25.
    assert flagged("flag_intensity") == {"F1", "F3", "B1"}
    assert flagged("flag_two_high") == {"F3"}  # S1 is outside the scope
    assert flagged("flag_violation") == {"F4"}
    assert flagged("flag_class_cd") == {"F5", "F3", "B1"}
    # (C/D and (intensity or two_high)) or violation; F1 is flagged but class B.
    assert flagged("candidate") == {"F3", "F4", "B1"}
    assert not bool(result["evaluated"].sel(enterprise="S1"))


def test_summary(result: xr.Dataset) -> None:
    s = summarise_evaluation(result)
    assert s["firms"] == 8 and s["evaluated"] == 7 and s["candidates"] == 3
    assert s["candidate_land_mu"] == 40 and s["candidate_energy_tce"] == 3000
    assert s["candidate_co2_t"] == 6000
    assert s["class_shares"]["above_scale"] == {"A": 0.2, "B": 0.4, "C": 0.4, "D": 0.0}
    assert s["candidate_reasons"] == {"intensity": 2, "two_high": 1, "violation": 1}


def test_given_class_wins() -> None:
    out = evaluate(_register({"F3": "A"}), load_evaluation_config(OVERRIDES))
    assert out["muni_class"].sel(enterprise="F3").item() == "A"
    assert not bool(out["candidate"].sel(enterprise="F3"))


def test_ties_share_a_class() -> None:
    reg = _register()
    for var in NAMES[:8]:
        reg[var].values[:5] = reg[var].values[0]
    out = evaluate(reg, load_evaluation_config(OVERRIDES))
    assert set(out["muni_class"].values[:5]) == {"B"}


def test_default_config_scores_are_finite(result: xr.Dataset) -> None:
    out = evaluate(_register())
    assert np.isfinite(out["score"]).all()
    assert out["score"].attrs["long_name_zh"] == "亩均综合评价得分"
    assert out["ind_tax_per_mu"].attrs["units"] == "万元/mu"
