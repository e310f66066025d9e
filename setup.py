"""Build hook: record the source commit in the installed package.

A plain ``pip install .`` copies ``sim/`` into site-packages, where no ``.git``
is left to ask which commit produced a result. This hook writes
``sim/_build_info.json`` (commit, ``+dirty`` flag) into the build, and
:func:`sim.results.manifest.git_commit` reads it when the package does not run
from a checkout. Everything else is configured in ``pyproject.toml``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUILD_INFO = "_build_info.json"


def _git(*args: str) -> str | None:
    """Output of a git command in the source tree, or None without git or a checkout."""
    try:
        done = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), *args],
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


class BuildWithCommit(build_py):
    """``build_py`` that also writes the source commit into the built package."""

    def run(self) -> None:
        super().run()
        package = Path(self.build_lib) / "sim"
        if getattr(self, "editable_mode", False) or not package.is_dir():
            return  # an editable install runs from the checkout, where git is asked
        commit = _git("rev-parse", "HEAD")
        if not commit:
            return
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        info = {"git_commit": commit + ("+dirty" if dirty else "")}
        target = package / BUILD_INFO
        target.write_text(json.dumps(info), encoding="utf-8")


setup(cmdclass={"build_py": BuildWithCommit})
