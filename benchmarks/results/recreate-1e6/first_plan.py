"""The first plan of a 60 s solve at 10^6 phased city firms, taken apart.

    python benchmarks/results/recreate-1e6/first_plan.py S [S ...]

For each solver seed ``S`` it runs the solve (as ``solve_trace.py 60 --firms
1000000 --seed S`` with ``RECREATE`` off) and keeps the plan of the greedy
repair and descent at the first sifting step, with the prices the search ended
at. It prints that plan's gap to ``L`` at those prices, split exactly into the
units' reduced-cost losses and each row's price times the plan's slack
(``L − plan = Σ losses + Σ λ_r (b_r − a_r x)``; the largest rows named), and
then three ruin-and-recreate rounds (``recreate_plan``, 500 units, random
generator seeded with ``S``) from it, each kept if better. Run from the
repository's root.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

import sim.optimise.decomposition as dec
from sim.optimise.repair import recreate_plan
from sim.pipeline import build_model


def _captured_solve(problem: Any, seed: int) -> dict[str, np.ndarray]:
    """Solve with the repair's descent and level 0's final prices recorded."""
    kept: dict[str, np.ndarray] = {}
    improve, solve_lp = dec.improve_plan, dec.solve_lp

    def spy_improve(model: Any, plan: np.ndarray, deadline: float) -> np.ndarray:
        out = improve(model, plan, deadline)
        kept.setdefault("first_plan", out.copy())
        return out

    def spy_solve_lp(model: Any, lam0: np.ndarray, **kw: Any) -> Any:
        state = solve_lp(model, lam0, **kw)
        if kw.get("level", 0) == 0:
            kept["prices"] = state.lam.copy()
        return state

    dec.improve_plan, dec.solve_lp, dec.RECREATE = spy_improve, spy_solve_lp, False
    try:
        sol = dec.solve_decomposition(problem, time_limit=60, gap_tol=1e-4, seed=seed)
    finally:
        dec.improve_plan, dec.solve_lp, dec.RECREATE = improve, solve_lp, True
    print(f"seed {seed}: solve ends at {sol.objective:,.0f}, bound {sol.bound:,.0f}")
    return kept


def _split(model: dec.LagrangianModel, plan: np.ndarray, lam: np.ndarray) -> None:
    """Print ``L − plan`` as losses plus priced slack, the largest rows first."""
    big_l, d = model.dual_value(lam)
    value = model.evaluate(plan)[0]
    loss = float((d.max(axis=1) - d[np.arange(model.n), plan]).sum())
    priced = lam * (model.rhs - model.activity(plan))
    top = np.argsort(-np.abs(priced))[:4]
    rows = "; ".join(f"{model.row_labels[r]} {priced[r]:,.0f}" for r in top)
    print(f"  first plan {model.sign * value:,.0f}, L {model.sign * big_l:,.0f}: gap "
          f"{big_l - value:,.0f} = losses {loss:,.0f} + priced slack {priced.sum():,.0f} "
          f"({rows})")


def main(seeds: list[int]) -> None:
    problem = build_model("scenarios/hangzhou-2023.yaml", n_firms=1_000_000, seed=0).problem
    model = dec.LagrangianModel(problem)
    for seed in seeds:
        kept = _captured_solve(problem, seed)
        plan = kept["first_plan"]
        _split(model, plan, kept["prices"])
        rng = np.random.default_rng(seed)
        for k in range(3):
            t0 = time.perf_counter()
            out = recreate_plan(model, plan, 500, rng, t0 + 60)
            if out is None:
                print(f"  round {k + 1}: no plan")
                continue
            better = model.evaluate(out)[0] > model.evaluate(plan)[0]
            print(f"  round {k + 1}: {model.sign * model.evaluate(out)[0]:,.0f} in "
                  f"{time.perf_counter() - t0:.1f}s{', kept' if better else ''}")
            plan = out if better else plan


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]])
