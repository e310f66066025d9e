"""The decisions CSV: one row per acting firm, and a manifest beside it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from result_factories import small_results

from sim.results.dataset import decisions_manifest_path, write_decisions


def test_decisions_csv_and_its_manifest(tmp_path: Path) -> None:
    base = small_results()[0]
    csv = write_decisions(base, tmp_path / "base-decisions.csv")
    table = pd.read_csv(csv, encoding="utf-8-sig")
    acting = base["acting"].values.astype(bool)
    assert table["id"].tolist() == base["enterprise"].values[acting].tolist()
    assert table["option"].tolist() == base["option"].values[acting].tolist()
    sidecar = decisions_manifest_path(csv)
    assert sidecar.name == "base-decisions.manifest.json"
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    assert record["describes"] == "base-decisions.csv"
    assert record["sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert record["manifest"] == json.loads(base.attrs["manifest"])
    assert record["manifest"]["tool"] == "tenglong"
    # no temporary files are left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [csv.name, sidecar.name]
    np.testing.assert_allclose(
        table["land_freed_mu"], base["effect"].sel(metric="land_freed_mu").values[acting]
    )
