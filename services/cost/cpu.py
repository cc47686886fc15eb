"""CPU per operation, measured, and what the model derives from it: the API's CPU per user a
day (which sizes the Fargate tasks) and a delivery invocation's duration (which Lambda bills).

The figures are `services/cost/cpu_profile.json`, written by the benchmark suite (`uv run
python -m bench --only 2 --write-cpu-profile`, and 3 and 4): a server process's own CPU over a
load turn on the local stack, divided by the operations it completed (bench/cpu.py).
`load_cpu_profile(path)` is the only I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.errors import CostModelError

DEFAULT_CPU_PROFILE = Path(__file__).with_name("cpu_profile.json")
# What the model reads from the CPU profile; the bench writes more (the in-memory figures).
REQUIRED_CPU = (
    "unread_count",
    "inbox_page_executed",
    "inbox_page_cached",
    "send_api",
    "delivery_worker",
    "idle_subscription_hour",
)
# A live session opens two subscriptions (unreadCount, messageReceived) on one socket; the
# bench held one socket per subscription, so this counts a socket twice: the cautious side.
SUBSCRIPTIONS_PER_CONNECTION = 2


@dataclass(frozen=True)
class CpuCosts:
    """Milliseconds of CPU per operation (zero unless loaded from a measured profile)."""

    unread_count_ms: float = 0.0
    inbox_page_executed_ms: float = 0.0
    inbox_page_cached_ms: float = 0.0
    send_api_ms: float = 0.0
    delivery_worker_ms: float = 0.0
    idle_subscription_ms_per_hour: float = 0.0
    source: str = ""


def load_cpu_profile(path: Path | None = None) -> CpuCosts:
    data: Any = json.loads((path or DEFAULT_CPU_PROFILE).read_text())
    return parse_cpu_profile(data)


def parse_cpu_profile(data: Any) -> CpuCosts:
    """The JSON bench/cpu.py writes, reduced to what the model uses, with where it came from."""
    if not isinstance(data, dict) or not isinstance(data.get("operations"), dict):
        raise CostModelError("a CPU profile is an object with an 'operations' object")
    ops = data["operations"]
    absent = [key for key in REQUIRED_CPU if key not in ops]
    if absent:
        raise CostModelError(f"the CPU profile lacks {', '.join(absent)}")
    dates = sorted({str(ops[key]["measured_at"])[:10] for key in REQUIRED_CPU})
    commands = sorted({str(ops[key]["command"]) for key in REQUIRED_CPU})
    source = (
        f"measured {' to '.join(dict.fromkeys([dates[0], dates[-1]]))} by "
        + ", ".join(f"`{c} --write-cpu-profile`" for c in commands)
        + f" on {data.get('machine', 'an unstated machine')}"
    )
    return CpuCosts(
        unread_count_ms=float(ops["unread_count"]["ms"]),
        inbox_page_executed_ms=float(ops["inbox_page_executed"]["ms"]),
        inbox_page_cached_ms=float(ops["inbox_page_cached"]["ms"]),
        send_api_ms=float(ops["send_api"]["ms"]),
        delivery_worker_ms=float(ops["delivery_worker"]["ms"]),
        idle_subscription_ms_per_hour=float(ops["idle_subscription_hour"]["ms"]),
        source=source,
    )


def api_cpu_ms_per_day(cpu: CpuCosts, usage: UsageProfile) -> float:
    """The API's CPU for one user's requests a day. Four operations are measured; the others
    take the measured one they most resemble (an assumption): pages of conversations and
    changes are priced as the executed inbox page; a message open, markRead and markAllRead,
    each one or two DynamoDB calls and a Redis one, as a send's API part; setTyping, Redis
    only, and opening a subscription, one GetItem, as unreadCount."""
    hit = usage.inbox_page_response_cache_hit_ratio
    page = hit * cpu.inbox_page_cached_ms + (1 - hit) * cpu.inbox_page_executed_ms
    pages = (
        usage.conversation_pages_per_day
        + usage.conversation_list_pages_per_day
        + usage.changes_calls_per_day
    )
    single_item = usage.message_opens_per_day + usage.mark_reads_per_day
    single_item += usage.mark_all_reads_per_day
    lookups = usage.unread_count_queries_per_day + usage.typing_calls_per_day
    lookups += usage.live_sessions_per_day * SUBSCRIPTIONS_PER_CONNECTION
    return (
        usage.sends_per_day * cpu.send_api_ms
        + usage.inbox_pages_per_day * page
        + pages * cpu.inbox_page_executed_ms
        + single_item * cpu.send_api_ms
        + lookups * cpu.unread_count_ms
    )


def idle_connection_cpu_ms_per_hour(cpu: CpuCosts) -> float:
    return SUBSCRIPTIONS_PER_CONNECTION * cpu.idle_subscription_ms_per_hour


def lambda_seconds_per_invocation(cpu: CpuCosts, a: Assumptions, batch: float) -> float:
    """Lambda bills wall time, not CPU. The batch's deliveries run concurrently, so their
    waits on AWS overlap (`lambda_wait_seconds_per_invocation`, an assumption) while their
    CPU adds up, measured per delivery, and slowed by the CPU share Lambda gives the
    function's memory (one vCPU at `lambda_mb_per_vcpu`)."""
    share = min(1.0, a.lambda_memory_mb / a.lambda_mb_per_vcpu)
    return batch * cpu.delivery_worker_ms / 1000 / share + a.lambda_wait_seconds_per_invocation
