"""The Python API for notebooks: functions that return Datasets and Figures.

A thin re-export of the public functions, so that a notebook needs one import::

    from sim import api

    outcome = api.run_scenario("scenarios/hangzhou-2023.yaml")
    ds = outcome.dataset                                  # xr.Dataset (results/<name>.nc layout)
    cmp = api.compare([ds, "results/hangzhou-tight-budget.nc"])  # along `scenario`
    api.kpi_table(cmp)                                    # pandas DataFrame
    fig = api.plot_target_attainment(cmp, lang="en")      # matplotlib Figure
    api.make_brief(cmp, "brief.pdf")                      # one A4 page per scenario

Figures are plain :class:`matplotlib.figure.Figure` objects: they display
inline in Jupyter and save with ``fig.savefig`` or :func:`save_figure`.
Imports are lazy (PEP 562), so ``from sim import api`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # build and run
    "load_scenario": "sim.pipeline",
    "build_model": "sim.pipeline",
    "run_scenario": "sim.run",
    "write_outputs": "sim.run",
    # results
    "read_result": "sim.results.dataset",
    "write_result": "sim.results.dataset",
    "decisions_table": "sim.results.dataset",
    "compare": "sim.results.compare",
    "kpi_table": "sim.results.compare",
    "action_changes": "sim.results.compare",
    "write_comparison": "sim.results.compare",
    "read_comparison": "sim.results.compare",
    "read_any": "sim.results.compare",
    # plots
    "plot_target_attainment": "sim.plots.briefing",
    "plot_action_mix": "sim.plots.briefing",
    "plot_action_counts": "sim.plots.briefing",
    "plot_mac_curve": "sim.plots.briefing",
    "plot_marginal_costs": "sim.plots.briefing",
    "plot_class_distribution": "sim.plots.briefing",
    "plot_freed_by_district": "sim.plots.briefing",
    "scenario_figures": "sim.plots.briefing",
    "comparison_figures": "sim.plots.briefing",
    "select_scenario": "sim.plots.briefing",
    "mac_data": "sim.plots.briefing",
    "freed_by_district": "sim.plots.briefing",
    "class_after": "sim.plots.classes",
    "pareto_sweep": "sim.plots.pareto",
    "plot_pareto": "sim.plots.pareto",
    "save_figure": "sim.plots.style",
    # brief
    "make_brief": "sim.brief.pdf",
}

__all__ = [
    "action_changes",
    "build_model",
    "class_after",
    "compare",
    "comparison_figures",
    "decisions_table",
    "freed_by_district",
    "kpi_table",
    "load_scenario",
    "mac_data",
    "make_brief",
    "pareto_sweep",
    "plot_action_counts",
    "plot_action_mix",
    "plot_class_distribution",
    "plot_freed_by_district",
    "plot_mac_curve",
    "plot_marginal_costs",
    "plot_pareto",
    "plot_target_attainment",
    "read_any",
    "read_comparison",
    "read_result",
    "run_scenario",
    "save_figure",
    "scenario_figures",
    "select_scenario",
    "write_comparison",
    "write_outputs",
    "write_result",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from sim.brief.pdf import make_brief
    from sim.pipeline import build_model, load_scenario
    from sim.plots.briefing import (
        comparison_figures,
        freed_by_district,
        mac_data,
        plot_action_counts,
        plot_action_mix,
        plot_class_distribution,
        plot_freed_by_district,
        plot_mac_curve,
        plot_marginal_costs,
        plot_target_attainment,
        scenario_figures,
        select_scenario,
    )
    from sim.plots.classes import class_after
    from sim.plots.pareto import pareto_sweep, plot_pareto
    from sim.plots.style import save_figure
    from sim.results.compare import (
        action_changes,
        compare,
        kpi_table,
        read_any,
        read_comparison,
        write_comparison,
    )
    from sim.results.dataset import decisions_table, read_result, write_result
    from sim.run import run_scenario, write_outputs


def __getattr__(name: str) -> Any:
    """Import the public function ``name`` on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
