"""benchmarks/run_benchmarks.py end to end on a small instance: records, table and provenance."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.run_benchmarks import main


def test_benchmark_script_records_both_methods_and_the_commit(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    argv = ["--instance", "random", "--sizes", "300", "--methods", "decomposition", "mip",
            "--time-limit", "60", "--out", str(out)]
    assert main(argv) == 0
    with (out / "results.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["method"] for r in rows] == ["decomposition", "mip"]
    for r in rows:
        assert r["status"] == "optimal", r["message"]
        assert r["verified"].startswith("max violation 0")
        assert r["git_commit"]  # a hex commit in a checkout, else empty is a defect
    dec, mip = (float(r["objective"]) for r in rows)
    assert abs(dec - mip) <= 1e-4 * abs(mip)  # both within the default gap 1e-4
    table = (out / "results.md").read_text(encoding="utf-8")
    assert f"Code: `{rows[0]['git_commit']}`" in table
    assert (out / "time_vs_size.png").stat().st_size > 0


def test_decomposition_trace_of_the_city_model(tmp_path: Path) -> None:
    from benchmarks.mip_trace import main as trace_main

    out = tmp_path / "trace"
    assert trace_main(["--size", "1000", "--method", "decomposition", "--time-limit", "60",
                       "--out", str(out)]) == 0
    with (out / "trace.csv").open(encoding="utf-8") as fh:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    plans = [r for r in rows if r["incumbent"] == r["incumbent"]]  # not NaN
    assert plans, "no plan traced"
    times = [r["elapsed_s"] for r in rows]
    assert times == sorted(times)
    values = [r["incumbent"] for r in plans]
    assert values == sorted(values, reverse=True)  # a min problem: plans only improve
    last = rows[-1]
    assert last["bound"] <= last["incumbent"] + 1e-6 * abs(last["incumbent"])
