"""HiGHS MIPs in a child process, stopped hard when they overrun their limit.

HiGHS checks its time limit, and its interrupt callbacks, in its main loops
but not inside some root-node work (see :mod:`sim.optimise.deadline`).
Inside the decomposition a neighbourhood MIP with a 2.6 s limit once ran
136 s, and a 180 s solve of the city model at 10^6 firms took 294 s. So on
large problems the decomposition sends its MIPs to a :class:`MipWorker`: a
child process (``python -m sim.optimise.mip_worker``) that solves one HiGHS
model at a time and streams every improving plan back while it runs. When a
MIP is not answered within its limit plus :func:`mip_grace`, the parent
kills the child, keeps the last plan streamed, and starts a fresh child for
the next MIP.

The worker in use is held in a context variable (:func:`guarded_mips`,
:func:`active_worker`), so that every MIP of a solve, nested ones included
(the quick plan's own decomposition), goes through the same child without
passing it down each call.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import highspy
import numpy as np

from sim.optimise.deadline import (
    ChildEnded,
    child_connection,
    peak_rss_mb,
    receive_before,
    start_python_child,
    stop_child,
)
from sim.optimise.problem import FloatArray

__all__ = [
    "Basis", "LpArrays", "MipAnswer", "MipWorker", "active_worker", "guarded_mips", "mip_grace",
]

#: a simplex basis as HiGHS' status codes (``int(highspy.HighsBasisStatus)``):
#: ``(column statuses, row statuses)``
Basis = tuple[np.ndarray, np.ndarray]

#: seconds a worker has to start (a fresh interpreter importing numpy and
#: highspy) before its first answer is overdue
START_SECONDS = 30.0


def mip_grace(time_limit: float) -> float:
    """Seconds a MIP may run past its own limit before it is stopped (s).

    HiGHS ends a MIP a little after its limit (the last LP, the final
    solution); one second, or a quarter of the limit on long MIPs, covers
    that without letting a hung root node eat the solve's time.
    """
    return max(1.0, 0.25 * time_limit)


@dataclass
class LpArrays:
    """A HiGHS model as plain arrays, so that it pickles to the child.

    ``integer`` marks the integer columns; the matrix is column-wise
    (``start``, ``index``, ``value``).
    """

    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    start: np.ndarray
    index: np.ndarray
    value: FloatArray
    integer: np.ndarray
    offset: float

    @classmethod
    def from_highs(cls, lp: highspy.HighsLp) -> LpArrays:
        n = int(lp.num_col_)
        integrality = list(lp.integrality_)
        kinds = np.array([int(v) for v in integrality]) if integrality else np.zeros(n, int)
        return cls(
            np.asarray(lp.col_cost_, dtype=float), np.asarray(lp.col_lower_, dtype=float),
            np.asarray(lp.col_upper_, dtype=float), np.asarray(lp.row_lower_, dtype=float),
            np.asarray(lp.row_upper_, dtype=float), np.asarray(lp.a_matrix_.start_),
            np.asarray(lp.a_matrix_.index_), np.asarray(lp.a_matrix_.value_, dtype=float),
            kinds == int(highspy.HighsVarType.kInteger), float(lp.offset_),
        )

    def to_highs(self) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_ = int(self.col_cost.size)
        lp.num_row_ = int(self.row_lower.size)
        lp.col_cost_ = self.col_cost
        lp.col_lower_ = self.col_lower
        lp.col_upper_ = self.col_upper
        lp.row_lower_ = self.row_lower
        lp.row_upper_ = self.row_upper
        lp.offset_ = self.offset
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.start
        lp.a_matrix_.index_ = self.index
        lp.a_matrix_.value_ = self.value
        if self.integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in self.integer
            ]
        return lp


@dataclass
class MipAnswer:
    """What one MIP gave.

    Attributes:
        status: ``"optimal"``, ``"feasible"`` (a plan, not proven: time limit
            or stopped), ``"infeasible"``, ``"no_solution"`` or ``"error"``.
        col_value: the best plan's column values, None without a plan.
        objective: its objective (HiGHS' minimisation sense, offset included).
        dual_bound: HiGHS' dual bound (minimisation sense); ``-inf`` unknown.
        seconds: wall seconds from sending the model to the answer.
        stopped: the child overran and was killed, or died; the plan (if
            any) is the last improving one it streamed.
        row_dual: the row duals of an LP's solution (None for a MIP's).
        child_peak_mb: the worker's peak resident memory so far (MB), when
            the answer came from a worker.
        basis: an LP's optimal basis, when asked for (``want_basis``).
    """

    status: str
    col_value: FloatArray | None
    objective: float
    dual_bound: float
    seconds: float
    stopped: bool = False
    row_dual: FloatArray | None = None
    child_peak_mb: float = float("nan")
    basis: Basis | None = None


_STATUSES = np.array(
    sorted(highspy.HighsBasisStatus.__members__.values(), key=int), dtype=object
)


def _set_basis(h: highspy.Highs, basis: Basis) -> None:
    """Start HiGHS' simplex from ``basis`` (HiGHS then skips presolve)."""
    b = highspy.HighsBasis()
    b.col_status = _STATUSES[basis[0]].tolist()
    b.row_status = _STATUSES[basis[1]].tolist()
    b.valid = True
    h.setBasis(b)


def _get_basis(h: highspy.Highs) -> Basis:
    """HiGHS' current basis as status codes (small enough to pickle to a child)."""
    b = h.getBasis()
    return (np.array([int(v) for v in b.col_status], dtype=np.int8),
            np.array([int(v) for v in b.row_status], dtype=np.int8))


def solve_in_process(
    model: LpArrays | highspy.HighsLp,
    options: dict[str, Any],
    start: FloatArray | None = None,
    on_improving: Callable[[FloatArray, float], None] | None = None,
    basis: Basis | None = None,
    want_basis: bool = False,
) -> MipAnswer:
    """Solve a HiGHS model here and now; also the child's body.

    ``start`` (column values) warm-starts a MIP and ``basis`` an LP's
    simplex; ``on_improving(values, objective)`` is called with every
    improving plan HiGHS finds. ``want_basis`` returns an optimal LP's basis.
    """
    from sim.optimise.highs_backend import new_highs, run_interruptible

    t0 = time.perf_counter()
    lp = model.to_highs() if isinstance(model, LpArrays) else model
    h = new_highs()
    for name, value in options.items():
        h.setOptionValue(name, value)
    h.passModel(lp)
    if start is not None:
        sol0 = highspy.HighsSolution()
        sol0.col_value = start
        with contextlib.suppress(Exception):
            h.setSolution(sol0)
    if basis is not None:
        _set_basis(h, basis)
    if on_improving is not None:

        def relay(e: Any) -> None:
            on_improving(np.array(e.data_out.mip_solution, dtype=float),
                         float(e.data_out.objective_function_value))

        h.cbMipImprovingSolution.subscribe(relay)
    run_interruptible(h)
    ms = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == highspy.kSolutionStatusFeasible
    infeasible = (highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible)
    if ms in infeasible:
        status = "infeasible"
    elif has:
        status = "optimal" if ms == highspy.HighsModelStatus.kOptimal else "feasible"
    else:
        status = "no_solution" if ms == highspy.HighsModelStatus.kTimeLimit else "error"
    values = duals = None
    if has:
        solution = h.getSolution()
        values = np.asarray(solution.col_value, dtype=float)
        if not lp.integrality_:
            duals = np.asarray(solution.row_dual, dtype=float)
    bound = float(info.mip_dual_bound)
    return MipAnswer(
        status, values, float(info.objective_function_value) if has else float("nan"),
        bound if np.isfinite(bound) and abs(bound) < highspy.kHighsInf else -np.inf,
        time.perf_counter() - t0, row_dual=duals,
        basis=_get_basis(h) if want_basis and status == "optimal" else None,
    )


class MipWorker:
    """A child process that solves HiGHS MIPs one at a time (see the module doc).

    Use as a context manager, or call :meth:`close`. The child is started at
    once (it imports while the caller works) and again after each stop.
    """

    def __init__(self) -> None:
        self.stopped = 0  # MIPs stopped for overrunning
        self.crashed = 0  # MIPs whose child died before answering (replaced)
        self.peak_mb = 0.0  # largest peak resident memory a child reported (MB)
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._fresh = True  # the child has not answered yet: allow START_SECONDS
        self._sent_at = time.perf_counter()  # when the model in work was sent
        self._best: tuple[FloatArray, float] | None = None  # its last streamed plan
        self._start()

    def _start(self) -> None:
        """Start ``python -m sim.optimise.mip_worker`` (see :func:`start_python_child`)."""
        self._proc, self._conn = start_python_child(__name__)
        self._fresh = True

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _kill(self) -> None:
        if self._proc is not None and self._conn is not None:
            stop_child(self._proc, self._conn)
        self._proc = self._conn = None

    def _answered(self, answer: MipAnswer, seconds: float) -> MipAnswer:
        """The child's answer, timed from sending (s); its peak memory is noted."""
        answer.seconds = seconds
        if not np.isnan(answer.child_peak_mb):
            self.peak_mb = max(self.peak_mb, answer.child_peak_mb)
        return answer

    def close(self) -> None:
        """Stop the child (it is idle or busy with a MIP nobody waits for)."""
        self._kill()

    def __enter__(self) -> MipWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def solve(
        self, model: LpArrays, options: dict[str, Any], start: FloatArray | None, wait: float
    ) -> MipAnswer:
        """Send a model to the child and wait at most ``wait`` seconds for it.

        On a timeout (counted in :attr:`stopped`), or if the child dies
        (counted in :attr:`crashed`), the child is killed and the last
        improving plan it streamed (if any) is returned with ``stopped``; a
        fresh child is started for the next call.
        """
        self.submit(model, options, start)
        return self.answer(wait)

    def answer(self, wait: float) -> MipAnswer:
        """The answer to the model last submitted, waiting at most ``wait`` seconds
        (plus :data:`START_SECONDS` while the child has not answered yet: it may
        still be importing); on a timeout it is stopped as in :meth:`solve`."""
        answer = self.collect(wait + (START_SECONDS if self._fresh else 0.0))
        if answer is None:
            self.stopped += 1
            answer = self.abandon()
        return answer

    def submit(self, model: LpArrays, options: dict[str, Any],
               start: FloatArray | None = None, basis: Basis | None = None) -> None:
        """Send a model to the child and return at once (see :meth:`collect`).

        Lets the caller work on while the child solves: the decomposition
        sifts in this process while the child solves the whole LP (from
        ``basis``, if given).
        """
        if not self._alive():
            self._kill()
            self._start()
        assert self._conn is not None
        self._sent_at = time.perf_counter()
        self._best = None
        self._conn.send(("solve", model, options, start, basis))

    def collect(self, wait: float) -> MipAnswer | None:
        """The answer to the model last submitted, if it comes within ``wait`` s.

        Returns None when it has not come yet (the child works on; call again,
        or :meth:`abandon`); ``wait`` 0 only looks. If the child died (counted
        in :attr:`crashed`), returns its last streamed plan with ``stopped``
        and starts a fresh child.
        """
        assert self._conn is not None and self._proc is not None
        end = time.monotonic() + max(0.0, wait)
        try:
            while (message := receive_before(self._conn, self._proc, end)) is not None:
                self._fresh = False
                kind, payload = message
                if kind == "improving":
                    self._best = payload
                elif kind == "done":
                    return self._answered(payload, time.perf_counter() - self._sent_at)
                else:
                    self._kill()
                    raise RuntimeError(f"the MIP worker failed: {payload}")
        except ChildEnded as ended:
            if self._fresh:
                self._kill()
                raise RuntimeError(f"the MIP worker process ended before its first answer "
                                   f"(exit code {ended.exit_code})") from None
            self.crashed += 1
            return self.abandon()
        return None

    def abandon(self, restart: bool = True) -> MipAnswer:
        """Stop the model in work: kill the child, start a fresh one (``restart``),
        and return the last improving plan it streamed (``stopped``; no plan:
        ``no_solution``)."""
        self._kill()
        if restart:
            self._start()
        values, objective = self._best if self._best is not None else (None, float("nan"))
        return MipAnswer("feasible" if values is not None else "no_solution", values,
                         objective, -np.inf, time.perf_counter() - self._sent_at, stopped=True)


def _serve(conn: Connection) -> None:
    """The child: answer ``("solve", model, options, start, basis)`` until told to stop."""

    def improving(values: FloatArray, objective: float) -> None:
        conn.send(("improving", (values, objective)))

    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message[0] != "solve":
            return
        _, model, options, start, basis = message
        try:
            answer = solve_in_process(model, options, start, improving, basis)
            answer.child_peak_mb = peak_rss_mb()
            conn.send(("done", answer))
        except Exception as exc:  # reported to the parent, which raises
            with contextlib.suppress(OSError):
                conn.send(("error", f"{type(exc).__name__}: {exc}"))


def child_main(argv: list[str]) -> None:
    """Entry point of the child: ``python -m sim.optimise.mip_worker FD PARENT_PID``.

    It serves from the module imported under its own name, not from
    ``__main__``, so that the models it unpickles are of the same classes.
    """
    from sim.optimise import mip_worker

    mip_worker._serve(child_connection(argv))


_ACTIVE: ContextVar[MipWorker | None] = ContextVar("tenglong_mip_worker", default=None)


def active_worker() -> MipWorker | None:
    """The worker MIPs go to in this context, or None (solve in process)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def guarded_mips(enabled: bool) -> Iterator[MipWorker | None]:
    """Route this context's MIPs to a worker (``enabled``), reusing an active one."""
    current = _ACTIVE.get()
    if not enabled or current is not None:
        yield current
        return
    with MipWorker() as worker:
        token = _ACTIVE.set(worker)
        try:
            yield worker
        finally:
            _ACTIVE.reset(token)


if __name__ == "__main__":
    child_main(sys.argv)
