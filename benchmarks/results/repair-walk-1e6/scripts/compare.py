"""Repair and descent of a captured start (``capture.py``) with the batch rule
of a given commit and of the working tree, side by side.

    python benchmarks/results/repair-walk-1e6/scripts/compare.py SEED [BASE_COMMIT]

BASE_COMMIT (default 8ffc1fb, before the greedy walk) is read with
``git show`` into a scratch module. Prints, for each repair, its plan's
objective, its seconds and the units it moved, then each descent after it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sim.optimise import repair as new_repair
from sim.optimise.lagrangian import LagrangianModel
from sim.pipeline import build_model


def main() -> None:
    seed = sys.argv[1]
    base = sys.argv[2] if len(sys.argv) > 2 else "8ffc1fb"
    old_path = Path("/tmp/repair_base.py")
    old_path.write_text(subprocess.run(["git", "show", f"{base}:sim/optimise/repair.py"],
                                       check=True, capture_output=True, text=True).stdout)
    spec = importlib.util.spec_from_file_location("repair_base", old_path)
    assert spec is not None and spec.loader is not None
    old_repair = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old_repair)
    problem = build_model("scenarios/hangzhou-2023.yaml", n_firms=1_000_000, seed=0).problem
    model = LagrangianModel(problem)
    start = np.load(f"/tmp/rstart-s{seed}.npy")
    worth = np.load(f"/tmp/rworth-s{seed}.npy")
    print("start", -model.evaluate(start)[0])
    for r_name, r_mod in (("base", old_repair), ("walk", new_repair)):
        t0 = time.perf_counter()
        plan = r_mod.repair_plan(model, start, worth, t0 + 20)
        print(f"{r_name} repair {-model.evaluate(plan)[0]:,.0f} in "
              f"{time.perf_counter() - t0:.1f}s, {int((plan != start).sum())} units moved")
        for i_name, i_mod in (("base", old_repair), ("walk", new_repair)):
            t0 = time.perf_counter()
            better = i_mod.improve_plan(model, plan, t0 + 20)
            print(f"    {i_name} descent {-model.evaluate(better)[0]:,.0f} in "
                  f"{time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
