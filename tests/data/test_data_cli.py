"""`tenglong generate` and `tenglong evaluate` end to end (subprocess)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tenglong", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    out = _run("generate", "--n", "500", "--seed", "3", "-o", "pop.csv", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert "above-scale VA" in out.stdout and "wrote pop.csv" in out.stdout
    return folder / "pop.csv"


def test_generate_writes_register(population: Path) -> None:
    df = pd.read_csv(population)
    assert len(df) == 500 and df["id"].is_unique and (df["land_mu"] >= 5).all()


def test_evaluate_csv_to_table(population: Path) -> None:
    out = _run("evaluate", population, "-o", "table.csv", cwd=population.parent)
    assert out.returncode == 0, out.stderr
    for text in ("A", "高耗低效 candidates", "mu", "tce", "CO2"):
        assert text in out.stdout
    table = pd.read_csv(population.parent / "table.csv")
    assert len(table) == 500
    assert {"score", "muni_class", "candidate", "flag_intensity"} <= set(table.columns)


def test_evaluate_netcdf_with_overrides(tmp_path: Path) -> None:
    assert _run("generate", "--n", "500", "-o", "pop.nc", cwd=tmp_path).returncode == 0
    (tmp_path / "o.yaml").write_text("class_shares: {A: 0.3, B: 0.3}\n", encoding="utf-8")
    out = _run("evaluate", "pop.nc", "--config", "o.yaml", "-o", "ev.parquet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    table = pd.read_parquet(tmp_path / "ev.parquet")
    assert (table["muni_class"] == "A").mean() == pytest.approx(0.3, abs=0.01)


def test_user_errors_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,district,sector,land_mu\nA,萧山,C3l,-1\n", encoding="utf-8")
    out = _run("evaluate", bad, cwd=tmp_path)
    assert out.returncode == 2
    assert "column 'energy_tce' is missing" in out.stderr and "did you mean 'C31'" in out.stderr
    assert "Traceback" not in out.stderr
    out = _run("generate", "--n", "5", "-o", "x.txt", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    (tmp_path / "o.yaml").write_text("class_shars: {A: 0.3}\n", encoding="utf-8")
    out = _run("evaluate", bad, "--config", "o.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "did you mean 'class_shares'" in out.stderr
