"""Compare two scenarios key by key, after ``extends`` and defaults are applied.

Both files are loaded and validated (:func:`sim.scenario.loader.load_with_sources`),
then their ``model_dump(mode="json", by_alias=True)`` are compared recursively:
mappings key by key, lists of mappings item by item, and any other value
(a number, a text, a list of plain values) as a whole. Each difference carries
the file and line where each side's value was set, or ``None`` when it is the
model's default.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from sim.scenario.loader import Location, YamlPath, format_path, load_with_sources

__all__ = ["DiffEntry", "diff_data", "diff_scenarios", "show_value"]

DiffKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class DiffEntry:
    """One difference between scenario A and scenario B.

    ``a``/``b`` are the values (``None`` on the side where the key is absent,
    see ``kind``); ``a_source``/``b_source`` are where each was set, ``None``
    for a default (or an absent key).
    """

    path: YamlPath
    kind: DiffKind
    a: Any
    b: Any
    a_source: Location | None
    b_source: Location | None

    @property
    def key(self) -> str:
        """The dotted path, e.g. ``targets[0].value``."""
        return format_path(self.path)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(type(a) is type(b) and a == b) or (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def _is_container_list(v: Any) -> bool:
    return isinstance(v, list) and any(isinstance(i, dict | list) for i in v)


def diff_data(
    a: Any,
    b: Any,
    a_sources: Mapping[YamlPath, Location] | None = None,
    b_sources: Mapping[YamlPath, Location] | None = None,
) -> list[DiffEntry]:
    """Differences between two plain data trees (dicts, lists, scalars).

    Sources are looked up by exact path, so a value filled in from a default
    has no source.
    """
    a_src = a_sources or {}
    b_src = b_sources or {}
    out: list[DiffEntry] = []

    def walk(x: Any, y: Any, path: YamlPath) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for key in list(x) + [k for k in y if k not in x]:
                sub = (*path, key)
                if key not in y:
                    out.append(DiffEntry(sub, "removed", x[key], None, a_src.get(sub), None))
                elif key not in x:
                    out.append(DiffEntry(sub, "added", None, y[key], None, b_src.get(sub)))
                else:
                    walk(x[key], y[key], sub)
        elif _is_container_list(x) and _is_container_list(y):
            for i in range(max(len(x), len(y))):
                sub = (*path, i)
                if i >= len(y):
                    out.append(DiffEntry(sub, "removed", x[i], None, a_src.get(sub), None))
                elif i >= len(x):
                    out.append(DiffEntry(sub, "added", None, y[i], None, b_src.get(sub)))
                else:
                    walk(x[i], y[i], sub)
        elif not _equal(x, y):
            out.append(DiffEntry(path, "changed", x, y, a_src.get(path), b_src.get(path)))

    walk(a, b, ())
    return out


def diff_scenarios(
    a_path: str | os.PathLike[str],
    b_path: str | os.PathLike[str],
    model_cls: type[BaseModel] | None = None,
) -> list[DiffEntry]:
    """Differences between two scenario files, with ``extends`` and defaults applied.

    ``model_cls`` defaults to :class:`sim.scenario.schema.Scenario`. Raises
    :class:`~sim.errors.ScenarioError` when either file is invalid.
    """
    a_model, a_res = load_with_sources(a_path, model_cls)
    b_model, b_res = load_with_sources(b_path, model_cls)
    return diff_data(
        a_model.model_dump(mode="json", by_alias=True),
        b_model.model_dump(mode="json", by_alias=True),
        a_res.sources,
        b_res.sources,
    )


def show_value(value: Any, limit: int = 80) -> str:
    """Compact one-line rendering of a value for tables (``null``, ``true``, JSON)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
