"""Ctrl-C during a file write or read is held until the file is whole, then stops the run.

Regression: a CI run's sweep was interrupted while the main process wrote a
member file. The CLI's ``Interrupted`` was raised inside h5netcdf's ``File``
constructor, and the half-built object's finaliser printed "Exception ignored
... Traceback ... 'File' object has no attribute '_closed'".
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import h5netcdf
import numpy as np
import pytest
import xarray as xr

from sim.cli import Interrupted, _signals_interrupt
from sim.data.register import load_register, save_register
from sim.data.synthetic import generate_population
from sim.interrupts import signals_held
from sim.results.atomic import atomic_path
from sim.results.dataset import open_netcdf


class Stop(Exception):
    """What this file's SIGINT handler raises (the CLI raises ``Interrupted``)."""


@pytest.fixture
def sigint_raises_stop() -> Iterator[None]:
    def raise_stop(signum: int, frame: FrameType | None) -> None:
        raise Stop(signum)

    previous = signal.signal(signal.SIGINT, raise_stop)
    yield
    signal.signal(signal.SIGINT, previous)


def ctrl_c() -> None:
    """Send SIGINT to this process; Python runs its handler before the next line."""
    os.kill(os.getpid(), signal.SIGINT)


def small_dataset() -> xr.Dataset:
    return xr.Dataset({"x": ("firm", np.arange(5.0))}, attrs={"manifest": "{}"})


def test_ctrl_c_during_a_write_stops_after_the_file_is_in_place(
    tmp_path: Path, sigint_raises_stop: None,
) -> None:
    target = tmp_path / "result.nc"
    reached_end_of_write = False
    with pytest.raises(Stop), atomic_path(target) as tmp:
        ctrl_c()
        small_dataset().to_netcdf(tmp, engine="h5netcdf")
        reached_end_of_write = True
    assert reached_end_of_write
    with xr.open_dataset(target, engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["x"].values, np.arange(5.0))
    assert [p.name for p in tmp_path.iterdir()] == ["result.nc"]


def test_a_second_ctrl_c_abandons_the_write(tmp_path: Path, sigint_raises_stop: None) -> None:
    target = tmp_path / "result.nc"
    target.write_text("old complete result")
    written_after_second = False
    with pytest.raises(Stop), atomic_path(target) as tmp:
        tmp.write_text("half of a new res")
        ctrl_c()
        ctrl_c()
        written_after_second = True
    assert not written_after_second
    assert target.read_text() == "old complete result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.nc"]


def test_handlers_are_restored_and_an_error_in_the_block_wins(sigint_raises_stop: None) -> None:
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(RuntimeError, match="disk full"), signals_held() as caught:
        ctrl_c()
        assert caught == [int(signal.SIGINT)]
        raise RuntimeError("disk full")
    assert signal.getsignal(signal.SIGINT) is handler
    with signals_held() as caught:  # nothing held, nothing delivered
        pass
    assert caught == []


def test_nested_holds_deliver_once_at_the_outer_end(sigint_raises_stop: None) -> None:
    steps: list[str] = []
    with pytest.raises(Stop), signals_held():
        with signals_held():
            ctrl_c()
            steps.append("inner")
        steps.append("outer")
    assert steps == ["inner", "outer"]


def test_outside_the_main_thread_nothing_is_held(sigint_raises_stop: None) -> None:
    seen: list[Any] = []

    def in_thread() -> None:
        with signals_held() as caught:
            seen.append((signal.getsignal(signal.SIGINT), list(caught)))

    handler = signal.getsignal(signal.SIGINT)
    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    assert seen == [(handler, [])]


@pytest.mark.parametrize("operation", ["write", "read", "register"])
def test_cli_interrupt_inside_h5netcdf_leaves_no_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], operation: str,
) -> None:
    target = tmp_path / "member-0000.nc"
    if operation == "read":
        small_dataset().to_netcdf(target, engine="h5netcdf")
    if operation == "register":
        target = save_register(generate_population(50, seed=1), tmp_path / "register.nc")
    with pytest.MonkeyPatch.context() as patch:
        original = h5netcdf.File.__init__

        def interrupted_init(self: h5netcdf.File, *args: Any, **kwargs: Any) -> None:
            ctrl_c()
            original(self, *args, **kwargs)

        patch.setattr(h5netcdf.File, "__init__", interrupted_init)
        with pytest.raises(Interrupted), _signals_interrupt():
            if operation == "write":
                with atomic_path(target) as tmp:
                    small_dataset().to_netcdf(tmp, engine="h5netcdf")
            elif operation == "read":
                open_netcdf(target, "result file")
            else:
                load_register(target)
    gc.collect()  # the finaliser of a half-built File would print its traceback now
    assert "Traceback" not in capfd.readouterr().err
    if operation == "register":
        return
    with xr.open_dataset(target, engine="h5netcdf") as ds:  # the write finished
        np.testing.assert_array_equal(ds["x"].values, np.arange(5.0))
