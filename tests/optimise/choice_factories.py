"""Random and hand-made choice problems shared by the optimise tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from sim.optimise.problem import ChoiceProblem, Constraint, Objective

REPO = Path(__file__).resolve().parents[2]
MMKP_DIR = (REPO / ".." / "shared" / "mmkp").resolve()


def random_tiny_problem(seed: int, *, elastic: bool = False) -> ChoiceProblem:
    """≤ 6 units × ≤ 4 options, 3 metrics, a mix of <=, >=, == rows, some grouped.

    Integer effects keep == rows satisfiable with non-trivial probability.
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    o = int(rng.integers(1, 5))
    m = 3
    effects = rng.integers(-3, 8, size=(n, o, m)).astype(float)
    unavailable = rng.random((n, o)) < 0.3
    unavailable[np.arange(n), rng.integers(0, o, n)] = False  # every unit keeps one
    effects[unavailable] = np.nan
    metrics = ["v", "a", "b"]
    constraints: list[Constraint] = []
    # a random reference plan; rhs values are set near its lhs so that both
    # feasible and infeasible instances occur
    ref = np.array([rng.choice(np.flatnonzero(~unavailable[i])) for i in range(n)])
    n_cons = int(rng.integers(1, 4))
    for k in range(n_cons):
        sense = str(rng.choice(["<=", ">=", "=="], p=[0.45, 0.35, 0.2]))
        coefs = {"a": 1.0} if rng.random() < 0.5 else {"a": 1.0, "b": float(rng.integers(-2, 3))}
        kind = int(rng.integers(0, 3))
        n_groups = 1 if kind == 0 else int(rng.integers(1, 4))
        group = None
        if kind == 1:
            group = rng.integers(-1, n_groups, size=n).astype(np.int64)
        elif kind == 2:
            group = rng.integers(-1, n_groups, size=(n, o)).astype(np.int64)
        contrib = (
            effects[np.arange(n), ref, 1] + coefs.get("b", 0.0) * effects[np.arange(n), ref, 2]
        )
        if group is None:
            lhs = np.array([contrib.sum()])
        else:
            g_ref = group if group.ndim == 1 else group[np.arange(n), ref]
            inside = g_ref >= 0
            lhs = np.bincount(g_ref[inside], weights=contrib[inside], minlength=n_groups)
        shift = rng.integers(-2, 4, size=n_groups).astype(float)
        if sense == "<=":
            rhs = lhs + shift
        elif sense == ">=":
            rhs = lhs - shift
        else:
            rhs = lhs + (rng.random(n_groups) < 0.2)
        constraints.append(
            Constraint(
                f"c{k}",
                coefs,
                sense,  # type: ignore[arg-type]
                float(rhs[0]) if group is None else rhs,
                group=group,
                group_labels=None if group is None else [f"g{g}" for g in range(n_groups)],
            )
        )
    if elastic and constraints:
        constraints[0].penalty = float(rng.integers(1, 5))
    sense = "max" if rng.random() < 0.5 else "min"
    weights = {"v": 1.0} if rng.random() < 0.6 else {"v": 1.0, "b": 0.5}
    return ChoiceProblem(
        effects,
        metrics,
        constraints,
        Objective(weights, sense),
        name=f"tiny-{seed}",  # type: ignore[arg-type]
    )


def random_large_problem(n: int, o: int = 5, n_rows: int = 4, seed: int = 0) -> ChoiceProblem:
    """``n`` units × ``o`` options, one budget row and ``n_rows - 1`` grouped ≥ rows."""
    rng = np.random.default_rng(seed)
    effects = rng.uniform(0, 10, (n, o, 3))
    effects[rng.random((n, o)) < 0.2] = np.nan
    effects[:, 0, :] = rng.uniform(0, 10, (n, 3))
    g = n_rows - 1
    group = rng.integers(0, g, n)
    return ChoiceProblem(
        effects,
        ["v", "a", "b"],
        [
            Constraint("budget", {"a": 1.0}, "<=", 5.0 * n * 0.9),
            Constraint("target", {"b": 1.0}, ">=", np.full(g, n / g * 5.2), group=group),
        ],
        Objective({"v": 1.0}, "max"),
        name=f"random-{n}",
    )


def run_script_without_main_guard(folder: Path, body: str) -> list[str]:
    """Run ``body`` as a top-level script (no ``if __name__`` guard) in a fresh
    interpreter that can import the repository; return its stdout lines.

    The script first prints ``"script body ran"``: a child process that re-ran
    the caller's script would print it twice.
    """
    script = folder / "no_guard.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
        "print('script body ran', flush=True)\n" + body,
        encoding="utf-8",
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()
