"""What the file commands show and parse around a transfer: the rich progress bar and sizes.

:func:`fetch_with_bar` runs the client's direct download (:func:`chordshare.client.download.fetch`)
under a bar drawn on the console; the downloader itself only reports ``(done, total)``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from chordshare.api.schemas.files import FileRecordView
from chordshare.client.download import GetReport, Progressed, fetch
from chordshare.errors import InvalidInput

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text: str) -> int:
    """``"20M"``, ``"512k"``, ``"1.5GiB"`` or plain bytes -> bytes (binary units)."""
    match = _SIZE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInput(f"not a positive size: {text!r} (e.g. 20M, 512K, 1G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]


class BinarySpeedColumn(ProgressColumn):
    """The transfer speed in binary units (``12.5 MiB/s``), like the sizes beside it: rich's
    own ``TransferSpeedColumn`` counts in decimal megabytes."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("?", style="progress.data.speed")
        unit, suffix = filesize.pick_unit_and_suffix(int(speed), BINARY_UNITS, 1024)
        precision = 0 if unit == 1 else 1
        return Text(f"{speed / unit:.{precision}f} {suffix}/s", style="progress.data.speed")


def progress_bar(console: Console, enabled: bool = True) -> Progress:
    """The transfer bar (name, bar, bytes, speed, time left); drawn only on a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        BinarySpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled or not console.is_terminal,
    )


def fetch_with_bar(
    view: FileRecordView,
    dest: Path,
    console: Console,
    *,
    force: bool = False,
    rate: float | None = None,
    seen: Progressed | None = None,
    sha256: bool = False,
) -> GetReport:
    """:func:`chordshare.client.download.fetch` with a bar on ``console``; the bar's task appears
    with the first verified bytes, so a file that is already there draws nothing."""
    with progress_bar(console) as bar:
        task: TaskID | None = None

        def step(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task(view.name, total=total)
            bar.update(task, completed=done, total=total)

        return fetch(view, dest, progress=step, force=force, rate=rate, seen=seen, sha256=sha256)
