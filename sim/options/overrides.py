"""一企一策: per-enterprise overrides of any effect of any option.

An override names an enterprise, an option (a kind such as ``exit`` — all
slots of that kind — or an exact slot label such as ``upgrade:deep@2021`` or
``merge#1@2021``), a metric and a value. The metric ``available`` with value 0
removes the option (1 restores a removed one only if effects exist).
Overrides come from the scenario's ``overrides`` list and ``overrides_file``
(CSV: id, option, metric, value); every bad row is reported at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.options.effects import OptionSet
from sim.scenario.schema import Override
from sim.scenario.suggest import did_you_mean


def read_overrides_file(path: Path) -> list[Override]:
    """Read a 一企一策 CSV with columns id, option, metric, value."""
    try:
        frame = pd.read_csv(path, dtype={"id": str, "option": str, "metric": str})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot read the 一企一策 overrides table ({exc}).") from None
    missing = [c for c in ("id", "option", "metric", "value") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; expected id, option, metric, value")
    values = pd.to_numeric(frame["value"], errors="coerce")
    bad = np.flatnonzero(values.isna())
    if bad.size:
        raise InputError(
            f"{path}: column 'value' must be numeric",
            [f"row {r + 1} (line {r + 2}): got {frame['value'].iloc[r]!r}" for r in bad],
        )
    return [
        Override(id=str(i), option=str(o), metric=str(m), value=float(v))
        for i, o, m, v in zip(frame["id"], frame["option"], frame["metric"], values, strict=True)
    ]


def apply_overrides(options: OptionSet, overrides: list[Override], source: str) -> int:
    """Apply overrides in place; return how many (unit, slot, metric) cells changed.

    Raises:
        InputError: listing every override whose id, option or metric is unknown.
    """
    if not overrides:
        return 0
    unit_pos = {uid: i for i, uid in enumerate(options.unit_ids.tolist())}
    labels = options.slot_labels
    kinds = options.slot_kinds
    metric_pos = {m: k for k, m in enumerate(options.metrics)}
    problems: list[str] = []
    changed = 0
    for n, item in enumerate(overrides, start=1):
        where = f"{source} override {n} (id {item.id!r})"
        unit = unit_pos.get(item.id)
        if unit is None:
            problems.append(f"{where}: enterprise is not among the units that may act")
            continue
        slots = _slots_for(item.option, labels, kinds)
        if not slots:
            hint = did_you_mean(item.option, [*labels, *sorted(set(kinds.tolist()))])
            problems.append(f"{where}: unknown option {item.option!r}{hint}")
            continue
        if item.metric == "available":
            if item.value == 0:
                options.effects[unit, slots, :] = np.nan
            changed += len(slots)
            continue
        metric = metric_pos.get(item.metric)
        if metric is None:
            hint = did_you_mean(item.metric, options.metrics)
            problems.append(f"{where}: unknown metric {item.metric!r}{hint}")
            continue
        open_slots = [s for s in slots if not np.isnan(options.effects[unit, s, :]).all()]
        options.effects[unit, open_slots, metric] = item.value
        changed += len(open_slots)
    if problems:
        raise InputError("一企一策 overrides could not be applied", problems)
    options.overrides_applied = changed
    return changed


def _slots_for(option: str, labels: list[str], kinds: np.ndarray) -> list[int]:
    """Slots matching an exact label, a label without year, or a kind."""
    if option in labels:
        return [labels.index(option)]
    by_prefix = [i for i, label in enumerate(labels) if label.split("@")[0] == option]
    if by_prefix:
        return by_prefix
    return np.flatnonzero(kinds == option).tolist()
