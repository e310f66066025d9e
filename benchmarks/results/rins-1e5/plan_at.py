"""The plan of each ``solve_trace.py`` log at 53.6 s and at the end, and when it
first reaches HiGHS' first plan: the tables of this folder's README.

    cd benchmarks/results/rins-1e5 && python plan_at.py 'logs/cap5-s*.log'
    python plan_at.py 'logs/u-*.log' 1991000     # unphased: when the big move is made

53.6 s is the 100× mark: plain HiGHS found its first plan of the phased
model, 1,920,099, after 5,356 s (``../hangzhou-1e5-mip-trace/``). A second
argument replaces that plan value as the target.
"""

from __future__ import annotations

import glob
import math
import re
import sys

EVENT = re.compile(r"\s*([\d.]+) (\S+)\s+inc (\S+)")
HIGHS_FIRST_PLAN = 1_920_099.0
MARK_S = 5_356.0 / 100.0


def summarise(path: str, target: float = HIGHS_FIRST_PLAN) -> tuple[float, float, float]:
    """(plan at MARK_S, plan at the end, seconds at which it first is ≤ ``target``);
    NaN where the log has none."""
    at_mark, end, reached = math.nan, math.nan, math.nan
    with open(path, encoding="utf-8") as log:
        for line in log:
            if line.startswith("END"):
                end = float(line.split()[2])
                continue
            m = EVENT.match(line)
            if m is None or m.group(3) == "nan":
                continue
            t, plan = float(m.group(1)), float(m.group(3))
            if t <= MARK_S:
                at_mark = plan
            if math.isnan(reached) and plan <= target:
                reached = t
    return at_mark, end, reached


def main() -> None:
    target = float(sys.argv[2]) if len(sys.argv) > 2 else HIGHS_FIRST_PLAN
    for path in sorted(glob.glob(sys.argv[1])):
        at_mark, end, reached = summarise(path, target)
        when = f"{reached:.1f} s" if not math.isnan(reached) else "-"
        print(f"{path.rsplit('/', 1)[-1]:18s} at {MARK_S:.1f} s {at_mark:,.0f}  "
              f"end {end:,.0f}  ≤ {target:,.0f} at {when}")


if __name__ == "__main__":
    main()
