"""Reliability suite: report how many fuzzed inputs were run."""

from __future__ import annotations

import pytest
from reliability_support import FUZZ_COUNTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FUZZ_COUNTS:
        parts = ", ".join(f"{kind} {n}" for kind, n in sorted(FUZZ_COUNTS.items()))
        terminalreporter.write_line(
            f"reliability: {sum(FUZZ_COUNTS.values())} fuzzed inputs ({parts})"
        )
