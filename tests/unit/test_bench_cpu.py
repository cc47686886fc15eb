"""bench/cpu.py: a process's CPU from /proc, and the CPU profile the bench writes for the cost
model, merged target by target."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pytest

from bench.cpu import cpu_figure, cpu_seconds, cpu_turn, write_cpu_profile
from bench.figures import Figure
from services.cost.cpu import parse_cpu_profile


def burn(seconds: float) -> None:
    """Spend this much of the process's own CPU (time.process_time counts it another way)."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_cpu_turn_counts_the_cpu_the_process_spends() -> None:
    with cpu_turn(os.getpid()) as turn:
        burn(0.3)
    # Clock ticks are 10 ms; the two clocks round differently.
    assert turn.seconds == pytest.approx(0.3, abs=0.05)
    assert turn.per_operation_ms(100) == pytest.approx(10 * turn.seconds)
    assert cpu_seconds(os.getpid()) >= turn.started + turn.seconds


def test_a_turn_with_no_operations_is_refused() -> None:
    with cpu_turn(os.getpid()) as turn:
        pass
    with pytest.raises(RuntimeError, match="no operations"):
        turn.per_operation_ms(0)


def test_profile_keeps_what_earlier_targets_measured(tmp_path: Path) -> None:
    out = tmp_path / "cpu_profile.json"
    first = [
        cpu_figure(2, "CPU: unreadCount", 4.0, key="unread_count", measured_on="stack"),
        cpu_figure(2, "CPU: page executed", 20.0, key="inbox_page_executed", measured_on="s"),
        cpu_figure(2, "CPU: page cached", 3.0, key="inbox_page_cached", measured_on="s"),
        Figure(2, "req/s, not CPU", 50.0, "req/s"),
    ]
    written = write_cpu_profile(first, out, "uv run python -m bench --only 2")
    assert written == ["unread_count", "inbox_page_executed", "inbox_page_cached"]
    later = [
        cpu_figure(3, "CPU: send", 5.0, key="send_api", measured_on="stack"),
        cpu_figure(3, "CPU: delivery", 11.0, key="delivery_worker", measured_on="worker"),
        cpu_figure(4, "CPU: idle", 0.5, key="idle_subscription_hour", measured_on="stack"),
        cpu_figure(2, "CPU: unreadCount", 4.5, key="unread_count", measured_on="stack"),
    ]
    write_cpu_profile(later, out, "uv run python -m bench --only 3 4")
    data = orjson.loads(out.read_bytes())
    ops = data["operations"]
    assert ops["inbox_page_executed"]["command"] == "uv run python -m bench --only 2"
    assert ops["unread_count"]["ms"] == 4.5
    assert ops["unread_count"]["command"] == "uv run python -m bench --only 3 4"
    assert "req/s, not CPU" not in str(data)
    cpu = parse_cpu_profile(data)
    assert (cpu.delivery_worker_ms, cpu.inbox_page_cached_ms) == (11.0, 3.0)
    assert "--only 2 --write-cpu-profile" in cpu.source
