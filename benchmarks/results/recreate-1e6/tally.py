"""Recreate rounds in solve_trace logs, by the plan's gap before each round.

    python benchmarks/results/recreate-1e6/tally.py 'benchmarks/results/recreate-1e6/logs/*.log'

A round's gap before is that of the incumbent and bound on the log line
before it (relative to the plan, as the solver reports gaps).
"""

from __future__ import annotations

import glob
import re
import sys

LINE = re.compile(r"\s*[\d.]+ (\S+)\s+inc ([\d.na]+) bd ([\d.na]+)")


def main(pattern: str, split: float = 0.03) -> None:
    tries = {True: [0, 0], False: [0, 0]}  # above split? -> [better, not]
    gains: dict[bool, list[float]] = {True: [], False: []}
    for path in sorted(glob.glob(pattern)):
        before = None
        with open(path, encoding="utf-8") as log:
            for line in log:
                m = LINE.match(line)
                if m is None:
                    continue
                inc, bound = float(m.group(2)), float(m.group(3))
                if m.group(1) == "recreate" and before is not None:
                    above = (before - bound) / before > split
                    better = "a better plan" in line
                    tries[above][0 if better else 1] += 1
                    if better:
                        gains[above].append(before - inc)
                before = inc
    for above in (True, False):
        better, worse = tries[above]
        where = "more than" if above else "within"
        gained = ", ".join(f"{g:,.0f}" for g in sorted(gains[above]))
        print(f"plans {where} {split:.0%} above the bound: {better} of {better + worse} "
              f"rounds better ({gained})")


if __name__ == "__main__":
    main(sys.argv[1])
