"""Save the first greedy repair's input (start plan and worth) of a 10^6 solve.

    python benchmarks/results/repair-walk-1e6/scripts/capture.py SEED TIME_LIMIT

Runs the decomposition on the phased city model at 10^6 firms (population
seed 0) with solver seed SEED and stops at its first ``repair_plan`` call,
writing ``/tmp/rstart-sSEED.npy`` and ``/tmp/rworth-sSEED.npy``. The time
limit sets the price search's shares, so the start depends on it.
"""

from __future__ import annotations

import sys

import numpy as np

from sim.optimise import decomposition
from sim.pipeline import build_model


def main() -> None:
    seed, time_limit = int(sys.argv[1]), float(sys.argv[2])
    problem = build_model("scenarios/hangzhou-2023.yaml", n_firms=1_000_000, seed=0).problem

    def capture(model: object, start: np.ndarray, worth: np.ndarray, until: float) -> None:
        np.save(f"/tmp/rstart-s{seed}.npy", start)
        np.save(f"/tmp/rworth-s{seed}.npy", worth)
        raise SystemExit(0)

    decomposition.repair_plan = capture  # type: ignore[assignment]
    decomposition.solve_decomposition(problem, time_limit=time_limit, gap_tol=1e-4, seed=seed)


if __name__ == "__main__":
    main()
