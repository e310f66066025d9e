"""Provenance: what produced a result file.

Every result file carries a manifest (JSON in the Dataset's ``manifest``
attribute): the resolved scenario (after ``extends``), the input register's
hash, package, solver and library versions, the source commit (asked of
the checkout, or recorded in an installed package when it was built), solver
options, seeds, timings and status.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import sim

#: Written into the built package by ``setup.py``; holds the source commit.
BUILD_INFO = "_build_info.json"

LIBRARIES = ("numpy", "scipy", "xarray", "pyomo", "highspy", "pydantic", "pandas")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries results depend on."""
    out = {"tenglong": sim.__version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The source commit the package was built from (``+dirty`` if modified), if known.

    From a checkout (an editable install or ``PYTHONPATH``) git is asked
    directly; an installed copy reads the ``_build_info.json`` that
    ``setup.py`` wrote at build time. None when neither is there.
    """
    root = Path(sim.__file__).resolve().parent.parent
    if (root / ".git").exists():
        return _checkout_commit(root)
    return _built_commit()


def _checkout_commit(root: Path) -> str | None:
    """HEAD of the checkout at ``root``, with ``+dirty`` for uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _built_commit() -> str | None:
    """The commit recorded in the installed package at build time, if any."""
    info = Path(sim.__file__).resolve().parent / BUILD_INFO
    try:
        commit = json.loads(info.read_text(encoding="utf-8")).get("git_commit")
    except (OSError, ValueError):
        return None
    return str(commit) if commit else None


def build_manifest(
    *,
    scenario: dict[str, Any],
    scenario_file: str | None,
    inputs: dict[str, str],
    solver: dict[str, Any],
    timings: dict[str, float],
    status: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the manifest dictionary (JSON-serialisable)."""
    return {
        "tool": "tenglong",
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
        "scenario_file": scenario_file,
        "scenario": scenario,
        "inputs": inputs,
        "versions": library_versions(),
        "git_commit": git_commit(),
        "solver": solver,
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "status": status,
    }


def to_json(manifest: dict[str, Any]) -> str:
    """Stable JSON text (sorted keys, UTF-8 kept) of a manifest."""
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, default=str, indent=1)
