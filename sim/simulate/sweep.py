"""Parameter sweeps run in parallel on dask.distributed, stored incrementally, resumable.

A scenario's ``sweep:`` block names dotted scenario paths and their values:

* ``mode: grid``: every combination of the listed values (the first path
  varies slowest);
* ``mode: random``: ``samples`` members, each path drawn uniformly in its
  ``[low, high]`` (seed ``sweep.seed``; integers stay integers).

Each *member* is the scenario with its values set, solved end to end by
:func:`sim.run.run_scenario`. Members run on a dask ``LocalCluster`` by default
(``workers`` processes of one thread), on an existing cluster given its
scheduler address, or in this process (``scheduler="serial"``). A member's
result is small (KPIs, objective, status, gap, action counts); the client
writes it atomically to ``<store>/member-NNNN.nc`` as soon as it finishes,
tagged with a key hashing the member's full scenario. A rerun skips members
whose file exists with the same key, so an interrupted sweep resumes without
redoing finished members; the merged Dataset (dimension ``member``, with a
``scenario`` label per member) is written atomically at the end.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.errors import InfeasibleError, InputError, ScenarioError, TenglongError
from sim.results.atomic import atomic_path
from sim.scenario.schema import Scenario

KPI_NAMES = (
    "land_freed_mu",
    "energy_saved_tce",
    "co2_cut_t",
    "firms_rectified",
    "tax_per_mu_wan",
    "va_per_mu_wan",
    "labour_productivity_wan",
    "energy_intensity_reduction",
    "public_cost_wan",
    "jobs_lost",
    "private_capex_wan",
    "projects_admitted",
)
ACTIONS = ("keep", "exit", "merge", "relocate", "upgrade", "admit")
MemberCallback = Callable[[int, xr.Dataset], None]


# ----------------------------------------------------------------------------- members
def sweep_members(scenario: Scenario) -> list[dict[str, Any]]:
    """The members of a scenario's sweep: one ``{dotted path: value}`` per member."""
    sweep = scenario.sweep
    if sweep is None or not sweep.parameters:
        raise ScenarioError(f"scenario '{scenario.name}' has no sweep: block with parameters.")
    paths = list(sweep.parameters)
    if sweep.mode == "grid":
        for path, values in sweep.parameters.items():
            if not values:
                raise ScenarioError(f"sweep.parameters.{path}: give at least one value.")
        return [dict(zip(paths, combo, strict=True))
                for combo in itertools.product(*sweep.parameters.values())]
    rng = np.random.default_rng(sweep.seed)
    draws: dict[str, list[Any]] = {}
    for path, bounds in sweep.parameters.items():
        if len(bounds) != 2 or not all(isinstance(b, int | float) for b in bounds):
            raise ScenarioError(
                f"sweep.parameters.{path}: mode random needs [low, high], got {bounds}.")
        low, high = bounds
        if isinstance(low, int) and isinstance(high, int):
            draws[path] = rng.integers(low, high + 1, sweep.samples).tolist()
        else:
            draws[path] = rng.uniform(float(low), float(high), sweep.samples).tolist()
    return [{p: draws[p][k] for p in paths} for k in range(sweep.samples)]


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[a][b][0][c] = value`` for ``path = "a.b.0.c"`` (lists by index)."""
    parts = path.split(".")
    holder: Any = data
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(holder, list):
            if not part.isdigit() or int(part) >= len(holder):
                raise ScenarioError(f"sweep: '{path}': '{part}' is not an index of a "
                                    f"{len(holder)}-item list.")
            if last:
                holder[int(part)] = value
            else:
                holder = holder[int(part)]
        elif isinstance(holder, dict):
            if last:
                holder[part] = value
            else:
                if holder.get(part) is None:
                    holder[part] = {}
                holder = holder[part]
        else:
            raise ScenarioError(f"sweep: '{path}': '{'.'.join(parts[:k])}' is not a section.")


def member_scenario(base: dict[str, Any], overrides: dict[str, Any]) -> Scenario:
    """Validate the base scenario data with ``overrides`` applied; errors name the member."""
    from pydantic import ValidationError

    data = copy.deepcopy(base)
    for path, value in overrides.items():
        set_path(data, path, value)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [f"at {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError(f"sweep member {overrides}: invalid scenario", problems) from None


def member_key(base: dict[str, Any], overrides: dict[str, Any], options: dict[str, Any]) -> str:
    """SHA-256 of everything a member's result depends on."""
    text = json.dumps({"scenario": base, "overrides": overrides, "options": options},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_member(
    base: dict[str, Any],
    overrides: dict[str, Any],
    *,
    n_firms: int | None = None,
    method: str | None = None,
    time_limit: float | None = None,
) -> xr.Dataset:
    """Solve one member; a small Dataset over ``kpi``, ``action`` and ``parameter``.

    Targets that cannot be met give status ``infeasible`` (KPIs NaN) and any
    other user error status ``error``, with the message in ``message``.
    """
    from sim.run import run_scenario

    started = time.perf_counter()
    achieved = np.full(len(KPI_NAMES), np.nan)
    target = np.full(len(KPI_NAMES), np.nan)
    met = np.zeros(len(KPI_NAMES), dtype=bool)
    counts = np.zeros(len(ACTIONS), dtype=np.int64)
    objective = gap = solve_s = float("nan")
    message = ""
    try:
        scenario = member_scenario(base, overrides)
        outcome = run_scenario(scenario, n_firms=n_firms, method=method, time_limit=time_limit)
        status = outcome.solution.status
        objective, gap = float(outcome.solution.objective), float(outcome.solution.gap)
        solve_s = float(outcome.model.timings.get("solve_s", np.nan))
        by_name = {k.name: k for k in outcome.kpis}
        for i, name in enumerate(KPI_NAMES):
            if name in by_name:
                kpi = by_name[name]
                achieved[i] = kpi.achieved
                target[i] = np.nan if kpi.target is None else kpi.target
                met[i] = kpi.met
        kinds = outcome.model.options.slot_kinds[outcome.solution.choice]
        counts = np.array([(kinds == a).sum() for a in ACTIONS], dtype=np.int64)
    except InfeasibleError as exc:
        status, message = "infeasible", str(exc)
    except TenglongError as exc:
        status, message = "error", str(exc)
    values = [np.nan if v is None else float(v) for v in overrides.values()]
    return xr.Dataset(
        {
            "status": xr.Variable((), status),
            "message": xr.Variable((), message),
            "objective": xr.Variable((), objective),
            "gap": xr.Variable((), gap),
            "kpi_achieved": ("kpi", achieved),
            "kpi_target": ("kpi", target),
            "kpi_met": ("kpi", met),
            "action_count": ("action", counts),
            "parameter_value": ("parameter", np.asarray(values, dtype=float)),
            "solve_s": xr.Variable((), solve_s, {"units": "s"}),
            "member_s": xr.Variable((), time.perf_counter() - started, {"units": "s"}),
        },
        coords={"kpi": list(KPI_NAMES), "action": list(ACTIONS),
                "parameter": list(overrides)},
    )


# ----------------------------------------------------------------------------- storage
def member_path(store: Path, index: int) -> Path:
    """File of member ``index`` in ``store``."""
    return store / f"member-{index:04d}.nc"


def _write_member(ds: xr.Dataset, path: Path, index: int, key: str) -> None:
    ds = ds.copy()
    ds.attrs = {"member": index, "member_key": key}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")


def _read_member(path: Path, key: str) -> xr.Dataset | None:
    """A finished member's Dataset, or None when absent, unreadable or stale."""
    from sim.results.dataset import open_netcdf

    try:
        ds = open_netcdf(path, "sweep member")
    except InputError:
        return None
    return ds if ds.attrs.get("member_key") == key else None


# ----------------------------------------------------------------------------- running
@contextmanager
def _client(scheduler: str | None, workers: int, processes: bool,
            cluster_kwargs: dict[str, Any] | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler is not None:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    # ":0": the scheduler's HTTP endpoint takes a free port. With None it tries
    # 8787 first, and when that is busy (a dask dashboard of the user's own)
    # distributed leaks the socket of the failed attempt (a ResourceWarning).
    kwargs: dict[str, Any] = {"n_workers": workers, "threads_per_worker": 1,
                              "processes": processes, "dashboard_address": ":0"}
    kwargs.update(cluster_kwargs or {})
    with _ignore_sigint_in_children():
        cluster = LocalCluster(**kwargs)
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def _ignore_sigint_in_children() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (the disposition survives their exec).

    A terminal's Ctrl-C reaches the whole process group: without this every dask
    worker printed its own KeyboardInterrupt traceback while this process was
    already stopping the sweep and closing the cluster.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_sweep(
    scenario_path: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int = 2,
    store: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    n_firms: int | None = None,
    method: str | None = None,
    time_limit: float | None = None,
    processes: bool = True,
    cluster_kwargs: dict[str, Any] | None = None,
    on_member: MemberCallback | None = None,
) -> xr.Dataset:
    """Run a scenario's sweep; return (and write) one Dataset over ``member``.

    Args:
        scenario_path: a scenario file with a ``sweep:`` block.
        scheduler: ``None`` = a new ``LocalCluster`` of ``workers`` workers;
            ``"serial"`` = in this process, one member after another; else the
            address of an existing dask scheduler (``tcp://host:8786``).
        workers: LocalCluster workers (one thread each).
        store: folder of the per-member files (default
            ``results/<name>-sweep.members``, beside ``out``).
        out: merged result file (default ``results/<name>-sweep.nc``).
        progress: show a progress bar (rich) on stderr.
        n_firms, method, time_limit: passed to every member's run.
        processes: LocalCluster workers as processes (True) or threads.
        cluster_kwargs: extra ``LocalCluster`` arguments (e.g. ``preload``).
        on_member: called in this process with ``(index, dataset)`` after each
            newly computed member is stored (an exception here stops the sweep;
            finished members stay stored).

    Returns:
        Variables ``status``, ``message``, ``objective``, ``gap``,
        ``kpi_achieved(member, kpi)``, ``kpi_target``, ``kpi_met``,
        ``action_count(member, action)``, ``parameter_value(member, parameter)``,
        ``solve_s``, ``member_s``; coordinate ``scenario(member)`` naming each
        member. attrs: ``members_computed`` / ``members_resumed`` (indices) of
        this call, ``scheduler``.
    """
    from sim.pipeline import load_scenario

    scenario, _ = load_scenario(scenario_path)
    members = sweep_members(scenario)
    base = scenario.model_dump(mode="json")
    base["sweep"] = None
    base.pop("source_file", None)
    for overrides in members:  # fail early on a bad path or value
        member_scenario(base, overrides)
    out_path = Path(out) if out is not None else Path("results") / f"{scenario.name}-sweep.nc"
    store_path = (Path(store) if store is not None
                  else out_path.with_name(f"{scenario.name}-sweep.members"))
    store_path.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"n_firms": n_firms, "method": method, "time_limit": time_limit}
    keys = [member_key(base, m, options) for m in members]

    results: dict[int, xr.Dataset] = {}
    for i, key in enumerate(keys):
        done = _read_member(member_path(store_path, i), key)
        if done is not None:
            results[i] = done
    resumed = sorted(results)
    pending = [i for i in range(len(members)) if i not in results]
    computed: list[int] = []

    def finish(i: int, ds: xr.Dataset) -> None:
        _write_member(ds, member_path(store_path, i), i, keys[i])
        results[i] = ds
        computed.append(i)
        if on_member is not None:
            on_member(i, ds)

    with _progress_bar(progress, len(members), len(resumed), scenario.name) as advance:
        if scheduler == "serial":
            for i in pending:
                finish(i, run_member(base, members[i], **options))
                advance()
        elif pending:
            from distributed import as_completed

            with _client(scheduler, workers, processes, cluster_kwargs) as client:
                futures = {
                    client.submit(run_member, base, members[i], **options,
                                  key=f"{scenario.name}-member-{i}-{keys[i][:12]}"): i
                    for i in pending
                }
                try:
                    for future in as_completed(list(futures)):
                        finish(futures[future], future.result())
                        advance()
                finally:
                    client.cancel(list(futures))

    merged = merge_members([results[i] for i in range(len(members))], scenario.name)
    merged.attrs.update(
        members_computed=json.dumps(sorted(computed)),
        members_resumed=json.dumps(resumed),
        scheduler=scheduler or f"LocalCluster({workers})",
        sweep=json.dumps(scenario.sweep.model_dump() if scenario.sweep else {}, default=str),
    )
    from sim.results.manifest import build_manifest, to_json

    # provenance, as in every result file (`tenglong show` reads it)
    merged.attrs["manifest"] = to_json(build_manifest(
        scenario=scenario.model_dump(mode="json"),
        scenario_file=str(Path(scenario_path).resolve()),
        inputs={"member_keys": json.dumps(keys)},
        solver={k: v for k, v in options.items() if v is not None},
        timings={},
        status={"members": len(members), "computed": sorted(computed), "resumed": resumed},
    ))
    with atomic_path(out_path) as tmp:
        merged.to_netcdf(tmp, engine="h5netcdf")
    return merged


def merge_members(datasets: list[xr.Dataset], name: str) -> xr.Dataset:
    """Concatenate member Datasets along ``member`` with a ``scenario`` label each."""
    clean = []
    for ds in datasets:
        ds = ds.copy()
        ds.attrs = {}
        clean.append(ds)
    merged = xr.concat(clean, dim="member", data_vars="all", coords="minimal",
                       compat="override", join="outer")
    n = len(datasets)
    merged = merged.assign_coords(member=np.arange(n),
                                  scenario=("member", [f"{name}#{i:03d}" for i in range(n)]))
    merged.attrs = {"title": f"tenglong sweep: {name}", "scenario": name}
    return merged


@contextmanager
def _progress_bar(show: bool, total: int, done: int, name: str) -> Iterator[Callable[[], None]]:
    if not show:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task(f"sweep {name}", total=total, completed=done)
        yield lambda: bar.advance(task)
