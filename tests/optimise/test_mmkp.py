"""Reproduce the published MMKP optima (Khan 2002; Hiremath & Hill 2008)."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from choice_factories import MMKP_DIR

from sim.errors import InputError
from sim.optimise.highs_backend import solve_highs
from sim.optimise.mmkp import MMKPInstance, read_hh, read_hh_exact, read_khan
from sim.optimise.problem import ProgressEvent
from sim.optimise.pyomo_backend import solve_pyomo
from sim.optimise.verify import check

KHAN = MMKP_DIR / "khan"
HH = MMKP_DIR / "hiremath_hill"

needs_data = pytest.mark.skipif(not MMKP_DIR.is_dir(), reason=f"{MMKP_DIR} absent")

KHAN_OPTIMA = {"I01": 173.0, "I02": 364.0, "I03": 1602.0, "I05": 3905.70, "I06": 4799.30}
HH_FILES = {
    "TestSet1.5GP10IT5KP.txt": 30,
    "TestSet.30GP10IT10KP.txt": 10,
    "TestSet.100GP10IT10KP.txt": 10,
}


def _solve_checked(inst: MMKPInstance, seed: int) -> float:
    """Solve a shuffled copy; map its choice back and check it on the original."""
    shuffled, perm = inst.shuffled(seed)
    problem = shuffled.to_problem()
    sol = solve_highs(problem)
    assert sol.status == "optimal", (inst.name, sol.message)
    check(problem, sol)
    original = perm[np.arange(inst.n_groups), sol.choice]
    assert inst.values[np.arange(inst.n_groups), original].sum() == pytest.approx(sol.objective)
    check(inst.to_problem(), replace(sol, choice=original))
    return sol.objective


@needs_data
@pytest.mark.parametrize("name", sorted(KHAN_OPTIMA))
def test_khan_optimum_reproduced(name: str) -> None:
    inst = read_khan(KHAN / name)
    assert inst.optimum == pytest.approx(KHAN_OPTIMA[name])
    assert inst.optimum_choice is not None
    # the trailer's exact solution is itself feasible and worth the optimum
    ref = inst.values[np.arange(inst.n_groups), inst.optimum_choice].sum()
    assert ref == pytest.approx(inst.optimum)
    assert _solve_checked(inst, seed=7) == pytest.approx(KHAN_OPTIMA[name], abs=1e-6)


@needs_data
def test_khan_trailer_parsed() -> None:
    inst = read_khan(KHAN / "I01")
    assert (inst.n_groups, inst.n_items, inst.n_resources) == (5, 5, 5)
    assert inst.upper_bound == pytest.approx(182.71)
    assert inst.optimum_choice is not None and inst.optimum_choice.tolist() == [3, 4, 1, 2, 3]
    assert {k: v for k, (_, v) in inst.references.items()} == {
        "Mosers Solution": 151.0,
        "HEU": 167.0,
    }
    i07 = read_khan(KHAN / "I07")
    assert i07.optimum is None and i07.upper_bound == pytest.approx(24607.95)
    assert i07.n_groups == 100


@needs_data
@pytest.mark.parametrize("filename", list(HH_FILES))
def test_hh_optima_reproduced(filename: str) -> None:
    # the 100-group set takes ≈ 5 s: not marked slow
    _check_hh_file(filename)


def _check_hh_file(filename: str) -> None:
    instances = read_hh(HH / filename)
    assert len(instances) == HH_FILES[filename]
    exact = read_hh_exact(HH / "hh_exact_values.csv")
    for k, inst in enumerate(instances):
        assert inst.problem_number == k + 1
        assert inst.optimum == exact[(filename, k + 1)]
        assert inst.optimum is not None
        assert _solve_checked(inst, seed=100 + k) == pytest.approx(inst.optimum, abs=1e-6)


@needs_data
@pytest.mark.parametrize(
    "path",
    [
        "khan/I01",
        "khan/I02",
        "khan/I03",
        "hiremath_hill/TestSet1.5GP10IT5KP.txt#1",
        "hiremath_hill/TestSet1.5GP10IT5KP.txt#17",
        "hiremath_hill/TestSet.30GP10IT10KP.txt#4",
    ],
)
def test_pyomo_equals_direct_highs(path: str) -> None:
    if "#" in path:
        file, number = path.split("#")
        inst = read_hh(MMKP_DIR / file)[int(number) - 1]
    else:
        inst = read_khan(MMKP_DIR / path)
    problem = inst.shuffled(3)[0].to_problem()
    a, b = solve_highs(problem), solve_pyomo(problem)
    assert a.status == b.status == "optimal"
    assert a.objective == pytest.approx(b.objective, abs=1e-6)
    assert b.objective == pytest.approx(inst.optimum, abs=1e-6)
    check(problem, b)
    assert set(b.timings) == {"build", "solve"}
    assert b.solver_info["name"] == "pyomo+highs"


@needs_data
def test_time_limit_returns_incumbent_bound_and_gap() -> None:
    problem = read_khan(KHAN / "I04").to_problem()  # ≈250 s to prove optimal
    events: list[ProgressEvent] = []
    t0 = time.perf_counter()
    sol = solve_highs(problem, time_limit=1.5, progress=events.append, progress_interval=0.2)
    assert time.perf_counter() - t0 < 60
    assert sol.status == "feasible", sol.message
    assert math.isfinite(sol.objective) and math.isfinite(sol.bound)
    assert sol.objective <= 3597.0 + 1e-6 <= sol.bound + 2e-6
    assert sol.gap == pytest.approx(abs(sol.bound - sol.objective) / sol.objective)
    assert sol.gap > 0
    assert "time limit" in sol.message
    check(problem, sol)
    assert events[0].phase == "start" and events[-1].phase == "end"
    assert events[-1].incumbent == sol.objective
    improving = [e for e in events if e.phase == "mip"]
    assert improving and math.isfinite(improving[-1].incumbent)
    assert sum(math.isfinite(e.bound) for e in improving) >= 2  # periodic bound reports


# -- malformed files -----------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "bad") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


KHAN_OK = "\n 2 2 1\n 10\n 1\n 1.00 3\n 2.00 4\n 2\n 3.00 5\n 4.00 6\n"


def test_small_khan_file_reads(tmp_path: Path) -> None:
    inst = read_khan(_write(tmp_path, KHAN_OK))
    assert inst.values.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert inst.optimum is None
    sol = solve_highs(inst.to_problem())
    # items (2.00, w 4) and (4.00, w 6) use exactly the capacity 10
    assert sol.objective == pytest.approx(6.0)
    assert sol.choice.tolist() == [1, 1]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("\n 2 2 x\n", r"line 2, column 6 .*'x'.*expected number of resources"),
        (
            "\n 2 2 1\n 10\n 1\n 1.00 3\n 2.00\n",
            r"end of file \(after line 6.*expected Khan data: 1 resource uses of item 1 of group 1",
        ),
        ("\n 2 2 1\n 10\n 1\n 1.00 3\n 2.00 4x\n", r"line 6, column 7 .*'4x'.*resource uses"),
        ("\n 2 2 1\n 10\n 2\n", r"line 4, column 2.*expected Khan data: group number 1"),
        (KHAN_OK[:-9], r"at end of file.*expected Khan data: value of item 1 of group 2"),
        (KHAN_OK + " Garbage\n", r"line 10.*'Garbage'.*expected 'Solutions by"),
        (KHAN_OK + " Solutions by  HEU\n 0 7 9.0\n", r"HEU: item index outside 0..1"),
        ("", r"at end of file.*expected number of groups"),
    ],
)
def test_malformed_khan_names_position(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        read_khan(_write(tmp_path, text))
    assert str(tmp_path / "bad") in str(info.value)


def test_malformed_hh_names_position(tmp_path: Path) -> None:
    good = "1\t2\t2\t1\t\t\r\n\t9\t\t\r\n1\t\t\r\n1\t2\t\r\n3\t4\t\r\n2\t\r\n5\t6\t\r\n7\t8\t\r\n"
    insts = read_hh(_write(tmp_path, good + good.replace("1\t2\t2", "2\t2\t2", 1), "ok.txt"))
    assert [i.problem_number for i in insts] == [1, 2]
    assert insts[0].weights[:, :, 0].tolist() == [[2.0, 4.0], [6.0, 8.0]]
    bad = good.replace("5\t6", "5\tsix")
    with pytest.raises(InputError, match=r"line 7, column 3 .*'six'.*problem 1: 1 resource uses"):
        read_hh(_write(tmp_path, bad))
    with pytest.raises(InputError, match="empty file"):
        read_hh(_write(tmp_path, "\r\n\t\t\r\n"))
    with pytest.raises(InputError, match="no such MMKP file"):
        read_hh(tmp_path / "missing.txt")
