"""compare(): arithmetic against plain numpy on the input Datasets, alignment, file I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from result_factories import BASE, TIGHT, small_results

from sim.errors import InputError
from sim.results.compare import (
    ACTIONS,
    action_changes,
    compare,
    kpi_table,
    read_any,
    read_comparison,
    write_comparison,
)
from sim.results.dataset import write_result


@pytest.fixture(scope="module")
def pair() -> tuple[xr.Dataset, xr.Dataset]:
    return small_results()


@pytest.fixture(scope="module")
def cmp(pair: tuple[xr.Dataset, xr.Dataset]) -> xr.Dataset:
    return compare(list(pair))


def _metric(ds: xr.Dataset, metric: str) -> np.ndarray:
    names = list(ds["metric"].values.astype(str))
    return np.asarray(ds["effect"].values[:, names.index(metric)], dtype=float)


def test_scenarios_and_reference(cmp: xr.Dataset) -> None:
    assert list(cmp["scenario"].values) == [BASE, TIGHT]
    assert cmp.attrs["kind"] == "comparison"
    assert cmp.attrs["reference"] == BASE
    assert cmp["is_reference"].values.tolist() == [True, False]
    assert cmp.attrs["enterprise_level"] == 1
    assert compare(list(small_results()), reference=TIGHT).attrs["reference"] == TIGHT


def test_land_and_energy_totals_by_hand(pair: tuple[xr.Dataset, xr.Dataset],
                                        cmp: xr.Dataset) -> None:
    base, tight = pair
    for metric in ("land_freed_mu", "energy_saved_tce", "public_cost_wan", "jobs_lost"):
        expected = [_metric(base, metric).sum(), _metric(tight, metric).sum()]
        np.testing.assert_allclose(cmp["total"].sel(metric=metric).values, expected, rtol=1e-10)
        np.testing.assert_allclose(cmp["total_diff"].sel(metric=metric).values,
                                   [0.0, expected[1] - expected[0]], rtol=1e-9, atol=1e-9)
    # by district: bincount of the land freed over each firm's district
    for k, ds in enumerate(pair):
        districts, index = np.unique(ds["district"].values.astype(str), return_inverse=True)
        by_hand = np.bincount(index, weights=_metric(ds, "land_freed_mu"))
        got = cmp["totals"].isel(scenario=k).sel(metric="land_freed_mu").sum("by_sector")
        np.testing.assert_allclose(got.sel(by_district=districts).values, by_hand, rtol=1e-10)


def test_kpi_attainment_and_difference_by_hand(pair: tuple[xr.Dataset, xr.Dataset],
                                               cmp: xr.Dataset) -> None:
    base, tight = pair
    kpis = base["kpi"].values
    a_base = base["kpi_achieved"].values
    a_tight = tight["kpi_achieved"].sel(kpi=kpis).values
    np.testing.assert_allclose(cmp["kpi_achieved_diff"].sel(scenario=TIGHT, kpi=kpis).values,
                               a_tight - a_base, rtol=1e-12, atol=1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = a_tight / tight["kpi_target"].sel(kpi=kpis).values
    np.testing.assert_allclose(cmp["kpi_attainment"].sel(scenario=TIGHT, kpi=kpis).values, ratio)
    # the jobs limit of the variant is 12,000 × 600 / 20,000 = 360 persons, and it binds
    assert float(cmp["kpi_target"].sel(scenario=TIGHT, kpi="jobs_lost")) == pytest.approx(360.0)
    assert float(cmp["kpi_achieved"].sel(scenario=TIGHT, kpi="jobs_lost")) <= 360.0 + 1e-6


def test_kpi_table_rows(cmp: xr.Dataset, pair: tuple[xr.Dataset, xr.Dataset]) -> None:
    table = kpi_table(cmp)
    with_target = int(np.isfinite(pair[0]["kpi_target"].values).sum())
    assert len(table[table["scenario"] == BASE]) == with_target
    row = table[(table["scenario"] == TIGHT) & (table["kpi"] == "land_freed_mu")].iloc[0]
    tight = pair[1].sel(kpi="land_freed_mu")
    assert row["achieved"] == pytest.approx(float(tight["kpi_achieved"]))
    assert row["attainment_pct"] == pytest.approx(
        100 * float(tight["kpi_achieved"]) / float(tight["kpi_target"]))
    assert row["diff_vs_reference"] == pytest.approx(
        float(tight["kpi_achieved"]) - float(pair[0]["kpi_achieved"].sel(kpi="land_freed_mu")))


def test_action_counts_and_transitions_by_hand(pair: tuple[xr.Dataset, xr.Dataset],
                                               cmp: xr.Dataset) -> None:
    base, tight = pair
    a = base["action"].values.astype(str)
    b = tight["action"].sel(enterprise=base["enterprise"]).values.astype(str)
    for kind in ACTIONS:
        assert int(cmp["action_count"].sel(scenario=TIGHT, action_kind=kind)) == int(
            np.sum(b == kind))
        for to in ACTIONS:
            assert int(cmp["action_transition"].sel(
                scenario=TIGHT, from_action=kind, to_action=to)) == int(
                np.sum((a == kind) & (b == to)))
    assert int(cmp["action_changed"].sel(scenario=TIGHT).sum()) == int(np.sum(a != b))
    assert int(cmp["action_changed"].sel(scenario=BASE).sum()) == 0


def test_enterprises_align_by_id(pair: tuple[xr.Dataset, xr.Dataset]) -> None:
    base, tight = pair
    order = np.random.default_rng(0).permutation(tight.sizes["enterprise"])
    shuffled = tight.isel(enterprise=order)
    out = compare([base, shuffled])
    np.testing.assert_array_equal(out["action"].sel(scenario=TIGHT).values,
                                  tight["action"].sel(enterprise=out["enterprise"]).values)


def test_different_populations_keep_kpis_only(pair: tuple[xr.Dataset, xr.Dataset]) -> None:
    base, tight = pair
    other = tight.assign_coords(enterprise=[f"X{i}" for i in range(tight.sizes["enterprise"])])
    out = compare([base, other])
    assert out.attrs["enterprise_level"] == 0
    assert "action_changed" not in out
    np.testing.assert_allclose(out["kpi_achieved"].sel(scenario=TIGHT).values,
                               tight["kpi_achieved"].values)


def test_missing_kpi_is_nan_after_outer_join(pair: tuple[xr.Dataset, xr.Dataset]) -> None:
    base, tight = pair
    fewer = tight.drop_sel(kpi="co2_cut_t")
    out = compare([base, fewer])
    assert np.isnan(float(out["kpi_achieved"].sel(scenario=TIGHT, kpi="co2_cut_t")))
    assert not bool(out["kpi_met"].sel(scenario=TIGHT, kpi="co2_cut_t"))
    assert str(out["kpi_label_zh"].sel(kpi="co2_cut_t").item()) == "减碳"


def test_duplicate_names_made_unique(pair: tuple[xr.Dataset, xr.Dataset]) -> None:
    out = compare([pair[0], pair[0]])
    assert list(out["scenario"].values) == [BASE, f"{BASE}#2"]
    assert float(np.abs(out["kpi_achieved_diff"]).max()) == 0.0


def test_errors(pair: tuple[xr.Dataset, xr.Dataset], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="reference 'nope'"):
        compare(list(pair), reference="nope")
    with pytest.raises(InputError, match="at least one"):
        compare([])
    with pytest.raises(InputError, match="no such result"):
        compare([tmp_path / "missing.nc"])
    with pytest.raises(InputError, match="not a comparison"):
        compare([compare(list(pair))])


def test_files_round_trip(pair: tuple[xr.Dataset, xr.Dataset], cmp: xr.Dataset,
                          tmp_path: Path) -> None:
    paths = [write_result(ds, tmp_path / f"{ds.attrs['scenario']}.nc") for ds in pair]
    from_files = compare(paths)
    keys = ["kpi_achieved", "total"]
    xr.testing.assert_allclose(from_files[keys], cmp[keys])
    target = write_comparison(from_files, tmp_path / "out" / "combined.nc")
    assert [p.name for p in target.parent.iterdir()] == ["combined.nc"]  # no temp file left
    back = read_comparison(target)
    assert back.attrs["reference"] == BASE
    assert back["kpi_met"].dtype == bool
    np.testing.assert_array_equal(back["action"].values, from_files["action"].values)
    assert read_any(paths[0]).attrs["scenario"] == BASE
    with pytest.raises(InputError, match="not a tenglong comparison"):
        read_comparison(paths[0])


def test_action_changes_lists_changed_firms(pair: tuple[xr.Dataset, xr.Dataset]) -> None:
    base, tight = pair
    counts, first = action_changes(base, tight, limit=5)
    a = base["action"].values.astype(str)
    b = tight["action"].sel(enterprise=base["enterprise"]).values.astype(str)
    changed_ids = np.sort(base["enterprise"].values.astype(str)[a != b])
    assert first.attrs["changed"] == changed_ids.size
    assert int(counts["firms"].sum()) == changed_ids.size
    for row in counts.itertuples(index=False):
        assert row.firms == int(np.sum((a == row.from_action) & (b == row.to_action)))
    assert first["id"].tolist() == changed_ids[:5].tolist()
    for row in first.itertuples(index=False):
        assert row.district == base["district"].sel(enterprise=row.id).item()
        assert row.to_action == tight["action"].sel(enterprise=row.id).item()
