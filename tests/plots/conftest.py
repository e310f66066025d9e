"""Make the shared small-result factory (tests/results/result_factories.py) importable."""

from __future__ import annotations

import sys
from pathlib import Path

_RESULTS = str(Path(__file__).resolve().parents[1] / "results")
if _RESULTS not in sys.path:
    sys.path.insert(0, _RESULTS)
