"""Event-by-event trace of the decomposition, for comparing two versions of the code.

Each progress event is printed with its phase and message, times masked, so
that two checkouts can be diffed line by line. Run from the repository root;
``PYTHONPATH`` selects the checkout (the script prints which one it ran):

    python benchmarks/results/module-split/trace_events.py exact
    PYTHONPATH=/tmp/base python benchmarks/results/module-split/trace_events.py lns

``exact``: a 3,000-unit policy-like problem and the shipped scenario (10^4
firms), solved as usual (both end in the exact MIP). ``lns``: the shipped
scenario with the exact MIP off and the MIPs in workers with the second lane,
so that every kind of neighbourhood runs; every neighbourhood MIP gets 30 s,
which nearly all of them need far less than, so that a run repeats (MIPs
stopped by their time limit would make the trace depend on the machine).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3]))  # benchmarks.instances, after PYTHONPATH

import sim.optimise.decomposition as dec
from benchmarks.instances import policy_like_problem
from sim.optimise.problem import ChoiceProblem, ProgressEvent, Solution
from sim.pipeline import build_model

SCENARIO = "scenarios/hangzhou-2023.yaml"


def _thirty_seconds(k: int, n: int, left: float, share: float = 0.25, cap: float = 20.0) -> float:
    return 30.0


def _print(name: str, sol: Solution, events: list[ProgressEvent]) -> None:
    print("==", name, sol.status, repr(sol.objective), repr(sol.bound))
    for ev in events:
        print(ev.phase, re.sub(r"\d+\.\d+s", "Ts", ev.message), "| inc", f"{ev.incumbent:.10g}")


def _solve(name: str, problem: ChoiceProblem, **kwargs: object) -> None:
    events: list[ProgressEvent] = []
    sol = dec.solve_decomposition(problem, seed=0, progress=events.append, **kwargs)  # type: ignore[arg-type]
    _print(name, sol, events)


def main() -> None:
    print("code:", dec.__file__)
    if sys.argv[1] == "exact":
        _solve("policy-like 3000", policy_like_problem(3000, 1), time_limit=120.0, gap_tol=1e-4)
        _solve("hangzhou 1e4", build_model(SCENARIO).problem, time_limit=120.0, gap_tol=1e-4)
        return
    if hasattr(dec, "_neighbourhood_time"):  # before the split into modules
        dec._neighbourhood_time = _thirty_seconds
    else:
        import sim.optimise.neighbourhoods as nb

        nb.neighbourhood_time = _thirty_seconds
    _solve("hangzhou 1e4 lns", build_model(SCENARIO).problem, time_limit=120.0, gap_tol=3e-3,
           exact_pairs=0, guard_mips=True)


if __name__ == "__main__":
    main()
