"""One decomposition solve of a scenario's model with every progress message: the
runner of the side-by-side runs in ``benchmarks/results/`` (second lane, warm LP,
neighbourhood schedule).

    python benchmarks/solve_trace.py 60
    python benchmarks/solve_trace.py 150 --set SECOND_LANE=0
    python benchmarks/solve_trace.py 60 --set WARM_LP_BASIS=0 --firms 1e5 \\
        --scenario benchmarks/hangzhou-unphased.yaml

Arguments: the time limit (s); ``--firms`` synthetic firms (default 1e5,
population seed 0); ``--scenario`` (default the shipped Hangzhou one);
``--seed`` the solve's own random seed (default 0: neighbourhood draws);
``--set NAME=0|1`` switches a feature flag of the decomposition, in the
module that reads it (:mod:`sim.optimise.decomposition`, ``.price_search`` or
``.neighbourhoods``: ``SECOND_LANE``, ``WARM_LP_BASIS``, ``LANE_MIXED``, ``RELATED_EARLY``,
``RINS_RELATED``, ``CAPACITY_BLOCK_SIFT``, ``CAPACITY_BLOCK_BOUND``,
``SLACK_RELATED``, ``RECREATE``) for the side-by-side run. Prints one line per progress
event and ``END status objective bound gap``. Run from the repository's root.
"""

from __future__ import annotations

import argparse
import time

from sim.optimise import decomposition, neighbourhoods, price_search
from sim.optimise.decomposition import solve_decomposition
from sim.optimise.problem import ProgressEvent
from sim.pipeline import build_model

#: each switchable flag and the module whose code reads it
FLAG_MODULES = {
    "SECOND_LANE": decomposition, "RECREATE": decomposition,
    "WARM_LP_BASIS": price_search, "CAPACITY_BLOCK_SIFT": price_search,
    "CAPACITY_BLOCK_BOUND": price_search, "RELATED_EARLY": neighbourhoods,
    "LANE_MIXED": neighbourhoods, "RINS_RELATED": neighbourhoods, "SLACK_RELATED": neighbourhoods,
}
FLAGS = tuple(FLAG_MODULES)


def _flag(text: str) -> tuple[str, bool]:
    name, _, value = text.partition("=")
    if name not in FLAGS or value not in ("0", "1"):
        raise argparse.ArgumentTypeError(f"expected NAME=0 or NAME=1 with NAME in {FLAGS}")
    return name, value == "1"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("time_limit", type=float, help="seconds")
    parser.add_argument("--firms", type=float, default=1e5)
    parser.add_argument("--scenario", default="scenarios/hangzhou-2023.yaml")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="flags", type=_flag, action="append", default=[])
    args = parser.parse_args(argv)
    for name, on in args.flags:
        setattr(FLAG_MODULES[name], name, on)
    t0 = time.perf_counter()
    problem = build_model(args.scenario, n_firms=int(args.firms), seed=0).problem
    print(f"build {time.perf_counter() - t0:.1f}s", flush=True)

    def show(ev: ProgressEvent) -> None:
        print(f"{ev.elapsed_s:7.1f} {ev.phase:10s} inc {ev.incumbent:.10g} bd {ev.bound:.10g}"
              f" | {ev.message}", flush=True)

    sol = solve_decomposition(problem, time_limit=args.time_limit, gap_tol=1e-4, progress=show,
                              seed=args.seed)
    print("END", sol.status, sol.objective, sol.bound, sol.gap, flush=True)


if __name__ == "__main__":
    main()
