"""A hard wall-clock deadline for solvers that can overrun their own time limit.

HiGHS checks its time limit in its main loops but not inside some root-node
work. On the city model at 10^5 firms (317k binaries, 5.2M nonzeros) a
180 s limit ran for more than 19 minutes, inside clique-table queries of the
cut separation and inside line-search rounding (seen with gdb); a solver
interrupt is not checked there either. The plain MIP methods therefore run
large models in a child process that is stopped at the deadline: the caller
gets an honest "no plan" instead of a hang.

The child is a fresh interpreter, ``python -m sim.optimise.deadline``
(:func:`start_python_child`, also used by :mod:`sim.optimise.mip_worker`),
not a fork: a forked child would inherit HiGHS' thread-pool state without
its threads. Nor is it a ``multiprocessing`` spawn, which would re-run a
caller's script that lacks an ``if __name__ == "__main__"`` guard. Progress
events come back through a socket pair; Ctrl-C and SIGTERM stop the child
with the parent, and a child whose parent died stops itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from sim.optimise.problem import ProgressCallback, ProgressEvent

__all__ = [
    "ChildEnded",
    "DeadlineExceeded",
    "child_connection",
    "exit_with_parent",
    "peak_rss_mb",
    "receive_before",
    "run_with_deadline",
    "start_python_child",
    "stop_child",
]


class DeadlineExceeded(Exception):
    """The child did not finish before the deadline and was stopped."""


def run_with_deadline(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    seconds: float,
    progress: ProgressCallback | None = None,
) -> Any:
    """``target(*args, **kwargs)`` in a child process, stopped after ``seconds``.

    Args:
        target: a module-level function (it is imported by name in the child).
        args, kwargs: its arguments (pickled to the child).
        seconds: wall-clock seconds, child start-up included.
        progress: when given, ``target`` also gets ``progress=`` and every
            event it emits is passed to this callback in the parent.

    Returns:
        What ``target`` returned.

    Raises:
        DeadlineExceeded: the deadline passed first (the child is killed).
        RuntimeError: the child failed; the message carries its exception.
    """
    child, conn = start_python_child(__name__)
    end = time.monotonic() + float(seconds)
    try:
        conn.send((target, args, kwargs, progress is not None))
        while True:
            message = receive_before(conn, child, end)
            if message is None:
                raise DeadlineExceeded(f"no answer within {seconds:g} s")
            kind, payload = message
            if kind == "progress" and progress is not None:
                progress(payload)
            elif kind == "result":
                return payload
            elif kind == "error":
                raise RuntimeError(f"the solver process failed: {payload}")
    except ChildEnded as ended:
        raise RuntimeError(
            f"the solver process ended without an answer (exit code {ended.exit_code})"
        ) from None
    finally:
        stop_child(child, conn)


class ChildEnded(Exception):
    """The child process ended (or closed its end) before the message awaited."""

    def __init__(self, exit_code: int | None) -> None:
        super().__init__(f"the child process ended (exit code {exit_code})")
        self.exit_code = exit_code


def receive_before(
    conn: Connection, child: subprocess.Popen[bytes], end: float
) -> tuple[str, Any] | None:
    """The child's next message ``(kind, payload)``, or None once ``end`` passes.

    ``end`` is a :func:`time.monotonic` time; a message already waiting is
    returned even when ``end`` has passed, so an ``end`` of now polls.
    Raises :class:`ChildEnded` when the child is gone first. The connection
    can report end of file a moment before the dead child can be reaped, so
    the exit code is waited for (a few seconds at most) rather than read at
    once.
    """
    while True:
        left = end - time.monotonic()
        if conn.poll(min(max(left, 0.0), 0.25)):  # looks at least once, even past ``end``
            try:
                message: tuple[str, Any] = conn.recv()
            except (EOFError, OSError):
                raise ChildEnded(_exit_code(child)) from None
            return message
        if child.poll() is not None and not conn.poll():
            raise ChildEnded(child.returncode)
        if left <= 0:
            return None


def stop_child(child: subprocess.Popen[bytes], conn: Connection) -> None:
    """Kill ``child`` if it still runs, reap it (up to 10 s) and close ``conn``."""
    if child.poll() is None:
        child.kill()
    _exit_code(child, wait=10.0)
    conn.close()


def _exit_code(child: subprocess.Popen[bytes], wait: float = 5.0) -> int | None:
    """The child's exit code, waiting up to ``wait`` seconds for it to be reaped."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        return child.wait(timeout=wait)
    return None


def start_python_child(module: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``python -m module FD PARENT_PID``, connected to this process by a socket pair.

    Not a ``multiprocessing`` spawn: that re-imports the caller's main script
    in the child, which re-runs a script without an ``if __name__ ==
    "__main__"`` guard (a whole model build) before failing. The child gets
    this process's ``sys.path``, so it imports the same code; its module's
    ``child_main`` wraps the descriptor with :func:`child_connection`.
    """
    mine, theirs = socket.socketpair()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen(
        [sys.executable, "-m", module, str(theirs.fileno()), str(os.getpid())],
        pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env,
    )
    theirs.close()
    return proc, Connection(mine.detach())


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program (MB).

    ``VmHWM`` from ``/proc/self/status``, which restarts at ``exec``; unlike
    ``getrusage``'s ``ru_maxrss``, which in a child also counts the parent's
    pages it held between fork and exec. NaN where ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def child_connection(argv: list[str]) -> Connection:
    """In a child of :func:`start_python_child`: its connection to the parent.

    Also ignores SIGINT (Ctrl-C in a terminal reaches the whole process
    group; the parent decides and kills the child) and stops the child when
    the parent is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(int(argv[2]))
    return Connection(int(argv[1]))


def _serve(conn: Connection) -> None:
    """The child: run the one ``(target, args, kwargs, with_progress)`` it is sent,
    sending ``("result", value)`` or ``("error", text)``."""
    target, args, kwargs, with_progress = conn.recv()

    def forward(event: ProgressEvent) -> None:
        conn.send(("progress", event))

    try:
        extra = {"progress": forward} if with_progress else {}
        conn.send(("result", target(*args, **kwargs, **extra)))
    except BaseException as exc:  # reported to the parent, which raises
        with contextlib.suppress(OSError):  # the parent may be gone (Ctrl-C)
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def exit_with_parent(parent_pid: int, every: float = 1.0) -> None:
    """Stop this process when the parent is gone (e.g. killed with SIGKILL)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="tenglong-parent-watch").start()


def child_main(argv: list[str]) -> None:
    """Entry point of the child: ``python -m sim.optimise.deadline FD PARENT_PID``.

    It serves from the module imported under its own name, not from
    ``__main__``, so that what it unpickles has the parent's classes.
    """
    from sim.optimise import deadline

    deadline._serve(child_connection(argv))


if __name__ == "__main__":
    child_main(sys.argv)
