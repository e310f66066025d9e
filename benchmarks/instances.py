"""Synthetic choice problems with the structure of the 腾笼换鸟 policy model.

``policy_like_problem(n, seed)`` mimics what the policy layer builds from a
scenario: every enterprise chooses keep / exit / merge into an acquirer /
relocate into one of two candidate parks / upgrade at two levels; about 25
metrics; city-level minimum targets (land freed, energy saved, CO2 cut, firms
rectified), two ratio KPIs written linearly (亩均税收 ≥ 45 and an energy-intensity
cap), district splits of the land target over 13 districts (elastic), a
fiscal budget, a job-loss limit, park land capacities (20 parks) and acquirer
capacities (50 acquirers). Firm sizes are heavy-tailed. It is used by the
benchmarks (``--instance random``) and by the tests.

``random_choice_problem`` builds small generic instances with mixed senses,
grouped and elastic rows for exactness tests against a plain MIP.
"""

from __future__ import annotations

import numpy as np

from sim.optimise.problem import ChoiceProblem, Constraint, Objective

OPTION_LABELS = ["keep", "exit", "merge", "relocate_a", "relocate_b", "upgrade_1", "upgrade_2"]
N_DISTRICTS = 13
N_PARKS = 20
N_ACQUIRERS = 50

METRICS = [
    "land_freed_mu",
    "energy_saved_tce",
    "co2_cut_t",
    "firms_rectified",
    "public_cost_wan",
    "private_capex_wan",
    "va_change_wan",
    "tax_change_wan",
    "jobs_change",
    "jobs_lost",
    "tax_after_wan",
    "land_after_mu",
    "va_after_wan",
    "energy_after_tce",
    "park_land_mu",
    "acquirer_load",
    "revenue_after_wan",
    "rd_after_wan",
    "co2_after_t",
    "employees_after",
    "subsidy_wan",
    "compensation_wan",
    "capex_subsidised_wan",
    "land_redeveloped_mu",
    "new_entrant_va_wan",
]


def policy_like_problem(n: int, seed: int = 0) -> ChoiceProblem:
    """A structured random instance of ``n`` enterprises (7 option slots, 25 metrics).

    Args:
        n: number of enterprises (units).
        seed: random seed.

    Returns:
        A feasible-by-construction-in-expectation :class:`ChoiceProblem` maximising
        end-year value added, with 4 city targets, 2 ratio KPIs, 13 elastic
        district rows, a budget, a job-loss limit, 20 park and 50 acquirer rows.
    """
    rng = np.random.default_rng(seed)
    n_opt, n_met = len(OPTION_LABELS), len(METRICS)
    mi = {m: k for k, m in enumerate(METRICS)}
    land = rng.lognormal(2.5, 1.0, n)  # mu
    tax_per_mu = rng.lognormal(np.log(35.0), 0.8, n)
    tax = land * tax_per_mu
    va = tax * rng.uniform(3.5, 7.0, n)
    energy = va / rng.lognormal(np.log(1.2), 0.7, n) / 10.0  # tce, heavy-tailed
    emp = np.maximum(1.0, va / rng.lognormal(np.log(30.0), 0.4, n))
    district = rng.integers(0, N_DISTRICTS, n)
    a_class = rng.random(n) < 0.15

    eff = np.zeros((n, n_opt, n_met))

    def put(o: int, metric: str, v: np.ndarray) -> None:
        eff[:, o, mi[metric]] = v

    # end-state baselines (keep)
    for o in range(n_opt):
        put(o, "tax_after_wan", tax)
        put(o, "land_after_mu", land)
        put(o, "va_after_wan", va)
        put(o, "energy_after_tce", energy)
        put(o, "employees_after", emp)
        put(o, "revenue_after_wan", va * 3.0)
        put(o, "rd_after_wan", va * 0.02)
        put(o, "co2_after_t", energy * 2.6)
    # exit: frees all land, loses everything, costs compensation
    comp = land * rng.uniform(8.0, 15.0, n) + emp * 2.0
    redev_va = land * rng.uniform(60.0, 160.0, n)  # new entrants on redeveloped land
    put(1, "land_freed_mu", land)
    put(1, "energy_saved_tce", energy * 0.95)
    put(1, "co2_cut_t", energy * 0.95 * 2.6)
    put(1, "firms_rectified", np.ones(n))
    put(1, "public_cost_wan", comp)
    put(1, "compensation_wan", comp)
    put(1, "va_change_wan", -va + redev_va)
    put(1, "tax_change_wan", -tax + 0.12 * redev_va)
    put(1, "jobs_change", -emp)
    put(1, "jobs_lost", emp)
    put(1, "tax_after_wan", 0.12 * redev_va)
    put(1, "land_after_mu", land * 0.7)
    put(1, "va_after_wan", redev_va)
    put(1, "energy_after_tce", 0.05 * energy + redev_va / 400.0)
    put(1, "employees_after", redev_va / 40.0)
    put(1, "land_redeveloped_mu", land * 0.7)
    put(1, "new_entrant_va_wan", redev_va)
    # merge: frees part of the land, energy to acquirer intensity
    share = rng.uniform(0.3, 0.7, n)
    gain = rng.uniform(0.05, 0.25, n)
    put(2, "land_freed_mu", land * share)
    put(2, "energy_saved_tce", energy * gain)
    put(2, "co2_cut_t", energy * gain * 2.6)
    put(2, "firms_rectified", np.ones(n))
    put(2, "public_cost_wan", land * share * 3.0)
    put(2, "private_capex_wan", va * 0.1)
    put(2, "va_change_wan", va * rng.uniform(-0.1, 0.15, n))
    put(2, "tax_change_wan", tax * rng.uniform(-0.1, 0.2, n))
    put(2, "jobs_change", -emp * 0.2)
    put(2, "jobs_lost", emp * 0.2)
    put(2, "tax_after_wan", tax * (1 + rng.uniform(-0.1, 0.2, n)))
    put(2, "land_after_mu", land * (1 - share))
    put(2, "va_after_wan", va * (1 + rng.uniform(-0.1, 0.15, n)))
    put(2, "energy_after_tce", energy * (1 - gain))
    put(2, "acquirer_load", land * share)
    # relocate into park a / b: frees the old site, uses less park land
    for o in (3, 4):
        ratio = rng.uniform(0.4, 0.8, n)
        sav = rng.uniform(0.1, 0.3, n)
        put(o, "land_freed_mu", land)
        put(o, "park_land_mu", land * ratio)
        put(o, "energy_saved_tce", energy * sav)
        put(o, "co2_cut_t", energy * sav * 2.6)
        put(o, "firms_rectified", np.ones(n))
        put(o, "public_cost_wan", land * rng.uniform(4.0, 9.0, n))
        put(o, "subsidy_wan", land * 2.0)
        put(o, "private_capex_wan", va * 0.2)
        put(o, "va_change_wan", va * rng.uniform(0.0, 0.2, n))
        put(o, "tax_change_wan", tax * rng.uniform(0.0, 0.25, n))
        put(o, "jobs_change", -emp * 0.05)
        put(o, "jobs_lost", emp * 0.05)
        put(o, "tax_after_wan", tax * (1 + rng.uniform(0.0, 0.25, n)))
        put(o, "land_after_mu", land * ratio)
        put(o, "va_after_wan", va * (1 + rng.uniform(0.0, 0.2, n)))
        put(o, "energy_after_tce", energy * (1 - sav))
    # upgrades: level-dependent energy saving, capex with subsidy share
    for o, lvl in ((5, 1.0), (6, 2.0)):
        sav = rng.uniform(0.05, 0.12, n) * lvl
        capex = va * 0.08 * lvl * rng.uniform(0.7, 1.3, n)
        put(o, "energy_saved_tce", energy * sav)
        put(o, "co2_cut_t", energy * sav * 2.6)
        put(o, "firms_rectified", np.ones(n))
        put(o, "public_cost_wan", capex * 0.3)
        put(o, "capex_subsidised_wan", capex * 0.3)
        put(o, "private_capex_wan", capex)
        put(o, "va_change_wan", va * 0.04 * lvl)
        put(o, "tax_change_wan", tax * 0.05 * lvl)
        put(o, "tax_after_wan", tax * (1 + 0.05 * lvl))
        put(o, "va_after_wan", va * (1 + 0.04 * lvl))
        put(o, "energy_after_tce", energy * (1 - sav))
    # availability: A-class firms are exempt (keep only); some lack merge/relocate
    eff[a_class, 1:, :] = np.nan
    eff[rng.random(n) < 0.4, 2, :] = np.nan
    eff[rng.random(n) < 0.3, 4, :] = np.nan
    eff[rng.random(n) < 0.2, 6, :] = np.nan

    acq = np.full((n, n_opt), -1, dtype=np.int64)
    acq[:, 2] = rng.integers(0, N_ACQUIRERS, n)
    park = np.full((n, n_opt), -1, dtype=np.int64)
    park[:, 3] = rng.integers(0, N_PARKS, n)
    park[:, 4] = rng.integers(0, N_PARKS, n)

    def col(metric: str) -> np.ndarray:
        return np.nan_to_num(eff[:, :, mi[metric]], nan=-np.inf)

    def max_total(metric: str) -> float:
        return float(col(metric).max(axis=1).sum())

    total_land = float(land.sum())
    total_emp = float(emp.sum())
    land_target = 0.25 * max_total("land_freed_mu")
    by_district = np.bincount(
        district, weights=np.nan_to_num(eff[:, :, mi["land_freed_mu"]]).max(axis=1),
        minlength=N_DISTRICTS,
    )
    park_cap = np.full(N_PARKS, 0.35 * float((land * 0.6).sum()) / N_PARKS)
    acq_cap = np.full(N_ACQUIRERS, 0.3 * float((land * 0.5).sum()) / N_ACQUIRERS)
    base_tax_ratio = float(tax.sum() - 45.0 * total_land)
    intensity0 = float(energy.sum() / va.sum())
    constraints = [
        Constraint("target:land_freed_mu", {"land_freed_mu": 1.0}, ">=", land_target),
        Constraint(
            "target:energy_saved_tce", {"energy_saved_tce": 1.0}, ">=",
            0.15 * max_total("energy_saved_tce"),
        ),
        Constraint("target:co2_cut_t", {"co2_cut_t": 1.0}, ">=", 0.15 * max_total("co2_cut_t")),
        Constraint("target:firms_rectified", {"firms_rectified": 1.0}, ">=", 0.2 * n),
        Constraint(
            "kpi:tax_per_mu",
            {"tax_after_wan": 1.0, "land_after_mu": -45.0},
            ">=",
            min(0.0, base_tax_ratio) * 0.5,
        ),
        Constraint(
            "kpi:energy_intensity",
            {"energy_after_tce": 1.0, "va_after_wan": -0.9 * intensity0},
            "<=",
            0.0,
        ),
        Constraint(
            "district:land_freed_mu",
            {"land_freed_mu": 1.0},
            ">=",
            0.22 * by_district,
            group=district,
            group_labels=[f"D{d:02d}" for d in range(N_DISTRICTS)],
            penalty=50.0,
        ),
        Constraint(
            "budget:public_cost_wan", {"public_cost_wan": 1.0}, "<=",
            0.35 * max_total("public_cost_wan"),
        ),
        Constraint("limit:jobs_lost", {"jobs_lost": 1.0}, "<=", 0.06 * total_emp),
        Constraint(
            "capacity:park_land_mu", {"park_land_mu": 1.0}, "<=", park_cap, group=park,
            group_labels=[f"P{p:02d}" for p in range(N_PARKS)],
        ),
        Constraint(
            "capacity:acquirer", {"acquirer_load": 1.0}, "<=", acq_cap, group=acq,
            group_labels=[f"A{a:02d}" for a in range(N_ACQUIRERS)],
        ),
    ]
    return ChoiceProblem(
        effects=eff,
        metrics=list(METRICS),
        constraints=constraints,
        objective=Objective({"va_after_wan": 1.0}, "max"),
        unit_ids=None,
        option_labels=list(OPTION_LABELS),
        name=f"policy-like-{n}-{seed}",
    )


def random_choice_problem(
    n: int,
    n_options: int = 5,
    seed: int = 0,
    *,
    sense: str = "max",
    elastic: bool = True,
    tightness: float = 0.5,
) -> ChoiceProblem:
    """A small generic instance: mixed ``<=``/``>=``/``==`` rows, groups, elastic rows.

    Right-hand sides are placed between the totals of two random reference
    plans so that the instance is feasible (the reference plan ``ref`` meets
    every row, ``==`` rows included).
    """
    rng = np.random.default_rng(seed)
    metrics = ["obj", "w1", "w2", "w3", "g1", "g2", "e1", "q1"]
    eff = rng.normal(0.0, 1.0, (n, n_options, len(metrics)))
    eff[:, :, 0] = rng.lognormal(0.0, 0.6, (n, n_options)) * 10.0
    eff[:, :, 1:4] = np.abs(eff[:, :, 1:4]) * rng.uniform(0.5, 3.0, (n, 1, 1))
    eff[:, :, 7] = rng.integers(0, 3, (n, n_options)).astype(float)  # integer-valued row
    missing = rng.random((n, n_options)) < 0.15
    missing[:, 0] = False
    eff[missing] = np.nan
    ref = np.zeros(n, dtype=np.int64)  # option 0 always exists
    groups = rng.integers(0, 4, n)
    pair_groups = rng.integers(-1, 3, (n, n_options))

    def ref_total(metric: int, grp: np.ndarray | None = None, k: int = 1) -> np.ndarray:
        v = eff[np.arange(n), ref, metric]
        if grp is None:
            return np.array([v.sum()])
        g = grp if grp.ndim == 1 else grp[np.arange(n), ref]
        keep = g >= 0
        return np.bincount(g[keep], weights=v[keep], minlength=k)

    def spread(metric: int) -> float:
        vals = np.nan_to_num(eff[:, :, metric], nan=0.0)
        return float(np.abs(vals).max(axis=1).sum()) / max(1.0, np.sqrt(n))

    t = tightness
    cons = [
        Constraint("cap1", {"w1": 1.0}, "<=", float(ref_total(1)[0]) + t * spread(1)),
        Constraint("cap2", {"w2": 1.0, "w3": 0.5}, "<=",
                   float(ref_total(2)[0] + 0.5 * ref_total(3)[0]) + t * spread(2)),
        Constraint("floor", {"g1": 1.0}, ">=", float(ref_total(4)[0]) - t * spread(4)),
        Constraint("grp", {"g2": 1.0}, ">=", ref_total(5, groups, 4) - t * spread(5) / 2,
                   group=groups),
        Constraint("pair", {"w3": 1.0}, "<=", ref_total(3, pair_groups, 3) + t * spread(3) / 2,
                   group=pair_groups),
        Constraint("eq", {"q1": 1.0}, "==", float(ref_total(7)[0])),
    ]
    if elastic:
        cons.append(
            Constraint("soft", {"e1": 1.0}, ">=", float(ref_total(6)[0]) + 2 * t * spread(6),
                       penalty=3.0)
        )
    return ChoiceProblem(eff, metrics, cons, Objective({"obj": 1.0}, sense))  # type: ignore[arg-type]
