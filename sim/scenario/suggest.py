"""Did-you-mean suggestions for misspelt keys and values.

Used by :mod:`sim.scenario.loader` to turn ``unknown key 'tragets'`` into
``unknown key 'tragets'; did you mean 'targets'?``. Matching is
case-insensitive and ignores ``_``/``-``/space differences, so
``Land-Freed`` suggests ``land_freed``.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz, process

#: Minimum similarity (0–100, rapidfuzz's normalised Levenshtein ratio) for a suggestion.
DEFAULT_CUTOFF = 60.0


def _normalise(word: str) -> str:
    return word.casefold().replace("-", "_").replace(" ", "_")


def suggest(word: str, candidates: Iterable[str], cutoff: float = DEFAULT_CUTOFF) -> str | None:
    """Return the candidate closest to ``word``, or ``None`` when none is close enough.

    An exact match after normalisation (case, ``-``, spaces) always wins.
    Otherwise the best plain Levenshtein similarity ratio at or above
    ``cutoff`` (0–100) is returned, unless two candidates tie for best. A
    word of 3+ characters that starts exactly one candidate also matches it.
    """
    choices = [c for c in dict.fromkeys(candidates) if isinstance(c, str)]
    if not choices:
        return None
    norm = _normalise(word)
    for c in choices:
        if _normalise(c) == norm:
            return c
    normalised = [_normalise(c) for c in choices]
    ranked = process.extract(norm, normalised, scorer=fuzz.ratio, score_cutoff=cutoff, limit=2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None  # ambiguous: '=' is as close to '>=' as to '<='
    best = ranked[0] if ranked else None
    if best is None:
        # A word that is a prefix of exactly one candidate ("land" → "land_freed_mu").
        prefixed = [c for c, n in zip(choices, normalised, strict=True) if n.startswith(norm)]
        if len(norm) >= 3 and len(prefixed) == 1:
            return prefixed[0]
        return None
    return choices[best[2]]


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = DEFAULT_CUTOFF) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    best = suggest(word, candidates, cutoff)
    return f"; did you mean '{best}'?" if best is not None and best != word else ""
