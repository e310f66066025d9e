"""The README's quick start, tried as a new user would.

The test copies the checkout (the files git knows about, committed or not,
without ignored ones) to a temporary folder, creates a fresh virtual
environment there and runs the README's "## Quick start" ```bash blocks
literally, with the environment's ``bin`` first on ``PATH`` (as after
``source .venv/bin/activate``):

1. the first block (install, then ``tenglong run scenarios/hangzhou-2023.yaml``)
   must succeed and write the result, the decisions CSV and the plots;
2. the second block (install the test extras, then ``python3 -m pytest``) is
   run with ``--collect-only -q`` added to the pytest command, so that the
   whole suite (and this test) does not run recursively: it checks that the
   extras install and that every test module imports.

Settings (environment variables):

- ``TENGLONG_QUICKSTART_SYSTEM_SITE=1`` creates the environment with
  ``--system-site-packages`` (fast local runs; not a fresh machine).
- ``TENGLONG_IN_QUICKSTART`` is set inside the copy; this test skips itself there.

The wall-clock time of each block is printed (``-s``) and attached to the
test report as ``quickstart_seconds`` user properties.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("TENGLONG_IN_QUICKSTART")),
        reason="already inside the README quick-start check",
    ),
]


def quickstart_blocks(text: str) -> list[str]:
    """The ```bash blocks of the README's "## Quick start" section, in order."""
    match = re.search(r"^## Quick start[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if match is None:
        return []
    return [b.strip() for b in re.findall(r"^```(?:bash|sh|console)\n(.*?)^```", match.group(1),
                                          flags=re.M | re.S)]


def collect_only(block: str) -> str:
    """``block`` with ``--collect-only -q`` added to each pytest invocation."""
    out, n = re.subn(r"(\bpython3? -m pytest|\bpytest)\b", r"\1 --collect-only -q", block)
    assert n, f"no pytest command in the README's second quick-start block:\n{block}"
    return out


def _copy_checkout(dest: Path) -> None:
    """Copy the files git tracks or would track (not ignored ones) to ``dest``."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            capture_output=True, check=True, timeout=60,
        ).stdout.decode().split("\0")
    except (OSError, subprocess.SubprocessError):
        ignore = shutil.ignore_patterns(".git", ".venv", "results", "build", "*.egg-info",
                                        "__pycache__", ".*_cache", ".hypothesis")
        shutil.copytree(ROOT, dest, ignore=ignore)
        return
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def _run_block(block: str, cwd: Path, env: dict[str, str], timeout: float) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, (
        f"README quick-start block failed (exit {proc.returncode}) after {elapsed:.0f} s:\n"
        f"$ {block}\n--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return elapsed


def test_readme_quickstart(tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    if not README.exists():
        pytest.skip("README.md does not exist yet")
    blocks = quickstart_blocks(README.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip("README.md has no '## Quick start' section with ```bash blocks")
    assert len(blocks) >= 2, f"expected two quick-start blocks (run, tests), found {blocks}"

    clone = tmp_path / "tenglong"
    _copy_checkout(clone)
    venv = tmp_path / "venv"
    args = [sys.executable, "-m", "venv", str(venv)]
    if os.environ.get("TENGLONG_QUICKSTART_SYSTEM_SITE"):
        args.append("--system-site-packages")
    subprocess.run(args, check=True, timeout=300)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        TENGLONG_IN_QUICKSTART="1",
        COLUMNS="160",
    )
    run_s = _run_block(blocks[0], clone, env, timeout=1800)
    record_property("quickstart_seconds", round(run_s, 1))
    print(f"\nREADME quick start, block 1 (fresh venv install + run): {run_s:.0f} s")

    results = clone / "results"
    assert (results / "hangzhou-2023.nc").is_file()
    assert (results / "hangzhou-2023-decisions.csv").stat().st_size > 0
    plots = results / "hangzhou-2023-plots"
    if plots.exists():
        assert list(plots.glob("*.png")), f"{plots} holds no PNG"
    assert not list(results.rglob("*.partial")), "a temporary file was left behind"

    tests_s = _run_block(collect_only(blocks[1]), clone, env, timeout=1200)
    record_property("quickstart_tests_seconds", round(tests_s, 1))
    print(f"README quick start, block 2 (test extras + collection): {tests_s:.0f} s")


def test_quickstart_parsing() -> None:
    text = (
        "# x\n\n## Quick start\n\nSome words.\n\n"
        "```bash\npip install . && tenglong run a.yaml\n```\n"
        "\ntext\n\n```bash\npip install '.[test]' && python3 -m pytest\n```\n\n## Next\n"
        "```bash\nnot this\n```\n"
    )
    blocks = quickstart_blocks(text)
    assert blocks == ["pip install . && tenglong run a.yaml",
                      "pip install '.[test]' && python3 -m pytest"]
    assert collect_only(blocks[1]) == "pip install '.[test]' && python3 -m pytest --collect-only -q"
    assert quickstart_blocks("# no quick start\n") == []
