"""MMKP benchmark: Khan I01–I07 and the Hiremath & Hill sets through ``solve(method="auto")``.

Reads the published instances from ``../shared/mmkp`` (relative to the
repository; ``--data`` overrides), shuffles the items within each group
(seeded; ``--file-order`` keeps the file's order) and records value, bound,
gap, status, time and (on I07) the exchange search's tries per instance, against
the published optimum (or, for I07, the best known value and upper bound).
Writes ``mmkp.csv`` and ``mmkp.md`` to ``--out``.

Example::

    python benchmarks/mmkp_benchmarks.py --time-limit 60 --out benchmarks/out
    python benchmarks/mmkp_benchmarks.py --khan I04 I07 --hh none
    python benchmarks/mmkp_benchmarks.py --khan I07 --hh none --file-order --solve-seed 2
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

HH_FILES = {
    "5": "TestSet1.5GP10IT5KP.txt",
    "30": "TestSet.30GP10IT10KP.txt",
    "100": "TestSet.100GP10IT10KP.txt",
    "200": "TestSet.200GP10IT10KP.txt",
}
I07_BEST, I07_UPPER = 24595.0, 24607.95


def main(argv: list[str] | None = None) -> int:
    from sim.optimise.mmkp import MMKPInstance, read_hh, read_khan
    from sim.optimise.solve import solve

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "mmkp")
    p.add_argument("--khan", nargs="*", default=[f"I0{k}" for k in range(1, 8)])
    p.add_argument("--hh", nargs="*", default=["5", "30"],
                   help="HH sets by group count (5 30 100 200) or 'none'")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1, help="item shuffle seed")
    p.add_argument("--file-order", action="store_true",
                   help="keep the items in the file's order (no shuffle)")
    p.add_argument("--solve-seed", type=int, default=0,
                   help="seed of the solver's own random choices (decomposition, exchange)")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = p.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data} absent: nothing to do")
        return 0
    insts: list[MMKPInstance] = [read_khan(args.data / "khan" / k) for k in args.khan]
    for g in args.hh:
        if g != "none":
            hh = args.data / "hiremath_hill"
            insts += read_hh(hh / HH_FILES[g], hh / "hh_exact_values.csv")
    rows: list[dict[str, Any]] = []
    for inst in insts:
        shuffled = inst if args.file_order else inst.shuffled(args.seed)[0]
        t0 = time.perf_counter()
        sol = solve(shuffled.to_problem(), method="auto", time_limit=args.time_limit,
                    seed=args.solve_seed)
        secs = time.perf_counter() - t0
        ref = inst.optimum if inst.optimum is not None else (
            I07_BEST if inst.name == "I07" else float("nan")
        )
        ok = sol.objective >= ref - 1e-6 if ref == ref else None
        rows.append({
            "instance": inst.name, "groups": inst.n_groups, "items": inst.n_items,
            "resources": inst.n_resources, "reference": ref,
            "proven": inst.optimum is not None, "value": sol.objective, "bound": sol.bound,
            "gap": sol.gap, "status": sol.status, "seconds": round(secs, 2),
            "reproduced": ok, "path": sol.solver_info.get("auto_path", ""),
            "exchange": sol.solver_info.get("exchange", ""),
        })
        print(f"{inst.name:32s} value {sol.objective:10.2f} bound {sol.bound:10.2f} "
              f"ref {ref:10.2f} {sol.status:9s} {secs:7.2f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "mmkp.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cmd = "python benchmarks/mmkp_benchmarks.py " + " ".join(sys.argv[1:] if argv is None else argv)
    lines = [f"Command: `{cmd}`", "",
             "| instance | n×l×m | reference | value | bound | gap | status | s | reproduced |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = f"{r['reference']:.2f}" + ("" if r["proven"] else " (best known)")
        lines.append(
            f"| {r['instance']} | {r['groups']}×{r['items']}×{r['resources']} | {ref} | "
            f"{r['value']:.2f} | {r['bound']:.2f} | {r['gap']:.2g} | {r['status']} | "
            f"{r['seconds']} | {r['reproduced']} |"
        )
    n_ok = sum(1 for r in rows if r["reproduced"])
    lines += ["", f"{n_ok}/{len(rows)} reproduced; I07's upper bound is {I07_UPPER}."]
    (args.out / "mmkp.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
