"""Published MMKP instances (Khan 2002; Hiremath & Hill 2008) as choice problems.

A Multiple-choice Multidimensional Knapsack problem: ``n`` groups, each takes
exactly one of its items; item ``j`` of group ``i`` has value ``v[i, j]`` and
uses ``w[i, j, k] ≥ 0`` of resource ``k``; maximise ``Σ v`` subject to
``Σ w[:, :, k] ≤ C[k]``. Formats are described in ``shared/mmkp/README.md``.

Both readers work on a token stream that remembers each token's line and
column, so that a malformed file raises :class:`sim.errors.InputError`
naming the file, the line, the token and what was expected.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.optimise.problem import ChoiceProblem, Constraint, FloatArray, IntArray, Objective


@dataclass
class MMKPInstance:
    """One MMKP instance.

    Attributes:
        name: e.g. ``"I01"`` or ``"TestSet1.5GP10IT5KP.txt#3"``.
        values: ``(n_groups, n_items)``.
        weights: ``(n_groups, n_items, n_resources)``.
        capacities: ``(n_resources,)``.
        optimum: the proven optimum when known (file trailer or exact-values table).
        optimum_choice: the item per group of the reference optimum, when given.
        upper_bound: a published upper bound, when given.
        references: other published solutions: label → (choice, value).
        source: file the instance was read from.
        problem_number: position/number of the problem within its file (HH).
    """

    name: str
    values: FloatArray
    weights: FloatArray
    capacities: FloatArray
    optimum: float | None = None
    optimum_choice: IntArray | None = None
    upper_bound: float | None = None
    references: dict[str, tuple[IntArray, float]] = field(default_factory=dict)
    source: str = ""
    problem_number: int | None = None

    @property
    def n_groups(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_resources(self) -> int:
        return int(self.capacities.shape[0])

    def to_problem(self) -> ChoiceProblem:
        """The instance as a :class:`ChoiceProblem`: maximise ``value``, ``r_k ≤ C_k``.

        Metrics are ``"value", "r1" … "rm"``; units are the groups (ids
        ``"g1"…``), options the items in file order.
        """
        m = self.n_resources
        effects = np.concatenate([self.values[:, :, None], self.weights], axis=2).astype(float)
        metrics = ["value"] + [f"r{k + 1}" for k in range(m)]
        constraints = [
            Constraint(f"r{k + 1}", {f"r{k + 1}": 1.0}, "<=", float(self.capacities[k]))
            for k in range(m)
        ]
        return ChoiceProblem(
            effects=effects,
            metrics=metrics,
            constraints=constraints,
            objective=Objective({"value": 1.0}, "max"),
            unit_ids=np.array([f"g{i + 1}" for i in range(self.n_groups)]),
            option_labels=[f"item{j}" for j in range(self.n_items)],
            name=self.name,
        )

    def shuffled(self, seed: int) -> tuple[MMKPInstance, IntArray]:
        """Items permuted within each group (seeded).

        Returns the shuffled instance and ``perm`` with ``new item j of group
        i = old item perm[i, j]``; the reference choices are mapped along.
        """
        rng = np.random.default_rng(seed)
        perm = np.argsort(rng.random((self.n_groups, self.n_items)), axis=1)
        rows = np.arange(self.n_groups)[:, None]
        inverse = np.argsort(perm, axis=1)
        g = np.arange(self.n_groups)

        def remap(choice: IntArray | None) -> IntArray | None:
            return None if choice is None else inverse[g, choice]

        refs = {k: (inverse[g, c], v) for k, (c, v) in self.references.items()}
        new = replace(
            self,
            name=f"{self.name}~{seed}",
            values=self.values[rows, perm],
            weights=self.weights[rows, perm],
            optimum_choice=remap(self.optimum_choice),
            references=refs,
        )
        return new, perm


class _Tokens:
    """Whitespace tokens of a file with their 1-based line and column."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.items: list[tuple[str, int, int]] = []
        for ln, line in enumerate(text.splitlines(), start=1):
            for mt in re.finditer(r"\S+", line):
                self.items.append((mt.group(), ln, mt.start() + 1))
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.items)

    def where(self) -> str:
        if self.at_end():
            last = self.items[-1][1] if self.items else 0
            return f"{self.path}: at end of file (after line {last}, token {self.pos + 1})"
        tok, ln, col = self.items[self.pos]
        return f"{self.path}: line {ln}, column {col} (token {self.pos + 1}, {tok!r})"

    def error(self, expected: str) -> InputError:
        return InputError(f"{self.where()}: expected {expected}")

    def peek(self) -> str | None:
        return None if self.at_end() else self.items[self.pos][0]

    def number(self, expected: str) -> float:
        if self.at_end():
            raise self.error(expected)
        tok = self.items[self.pos][0]
        try:
            value = float(tok)
        except ValueError:
            raise self.error(expected) from None
        if not np.isfinite(value):
            raise self.error(expected)
        self.pos += 1
        return value

    def integer(self, expected: str, *, minimum: int | None = None) -> int:
        if self.at_end():
            raise self.error(expected)
        tok = self.items[self.pos][0]
        try:
            value = int(tok)
        except ValueError:
            raise self.error(expected) from None
        if minimum is not None and value < minimum:
            raise self.error(f"{expected} (≥ {minimum})")
        self.pos += 1
        return value

    def numbers(self, count: int, expected: str) -> FloatArray:
        return np.array([self.number(expected) for _ in range(count)], dtype=float)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise InputError(f"{path}: no such MMKP file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read MMKP file ({exc})") from None


def _read_groups(
    t: _Tokens, n: int, items: int, m: int, what: str
) -> tuple[FloatArray, FloatArray]:
    values = np.empty((n, items))
    weights = np.empty((n, items, m))
    for i in range(n):
        t.integer(f"{what}: group number {i + 1}")
        # a different group number is tolerated only if it is the expected one
        if int(t.items[t.pos - 1][0]) != i + 1:
            t.pos -= 1
            raise t.error(f"{what}: group number {i + 1}")
        for j in range(items):
            values[i, j] = t.number(f"{what}: value of item {j} of group {i + 1}")
            weights[i, j] = t.numbers(m, f"{what}: {m} resource uses of item {j} of group {i + 1}")
    if (weights < 0).any():
        raise InputError(f"{t.path}: {what}: negative resource use")
    return values, weights


def read_khan(path: str | Path) -> MMKPInstance:
    """Read a Khan et al. (2002) instance (``I01`` … ``I13``) with its reference trailer.

    The trailer's ``Exact Solution`` (I01–I06) becomes :attr:`MMKPInstance.optimum`
    and :attr:`~MMKPInstance.optimum_choice`; ``Upper bound`` becomes
    :attr:`~MMKPInstance.upper_bound`; Moser's and HEU solutions go to
    :attr:`~MMKPInstance.references`.
    """
    path = Path(path)
    t = _Tokens(path, _read_text(path))
    n = t.integer("number of groups n", minimum=1)
    items = t.integer("items per group l", minimum=1)
    m = t.integer("number of resources m", minimum=1)
    capacities = t.numbers(m, f"{m} resource capacities")
    values, weights = _read_groups(t, n, items, m, "Khan data")
    inst = MMKPInstance(path.name, values, weights, capacities, source=str(path))

    # trailer: "Solutions by <label>" blocks and "Upper bound"
    while not t.at_end():
        tok = t.peek()
        if tok == "Solutions":
            t.pos += 1
            if t.peek() != "by":
                raise t.error("'by' after 'Solutions'")
            t.pos += 1
            words: list[str] = []
            while not t.at_end() and not re.fullmatch(r"-?\d+", t.peek() or ""):
                words.append(t.items[t.pos][0])
                t.pos += 1
            label = " ".join(words) or "solution"
            choice = np.array(
                [t.integer(f"{label}: item index of group {i + 1}") for i in range(n)],
                dtype=np.int64,
            )
            if ((choice < 0) | (choice >= items)).any():
                raise InputError(f"{path}: {label}: item index outside 0..{items - 1}")
            value = t.number(f"{label}: solution value")
            if label.lower().startswith("exact"):
                inst.optimum, inst.optimum_choice = value, choice
            else:
                inst.references[label] = (choice, value)
        elif tok == "Upper":
            t.pos += 1
            if t.peek() != "bound":
                raise t.error("'bound' after 'Upper'")
            t.pos += 1
            inst.upper_bound = t.number("upper bound value")
        else:
            raise t.error("'Solutions by …' or 'Upper bound' in the reference trailer")
    return inst


def read_hh_exact(path: str | Path) -> dict[tuple[str, int], float]:
    """``hh_exact_values.csv``: (file name, problem number) → proven optimum."""
    path = Path(path)
    out: dict[tuple[str, int], float] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for line, row in enumerate(reader, start=2):
            try:
                out[(row["file"], int(row["problem"]))] = float(row["exact_xpress"])
            except (KeyError, TypeError, ValueError):
                raise InputError(
                    f"{path}: line {line}: expected columns file, problem, exact_xpress"
                ) from None
    return out


def read_hh(path: str | Path, exact_values: str | Path | None = None) -> list[MMKPInstance]:
    """Read every problem of a Hiremath & Hill (2008) test-set file.

    The file is read as a stream of tokens (tab-separated, CRLF, trailing
    empty fields). Each problem: ``p classes items constraints``, capacities,
    then per class its number and ``items`` lines ``v w_1 … w_m``.

    ``exact_values``: the ``hh_exact_values.csv`` table; by default the one
    beside ``path`` when present. Matching optima go to ``optimum``.
    """
    path = Path(path)
    t = _Tokens(path, _read_text(path))
    csv_path = (
        Path(exact_values) if exact_values is not None else path.with_name("hh_exact_values.csv")
    )
    exact = read_hh_exact(csv_path) if csv_path.exists() else {}
    out: list[MMKPInstance] = []
    while not t.at_end():
        k = len(out) + 1
        p = t.integer(f"problem number (header of problem {k})", minimum=1)
        classes = t.integer(f"problem {p}: number of classes", minimum=1)
        items = t.integer(f"problem {p}: items per class", minimum=1)
        m = t.integer(f"problem {p}: number of constraints", minimum=1)
        capacities = t.numbers(m, f"problem {p}: {m} capacities")
        values, weights = _read_groups(t, classes, items, m, f"problem {p}")
        out.append(
            MMKPInstance(
                f"{path.name}#{p}",
                values,
                weights,
                capacities,
                optimum=exact.get((path.name, p)),
                source=str(path),
                problem_number=p,
            )
        )
    if not out:
        raise InputError(f"{path}: empty file, expected at least one problem")
    return out
