"""The checker's figures in the terminal summary, also under xdist (they travel as the test
report's user properties)."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = [
        str(value)
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for key, value in getattr(report, "user_properties", [])
        if key == "checker" and getattr(report, "when", "call") == "call"
    ]
    if lines:
        terminalreporter.section("durability checker")
        for line in lines:
            terminalreporter.write_line(line)
