"""A hard wall-clock deadline for solvers that can overrun their own time limit.

HiGHS checks its time limit in its main loops but not inside some root-node
work. On the city model at 10^5 firms (317k binaries, 5.2M nonzeros) a
180 s limit ran for more than 19 minutes, inside clique-table queries of the
cut separation and inside line-search rounding (seen with gdb); a solver
interrupt is not checked there either. The plain MIP methods therefore run
large models in a child process that is stopped at the deadline: the caller
gets an honest "no plan" instead of a hang.

The child is *spawned* (a fresh interpreter), not forked: a forked child
would inherit HiGHS' thread-pool state without its threads. Progress events
come back through a pipe; Ctrl-C and SIGTERM stop the child with the parent,
and a child whose parent died stops itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from sim.optimise.problem import ProgressCallback, ProgressEvent

__all__ = ["DeadlineExceeded", "exit_with_parent", "run_with_deadline"]


class DeadlineExceeded(Exception):
    """The child did not finish before the deadline and was stopped."""


def run_with_deadline(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    seconds: float,
    progress: ProgressCallback | None = None,
) -> Any:
    """``target(*args, **kwargs)`` in a spawned child, stopped after ``seconds``.

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
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child,
        args=(target, args, kwargs, send, progress is not None, os.getpid()),
        daemon=True,
    )
    child.start()
    send.close()
    end = time.monotonic() + float(seconds)
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise DeadlineExceeded(f"no answer within {seconds:g} s")
            if not receive.poll(min(left, 0.25)):
                if not child.is_alive() and not receive.poll():
                    raise RuntimeError(f"the solver process ended (exit code {child.exitcode})")
                continue
            try:
                kind, payload = receive.recv()
            except EOFError:
                raise RuntimeError(
                    f"the solver process ended without an answer (exit code {child.exitcode})"
                ) from None
            if kind == "progress" and progress is not None:
                progress(payload)
            elif kind == "result":
                return payload
            elif kind == "error":
                raise RuntimeError(f"the solver process failed: {payload}")
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=10)
        receive.close()


def _child(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    conn: Connection,
    with_progress: bool,
    parent_pid: int,
) -> None:
    """Run ``target`` and send ``("result", value)`` or ``("error", text)``."""
    exit_with_parent(parent_pid)

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
