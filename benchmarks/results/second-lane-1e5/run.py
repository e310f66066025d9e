"""The runner of this folder's side-by-side runs: one decomposition solve with every
progress message, with or without the second lane.

    python benchmarks/results/second-lane-1e5/run.py lane 60
    python benchmarks/results/second-lane-1e5/run.py nolane 150
    python benchmarks/results/second-lane-1e5/run.py lane 60 1e5 benchmarks/hangzhou-unphased.yaml

Arguments: ``lane`` | ``nolane`` (``SECOND_LANE`` on or off), the time limit (s),
the synthetic firms (default 1e5) and the scenario (default the shipped
Hangzhou one). Prints one line per progress event and ``END status objective
bound gap``. Run from the repository's root.
"""

from __future__ import annotations

import sys
import time

import sim.optimise.decomposition as decomposition
from sim.optimise.decomposition import solve_decomposition
from sim.optimise.problem import ProgressEvent
from sim.pipeline import build_model


def main(argv: list[str]) -> None:
    variant, limit = argv[0], float(argv[1])
    size = float(argv[2]) if len(argv) > 2 else 1e5
    scenario = argv[3] if len(argv) > 3 else "scenarios/hangzhou-2023.yaml"
    decomposition.SECOND_LANE = variant == "lane"
    t0 = time.perf_counter()
    problem = build_model(scenario, n_firms=int(size), seed=0).problem
    print(f"build {time.perf_counter() - t0:.1f}s", flush=True)

    def show(ev: ProgressEvent) -> None:
        print(f"{ev.elapsed_s:7.1f} {ev.phase:10s} inc {ev.incumbent:.10g} bd {ev.bound:.10g}"
              f" | {ev.message}", flush=True)

    sol = solve_decomposition(problem, time_limit=limit, gap_tol=1e-4, progress=show)
    print("END", sol.status, sol.objective, sol.bound, sol.gap, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
