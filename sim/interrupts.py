"""Hold Ctrl-C (SIGINT) and SIGTERM over a stretch of code, then deliver them.

The CLI turns these signals into an exception raised in the main thread at
whatever Python line runs when they arrive. Two kinds of code must not be cut
at an arbitrary line:

- a file being written or read: an exception inside a library's constructor
  (h5netcdf's ``File``) leaves a half-built object whose finaliser later prints
  an "Exception ignored ... Traceback" of its own;
- HiGHS' ``run()``: an exception raised in its callbacks is swallowed, and the
  interrupt is lost.

:func:`signals_held` records such signals instead, and afterwards calls the
original handler, in ordinary Python code, so the run stops as usual.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_HELD = (int(signal.SIGINT), int(signal.SIGTERM))


@contextmanager
def signals_held(*, second_passes: bool = False) -> Iterator[list[int]]:
    """Record SIGINT / SIGTERM during the block; deliver the first one when it ends.

    Yields the list of signals recorded so far (HiGHS' interrupt callback reads it).
    With ``second_passes``, a second signal during the block goes to the original
    handler at once: a user who presses Ctrl-C again does not wait for a long write.

    Only signals with a Python handler are held (SIGTERM with its default action
    still ends the process at once), and only in the main thread, the one Python
    delivers signals to.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous: dict[int, Any] = {}

    def record(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)
        if second_passes and len(caught) > 1:
            previous[signum](signum, frame)

    for sig in _HELD:
        if callable(signal.getsignal(sig)):
            previous[sig] = signal.signal(sig, record)
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        previous[caught[0]](caught[0], None)
