"""Sweeps: serial equals distributed (dask LocalCluster), interrupted sweeps resume."""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import xarray as xr

from sim.errors import ScenarioError
from sim.simulate import sweep as sweep_module
from sim.simulate.sweep import run_sweep, set_path, sweep_members

SWEEP_BLOCK = """\
sweep:
  mode: grid
  parameters:
    limits.budget_wan: [300000, 2000000]
    targets.land_freed_mu: [15000, 30000]
"""
TIMING = ["solve_s", "member_s"]


@pytest.fixture(scope="module")
def sweep_text(small_yaml: Path) -> str:
    """A 300-firm scenario with a 2 × 2 sweep over budget and land target (members < 1 s)."""
    text = small_yaml.read_text(encoding="utf-8")
    text = text.replace("name: small", "name: small-sweep").replace("n: 600", "n: 300")
    text = text.replace("targets: {tax_per_mu_wan: 40}",
                        "targets: {tax_per_mu_wan: 40, district_split: {mode: none}}")
    return text + SWEEP_BLOCK


@pytest.fixture(scope="module")
def sweep_yaml(sweep_text: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "small-sweep.yaml"
    path.write_text(sweep_text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def serial(sweep_yaml: Path, tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    out = tmp_path_factory.mktemp("serial")
    return run_sweep(sweep_yaml, scheduler="serial", out=out / "s.nc", progress=False)


def _comparable(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.drop_vars(TIMING)
    ds.attrs = {}
    return ds


def test_members_grid_and_random(sweep_yaml: Path) -> None:
    from sim.pipeline import load_scenario

    scenario, _ = load_scenario(sweep_yaml)
    members = sweep_members(scenario)
    assert members[1] == {"limits.budget_wan": 300000, "targets.land_freed_mu": 30000}
    assert len(members) == 4
    assert scenario.sweep is not None
    scenario.sweep.mode = "random"
    scenario.sweep.samples = 5
    scenario.sweep.parameters = {"limits.budget_wan": [500000, 2000000],
                                 "phasing.trajectories.project_lag_years": [0, 2]}
    random = sweep_members(scenario)
    assert len(random) == 5 and random == sweep_members(scenario)
    assert all(500000 <= m["limits.budget_wan"] <= 2000000 for m in random)
    assert all(isinstance(m["phasing.trajectories.project_lag_years"], int) for m in random)
    data: dict[str, Any] = {"actions": {"upgrade": {"levels": [{"a": 1}, {"a": 2}]}}}
    set_path(data, "actions.upgrade.levels.1.a", 5)
    assert data["actions"]["upgrade"]["levels"][1]["a"] == 5
    with pytest.raises(ScenarioError, match="not an index"):
        set_path(data, "actions.upgrade.levels.9.a", 5)


def test_serial_result_layout(serial: xr.Dataset) -> None:
    assert serial.sizes["member"] == 4
    assert serial["scenario"].values.tolist() == [f"small-sweep#{i:03d}" for i in range(4)]
    assert serial["status"].values.tolist() == ["infeasible", "infeasible", "optimal", "optimal"]
    assert "cannot all be met" in str(serial["message"].values[1])
    assert serial["parameter_value"].sel(parameter="targets.land_freed_mu").values.tolist() == [
        15000, 30000, 15000, 30000]
    solved = serial["status"].isin(["optimal", "feasible"]).values
    assert solved.any()
    counts = serial["action_count"].sum("action").values[solved]
    assert (counts == counts[0]).all()  # every unit takes exactly one option
    assert json.loads(serial.attrs["members_computed"]) == [0, 1, 2, 3]


@pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")
def test_distributed_equals_serial(sweep_yaml: Path, serial: xr.Dataset, tmp_path: Path) -> None:
    # dask's default dashboard port is taken, as by an analyst's own dask session:
    # the sweep's cluster must not trip over it (no leaked-socket warning)
    with socket.socket() as busy:
        with contextlib.suppress(OSError):  # already taken by someone else: same test
            busy.bind(("0.0.0.0", 8787))
            busy.listen()
        ds = run_sweep(sweep_yaml, workers=2, processes=True, out=tmp_path / "d.nc",
                       progress=False)
    xr.testing.assert_identical(_comparable(ds), _comparable(serial))
    assert ds.attrs["scheduler"] == "LocalCluster(2)"
    stored = xr.load_dataset(tmp_path / "d.nc", engine="h5netcdf")
    xr.testing.assert_identical(_comparable(stored), _comparable(serial))


class Stop(Exception):
    pass


def test_resume_after_interruption(sweep_yaml: Path, serial: xr.Dataset, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "members"
    done: list[int] = []

    def stop_after_two(index: int, ds: xr.Dataset) -> None:
        done.append(index)
        if len(done) == 2:
            raise Stop

    with pytest.raises(Stop):
        run_sweep(sweep_yaml, scheduler="serial", store=store, out=tmp_path / "r.nc",
                  progress=False, on_member=stop_after_two)
    assert not (tmp_path / "r.nc").exists()
    files = sorted(store.glob("member-*.nc"))
    assert [f.name for f in files] == ["member-0000.nc", "member-0001.nc"]
    stamps = {f: f.stat().st_mtime_ns for f in files}

    calls: list[dict[str, Any]] = []
    real = sweep_module.run_member

    def counting(base: dict[str, Any], overrides: dict[str, Any], **kw: Any) -> xr.Dataset:
        calls.append(overrides)
        return real(base, overrides, **kw)

    monkeypatch.setattr(sweep_module, "run_member", counting)
    resumed = run_sweep(sweep_yaml, scheduler="serial", store=store, out=tmp_path / "r.nc",
                        progress=False)
    assert len(calls) == 2  # only the two unfinished members were solved
    assert json.loads(resumed.attrs["members_resumed"]) == [0, 1]
    assert json.loads(resumed.attrs["members_computed"]) == [2, 3]
    assert {f: f.stat().st_mtime_ns for f in files} == stamps
    xr.testing.assert_identical(_comparable(resumed), _comparable(serial))


@pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
def test_distributed_interruption_resumes(sweep_yaml: Path, serial: xr.Dataset,
                                          tmp_path: Path) -> None:
    store = tmp_path / "members"
    first: list[int] = []

    def stop(index: int, ds: xr.Dataset) -> None:
        first.append(index)
        raise Stop

    with pytest.raises(Stop):
        run_sweep(sweep_yaml, workers=2, processes=True, store=store,
                  out=tmp_path / "x.nc", progress=False, on_member=stop)
    assert len(list(store.glob("member-*.nc"))) >= 1
    resumed = run_sweep(sweep_yaml, workers=2, processes=True, store=store,
                        out=tmp_path / "x.nc", progress=False)
    assert first[0] in json.loads(resumed.attrs["members_resumed"])
    assert first[0] not in json.loads(resumed.attrs["members_computed"])
    xr.testing.assert_identical(_comparable(resumed), _comparable(serial))


def test_stale_member_files_are_recomputed(sweep_yaml: Path, sweep_text: str,
                                           serial: xr.Dataset, tmp_path: Path) -> None:
    """A member file of an edited scenario (other key) is not reused."""
    store = tmp_path / "members"
    edited = tmp_path / "edited.yaml"
    edited.write_text(sweep_text.replace("tax_per_mu_wan: 40", "tax_per_mu_wan: 39"),
                      encoding="utf-8")
    run_sweep(edited, scheduler="serial", store=store, out=tmp_path / "e.nc", progress=False)
    again = run_sweep(sweep_yaml, scheduler="serial", store=store, out=tmp_path / "f.nc",
                      progress=False)
    assert json.loads(again.attrs["members_resumed"]) == []
    xr.testing.assert_identical(_comparable(again), _comparable(serial))
