"""Replay one captured MIP (see ``capture.py``) as HiGHS solved it, or narrowed
by its LP (RINS), and print when each better plan came.

    python replay.py CAPTURE.pkl INDEX                 # as in the run
    python replay.py CAPTURE.pkl INDEX --time 15       # with another time limit
    python replay.py CAPTURE.pkl INDEX --rins 0.25     # RINS, a quarter of agreeing units free

The plan values include the fixed units (the whole model's objective).
"""

from __future__ import annotations

import argparse
import pickle
import time
from dataclasses import replace

import highspy
import numpy as np

from sim.optimise.mip_worker import LpArrays, solve_in_process


def rins(model: LpArrays, start: np.ndarray, extra: float) -> LpArrays:
    """``model`` with every unit fixed at its start option where the LP relaxation
    takes that option whole, except a random share ``extra`` of them. The unit
    of a column is its first row (the one-option-per-unit rows come first)."""
    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(replace(model, integer=np.zeros_like(model.integer)).to_highs())
    h.run()
    x = np.asarray(h.getSolution().col_value)
    unit = model.index[model.start[:-1]]
    on_start = start > 0.5
    agrees = np.zeros(int(unit.max()) + 1, dtype=bool)
    agrees[unit[on_start & (x > 1 - 1e-6)]] = True
    free = ~agrees | (np.random.default_rng(0).random(agrees.size) < extra)
    upper = model.col_upper.copy()
    upper[~free[unit] & ~on_start] = 0.0
    print(f"LP in {time.perf_counter() - t0:.2f}s: {int(free.sum())} of {agrees.size} units free")
    return replace(model, col_upper=upper)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("capture")
    p.add_argument("index", type=int)
    p.add_argument("--time", type=float, default=None, help="HiGHS time limit (s)")
    p.add_argument("--rins", type=float, default=None, help="share of agreeing units freed")
    args = p.parse_args()
    with open(args.capture, "rb") as f:
        kind, at, model, options, start = pickle.load(f)[args.index]
    if args.time is not None:
        options = {**options, "time_limit": args.time}
    if args.rins is not None:
        model = rins(model, start, args.rins)
    plans: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    ans = solve_in_process(model, options, start,
                           on_improving=lambda _x, obj: plans.append((time.perf_counter() - t0,
                                                                      obj)))
    print(f"{kind} {args.index} (sent at {at:.1f}s) {options}: {ans.status}, "
          f"plan {ans.objective:,.1f}, bound {ans.dual_bound:,.1f}, {ans.seconds:.2f}s")
    print("start", f"{float(model.col_cost @ start + model.offset):,.1f}")
    for t, obj in plans:
        print(f"  {t:6.2f}s {obj:,.1f}")


if __name__ == "__main__":
    main()
