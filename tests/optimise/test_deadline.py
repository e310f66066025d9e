"""Hard deadline for plain MIPs: a child process stopped at the deadline.

The child is a fresh interpreter, so its target must be importable by name: the helpers
below are module-level for that reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from multiprocessing.connection import Pipe
from pathlib import Path

import numpy as np
import pytest
from choice_factories import run_script_without_main_guard

from sim.optimise import solve as solve_module
from sim.optimise.deadline import ChildEnded, DeadlineExceeded, receive_before, run_with_deadline
from sim.optimise.highs_backend import solve_highs
from sim.optimise.problem import ProgressEvent
from sim.optimise.solve import solve

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.instances import random_choice_problem


def hang(seconds: float) -> float:
    """A stand-in for a solver stuck past its time limit."""
    time.sleep(seconds)
    return seconds


def fail() -> None:
    raise ValueError("boom")


def test_result_and_progress_come_back_from_the_child() -> None:
    problem = random_choice_problem(300, 5, 1)
    events: list[ProgressEvent] = []
    sol = run_with_deadline(
        solve_highs, (problem,), {"time_limit": 30, "mip_gap": 1e-6}, 120, events.append
    )
    direct = solve_highs(problem, time_limit=30, mip_gap=1e-6)
    assert sol.status == direct.status == "optimal"
    assert sol.objective == pytest.approx(direct.objective, rel=1e-9)
    np.testing.assert_array_equal(sol.choice, direct.choice)
    assert events[0].phase == "start" and events[-1].phase == "end"


def test_a_child_past_its_deadline_is_stopped() -> None:
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="no answer within 4 s"):
        run_with_deadline(hang, (120.0,), {}, 4.0)
    assert time.monotonic() - start < 30  # not the 120 s the child wanted


def test_a_failing_child_raises_with_its_error() -> None:
    with pytest.raises(RuntimeError, match="ValueError: boom"):
        run_with_deadline(fail, (), {}, 60.0)


@pytest.mark.parametrize("method", ["mip", "pyomo"])
def test_solve_runs_large_plain_mips_under_the_deadline(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = random_choice_problem(200, 5, 4)
    in_process = solve(problem, method=method, time_limit=60, gap_tol=1e-6)
    monkeypatch.setattr(solve_module, "DEADLINE_PAIRS", 0)  # every model counts as large
    child = solve(problem, method=method, time_limit=60, gap_tol=1e-6)
    assert child.status == in_process.status == "optimal"
    assert child.objective == pytest.approx(in_process.objective, rel=1e-9)
    assert child.solver_info["verification"] == in_process.solver_info["verification"]
    assert 20.0 < float(child.solver_info["child_peak_mb"]) < 1000.0  # the child's own peak


def test_overrun_gives_no_plan_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.optimise.deadline as deadline

    def overrun(*args: object, **kwargs: object) -> None:
        raise DeadlineExceeded("no answer within 40 s")

    monkeypatch.setattr(solve_module, "DEADLINE_PAIRS", 0)
    monkeypatch.setattr(deadline, "run_with_deadline", overrun)
    sol = solve(random_choice_problem(50, 3, 0), method="mip", time_limit=10)
    assert sol.status == "no_solution"
    assert (sol.choice == -1).all()
    assert "overran its 10 s time limit and was stopped after 40 s" in sol.message
    assert solve_module.deadline_grace(10) == 30 and solve_module.deadline_grace(600) == 150


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    """The deadline child is ``python -m sim.optimise.deadline``: the caller's
    script is not re-run in it (a multiprocessing spawn would re-run it)."""
    lines = run_script_without_main_guard(
        tmp_path,
        "from benchmarks.instances import random_choice_problem\n"
        "from sim.optimise import solve as solve_module\n"
        "solve_module.DEADLINE_PAIRS = 0  # every model counts as large\n"
        "sol = solve_module.solve(random_choice_problem(300, 5, 1), method='mip',\n"
        "                         time_limit=30, gap_tol=1e-6)\n"
        "print(sol.status)\n",
    )
    assert lines == ["script body ran", "optimal"]


def test_peak_rss_is_this_programs_high_water_mark() -> None:
    """In a fresh interpreter (this one's high-water mark may be anywhere):
    touching 40 MB raises it by about 40 MB."""
    code = (
        "import numpy as np\n"
        "from sim.optimise.deadline import peak_rss_mb\n"
        "before = peak_rss_mb()\n"
        "block = np.ones(40_000_000 // 8)\n"
        "print(before, peak_rss_mb(), block.sum() > 0)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True, env=env)
    before, after, touched = run.stdout.split()
    assert touched == "True"
    assert 35.0 <= float(after) - float(before) <= 60.0


def test_end_of_file_before_the_child_is_reaped_counts_as_the_child_ending() -> None:
    """The race behind a flaky CI run: a killed child's socket reports end of
    file a moment before the child can be reaped, so ``poll()`` still says
    "running". That must read as "the child ended" (with its exit code, once
    reaped), never as "still busy, wait on"."""
    ours, theirs = Pipe()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
    try:
        theirs.send(("improving", 1))
        theirs.close()  # the child's end is gone while the process still runs
        assert receive_before(ours, child, time.monotonic() + 30) == ("improving", 1)
        assert child.poll() is None
        started = time.monotonic()
        with pytest.raises(ChildEnded) as ended:
            receive_before(ours, child, time.monotonic() + 30)
        assert ended.value.exit_code == 0  # waited for, not read as "None" at once
        assert time.monotonic() - started < 10
    finally:
        child.kill()
        child.wait()
        ours.close()


def test_no_message_before_the_end_is_a_timeout_not_an_ending() -> None:
    ours, theirs = Pipe()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert receive_before(ours, child, time.monotonic() + 0.5) is None
        child.kill()
        child.wait()
        with pytest.raises(ChildEnded) as ended:
            receive_before(ours, child, time.monotonic() + 30)
        assert ended.value.exit_code == -9
    finally:
        child.kill()
        child.wait()
        ours.close()
        theirs.close()
