"""The durability checker: random schedules of concurrent uploads and reads while nodes crash,
restart on their old data_dir, join and leave (see :mod:`tests.checker.checker` for the rules).

Each Hypothesis example is one schedule on a fresh ring. Generation is derandomized and uses no
example database, so every run of the suite draws the same schedules; a failure is shrunk and
printed (the schedule as it ran, the uploads and what became of them, the rules it broke).
``--checker-runs N`` sets the number of schedules (a soak run: ``--checker-runs 500``).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.checker.checker import Figures, Run
from tests.checker.schedule import Schedule, schedules

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_acknowledged_uploads_survive_churn(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    runs = int(request.config.getoption("--checker-runs"))
    figures = Figures()

    @settings(
        max_examples=runs,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(schedule=schedules())
    def check(schedule: Schedule) -> None:
        with tempfile.TemporaryDirectory(dir=tmp_path) as root:
            run = Run(schedule, Path(root), figures)
            asyncio.run(run.execute())
        assert not run.violations, run.report()

    try:
        check()
    finally:
        line = figures.line()
        print(line)
        request.node.user_properties.append(("checker", line))
