"""Load scenario YAML files into pydantic models, with errors that name file and line.

Three steps, each usable on its own:

1. **Parse** a YAML file into plain Python data (``dict``/``list``/scalars)
   plus a *source map*: for every value, its path (a tuple of mapping keys and
   list indices, e.g. ``("targets", 0, "value")``) → :class:`Location`
   (file, 1-based line and column). A mapping entry's location is that of its
   key; a list item's is that of the item. Keys are always strings (``2021:``
   becomes ``"2021"``), so paths are uniform. YAML 1.2 rules apply: ``yes`` and
   ``no`` are text, not booleans. Duplicate keys, syntax errors, non-UTF-8
   bytes, empty files and a top level that is not a mapping are
   :class:`~sim.errors.ScenarioError` s naming the file and line.

2. **Resolve** ``extends:`` (:func:`resolve`). A file may start with
   ``extends: base.yaml`` or ``extends: [a.yaml, b.yaml]`` (paths relative to
   the file). Parents are resolved first (recursively) and applied in order,
   then the file itself on top, with a deep merge:

   * mappings merge key by key;
   * scalars and lists replace the inherited value as a whole;
   * ``key: null`` sets the value ``null`` (``None``), like any other scalar;
   * ``key: !reset`` deletes the inherited key, so the model's default applies;
   * ``key: !replace`` on a mapping replaces the inherited mapping as a whole
     instead of merging into it.

   A cycle of ``extends`` is an error naming the chain; a missing parent names
   the ``extends`` line. The source map records, for every resolved value, the
   file and line where it was finally set, so an error in an inherited value
   points at the parent file. The ``extends`` key itself is removed from the
   data (a schema may declare it for documentation; it stays at its default).

3. **Validate** against any pydantic model (:func:`load_model`). A
   :class:`pydantic.ValidationError` becomes one :class:`ScenarioError` that
   lists *every* problem as ``FILE:LINE: at PATH: MESSAGE``, e.g.::

       base.yaml:12: at targets.land_freed_mu.value: expected a number, got 'twenty thousand'
       run.yaml:3: at top level: unknown key 'tragets'; did you mean 'targets'?
       run.yaml:7: at targets.energy_saved_tce: missing required key 'value'

   The model defaults to :class:`sim.scenario.schema.Scenario`, imported lazily.
   A model field ``source_file`` is filled with the scenario's path.
"""

from __future__ import annotations

import io
import math
import os
import re
import types
import typing
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, overload

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import ScenarioError, TenglongError
from sim.scenario.suggest import did_you_mean

__all__ = [
    "EXTENDS_KEY",
    "REPLACE_TAG",
    "RESET_TAG",
    "SOURCE_FILE_FIELD",
    "Location",
    "ResolvedYaml",
    "YamlPath",
    "default_model_cls",
    "format_path",
    "load_model",
    "load_model_from_dict",
    "load_with_sources",
    "parse_file",
    "resolve",
    "validate_resolved",
    "validation_problems",
]

YamlPath = tuple[str | int, ...]
"""Path of a value in parsed YAML: mapping keys (``str``) and list indices (``int``)."""

M = TypeVar("M", bound=BaseModel)

EXTENDS_KEY = "extends"
SOURCE_FILE_FIELD = "source_file"
RESET_TAG = "!reset"
REPLACE_TAG = "!replace"

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "timestamp")
}
_MAX_NODES = 5_000_000  # guards against alias bombs ("billion laughs")


# ----------------------------------------------------------------------------- data types
@dataclass(frozen=True, order=True)
class Location:
    """A place in a file: 1-based line and column."""

    file: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def full(self) -> str:
        """``FILE:LINE:COLUMN``."""
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class ResolvedYaml:
    """A scenario file with its ``extends`` resolved.

    ``data`` holds plain dicts, lists and scalars; ``sources`` maps the path of
    every value (including the root ``()``) to where it was finally set;
    ``files`` lists every file that contributed, in the order they were
    applied (the most basic parent first, the file itself last).
    """

    data: dict[str, Any]
    sources: dict[YamlPath, Location]
    files: list[Path] = field(default_factory=list)

    def locate(self, path: YamlPath) -> Location | None:
        """Location of ``path``, or of its nearest ancestor that has one."""
        return _locate(self.sources, path)


def _locate(sources: Mapping[YamlPath, Location], path: YamlPath) -> Location | None:
    for n in range(len(path), -1, -1):
        loc = sources.get(tuple(path[:n]))
        if loc is not None:
            return loc
    return None


_PLAIN_KEY = re.compile(r"[^\W\d][\w-]*|\d+")


def format_path(path: Sequence[str | int]) -> str:
    """Render a path as ``targets[0].value`` (``top level`` for the root)."""
    out = ""
    for el in path:
        if isinstance(el, int):
            out += f"[{el}]"
        elif _PLAIN_KEY.fullmatch(el):
            out += f".{el}" if out else el
        else:
            out += f"[{el!r}]"
    return out or "top level"


class _Reset:
    """Marker of a ``!reset`` value before merging."""

    def __repr__(self) -> str:
        return RESET_TAG


_RESET = _Reset()


@dataclass
class _Val:
    """A parsed value with its location; mappings hold ``dict[str, _Val]``, lists ``list[_Val]``."""

    value: Any
    loc: Location
    replace: bool = False


# ----------------------------------------------------------------------------- parsing
def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found.") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a directory, not a scenario file.") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc.strerror}).") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = "re-save it as UTF-8"
        try:
            raw.decode("gb18030")
            hint = "it looks like GBK/GB18030; re-save it as UTF-8"
        except UnicodeDecodeError:
            pass
        raise ScenarioError(
            f"{path}:{line}: the file is not UTF-8 text "
            f"(invalid byte 0x{raw[exc.start]:02x}); {hint}."
        ) from None


def _syntax_message(path: Path, exc: MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    if exc.context and problem.startswith("but "):  # "expected X" + "but found Y"
        return f"{where}: YAML syntax error: {exc.context.strip()}, {problem}."
    msg = f"{where}: YAML syntax error: {problem}"
    if exc.context and exc.problem and exc.context_mark is not None:
        msg += f" ({exc.context} started at line {exc.context_mark.line + 1})"
    if "\\t" in problem or "\t" in problem:
        msg += "; indent with spaces, not tabs"
    return msg + "."


#: ruamel's duplicate-anchor warning text: the anchor, then both marks' lines and columns
_REUSED_ANCHOR = re.compile(
    r"found duplicate anchor '(?P<name>[^']*)'\s*first occurrence.*?line (?P<l1>\d+), column \d+"
    r"\s*second occurrence.*?line (?P<l2>\d+), column (?P<c2>\d+)",
    re.S,
)


def _reused_anchor_message(path: Path, warning: Warning) -> str:
    """An error for an anchor defined twice: which alias meant which is ambiguous to a reader."""
    found = _REUSED_ANCHOR.search(str(warning))
    if found is None:
        return f"{path}: an anchor is defined twice: {str(warning).strip()}"
    return (f"{path}:{found['l2']}:{found['c2']}: anchor '&{found['name']}' is defined again "
            f"(first at line {found['l1']}); give each anchor its own name.")


def _quote(text: str) -> str:
    """``'text'``, or ``"text"`` when the text holds a single quote."""
    return f'"{text}"' if "'" in text and '"' not in text else f"'{text}'"


def _describe(value: Any) -> str:
    """A short human description of a parsed value for error messages."""
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return _quote(text) if value else "empty text ''"
    if isinstance(value, datetime | date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, _Val):
        return _describe(value.value)
    if isinstance(value, _Reset):
        return RESET_TAG
    return f"a {type(value).__name__}"


class _Converter:
    """Turns a composed ruamel node graph into a :class:`_Val` tree."""

    def __init__(self, path: Path, yaml: YAML) -> None:
        self.path = path
        self.constructor = yaml.constructor
        self.count = 0
        self.active: set[int] = set()

    def loc(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.path, mark.line + 1, mark.column + 1)

    def fail(self, node: Node, message: str) -> ScenarioError:
        return ScenarioError(f"{self.loc(node).full}: {message}")

    def convert(self, node: Node, loc: Location | None = None) -> _Val:
        self.count += 1
        if self.count > _MAX_NODES:
            raise self.fail(node, "the file expands to too many values (alias loop?).")
        loc = loc or self.loc(node)
        tag = str(node.tag)
        if tag == RESET_TAG:
            if not isinstance(node, ScalarNode) or node.value != "":
                raise self.fail(node, f"{RESET_TAG} takes no value (write `key: {RESET_TAG}`).")
            return _Val(_RESET, loc)
        if id(node) in self.active:
            raise self.fail(node, "an alias refers to the mapping or list that contains it.")
        if isinstance(node, MappingNode):
            if tag not in (_MAP_TAG, REPLACE_TAG):
                raise self.fail(node, self._tag_message(tag))
            self.active.add(id(node))
            try:
                return _Val(self._mapping(node), loc, replace=tag == REPLACE_TAG)
            finally:
                self.active.discard(id(node))
        if isinstance(node, SequenceNode):
            if tag != _SEQ_TAG:
                raise self.fail(node, self._tag_message(tag))
            self.active.add(id(node))
            try:
                return _Val([self.convert(item) for item in node.value], loc)
            finally:
                self.active.discard(id(node))
        if tag == REPLACE_TAG:
            raise self.fail(node, f"{REPLACE_TAG} applies to a mapping, not to a single value.")
        if tag not in _SCALAR_TAGS:
            raise self.fail(node, self._tag_message(tag))
        try:
            value = self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # the constructor raises several unrelated types
            reason = getattr(exc, "problem", None) or str(exc)
            raise self.fail(node, f"cannot read the value {node.value!r} ({reason}).") from None
        return _Val(value, loc)

    @staticmethod
    def _tag_message(tag: str) -> str:
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        return f"unknown tag '{shown}' (only {RESET_TAG} and {REPLACE_TAG} are understood)."

    def _mapping(self, node: MappingNode) -> dict[str, _Val]:
        explicit: dict[str, _Val] = {}
        merged: dict[str, _Val] = {}
        for key_node, value_node in node.value:
            if str(key_node.tag) == _MERGE_TAG:
                parts = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for part in parts:
                    if not isinstance(part, MappingNode):
                        raise self.fail(part, "'<<' merges a mapping or a list of mappings.")
                    for k, v in self.convert(part).value.items():
                        merged.setdefault(k, v)  # earlier merge sources take precedence
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "a key must be a plain word, not a list or mapping.")
            key = str(key_node.value)
            key_loc = self.loc(key_node)
            if key in explicit:
                first = explicit[key].loc.line
                raise ScenarioError(
                    f"{key_loc.full}: duplicate key '{key}' (first set at line {first}); "
                    "a key may appear only once in a mapping."
                )
            explicit[key] = self.convert(value_node, loc=key_loc)
        return {**merged, **explicit}


def _parse_tree(path: Path) -> _Val:
    """Parse one YAML file into a :class:`_Val` tree whose root is a mapping."""
    text = _read_text(path)
    yaml = YAML(typ="safe", pure=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ReusedAnchorWarning)
            root = yaml.compose(io.StringIO(text))
    except ReusedAnchorWarning as exc:
        raise ScenarioError(_reused_anchor_message(path, exc)) from None
    except MarkedYAMLError as exc:
        raise ScenarioError(_syntax_message(path, exc)) from None
    except YAMLError as exc:
        raise ScenarioError(f"{path}: YAML syntax error: {exc}") from None
    if root is None:
        raise ScenarioError(f"{path}: the file is empty; a scenario needs at least one key.")
    converter = _Converter(path, yaml)
    if not isinstance(root, MappingNode):
        found = "a list" if isinstance(root, SequenceNode) else f"the single value {root.value!r}"
        raise converter.fail(
            root, f"the top level must be a mapping of keys (like `targets:`), found {found}."
        )
    return converter.convert(root)


def _flatten(val: _Val, path: YamlPath, sources: dict[YamlPath, Location]) -> Any:
    sources[path] = val.loc
    value = val.value
    if isinstance(value, dict):
        return {
            k: _flatten(v, (*path, k), sources)
            for k, v in value.items()
            if not isinstance(v.value, _Reset)
        }
    if isinstance(value, list):
        out = []
        for i, item in enumerate(value):
            if isinstance(item.value, _Reset):
                raise ScenarioError(
                    f"{item.loc.full}: {RESET_TAG} is only allowed as the value of a key."
                )
            out.append(_flatten(item, (*path, i), sources))
        return out
    return value


def parse_file(path: str | os.PathLike[str]) -> ResolvedYaml:
    """Parse one YAML file *without* resolving ``extends`` (the key stays in the data).

    ``!reset`` keys are dropped; ``!replace`` is ignored (there is nothing to
    replace without a parent).
    """
    p = Path(path)
    tree = _parse_tree(p)
    sources: dict[YamlPath, Location] = {}
    data = _flatten(tree, (), sources)
    return ResolvedYaml(data=data, sources=sources, files=[p])


# ----------------------------------------------------------------------------- extends
def _merge(base: _Val, over: _Val) -> _Val:
    """Deep-merge ``over`` onto ``base`` (see the module docstring for the rules)."""
    if isinstance(base.value, dict) and isinstance(over.value, dict) and not over.replace:
        out = dict(base.value)
        for key, val in over.value.items():
            if isinstance(val.value, _Reset):
                out.pop(key, None)
            elif key in out:
                out[key] = _merge(out[key], val)
            else:
                out[key] = val
        return _Val(out, over.loc)
    return over


def _extends_items(ext: _Val) -> list[_Val]:
    if isinstance(ext.value, str):
        return [ext]
    if isinstance(ext.value, list) and all(isinstance(i.value, str) for i in ext.value):
        return list(ext.value)
    raise ScenarioError(
        f"{ext.loc.full}: '{EXTENDS_KEY}' must be a file name or a list of file names, "
        f"got {_describe(ext.value)}."
    )


def _resolve_tree(path: Path, chain: tuple[tuple[Path, Path], ...]) -> tuple[_Val, list[Path]]:
    tree = _parse_tree(path)
    ext = tree.value.pop(EXTENDS_KEY, None)
    base: _Val | None = None
    files: list[Path] = []
    real = path.resolve()
    for item in _extends_items(ext) if ext is not None else []:
        parent = Path(os.path.normpath(path.parent / item.value))
        parent_real = parent.resolve()
        names = [shown for _, shown in chain] + [path]
        if parent_real == real or any(parent_real == r for r, _ in chain):
            shown = " → ".join(str(p) for p in [*names, parent])
            raise ScenarioError(f"{item.loc}: '{EXTENDS_KEY}' cycle: {shown}.")
        if not parent.is_file():
            raise ScenarioError(
                f"{item.loc}: {EXTENDS_KEY}: parent file '{item.value}' not found "
                f"(looked for {parent})."
            )
        parent_tree, parent_files = _resolve_tree(parent, (*chain, (real, path)))
        base = parent_tree if base is None else _merge(base, parent_tree)
        files.extend(parent_files)
    files.append(path)
    merged = tree if base is None else _merge(base, tree)
    return merged, list(dict.fromkeys(files))


def resolve(path: str | os.PathLike[str]) -> ResolvedYaml:
    """Parse ``path`` and resolve its ``extends`` chain into one :class:`ResolvedYaml`."""
    p = Path(path)
    tree, files = _resolve_tree(p, ())
    sources: dict[YamlPath, Location] = {}
    data = _flatten(tree, (), sources)
    return ResolvedYaml(data=data, sources=sources, files=files)


def where_in_scenario(path: str | os.PathLike[str] | None, key: YamlPath) -> str:
    """``FILE:LINE`` where ``key`` (or its nearest ancestor) is set, for errors found
    after validation (e.g. against the population); the bare path if unknown."""
    if path is None:
        return "scenario"
    try:
        loc = resolve(path).locate(key)
    except (TenglongError, OSError):
        loc = None
    return str(loc) if loc is not None else str(path)


# ----------------------------------------------------------------------------- validation
def default_model_cls() -> type[BaseModel]:
    """The scenario schema's root model, :class:`sim.scenario.schema.Scenario` (lazy import)."""
    try:
        from sim.scenario.schema import Scenario
    except ModuleNotFoundError as exc:
        if exc.name != "sim.scenario.schema":
            raise
        raise TenglongError("the scenario schema (sim.scenario.schema) is not available.") from None
    return Scenario


@overload
def load_model(path: str | os.PathLike[str]) -> BaseModel: ...
@overload
def load_model(path: str | os.PathLike[str], model_cls: type[M]) -> M: ...
def load_model(path: str | os.PathLike[str], model_cls: type[BaseModel] | None = None) -> BaseModel:
    """Load a YAML file (``extends`` resolved) and validate it into ``model_cls``.

    Raises :class:`ScenarioError` listing every problem with its file and line.
    """
    return load_with_sources(path, model_cls)[0]


def load_with_sources(
    path: str | os.PathLike[str], model_cls: type[BaseModel] | None = None
) -> tuple[BaseModel, ResolvedYaml]:
    """Like :func:`load_model` but also return the :class:`ResolvedYaml` it came from.

    The source map tells, e.g., which file a relative path inside the scenario
    was written in: ``resolved.sources[("population", "register")].file``.
    When the model declares a ``source_file`` field, it is set to ``path``
    (before validation, so validators can use it; a value in the file is
    overridden).
    """
    resolved = resolve(path)
    cls = model_cls or default_model_cls()
    if SOURCE_FILE_FIELD in cls.model_fields:
        data = {**resolved.data, SOURCE_FILE_FIELD: Path(path)}
        checked = ResolvedYaml(data, resolved.sources, resolved.files)
        return validate_resolved(checked, cls), resolved
    return validate_resolved(resolved, cls), resolved


def validate_resolved(resolved: ResolvedYaml, model_cls: type[M] | None = None) -> M:
    """Validate already-resolved YAML into ``model_cls`` with file:line errors."""
    cls = model_cls or default_model_cls()
    origin = resolved.files[-1] if resolved.files else None
    model = _validate(resolved.data, cls, resolved.sources, origin, resolved.files)
    return typing.cast(M, model)


@overload
def load_model_from_dict(
    data: Mapping[str, Any],
    *,
    sources: Mapping[YamlPath, Location] | None = None,
    origin: str | os.PathLike[str] | None = None,
) -> BaseModel: ...
@overload
def load_model_from_dict(
    data: Mapping[str, Any],
    model_cls: type[M],
    *,
    sources: Mapping[YamlPath, Location] | None = None,
    origin: str | os.PathLike[str] | None = None,
) -> M: ...
def load_model_from_dict(
    data: Mapping[str, Any],
    model_cls: type[BaseModel] | None = None,
    *,
    sources: Mapping[YamlPath, Location] | None = None,
    origin: str | os.PathLike[str] | None = None,
) -> BaseModel:
    """Validate in-memory data into ``model_cls`` with the same error messages.

    Without ``sources`` the messages carry no line numbers; ``origin`` (e.g.
    ``"<python>"``) names where the data came from in the error header.
    """
    cls = model_cls or default_model_cls()
    return _validate(dict(data), cls, sources or {}, origin)


def _validate(
    data: dict[str, Any],
    model_cls: type[BaseModel],
    sources: Mapping[YamlPath, Location],
    origin: str | os.PathLike[str] | None,
    files: Sequence[Path] = (),
) -> BaseModel:
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, model_cls, data, sources, origin, files)
        n = len(problems)
        name = f"{origin}: the" if origin is not None else "The"
        header = f"{name} scenario is invalid ({n} problem{'s' if n != 1 else ''}):"
        raise ScenarioError(header, problems) from None


# --- walking the model along a data path


def _expand(tp: Any) -> list[Any]:
    """Unwrap ``Annotated``, ``Optional`` and unions into their member types."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _expand(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [t for arg in get_args(tp) if arg is not type(None) for t in _expand(arg)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_keys(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """The keys a model accepts in input (aliases, and names when allowed) → field."""
    config = model.model_config
    by_name = bool(config.get("populate_by_name") or config.get("validate_by_name"))
    out: dict[str, FieldInfo] = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        if alias:
            out[alias] = info
        if not alias or by_name:
            out[name] = info
    return out


def _step(tp: Any, key: str | int) -> list[Any]:
    out: list[Any] = []
    for t in _expand(tp):
        origin = get_origin(t)
        args = get_args(t)
        if _is_model(t) and isinstance(key, str):
            info = _model_keys(t).get(key)
            if info is not None:
                out.append(info.annotation)
        elif origin is tuple and isinstance(key, int):
            if len(args) == 2 and args[1] is Ellipsis:
                out.append(args[0])
            elif key < len(args):
                out.append(args[key])
        elif origin in (list, set, frozenset, Sequence) and isinstance(key, int):
            out.append(args[0] if args else Any)
        elif origin in (dict, Mapping) and isinstance(key, str):
            out.append(args[1] if len(args) == 2 else Any)
    return out


def _types_at(model_cls: type[BaseModel], path: YamlPath) -> list[Any]:
    """Member types that may hold the value at ``path`` (empty when unknown)."""
    current: list[Any] = [model_cls]
    for key in path:
        current = [t for tp in current for t in _step(tp, key)]
        if not current:
            break
    return [t for tp in current for t in _expand(tp)]


def _allowed_keys(types_: list[Any]) -> list[str]:
    return [k for t in types_ if _is_model(t) for k in _model_keys(t)]


def _allowed_values(types_: list[Any]) -> list[Any]:
    values: list[Any] = []
    for t in types_:
        if get_origin(t) is Literal:
            values.extend(get_args(t))
        elif isinstance(t, type) and issubclass(t, Enum):
            values.extend(m.value for m in t)
    return list(dict.fromkeys(values))


def _show_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _quote(v)
    return str(v)


# --- error wording

_EXPECTED: dict[str, str] = {
    "float_parsing": "a number",
    "float_type": "a number",
    "decimal_parsing": "a number",
    "decimal_type": "a number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing_size": "a whole number of reasonable size",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "string_sub_type": "text",
    "bytes_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "iterable_type": "a list",
    "dict_type": "a mapping (indented `key: value` lines)",
    "model_type": "a mapping (indented `key: value` lines)",
    "model_attributes_type": "a mapping (indented `key: value` lines)",
    "dataclass_type": "a mapping (indented `key: value` lines)",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD) without a time",
    "datetime_type": "a date and time (YYYY-MM-DD HH:MM:SS)",
    "datetime_parsing": "a date and time (YYYY-MM-DD HH:MM:SS)",
    "datetime_from_date_parsing": "a date and time (YYYY-MM-DD HH:MM:SS)",
    "time_type": "a time (HH:MM:SS)",
    "time_parsing": "a time (HH:MM:SS)",
    "none_required": "nothing (null)",
    "path_type": "a file path",
    "finite_number": "a finite number (not .inf or .nan)",
}

_COMPARISONS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
    "multiple_of": ("multiple_of", "a multiple of"),
}


@dataclass
class _Problem:
    loc: Location | None
    path: YamlPath
    text: str
    expected: str | None = None  # for merging the arms of a union
    got: str = ""
    in_union: bool = False

    def line(self, origin: str | None) -> str:
        prefix = f"{self.loc}: " if self.loc is not None else (f"{origin}: " if origin else "")
        return f"{prefix}at {format_path(self.path)}: {self.text}"


def _data_path(
    data: Any, loc: tuple[str | int, ...], missing: bool
) -> tuple[YamlPath, list[str | int], str | int | None]:
    """Map a pydantic error location onto the data: (data path, skipped parts, missing key).

    Parts of ``loc`` that are not in the data (union member names, tags,
    ``[key]``) are skipped.
    """
    cur = data
    path: list[str | int] = []
    skipped: list[str | int] = []
    for i, el in enumerate(loc):
        if isinstance(cur, dict) and str(el) in cur and not isinstance(el, bool):
            path.append(str(el))
            cur = cur[str(el)]
        elif (
            isinstance(cur, list)
            and isinstance(el, int)
            and not isinstance(el, bool)
            and 0 <= el < len(cur)
        ):
            path.append(el)
            cur = cur[el]
        elif missing and i == len(loc) - 1:
            return tuple(path), skipped, el
        else:
            skipped.append(el)
    return tuple(path), skipped, None


def _problem(
    err: Any,
    model_cls: type[BaseModel],
    data: Any,
    sources: Mapping[YamlPath, Location],
) -> _Problem:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    path, skipped, missing_key = _data_path(data, tuple(err["loc"]), kind == "missing")
    loc = _locate(sources, path)
    in_union = bool(skipped)
    got = _describe(value)

    if kind == "missing":
        key = missing_key if missing_key is not None else (skipped[-1] if skipped else "?")
        return _Problem(loc, path, f"missing required key '{key}'")
    if kind == "extra_forbidden" and path:
        key = path[-1]
        parent = path[:-1]
        allowed = _allowed_keys(_types_at(model_cls, parent))
        text = f"unknown key {_quote(str(key))}"
        hint = did_you_mean(str(key), allowed)
        if hint:
            text += hint
        elif allowed and len(allowed) <= 15:
            text += "; allowed keys: " + ", ".join(allowed)
        return _Problem(loc, parent, text)

    types_ = _types_at(model_cls, path)
    if kind in ("literal_error", "enum"):
        allowed_values = _allowed_values(types_)
        shown = (
            ", ".join(_show_value(v) for v in allowed_values)
            if allowed_values
            else str(ctx.get("expected", "?"))
        )
        expected = f"one of {shown}"
        text = f"expected {expected}, got {got}"
        if isinstance(value, str):
            text += did_you_mean(value, [str(v) for v in allowed_values])
        return _Problem(loc, path, text, expected, got, in_union)
    if kind in _COMPARISONS:
        key, words = _COMPARISONS[kind]
        bound = ctx.get(key, "?")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # pydantic reports gt=0 on a float field as 0.0
        return _Problem(
            loc,
            path,
            f"must be {words} {bound}, got {got}",
            f"a value {words} {bound}",
            got,
            in_union,
        )
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        if kind.startswith("string"):
            unit = "characters"
        else:
            unit = "entries" if isinstance(value, Mapping) else "items"
        limit = ctx.get("min_length") if kind.endswith("short") else ctx.get("max_length")
        words = "at least" if kind.endswith("short") else "at most"
        actual = ctx.get("actual_length", len(value) if hasattr(value, "__len__") else "?")
        return _Problem(loc, path, f"expected {words} {limit} {unit}, got {actual}")
    if kind == "string_pattern_mismatch":
        expected = f"text matching the pattern {ctx.get('pattern')}"
        return _Problem(loc, path, f"expected {expected}, got {got}", expected, got, in_union)
    if kind == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", ""))
        text = f"unknown {ctx.get('discriminator', 'kind')} {_describe(ctx.get('tag'))}; "
        text += f"expected one of {tags}"
        tag_values = re.findall(r"'([^']*)'", tags)
        text += did_you_mean(str(ctx.get("tag", "")), tag_values)
        return _Problem(loc, path, text)
    if kind == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "")).strip("'\"")
        return _Problem(loc, path, f"missing required key '{disc}' (it says which kind this is)")
    if kind in ("value_error", "assertion_error"):
        msg = str(err.get("msg", ""))
        msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
        return _Problem(loc, path, msg)
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        text = f"expected {expected}, got {got}"
        if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
            text += f" (write it in quotes, '{value}', if it is a code or a name)"
        elif kind == "bool_parsing" and isinstance(value, str):
            text += " (write true or false)"
        return _Problem(loc, path, text, expected, got, in_union)
    msg = str(err.get("msg", kind))
    msg = re.sub(r"^Input should be ", "expected ", msg)
    msg = msg[:1].lower() + msg[1:]
    if not isinstance(value, Mapping | list):
        msg += f", got {got}"
    return _Problem(loc, path, msg)


def _problem_of(
    err: Any,
    model_cls: type[BaseModel],
    data: Any,
    sources: Mapping[YamlPath, Location],
) -> _Problem:
    """:func:`_problem`, saying "invalid key" when a mapping's key (not value) is wrong."""
    p = _problem(err, model_cls, data, sources)
    if "[key]" in err["loc"]:
        p.text = f"invalid key: {p.text}"
        p.in_union = False
    return p


def validation_problems(
    exc: ValidationError,
    model_cls: type[BaseModel],
    data: Any,
    sources: Mapping[YamlPath, Location],
    origin: str | os.PathLike[str] | None = None,
    files: Sequence[Path] = (),
) -> list[str]:
    """Turn a pydantic ``ValidationError`` into ``FILE:LINE: at PATH: MESSAGE`` lines.

    Every error is reported. Errors from the members of a union at the same
    place become one line (``expected a number or one of 'auto', got ...``).
    Lines are ordered by file (those of ``files``, the applied order of an
    ``extends`` chain, last first: the file the user named comes first) and line.
    """
    errors = exc.errors(include_url=False)
    problems = [_problem_of(err, model_cls, data, sources) for err in errors]

    merged: list[_Problem] = []
    groups: dict[YamlPath, _Problem] = {}
    for p in problems:
        if p.in_union and p.expected is not None:
            first = groups.get(p.path)
            if first is not None:
                if first.expected is not None and p.expected not in first.expected.split(" or "):
                    first.expected = f"{first.expected} or {p.expected}"
                    first.text = f"expected {first.expected}, got {first.got}"
                continue
            groups[p.path] = p
        merged.append(p)

    rank = {f: -i for i, f in enumerate(files)}

    def order(p: _Problem) -> tuple[int, int, str, int, int]:
        if p.loc is None:
            return (1, 0, "", 0, 0)
        return (0, rank.get(p.loc.file, 0), str(p.loc.file), p.loc.line, p.loc.column)

    shown = str(origin) if origin is not None else None
    lines = [p.line(shown) for p in sorted(merged, key=order)]
    return list(dict.fromkeys(lines))
