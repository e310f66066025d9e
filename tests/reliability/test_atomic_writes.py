"""Atomic writes: an interrupted write leaves the target as it was and no temporary file.

Temporary files are ``.<name>.<pid>-<random>.partial``. Exceptions and
Ctrl-C remove them; a SIGKILLed writer leaves one, which the next write of
the same target removes (only when its process is gone).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.results.atomic import atomic_path, atomic_write_text, remove_stale_partials


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt(), SystemExit(1)])
def test_failed_write_keeps_the_old_file(tmp_path: Path, exc: BaseException) -> None:
    target = tmp_path / "result.nc"
    target.write_text("old complete result")
    with pytest.raises(type(exc)), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name != target.name
        assert tmp.name.startswith(f".result.nc.{os.getpid()}-")
        tmp.write_text("half of a new res")
        raise exc
    assert target.read_text() == "old complete result"
    assert leftovers(tmp_path) == []


def test_successful_write_replaces(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "result.csv"
    atomic_write_text(target, "a,b\n1,2\n")
    atomic_write_text(target, "a,b\n3,4\n")
    assert target.read_text() == "a,b\n3,4\n"
    assert leftovers(target.parent) == []


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True, timeout=60)
    return int(proc.stdout)


def test_stale_partials_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / f".result.nc.{dead}-abc123.partial"
    live = tmp_path / f".result.nc.{os.getpid()}-def456.partial"  # a concurrent writer
    other = tmp_path / f".other.nc.{dead}-abc123.partial"  # another target's
    legacy = tmp_path / ".result.nc.k2j3h4.partial"  # no pid: owner unknown, kept
    for p in (stale, live, other, legacy):
        p.write_text("junk")
    atomic_write_text(tmp_path / "result.nc", "new")
    assert not stale.exists()
    assert live.exists() and other.exists() and legacy.exists()
    assert (tmp_path / "result.nc").read_text() == "new"
    assert remove_stale_partials(tmp_path / "other.nc") == [other]


def test_sigkilled_writer_leaves_a_partial_that_the_next_write_removes(tmp_path: Path) -> None:
    target = tmp_path / "result.nc"
    code = (
        "import os, signal, sys\n"
        "from sim.results.atomic import atomic_path\n"
        f"with atomic_path({str(target)!r}) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], timeout=120, check=False)
    assert proc.returncode == -9
    assert not target.exists()
    assert len(leftovers(tmp_path)) == 1  # SIGKILL runs no cleanup
    atomic_write_text(target, "complete")
    assert target.read_text() == "complete"
    assert leftovers(tmp_path) == []


def test_results_get_ordinary_file_permissions(tmp_path: Path) -> None:
    """mkstemp's 0600 must not leak into results shared with colleagues."""
    target = tmp_path / "result.csv"
    atomic_write_text(target, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
