"""Benchmarks of the simulation layer (issue #6): Monte Carlo speed and sweep scaling.

Usage::

    python benchmarks/simulate_benchmarks.py mc [--draws 1000] [--n-firms 20000]
    python benchmarks/simulate_benchmarks.py sweep [--members 100] [--n-firms 300]
    python benchmarks/simulate_benchmarks.py all

``mc`` solves ``scenarios/hangzhou-uncertain.yaml`` (the Hangzhou plan with an
uncertainty block) and times ``monte_carlo`` for the given draws; the goal is
1,000 draws in ≤ 10 s. ``sweep`` runs a random sweep of ``--members`` small
members (budget × land target) serially, then on a LocalCluster of 1 and 2
worker processes, and reports the speed-up (goal: near-linear in workers).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]




def bench_mc(draws: int, n_firms: int | None, repeats: int = 3) -> dict[str, Any]:
    """Solve the uncertain Hangzhou scenario once; time ``monte_carlo`` over ``draws``."""
    import numpy as np

    from sim.errors import TenglongError
    from sim.pipeline import build_model
    from sim.simulate.montecarlo import monte_carlo
    from sim.simulate.plans import solve_plan

    path = ROOT / "scenarios" / "hangzhou-uncertain.yaml"
    started = time.perf_counter()
    plan = "solved"
    try:
        model, choice = solve_plan(path, n_firms=n_firms)
    except TenglongError as exc:  # the timing of the draws does not depend on the plan
        print(f"solve failed ({str(exc).splitlines()[0]}); timing a random plan", file=sys.stderr)
        plan = "random"
        model = build_model(path, n_firms=n_firms)
        available = model.problem.available
        score = np.where(available, np.random.default_rng(0).random(available.shape), -1.0)
        choice = np.argmax(score, axis=1).astype(np.int64)
    solve_s = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        mc = monte_carlo(model, choice, draws=draws, seed=11)
        times.append(time.perf_counter() - t)
    p = mc["p_all_met"].sel(year=model.scenario.horizon.end_year)
    return {"plan": plan, "firms": float(model.register.sizes["enterprise"]),
            "units": float(model.problem.n_units), "draws": float(draws),
            "solve_s": solve_s, "mc_best_s": min(times), "mc_mean_s": sum(times) / len(times),
            "p_all_met_end_year": float(p)}


SWEEP_YAML = """\
extends: {base}
name: bench-sweep
population: {{synthetic: {{n: {n}, seed: 5}}, scale_to_population: true}}
phasing: {{enabled: false}}
targets: {{tax_per_mu_wan: 40, district_split: {{mode: none}}}}
solver: {{gap: 1.0e-3, time_limit_s: 60}}
sweep:
  mode: random
  samples: {members}
  seed: 3
  parameters:
    limits.budget_wan: [600000, 2000000]
    targets.land_freed_mu: [12000, 30000]
"""


def bench_sweep(members: int, n_firms: int) -> dict[str, float]:
    """Serial, then 1 and 2 LocalCluster worker processes, each on a fresh store."""
    from sim.simulate.sweep import run_sweep

    out: dict[str, float] = {"members": float(members), "firms": float(n_firms)}
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "bench-sweep.yaml"
        scenario.write_text(SWEEP_YAML.format(base=ROOT / "scenarios" / "hangzhou-2023.yaml",
                                              n=n_firms, members=members), encoding="utf-8")
        runs: list[tuple[str, dict[str, Any]]] = [
            ("serial", {"scheduler": "serial"}),
            ("workers_1", {"workers": 1}),
            ("workers_2", {"workers": 2}),
        ]
        results = {}
        for label, kwargs in runs:
            t = time.perf_counter()
            results[label] = run_sweep(scenario, store=Path(tmp) / label,
                                       out=Path(tmp) / f"{label}.nc", progress=False, **kwargs)
            out[f"{label}_s"] = time.perf_counter() - t
        out["speedup_2_over_1"] = out["workers_1_s"] / out["workers_2_s"]
        same = all(
            results["serial"]["objective"].fillna(-1).equals(r["objective"].fillna(-1))
            for r in results.values())
        out["identical_objectives"] = float(same)
        out["member_mean_s"] = float(results["serial"]["member_s"].mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["mc", "sweep", "all"])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--n-firms", type=int, default=None,
                        help="mc: population (default: the scenario's 20,000)")
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--sweep-firms", type=int, default=300)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if args.which in ("mc", "all"):
        report["monte_carlo"] = bench_mc(args.draws, args.n_firms)
    if args.which in ("sweep", "all"):
        report["sweep"] = bench_sweep(args.members, args.sweep_firms)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
