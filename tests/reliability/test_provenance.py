"""Provenance: each result file says what produced it, and the same inputs give the same result."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import xarray as xr
from reliability_support import call_cli, small_scenario

pytest.importorskip("sim.optimise.solve", reason="sim.optimise.solve has not landed yet")

from sim.data.register import save_register
from sim.data.synthetic import generate_population
from sim.results.manifest import BUILD_INFO, git_commit
from sim.run import run_scenario, write_outputs

# Manifest entries that legitimately differ between two runs of the same inputs.
VOLATILE = ("created_utc", "timings_s", "command", "git_commit")

# A plain MIP stopped by its gap (1%), never by the clock, so that two runs are comparable:
# HiGHS is deterministic for a given problem and thread count.
FAST = {"method": "mip", "gap": 0.01, "time_limit_s": 600}


def _stable(manifest: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in manifest.items() if k not in VOLATILE}
    out["solver"] = {k: v for k, v in manifest["solver"].items() if "time" not in k}
    return out


def test_same_inputs_give_identical_results(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path, n=800, **FAST)
    a = run_scenario(scenario).dataset
    b = run_scenario(scenario).dataset
    assert a.attrs["status"] == "optimal", a.attrs["status"]  # stopped by the gap
    # decisions, effects, KPIs, totals, duals: every variable and coordinate
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    attrs_a = {k: v for k, v in a.attrs.items() if k != "manifest"}
    attrs_b = {k: v for k, v in b.attrs.items() if k != "manifest"}
    assert attrs_a == attrs_b
    assert _stable(json.loads(a.attrs["manifest"])) == _stable(json.loads(b.attrs["manifest"]))


def test_manifest_is_complete_and_shown(tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    save_register(generate_population(500, 5), register)
    scenario = small_scenario(tmp_path, n=500, **FAST)
    text = scenario.read_text(encoding="utf-8")
    # a register file relative to the scenario file, under `population:`
    text = text.replace("population:\n", "population:\n  register_file: register.csv\n")
    text += "targets: {tax_per_mu_wan: null}\n"  # this small register cannot reach 45万/mu
    scenario.write_text(text, encoding="utf-8")
    outcome = run_scenario(scenario)
    paths = write_outputs(outcome, tmp_path / "out")
    manifest = json.loads(xr.open_dataset(paths["result"], engine="h5netcdf").attrs["manifest"])

    digest = hashlib.sha256(register.read_bytes()).hexdigest()
    assert manifest["inputs"]["register_sha256"] == digest
    assert manifest["inputs"]["register"] == str(register.resolve())
    assert manifest["scenario"]["targets"]["land_freed_mu"] == 20000  # resolved from the parent
    effective = manifest["scenario_effective"]
    assert effective["population"]["synthetic"]["n"] == 500
    assert effective["solver"]["verify_tolerance"] == 1e-6  # a default, recorded too
    assert manifest["scenario_file"] == str(scenario.resolve())
    assert manifest["versions"]["tenglong"] and manifest["versions"]["highspy"]
    assert manifest["solver"]["name"] and manifest["solver"]["version"]
    assert "options" in manifest["solver"]
    assert manifest["status"]["status"] in ("optimal", "feasible")
    assert {"population_s", "total_s"} <= set(manifest["timings_s"])
    assert "git_commit" in manifest  # None outside a checkout
    assert effective["seed"] == 2021

    shown = call_cli("show", paths["result"])
    assert shown.code == 0, shown.output
    for needle in (digest, "created_utc", "git_commit", "version tenglong", "solver name",
                   "solver version", "status status", "time total_s", "seed 2021"):
        assert needle in shown.stdout, (needle, shown.stdout)
    as_json = call_cli("show", paths["result"], "--json")
    assert json.loads(as_json.stdout) == manifest


def test_an_installed_copy_knows_its_source_commit(tmp_path: Path) -> None:
    """A ``pip install .`` leaves no ``.git`` beside the package: the build records the commit."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        pytest.skip("not running from a git checkout")
    # pyproject.toml gives its licence as an SPDX expression, which setuptools reads from 77 on
    pytest.importorskip(
        "setuptools", minversion="77", reason="building the package needs setuptools>=77"
    )
    built = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "-d", str(built)],
        cwd=root, capture_output=True, text=True, check=True,
    )
    recorded = json.loads((built / "sim" / BUILD_INFO).read_text(encoding="utf-8"))
    assert recorded["git_commit"] == git_commit()  # the checkout's HEAD (+dirty)

    env = {**os.environ, "PYTHONPATH": str(built)}
    probe = "import sim; from sim.results import manifest as m; print(sim.__file__, m.git_commit())"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env,
        capture_output=True, text=True, check=True,
    )
    where, commit = done.stdout.split()
    assert Path(where).is_relative_to(built)  # the built copy, not the checkout
    assert commit == recorded["git_commit"]
