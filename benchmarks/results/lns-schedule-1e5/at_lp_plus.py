"""The plan of each ``solve_trace.py`` log when the LP came, 30 and 35 s later, and at
the end: the table of this folder's README.

    cd benchmarks/results/lns-schedule-1e5 && python at_lp_plus.py 'logs/early-s*.log'

Times are counted from the LP's arrival because it varies by 8 s between runs
on the shared machine, and the neighbourhood search (what the schedule
changes) only starts then.
"""

from __future__ import annotations

import glob
import math
import re
import sys

EVENT = re.compile(r"\s*([\d.]+) (\S+)\s+inc (\S+)")
LP_IN_HAND = re.compile(r"direct LP on \d+ units in (a child process in )?[\d.]+s")


def plan_at(path: str, after_lp: float) -> tuple[float, float]:
    """(seconds at which the LP was in hand, plan ``after_lp`` s later); NaN if none."""
    lp, best = math.nan, math.nan
    with open(path, encoding="utf-8") as log:
        for line in log:
            m = EVENT.match(line)
            if m is None:
                continue
            t = float(m.group(1))
            if math.isnan(lp) and LP_IN_HAND.search(line):
                lp = t
            if not math.isnan(lp) and t <= lp + after_lp and m.group(3) != "nan":
                best = float(m.group(3))
    return lp, best


def final_plan(path: str) -> float:
    """The objective on the log's ``END`` line (NaN if it has none)."""
    with open(path, encoding="utf-8") as log:
        ends = [line.split() for line in log if line.startswith("END")]
    return float(ends[0][2]) if ends else math.nan


def main() -> None:
    for path in sorted(glob.glob(sys.argv[1])):
        lp, at30 = plan_at(path, 30.0)
        _, at35 = plan_at(path, 35.0)
        print(f"{path.rsplit('/', 1)[-1]:22s} LP {lp:5.1f} s  +30 s {at30:,.0f}  "
              f"+35 s {at35:,.0f}  end {final_plan(path):,.0f}")


if __name__ == "__main__":
    main()
