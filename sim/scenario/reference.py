"""Render a pydantic model's fields as a Markdown reference of every scenario key.

``defaults_reference(Scenario)`` is the single place the scenario defaults
are documented from: one section per nested model (``horizon``,
``horizon.growth``, ``targets[]`` for a list of models, ``parks.<name>`` for a
mapping of models), one table row per key with its type, default, allowed
values or bounds and description. A unit given as
``Field(..., json_schema_extra={"unit": "mu"})`` is shown beside the description.
``tenglong scenario-docs -o docs/scenario-reference.md`` writes it.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen, MultipleOf
from pydantic import BaseModel
from pydantic.fields import FieldInfo

__all__ = ["defaults_reference"]


@dataclass
class _Section:
    path: str
    model: type[BaseModel]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _members(tp: Any) -> list[Any]:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _members(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for a in get_args(tp) for m in _members(a)]
    return [tp]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _literal(v: Any) -> str:
    if isinstance(v, Enum):
        v = v.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"'{v}'"
    return str(v)


class _Renderer:
    def __init__(self) -> None:
        self.sections: list[_Section] = []
        self.seen: dict[type[BaseModel], str] = {}

    def model_ref(self, model: type[BaseModel], path: str) -> str:
        """Register a nested model's section (once) and return a reference to it."""
        if model not in self.seen:
            self.seen[model] = path
            self.sections.append(_Section(path, model))
        return f"mapping, see `{self.seen[model]}`"

    def type_text(self, tp: Any, path: str) -> str:
        members = _members(tp)
        if len(members) > 1:
            nullable = type(None) in members
            parts = [self.type_text(m, path) for m in members if m is not type(None)]
            text = " or ".join(dict.fromkeys(parts))
            return f"{text} or null" if nullable else text
        tp = members[0]
        origin = get_origin(tp)
        args = get_args(tp)
        if tp is type(None):
            return "null"
        if tp is Any:
            return "any"
        if origin is Literal:
            return "one of " + ", ".join(_literal(a) for a in args)
        if isinstance(tp, type) and issubclass(tp, Enum):
            return "one of " + ", ".join(_literal(m.value) for m in tp)
        if _is_model(tp):
            return self.model_ref(tp, path)
        if origin in (list, set, frozenset, Sequence) or origin is tuple:
            item = args[0] if args else Any
            return f"list of {self.type_text(item, path + '[]')}"
        if origin in (dict, Mapping):
            key_t, val_t = args if len(args) == 2 else (Any, Any)
            val = self.type_text(val_t, path + ".<key>")
            return f"mapping of {self.type_text(key_t, path)} → {val}"
        simple: dict[Any, str] = {
            bool: "true/false",
            int: "integer",
            float: "number",
            str: "text",
            Path: "file path",
            PurePath: "file path",
            date: "date (YYYY-MM-DD)",
            datetime: "date and time",
        }
        if tp in simple:
            return simple[tp]
        return str(getattr(tp, "__name__", tp))

    def default_text(self, info: FieldInfo) -> str:
        if info.is_required():
            return "**required**"
        try:
            value = info.get_default(call_default_factory=True, validated_data={})
        except Exception:  # a factory that needs other fields: show it by name
            factory = info.default_factory
            return f"computed ({getattr(factory, '__name__', 'factory')})"
        if isinstance(value, BaseModel):
            return "(section defaults)"
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, str | bool | int | float) or value is None:
            return f"`{_literal(value)}`"
        try:
            return "`" + json.dumps(value, ensure_ascii=False, default=str) + "`"
        except (TypeError, ValueError):
            return f"`{value!r}`"

    @staticmethod
    def bounds_text(info: FieldInfo) -> str:
        parts = []
        for m in info.metadata:
            if isinstance(m, Gt):
                parts.append(f"> {m.gt}")
            elif isinstance(m, Ge):
                parts.append(f"≥ {m.ge}")
            elif isinstance(m, Lt):
                parts.append(f"< {m.lt}")
            elif isinstance(m, Le):
                parts.append(f"≤ {m.le}")
            elif isinstance(m, MultipleOf):
                parts.append(f"multiple of {m.multiple_of}")
            elif isinstance(m, MinLen):
                parts.append(f"at least {m.min_length} items")
            elif isinstance(m, MaxLen):
                parts.append(f"at most {m.max_length} items")
        return ", ".join(parts)

    def section(self, sec: _Section) -> list[str]:
        title = "Top level" if not sec.path else f"`{sec.path}`"
        out = [f"## {title}", ""]
        own_doc = sec.model.__dict__.get("__doc__")  # not the docstring of a base class
        if own_doc:
            out += [inspect.cleandoc(own_doc).split("\n\n")[0].replace("\n", " "), ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        for name, info in sec.model.model_fields.items():
            key = info.alias or name
            child = f"{sec.path}.{key}" if sec.path else key
            type_text = self.type_text(info.annotation, child)
            bounds = self.bounds_text(info)
            if bounds:
                type_text += f", {bounds}"
            desc = info.description or ""
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("unit"):
                desc = f"{desc} (unit: {extra['unit']})".strip()
            out.append(
                f"| `{key}` | {_cell(type_text)} | {_cell(self.default_text(info))} "
                f"| {_cell(desc)} |"
            )
        return [*out, ""]


def defaults_reference(model_cls: type[BaseModel] | None = None, title: str | None = None) -> str:
    """Markdown reference of every field of ``model_cls`` and its nested models.

    ``model_cls`` defaults to :class:`sim.scenario.schema.Scenario`. A model
    used in several places is documented once, at its first path.
    """
    if model_cls is None:
        from sim.scenario.loader import default_model_cls

        model_cls = default_model_cls()
    r = _Renderer()
    r.seen[model_cls] = ""
    r.sections.append(_Section("", model_cls))
    lines = [
        f"# {title or 'Scenario file reference'}",
        "",
        f"Generated from `{model_cls.__module__}.{model_cls.__qualname__}` by "
        "`tenglong scenario-docs`; do not edit by hand. Every key is optional unless "
        "marked **required**; unknown keys are errors. `a[]` is an item of the list `a`, "
        "`a.<key>` an entry of the mapping `a`.",
        "",
        "A file may start with `extends: base.yaml` (or a list of files): mappings merge "
        "key by key, other values replace the inherited ones, `key: !reset` removes an "
        "inherited key (its default applies) and `key: !replace` replaces an inherited "
        "mapping as a whole.",
        "",
    ]
    i = 0
    while i < len(r.sections):  # sections found while rendering are appended
        lines += r.section(r.sections[i])
        i += 1
    return "\n".join(lines).rstrip() + "\n"
