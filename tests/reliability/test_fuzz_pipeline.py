"""Valid-looking scenarios with edge values, through ``tenglong run``: a result or a clean error.

Each of these once ended in a traceback (all actions disabled, an objective on an
unknown metric, no acquirer class, overflowing growth) or is a boundary worth
keeping an eye on. 400 firms, targets scaled, plain MIP to a 5% gap.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_support import FUZZ_COUNTS, HANGZHOU, assert_user_error, call_cli

pytest.importorskip("sim.optimise.solve", reason="sim.optimise.solve has not landed yet")

VARIANTS = {
    "all-actions-disabled": "actions: {exit: {enabled: false}, merge: {enabled: false}, "
    "relocate: {enabled: false}, upgrade: {enabled: false}}\n",
    "objective-unknown-metric": "objective: {kind: weighted, weights: {nonsense_metric: 1}}\n",
    "objective-no-weights": "objective: {kind: weighted, weights: {}}\n",
    "no-acquirer-class": "actions: {merge: {acquirer_classes: []}}\n",
    "overflowing-growth": "horizon: {growth: {value_added: 1.0e+200, tax: 1.0e+200}}\n",
    "collapsing-growth": "horizon: {growth: {value_added: -0.99, energy_efficiency: 0.99}}\n",
    "endless-horizon": "horizon: {report_until: 100000}\n",
    "zero-budget": "limits: {budget_wan: 0, jobs_lost_max: 0}\n",
    "no-targets": "targets: {land_freed_mu: null, energy_saved_tce: null, co2_cut_t: null, "
    "firms_rectified: null, tax_per_mu_wan: null, va_per_mu_wan: null, "
    "labour_productivity_wan: null, energy_intensity_reduction: null}\n",
    "one-year-plan": "horizon: {base_year: 2020, start_year: 2021, end_year: 2021, "
    "report_until: 2021}\nphasing: {enabled: true, cumulative_shares: {2021: 1.0}}\n",
    "override-unknown-firm": "overrides: [{id: NOPE, option: exit, metric: public_cost_wan, "
    "value: 1}]\n",
    "missing-overrides-file": "overrides_file: nothere.csv\n",
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_edge_scenarios_run_or_refuse_cleanly(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"extends: {HANGZHOU}\nname: {name}\n"
        "population: {synthetic: {n: 400}, scale_to_population: true}\n"
        "solver: {method: mip, time_limit_s: 10, gap: 0.05}\n" + VARIANTS[name],
        encoding="utf-8",
    )
    out = tmp_path / "out"
    FUZZ_COUNTS["pipeline"] += 1
    result = call_cli("run", path, "--out", out, "--no-plots")
    assert "Traceback" not in result.output
    if result.code == 0:
        assert (out / f"{name}.nc").is_file()
    elif result.code == 3:  # targets conflict: the diagnosis names them
        assert "No result was written" in result.stderr
        assert not (out / f"{name}.nc").exists()
    else:
        assert_user_error(result, path, tmp_path / "nothere.csv")
