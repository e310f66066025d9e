"""Run one decomposition solve of the city model at 10^5 firms and save every
MIP sent to a worker (model arrays, HiGHS options, start) for replay.

    python benchmarks/results/rins-1e5/replay/capture.py SEED SECONDS OUT.pkl

Run from the repository's root. Each MIP is recorded once by ``solve`` and
once by the ``submit`` it calls; the lane's MIPs by ``submit`` alone.
"""

from __future__ import annotations

import pickle
import sys
import time
from typing import Any

import sim.optimise.mip_worker as mip_worker
from sim.optimise.decomposition import solve_decomposition
from sim.optimise.problem import ProgressEvent
from sim.pipeline import build_model

caught: list[tuple[str, float, Any, dict[str, Any], Any]] = []
t0 = time.perf_counter()
plain_solve, plain_submit = mip_worker.MipWorker.solve, mip_worker.MipWorker.submit


def solve(self: Any, model: Any, options: Any, start: Any, wait: float) -> Any:
    caught.append(("solve", time.perf_counter() - t0, model, dict(options), start))
    return plain_solve(self, model, options, start, wait)


def submit(self: Any, model: Any, options: Any, start: Any = None, basis: Any = None) -> None:
    caught.append(("submit", time.perf_counter() - t0, model, dict(options), start))
    plain_submit(self, model, options, start, basis)


def show(ev: ProgressEvent) -> None:
    print(f"{ev.elapsed_s:7.1f} {ev.phase:10s} inc {ev.incumbent:.10g} | {ev.message}", flush=True)


def main() -> None:
    global t0
    seed, seconds, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    mip_worker.MipWorker.solve = solve  # type: ignore[method-assign]
    mip_worker.MipWorker.submit = submit  # type: ignore[method-assign]
    problem = build_model("scenarios/hangzhou-2023.yaml", n_firms=100_000, seed=0).problem
    t0 = time.perf_counter()
    sol = solve_decomposition(problem, time_limit=seconds, gap_tol=1e-4, progress=show, seed=seed)
    print("END", sol.objective)
    with open(out, "wb") as f:
        pickle.dump(caught, f)
    for i, (kind, at, model, options, _) in enumerate(caught):
        print(i, kind, f"{at:.1f}s", model.col_cost.size, "columns", options)


if __name__ == "__main__":
    main()
