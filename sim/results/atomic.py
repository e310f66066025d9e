"""Write files so that a failed or interrupted run leaves nothing half-written.

Every result file is written to a temporary file in the same folder and
renamed into place only when complete (``os.replace`` is atomic on POSIX).

The temporary file is ``.<name>.<pid>-<random>.partial``: hidden, never the
result's name, and removed on any exception. Only a hard kill (SIGKILL, power
loss) can leave one behind; the next write of the same target removes the
partials whose writing process no longer exists.

Ctrl-C (SIGINT) or SIGTERM during a write is held until the file is complete
and in place, and then stops the run: a write cut at an arbitrary line left a
half-built h5netcdf ``File`` whose finaliser printed a traceback. A second
Ctrl-C during the same write stops at once, and the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from sim.interrupts import signals_held

PARTIAL_SUFFIX = ".partial"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _umask()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_partials(target: str | Path) -> list[Path]:
    """Remove ``target``'s temporary files left by processes that no longer run.

    Returns the removed paths. Partials of a live process (a concurrent
    writer) and files of any other name are left alone.
    """
    target = Path(target)
    prefix = f".{target.name}."
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(PARTIAL_SUFFIX)) or not entry.is_file():
            continue
        pid_text = name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()
            removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it to ``target`` on success.

    On any exception (including ``KeyboardInterrupt``) the temporary file is
    removed and ``target`` is left exactly as it was. SIGINT / SIGTERM arriving
    during the block are delivered after the rename (see the module's docstring).
    Stale temporary files of the same target from killed processes are removed
    first.

    Example::

        with atomic_path("results/x.nc") as tmp:
            dataset.to_netcdf(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target)
    # The name is fixed before the file exists, so that an interrupt arriving at any
    # point after its creation finds the cleanup below armed (with mkstemp, Ctrl-C
    # right after the file was made left it behind).
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(6)}{PARTIAL_SUFFIX}"
    with signals_held(second_passes=True):
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            yield tmp
            # the permissions a plain open() gives, whatever the writer did to the temporary
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, 0o666 & ~_UMASK)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
