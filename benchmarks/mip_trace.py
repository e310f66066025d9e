"""Trace a solver on the city model: incumbent and bound over time.

For long runs of the plain MIP (the call ``run_benchmarks.py --methods mip``
makes: :func:`sim.optimise.highs_backend.solve_highs` with the time limit and
gap), this records when HiGHS finds its first plan and how its bound moves,
so that a speed-up against it can be stated even when it never finishes.
``--method decomposition`` traces
:func:`sim.optimise.decomposition.solve_decomposition` the same way, so the
time at which it passes a given plan value can be read off.
Writes ``trace.csv`` (elapsed s, incumbent, bound, gap; one row per change)
to ``--out`` and prints each row as it comes.

Example::

    python benchmarks/mip_trace.py --size 1e5 --time-limit 6000 --out benchmarks/out/trace
    python benchmarks/mip_trace.py --size 1e5 --method decomposition --time-limit 180
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_SCENARIO = REPO / "scenarios" / "hangzhou-2023.yaml"


def _key(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


def main(argv: list[str] | None = None) -> int:
    from sim.optimise.decomposition import solve_decomposition
    from sim.optimise.highs_backend import solve_highs
    from sim.optimise.problem import ProgressEvent
    from sim.pipeline import build_model

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=float, default=1e5, help="synthetic firms")
    p.add_argument("--method", choices=["mip", "decomposition"], default="mip")
    p.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=6000.0)
    p.add_argument("--gap-tol", type=float, default=1e-4)
    p.add_argument("--interval", type=float, default=5.0, help="seconds between HiGHS reports")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "trace")
    args = p.parse_args(argv)

    problem = build_model(args.scenario, n_firms=int(args.size), seed=args.seed).problem
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[float, float, float, float]] = []
    last: list[tuple[float | None, float | None]] = []

    def record(ev: ProgressEvent) -> None:
        key = (_key(ev.incumbent), _key(ev.bound))
        if last and last[-1] == key:
            return
        last.append(key)
        rows.append((ev.elapsed_s, ev.incumbent, ev.bound, ev.gap))
        print(f"{ev.elapsed_s:9.1f} s  incumbent {ev.incumbent:.10g}  bound {ev.bound:.10g}  "
              f"gap {ev.gap:.4g}", flush=True)

    t0 = time.perf_counter()
    if args.method == "mip":
        sol = solve_highs(problem, time_limit=args.time_limit, mip_gap=args.gap_tol,
                          progress=record, progress_interval=args.interval)
    else:
        sol = solve_decomposition(problem, time_limit=args.time_limit, gap_tol=args.gap_tol,
                                  progress=record)
    seconds = time.perf_counter() - t0
    rows.append((seconds, sol.objective, sol.bound, sol.gap))
    with (args.out / "trace.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["elapsed_s", "incumbent", "bound", "gap"])
        w.writerows(rows)
    print(f"end: {sol.status} after {seconds:.1f} s, objective {sol.objective:.10g}, "
          f"bound {sol.bound:.10g} ({problem.n_units} units × {problem.n_options} options)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
