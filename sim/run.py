"""Run a scenario end to end: build, solve, diagnose, verify, assemble the result.

This is what ``tenglong run`` and the Python API call. Nothing is written to
disk here; :func:`write_outputs` writes the result file and decisions CSV
atomically, and only when the run produced a plan worth writing.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from sim.errors import InfeasibleError, TenglongError
from sim.optimise.problem import ChoiceProblem, ProgressCallback, Solution
from sim.optimise.solve import solve
from sim.optimise.verify import VerificationReport, verify
from sim.pipeline import Model, build_model
from sim.policy.diagnose import Diagnosis, diagnose
from sim.results.dataset import build_result, write_decisions, write_result
from sim.results.kpis import KPI, compute_kpis
from sim.results.manifest import build_manifest, to_json
from sim.scenario.schema import Scenario
from sim.simulate.trajectories import add_trajectories

SOLVED = ("optimal", "feasible")


@dataclass
class RunOutcome:
    """Everything a run produced.

    ``shortfall`` is True when targets were not met and the plan shown is the
    diagnosis's least-shortfall plan (only kept with ``allow_shortfall``).
    """

    model: Model
    solution: Solution
    report: VerificationReport
    kpis: list[KPI]
    dataset: xr.Dataset
    diagnosis: Diagnosis | None
    shortfall: bool


def run_scenario(
    scenario: Scenario | str | os.PathLike[str],
    *,
    method: str | None = None,
    time_limit: float | None = None,
    allow_shortfall: bool = False,
    n_firms: int | None = None,
    progress: ProgressCallback | None = None,
) -> RunOutcome:
    """Build and solve a scenario; diagnose it when the targets cannot all be met.

    Raises:
        InfeasibleError: targets conflict and ``allow_shortfall`` is False; the
            message is the diagnosis in the scenario's terms.
        VerificationError: the independent check found a violated constraint.
    """
    started = time.perf_counter()
    model = build_model(scenario, n_firms=n_firms)
    spec = model.scenario.solver
    chosen_method = method or spec.method
    limit = time_limit or spec.time_limit_s

    def run_solver(problem: ChoiceProblem) -> Solution:
        return solve(
            problem, method=chosen_method, time_limit=limit, gap_tol=spec.gap, progress=progress
        )

    t = time.perf_counter()
    solution = run_solver(model.problem)
    model.timings["solve_s"] = time.perf_counter() - t
    diagnosis = None
    shortfall = False
    if solution.status not in SOLVED:
        t = time.perf_counter()
        diagnosis = diagnose(
            model.problem, run_solver, penalty_factor=model.scenario.diagnosis.penalty_factor
        )
        model.timings["diagnosis_s"] = time.perf_counter() - t
        relaxed_plan_is_feasible = (
            diagnosis.solution is not None
            and not diagnosis.shortfalls
            and not diagnosis.limits_relaxed
        )
        if relaxed_plan_is_feasible:
            # The elastic model is a relaxation: a plan with no shortfall is a
            # feasible plan of the scenario, and its bound is a valid bound.
            assert diagnosis.solution is not None
            first_status = solution.status
            solution = diagnosis.solution
            solution.message = (
                f"first solve: {first_status}; plan found by the elastic re-solve "
                "with no shortfall. " + solution.message
            )
            diagnosis = None
        elif not allow_shortfall or diagnosis.solution is None:
            diagnosis.proven = solution.status == "infeasible"
            _kpi_levels(model, diagnosis)
            header = (
                ""
                if solution.status == "infeasible"
                else f"no feasible plan was found within {limit:g} s ({solution.status}; "
                "the targets were not proven infeasible). "
            )
            raise InfeasibleError(
                f"scenario '{model.scenario.name}': {header}{diagnosis.text()}\n"
                "No result was written. Rerun with --allow-shortfall to keep the "
                "least-shortfall plan, flagged as such."
            )
        else:
            solution = diagnosis.solution
            shortfall = True

    report = verify(
        model.problem,
        solution.choice,
        tol=spec.verify_tolerance,
        allowed_shortfall=solution.slacks or None,
    )
    if report.max_violation > spec.verify_tolerance and not shortfall:
        raise TenglongError(
            f"the independent check found the solver's plan violates '{report.worst_row}' "
            f"by {report.max_violation:.3g} (relative); the result is not trusted and not written."
        )
    kpis = compute_kpis(model, solution.choice)
    model.timings["total_s"] = time.perf_counter() - started
    manifest = build_manifest(
        scenario=model.scenario_data,
        scenario_file=str(model.scenario.source_file) if model.scenario.source_file else None,
        inputs=model.inputs,
        solver={
            "method": solution.method,
            "requested_method": chosen_method,
            "time_limit_s": limit,
            "gap_tolerance": spec.gap,
            **solution.solver_info,
        },
        timings={**model.timings, **{f"solver_{k}": v for k, v in solution.timings.items()}},
        status={
            "status": solution.status,
            "objective": solution.objective,
            "bound": solution.bound,
            "gap": solution.gap,
            "shortfall": shortfall,
            "max_violation": report.max_violation,
            "message": solution.message,
        },
    )
    # Every value the run used: defaults, --n-firms/--method/--time-limit overrides included.
    manifest["scenario_effective"] = model.scenario.model_dump(mode="json")
    dataset = build_result(model, solution, report, kpis, to_json(manifest), shortfall=shortfall)
    dataset = add_trajectories(dataset, model, solution.choice)  # yearly paths (sim.simulate)
    return RunOutcome(model, solution, report, kpis, dataset, diagnosis, shortfall)


def _kpi_levels(model: Model, diagnosis: Diagnosis) -> None:
    """Restate ratio-KPI shortfalls as KPI levels (万元/mu, share) rather than row sums."""
    if diagnosis.solution is None:
        return
    levels = {k.name: k for k in compute_kpis(model, diagnosis.solution.choice)}
    for shortfall in diagnosis.shortfalls:
        name = shortfall.row.removeprefix("kpi:")
        kpi = levels.get(name)
        if shortfall.row.startswith("kpi:") and kpi is not None and kpi.target is not None:
            shortfall.ratio = (kpi.target, kpi.achieved, kpi.unit)


def write_outputs(outcome: RunOutcome, out_dir: str | Path) -> dict[str, Path]:
    """Write ``<name>.nc`` and ``<name>-decisions.csv`` into ``out_dir`` atomically."""
    out = Path(out_dir)
    name = outcome.model.scenario.name
    paths = {
        "result": write_result(outcome.dataset, out / f"{name}.nc"),
        "decisions": write_decisions(outcome.dataset, out / f"{name}-decisions.csv"),
    }
    return paths
