"""Evaluation configuration: defaults, overrides and their errors (issue #2)."""

from __future__ import annotations

import pytest

from sim.errors import ScenarioError
from sim.evaluation.config import load_evaluation_config


def test_defaults_match_documented_sources() -> None:
    cfg = load_evaluation_config()
    w = {k: v.weight for k, v in cfg.above_scale.indicators.items()}
    assert w == {"tax_per_mu": 30, "va_per_mu": 20, "va_per_tce": 20, "va_per_tco2": 10,
                 "va_per_employee": 10, "rd_share": 10}  # fmt: skip
    assert cfg.above_scale.indicators["tax_per_mu"].benchmark == 45
    assert cfg.above_scale.indicators["va_per_mu"].benchmark == 240
    assert cfg.class_shares.as_tuple() == (0.2, 0.4, 0.32, 0.08)
    assert cfg.screening.classes == ["C", "D"] and cfg.screening.always == ["violation"]
    for ind in cfg.above_scale.indicators.values():
        assert ind.source


def test_overrides_merge_key_by_key() -> None:
    cfg = load_evaluation_config(
        {
            "class_shares": {"A": 0.25, "C": 0.27},
            "above_scale": {"indicators": {"tax_per_mu": {"weight": 40}}},
        }
    )
    assert cfg.class_shares.as_tuple() == (0.25, 0.4, 0.27, 0.08)
    assert cfg.above_scale.indicators["tax_per_mu"].weight == 40
    assert cfg.above_scale.indicators["tax_per_mu"].benchmark == 45


def test_misspelt_key_suggests() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'class_shares'"):
        load_evaluation_config({"class_shars": {"A": 0.3}})


def test_shares_must_sum_to_one() -> None:
    with pytest.raises(ScenarioError, match="sum to 1"):
        load_evaluation_config({"class_shares": {"A": 0.5}})


def test_unknown_indicator_and_flag() -> None:
    with pytest.raises(ScenarioError, match="unknown indicator"):
        load_evaluation_config(
            {"below_scale": {"indicators": {"tax_per_kwh": {"weight": 1, "benchmark": 1}}}}
        )
    with pytest.raises(ScenarioError, match=r"screening\.any_of"):
        load_evaluation_config({"screening": {"any_of": ["energy"]}})
