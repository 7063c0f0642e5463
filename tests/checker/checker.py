"""Runs a schedule against a :class:`FilesCluster` and checks the history it leaves.

The promise under test: what the network acknowledged, it keeps. The rules, Jepsen-style:

* an upload that returned is **acknowledged**; one that raised a ``ChordshareError`` is
  **failed**; one whose node crashed or left under it, or that had not finished when the run
  drained, is **unknown** (its content may exist or not);
* every read returns, byte for byte, one content of an upload under that name that is
  acknowledged, unknown or still running, and the content hash its record claims is that of the
  bytes; or it fails cleanly with a ``ChordshareError`` (or finds nothing). Wrong bytes, bytes
  of a failed upload, or any other exception break the rule;
* after a final repair period, every acknowledged content is downloadable, byte-exact, from a
  random live node (by its content hash);
* no maintenance job raises anything but a ``ChordshareError``.

Faults keep to what k = 3 replicas promise to survive: at most k-1 nodes crashed and not
restarted at once, at least k+1 members before a leave, and a repair period after every fault.
Client operations run as tasks, concurrently with each other and with the faults and repair
periods that follow them; they are not awaited where they start.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chordshare.errors import ChordshareError
from tests.checker.harness import FilesCluster, K, Member, content_hash, drain
from tests.checker.schedule import (
    Crash,
    Join,
    Leave,
    Op,
    Read,
    Restart,
    Schedule,
    Upload,
    Wait,
)

MAX_MEMBERS = 9
DRAIN_TICKS = 60
"""Rounds the client operations still running at the end get before they count as timed out."""


@dataclass
class Attempt:
    """One upload: its content, and what became of it."""

    op: Upload
    node: str
    content: bytes
    started: int
    status: str = "running"  # acknowledged | failed | unknown
    ended: int | None = None
    detail: str = ""


@dataclass
class Figures:
    """Totals over every schedule run (for the release note)."""

    schedules: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    uploads: Counter[str] = field(default_factory=Counter)
    reads: Counter[str] = field(default_factory=Counter)
    checked: int = 0
    lost: int = 0

    def line(self) -> str:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        uploads = ", ".join(f"{k} {v}" for k, v in sorted(self.uploads.items()))
        reads = ", ".join(f"{k} {v}" for k, v in sorted(self.reads.items()))
        return (
            f"durability checker: {self.schedules} schedules; faults: {faults}; uploads: "
            f"{uploads}; reads: {reads}; acknowledged contents checked at the end: "
            f"{self.checked}; lost: {self.lost}"
        )


class Run:
    """One schedule on one fresh cluster."""

    def __init__(self, schedule: Schedule, root: Path, figures: Figures) -> None:
        self.schedule = schedule
        self.cluster = FilesCluster(root, seed=schedule.seed)
        self.rng = random.Random(schedule.seed)
        self.figures = figures
        self.attempts: list[Attempt] = []
        self.violations: list[str] = []
        self.log: list[str] = []
        self.tasks: dict[str, list[asyncio.Task[None]]] = {}
        self.seq = 0
        self.crashed: list[Member] = []

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    # -- the run --------------------------------------------------------------------------------

    async def execute(self) -> None:
        cluster = self.cluster
        try:
            await cluster.grow(self.schedule.nodes)
            self.log.append(f"ring of {self.schedule.nodes}: {[m.name for m in cluster.live()]}")
            for number, op in enumerate(self.schedule.ops):
                self.log.append(f"{number:2}. {await self._apply(op)}")
            running = [t for ts in self.tasks.values() for t in ts]
            await drain(cluster, running, DRAIN_TICKS)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await cluster.repair_period()
            await self._final_check()
            self.violations += [f"maintenance bug: {bug}" for bug in cluster.bugs]
        finally:
            await cluster.close()
        self.figures.schedules += 1
        for attempt in self.attempts:
            self.figures.uploads[attempt.status] += 1

    def report(self) -> str:
        uploads = [
            f"  upload {a.op.file} {len(a.content)} B {content_hash(a.content).hex()[:12]} at "
            f"{a.node}: {a.status} {a.detail}".rstrip()
            for a in self.attempts
        ]
        return "\n".join(
            [
                "violated:",
                *(f"  {v}" for v in self.violations),
                "schedule:",
                *(f"  {line}" for line in self.log),
                "uploads:",
                *uploads,
            ]
        )

    async def _apply(self, op: Op) -> str:
        cluster = self.cluster
        live = sorted(cluster.live(), key=lambda m: m.name)
        if isinstance(op, Upload | Read):
            member = live[op.node % len(live)]
            self._spawn(member, self._upload(member, op) if isinstance(op, Upload) else
                        self._read(member, op))  # fmt: skip
            return f"{op} at {member.name}"
        if isinstance(op, Wait):
            for _ in range(op.ticks):
                await cluster.tick()
            return str(op)
        applied = await self._fault(op, live)
        if applied is None:
            return f"{op}: skipped"
        self.figures.faults[type(op).__name__.lower()] += 1
        await cluster.repair_period()
        return f"{op}: {applied}, then {cluster.repair_ticks()} repair ticks"

    async def _fault(self, op: Op, live: list[Member]) -> str | None:
        cluster = self.cluster
        if isinstance(op, Crash):
            if len(self.crashed) >= K - 1 or len(live) <= K:
                return None
            member = live[op.node % len(live)]
            interrupted = self._interrupt(member, "crashed")
            await cluster.crash(member)
            await asyncio.gather(*interrupted, return_exceptions=True)
            self.crashed.append(member)
            return f"crashed {member.name}"
        if isinstance(op, Restart):
            if not self.crashed:
                return None
            member = self.crashed.pop(op.node % len(self.crashed))
            await cluster.restart(member)
            return f"restarted {member.name}"
        if isinstance(op, Join):
            if len(live) + len(self.crashed) >= MAX_MEMBERS:
                return None
            member = await cluster.add()
            return f"{member.name} joined"
        assert isinstance(op, Leave)
        if len(live) <= K + 1:
            return None
        member = live[op.node % len(live)]
        await cluster.leave(member)
        await asyncio.gather(*self._interrupt(member, "left"), return_exceptions=True)
        return f"{member.name} left"

    def _spawn(self, member: Member, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.setdefault(member.name, []).append(task)

    def _interrupt(self, member: Member, why: str) -> list[asyncio.Task[None]]:
        """The client requests ``member`` was serving die with it: cancelled now (the caller
        awaits them once the fault is done)."""
        tasks = self.tasks.pop(member.name, [])
        for task in tasks:
            task.cancel()
        for attempt in self.attempts:
            if attempt.node == member.name and attempt.status == "running":
                attempt.status, attempt.detail = "unknown", f"(node {why})"
        return tasks

    # -- client operations ----------------------------------------------------------------------

    async def _upload(self, member: Member, op: Upload) -> None:
        attempt = Attempt(op, member.name, op.content(), self._next())
        self.attempts.append(attempt)
        try:
            await self.cluster.upload(member, op.file, attempt.content)
        except asyncio.CancelledError:
            attempt.status, attempt.ended = "unknown", self._next()
            attempt.detail = attempt.detail or "(interrupted)"
            raise
        except ChordshareError as exc:
            attempt.status, attempt.ended = "failed", self._next()
            attempt.detail = f"({type(exc).__name__}: {exc})"
        except Exception as exc:
            attempt.status, attempt.ended = "unknown", self._next()
            self.violations.append(f"upload {op} at {member.name} raised {exc!r}")
        else:
            attempt.status, attempt.ended = "acknowledged", self._next()

    async def _read(self, member: Member, op: Read) -> None:
        started = self._next()
        try:
            got = await self.cluster.read(member, op.file, variant=op.variant)
        except asyncio.CancelledError:
            raise
        except ChordshareError:
            self.figures.reads["failed cleanly"] += 1
            return
        except Exception as exc:
            self.violations.append(f"read {op} at {member.name} raised {exc!r}")
            return
        ended = self._next()
        if got is None:
            self.figures.reads["found nothing"] += 1
            return
        data, claimed = got
        self.figures.reads["returned bytes"] += 1
        allowed = [
            a
            for a in self.attempts
            if a.op.file == op.file
            and a.started < ended
            and not (a.status == "failed" and a.ended is not None and a.ended < started)
        ]
        if claimed != content_hash(data):
            self.violations.append(
                f"read {op} at {member.name}: {len(data)} bytes whose hash is not the "
                f"record's {claimed.hex()[:12]}"
            )
        if not any(a.content == data for a in allowed):
            self.violations.append(
                f"read {op} at {member.name}: {len(data)} bytes "
                f"{content_hash(data).hex()[:12]} are no content acknowledged, unknown or "
                f"in flight under {op.file}"
            )

    # -- the end --------------------------------------------------------------------------------

    async def _final_check(self) -> None:
        acknowledged = {
            (a.op.file, a.content): a for a in self.attempts if a.status == "acknowledged"
        }
        live = sorted(self.cluster.live(), key=lambda m: m.name)
        for (name, content), attempt in acknowledged.items():
            self.figures.checked += 1
            reader = live[self.rng.randrange(len(live))]
            where = f"{name} {len(content)} B {content_hash(content).hex()[:12]} (uploaded at "
            where += f"{attempt.node}) from {reader.name}"
            try:
                got = await self.cluster.read(reader, name, content)
            except ChordshareError as exc:
                got, problem = None, f"{type(exc).__name__}: {exc}"
            else:
                problem = "no record lists this content"
            if got is not None and got[0] == content:
                continue
            if got is not None:
                problem = f"wrong bytes ({len(got[0])} B)"
            self.figures.lost += 1
            stored = [m.name for m in self.cluster.storing(content)]
            self.violations.append(
                f"lost acknowledged upload: {where}: {problem}; live nodes storing it: {stored}"
            )
