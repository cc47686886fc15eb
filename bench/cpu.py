"""CPU per operation: a server process's own CPU time (user + system, every thread, from
/proc/<pid>/stat) across a load turn, divided by the operations completed in that turn.

Throughput on a shared 2-core machine says little about what a task costs; CPU time spent by
the one process that served the turn does, and the cost model sizes API tasks and Lambda
durations from it (`services/cost/cpu_profile.json`, written by `python -m bench
--write-cpu-profile`). The kernel counts in clock ticks (10 ms at 100 Hz), so a turn must
serve enough operations for a tick to be small beside it.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.figures import Figure

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
UNIT = "ms CPU"
# The key a figure carries into the CPU profile, in its detail.
PROFILE_KEY = "cpu_profile_key"
CPU_PROFILE = Path(__file__).resolve().parents[1] / "services" / "cost" / "cpu_profile.json"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process so far, its threads included (dead ones too)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of proc(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


@dataclass
class CpuTurn:
    """The CPU a process spent between the start and the end of a `with cpu_turn(pid)`."""

    pid: int
    started: float = 0.0
    seconds: float = 0.0

    def per_operation_ms(self, operations: int) -> float:
        if operations <= 0:
            raise RuntimeError(f"no operations completed in a CPU turn of pid {self.pid}")
        return 1000 * self.seconds / operations


@contextmanager
def cpu_turn(pid: int) -> Iterator[CpuTurn]:
    turn = CpuTurn(pid, started=cpu_seconds(pid))
    yield turn
    turn.seconds = cpu_seconds(pid) - turn.started


@dataclass
class CpuShares:
    """What each of several processes spent across the same stretch of wall time."""

    turns: dict[str, CpuTurn]
    wall_seconds: float = 0.0

    def cores(self) -> dict[str, float]:
        """Each process's CPU as cores busy on average (1.0: one core all the time)."""
        wall = max(self.wall_seconds, 1e-9)
        return {name: round(turn.seconds / wall, 2) for name, turn in self.turns.items()}


@contextmanager
def cpu_shares(pids: Mapping[str, int]) -> Iterator[CpuShares]:
    began = time.monotonic()
    with ExitStack() as turns:
        shares = CpuShares({name: turns.enter_context(cpu_turn(pid)) for name, pid in pids.items()})
        yield shares
    shares.wall_seconds = time.monotonic() - began


def cpu_figure(
    target_id: int,
    name: str,
    ms: float,
    *,
    key: str,
    measured_on: str,
    detail: dict[str, Any] | None = None,
) -> Figure:
    """An info figure in ms of CPU; `key` names it in the CPU profile the cost model reads."""
    return Figure(
        target_id,
        name,
        ms,
        UNIT,
        detail={PROFILE_KEY: key, "measured_on": measured_on, **(detail or {})},
    )


def write_cpu_profile(figures: Sequence[Figure], out: Path, command: str) -> list[str]:
    """Each CPU figure of this run into `out` under its key, with where, when and how it was
    measured; keys this run did not measure keep their earlier entry (targets run one at a
    time). Returns the keys written."""
    data: dict[str, Any] = orjson.loads(out.read_bytes()) if out.exists() else {}
    entries: dict[str, Any] = data.setdefault("operations", {})
    when = datetime.now(UTC).isoformat(timespec="seconds")
    written = []
    for figure in figures:
        key = figure.detail.get(PROFILE_KEY)
        if figure.unit != UNIT or not isinstance(key, str):
            continue
        entries[key] = {
            "ms": round(figure.value, 4),
            "figure": figure.name.strip(),
            "measured_on": figure.detail["measured_on"],
            "measured_at": when,
            "command": command,
        }
        written.append(key)
    data["method"] = (
        "bench/cpu.py: the serving process's utime+stime from /proc/<pid>/stat across a load "
        "turn, divided by the operations completed in it"
    )
    data["machine"] = f"{_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    data["operations"] = dict(sorted(entries.items()))
    out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    return written


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()
