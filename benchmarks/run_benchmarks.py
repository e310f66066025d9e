"""Scaling benchmark of the choice-problem solvers on the full policy model.

For every size and method a *fresh subprocess* builds the problem and solves
it, so that peak memory (``getrusage`` max RSS) is measured per run and runs
do not share caches. Output in ``--out``: ``results.csv``, ``results.md`` (with
the speed ratio of each method against the decomposition) and
``time_vs_size.png`` (log-log solve time against size per method).

Examples::

    python benchmarks/run_benchmarks.py --sizes 1e3 1e4 1e5 1e6 \\
        --methods decomposition mip pyomo --time-limit 600 --out benchmarks/out
    python benchmarks/run_benchmarks.py --instance random --sizes 1e4 1e5 --methods decomposition

``--instance hangzhou`` (default) builds ``sim.pipeline.build_model(scenario,
n_firms=N, seed=S).problem`` (the size is the synthetic population; the
units are the firms that may act); ``--instance random`` uses
``benchmarks.instances.policy_like_problem(N, S)`` (the size is the number
of units).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_SCENARIO = REPO / "scenarios" / "hangzhou-2023.yaml"
FIELDS = [
    "instance", "size", "method", "status", "n_units", "n_options", "n_rows", "build_s",
    "solve_s", "check_s", "peak_mb", "objective", "bound", "gap", "verified", "message",
    "git_commit",
]


def _peak_mb(sol: Any) -> float:
    """Peak resident memory in MB: this process's plus its solver child's.

    The child is the deadline process of a large plain MIP or the
    decomposition's MIP worker; it reports its own peak
    (``solver_info["child_peak_mb"]``, ``VmHWM``). The sum of the two peaks
    bounds the run's combined peak from above. (``getrusage`` of the
    children would not do: it counts in a child the parent's pages it held
    between fork and exec.)
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KB
    child = float(sol.solver_info.get("child_peak_mb", "nan"))
    return own + (0.0 if math.isnan(child) else child)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Build and solve one (size, method) in this process; return the record."""
    from sim.optimise.problem import ChoiceProblem
    from sim.results.manifest import git_commit

    size = int(float(args.size))
    t0 = time.perf_counter()
    problem: ChoiceProblem
    if args.instance == "hangzhou":
        from sim.pipeline import build_model

        problem = build_model(args.scenario, n_firms=size, seed=args.seed).problem
    else:
        from benchmarks.instances import policy_like_problem

        problem = policy_like_problem(size, args.seed)
    build_s = time.perf_counter() - t0
    rec: dict[str, Any] = {
        "instance": args.instance,
        "size": size,
        "method": args.method,
        "n_units": problem.n_units,
        "n_options": problem.n_options,
        "n_rows": sum(c.n_rows for c in problem.constraints),
        "build_s": round(build_s, 3),
    }
    t1 = time.perf_counter()
    if args.method == "decomposition":
        from sim.optimise.decomposition import solve_decomposition

        sol = solve_decomposition(problem, time_limit=args.time_limit, gap_tol=args.gap_tol)
    elif args.method == "mip":
        from sim.optimise.highs_backend import solve_highs

        sol = solve_highs(problem, time_limit=args.time_limit, mip_gap=args.gap_tol)
    elif args.method == "pyomo":
        from sim.optimise.pyomo_backend import solve_pyomo

        sol = solve_pyomo(problem, time_limit=args.time_limit, mip_gap=args.gap_tol)
    elif args.method == "auto":
        from sim.optimise.solve import solve

        sol = solve(problem, method="auto", time_limit=args.time_limit, gap_tol=args.gap_tol,
                    check=False, prices=False)
    else:
        raise SystemExit(f"unknown method {args.method}")
    solve_s = time.perf_counter() - t1
    verified = ""
    t2 = time.perf_counter()
    if sol.status in ("optimal", "feasible"):
        from sim.optimise.verify import check

        try:
            verified = check(problem, sol).summary()
        except Exception as exc:  # a wrong plan is a result to record, not a crash
            verified = f"FAILED: {exc}"
    rec.update(
        status=sol.status,
        solve_s=round(solve_s, 3),
        check_s=round(time.perf_counter() - t2, 3),
        peak_mb=round(_peak_mb(sol), 1),
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        verified=verified,
        message=sol.message[:200],
        git_commit=git_commit() or "",
    )
    return rec


def run_one(args: argparse.Namespace, size: float, method: str) -> dict[str, Any]:
    """Run :func:`worker` in a fresh subprocess (with a wall-clock guard)."""
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--worker",
        "--size", str(size), "--method", method, "--instance", args.instance,
        "--scenario", str(args.scenario), "--seed", str(args.seed),
        "--time-limit", str(args.time_limit), "--gap-tol", str(args.gap_tol),
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    guard = 3 * args.time_limit + 600
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=guard, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"instance": args.instance, "size": int(size), "method": method,
                "status": "killed", "message": f"no answer within {guard:.0f} s"}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT "):]))
    tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
    return {"instance": args.instance, "size": int(size), "method": method, "status": "error",
            "message": " | ".join(tail)[:300]}


def _fmt(v: Any, digits: int = 6) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.{digits}g}"
    return str(v)


def write_outputs(records: list[dict[str, Any]], out: Path, command: str) -> None:
    """CSV, Markdown table (with speed ratios) and the log-log plot."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow(r)
    commits = sorted({str(r.get("git_commit") or "unknown") for r in records})
    lines = [
        f"Command: `{command}`",
        "",
        f"Code: `{', '.join(commits)}` (git commit; `+dirty` = uncommitted changes)",
        "",
        "| size | units×options, rows | method | status | build s | solve s | peak MB |"
        " objective | bound | gap | × decomposition time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    dec_time = {r["size"]: r.get("solve_s") for r in records if r["method"] == "decomposition"}
    for r in records:
        ratio = ""
        d = dec_time.get(r["size"])
        if d and r.get("solve_s") and r["method"] != "decomposition":
            ratio = f"{r['solve_s'] / d:.1f}"
        dims = (
            f"{r.get('n_units', '')}×{r.get('n_options', '')}, {r.get('n_rows', '')}"
            if "n_units" in r else ""
        )
        lines.append(
            f"| {r['size']:.0e} | {dims} | {r['method']} | {r.get('status')} | "
            f"{_fmt(r.get('build_s', float('nan')), 3)} | {_fmt(r.get('solve_s', float('nan')), 4)}"
            f" | {_fmt(r.get('peak_mb', float('nan')), 5)} | "
            f"{_fmt(r.get('objective', float('nan')), 10)} | "
            f"{_fmt(r.get('bound', float('nan')), 10)} | {_fmt(r.get('gap', float('nan')), 3)} |"
            f" {ratio} |"
        )
    notes = [r for r in records if r.get("message")]
    if notes:
        lines += ["", "Messages:", ""]
        lines += [f"- {r['size']:.0e} {r['method']}: {r['message']}" for r in notes]
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method in sorted({r["method"] for r in records}):
        pts = sorted(
            (r["size"], r["solve_s"]) for r in records
            if r["method"] == method and isinstance(r.get("solve_s"), float)
        )
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=method)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("size (firms)")
    ax.set_ylabel("solve time (s)")
    ax.set_title("choice-problem solvers: time vs size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "time_vs_size.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5])
    p.add_argument("--methods", nargs="+", default=["decomposition", "mip", "pyomo"],
                   choices=["decomposition", "mip", "pyomo", "auto"])
    p.add_argument("--time-limit", type=float, default=600.0)
    p.add_argument("--gap-tol", type=float, default=1e-4)
    p.add_argument("--instance", choices=["hangzhou", "random"], default="hangzhou")
    p.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", type=float, help=argparse.SUPPRESS)
    p.add_argument("--method", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        rec = worker(args)
        print("RESULT " + json.dumps(rec, default=float), flush=True)
        return 0
    command = "python benchmarks/run_benchmarks.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    records: list[dict[str, Any]] = []
    for size in args.sizes:
        for method in args.methods:
            rec = run_one(args, size, method)
            records.append(rec)
            print(
                f"{args.instance} {size:.0e} {method:13s} {rec.get('status')!s:11s} "
                f"solve {rec.get('solve_s', '-')} s  peak {rec.get('peak_mb', '-')} MB  "
                f"obj {rec.get('objective', '-')}  gap {rec.get('gap', '-')}",
                flush=True,
            )
            write_outputs(records, args.out, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
