"""Target 4: many concurrent `unreadCount` subscriptions on one server process, the clients in
another. Idle server RSS per subscription (from /proc), the server's Redis pub/sub
connections (CLIENT LIST), and push latency from send to push while messages are delivered
to random subscribed users at a steady rate, with every push accounted for."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import orjson
from redis.asyncio import Redis

from bench.bare_pipeline import DELIVERY_LOOPS, baseline_queue, run_baseline
from bench.context import BenchContext
from bench.cpu import UNIT, CpuShares, cpu_figure, cpu_shares, cpu_turn
from bench.figures import Figure
from bench.latency import LatencyDistribution, LatencyHistogram
from bench.processes import running_module, serving
from bench.query_path import cache_lookups

FULL_SUBSCRIPTIONS = 10_000
QUICK_SUBSCRIPTIONS = 100
RATE = 100.0
# Messages through the bare pipeline before the server starts. A full run reaches this target
# after target 3's ~2,000; 1,000 cut DynamoDB Local's CPU a message by about a third.
WARM_UP = 1_000
QUICK_WARM_UP = 20
# Long enough for the kernel's 10 ms CPU ticks to be small beside what 10,000 sockets cost.
IDLE_CPU_SECONDS = 10.0


async def pubsub_clients(redis_url: str, addresses: set[str] | None = None) -> list[dict[str, str]]:
    """Redis connections in subscriber mode (subscribed to at least one channel or pattern),
    only those from `addresses` when given (the Redis may serve other processes too)."""
    redis = Redis.from_url(redis_url, socket_timeout=10)
    try:
        clients: list[dict[str, Any]] = await redis.client_list()
    finally:
        await redis.aclose()
    return [
        {k: str(v) for k, v in c.items() if k in ("id", "addr", "name", "sub", "psub", "cmd")}
        for c in clients
        if int(c.get("sub", 0)) + int(c.get("psub", 0)) + int(c.get("ssub", 0) or 0) > 0
        and (addresses is None or c.get("addr") in addresses)
    ]


def _line(process: Any) -> dict[str, Any]:
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("the client process ended early")
    found: dict[str, Any] = orjson.loads(line)
    return found


def run(context: BenchContext) -> list[Figure]:
    env = context.server_env()
    queue_url = asyncio.run(baseline_queue(context))
    # As target 3 does before it measures: a run of this target alone would otherwise send to
    # a cold DynamoDB Local, and the p99 would be its JIT's warm-up (docs/performance.md).
    warm_up = run_baseline(
        context,
        queue_url,
        QUICK_WARM_UP if context.quick else WARM_UP,
        receivers=DELIVERY_LOOPS,
        env=env,
    )
    wanted = QUICK_SUBSCRIPTIONS if context.quick else FULL_SUBSCRIPTIONS
    seconds = 2.0 if context.quick else 10.0
    rate = 10.0 if context.quick else RATE
    with serving("stack", context.log_dir, env=env, workers=DELIVERY_LOOPS) as server:
        # One subscription opened and closed, a page read: code paths loaded before the baseline.
        cache_lookups(server.url)
        asyncio.run(pubsub_clients(context.stack.redis_url))
        idle_before = server.rss_kib()
        window = 2.0 if context.quick else IDLE_CPU_SECONDS
        # The server's own idle CPU (its delivery loops' empty polls among it), to subtract.
        with cpu_turn(server.process.pid) as empty:
            time.sleep(window)  # a measurement window, not synchronisation
        args = ["--port", str(server.port), "--users", str(wanted)]
        args += ["--prefix", f"bench-sub-{context.tag}-", "--rate", str(rate)]
        args += ["--seconds", str(seconds)]
        with running_module("bench.ws_clients", args) as clients:
            opened = _line(clients)
            idle_after = server.rss_kib()
            with cpu_turn(server.process.pid) as held:
                time.sleep(window)  # a measurement window, not synchronisation
            connections = asyncio.run(
                pubsub_clients(context.stack.redis_url, server.local_addresses())
            )
            assert clients.stdin is not None
            every = {"server": server.process.pid, "clients": clients.pid, **context.stack_pids}
            with cpu_shares(every) as send_phase:
                clients.stdin.write(b"go\n")
                clients.stdin.flush()
                sent = _line(clients)
            busy_rss = server.rss_kib()
    subscribed = opened["subscribed"]
    per_subscription = 1024 * (idle_after - idle_before) / max(subscribed, 1) / 1000
    hours = window / 3600
    return [
        Figure(
            4,
            "concurrent unreadCount subscriptions",
            subscribed,
            "subs",
            target=wanted,
            detail=opened,
        ),
        Figure(
            4,
            "server Redis pub/sub connections",
            len(connections),
            "conns",
            target=1,
            compare="==",
            detail={"clients": connections},
        ),
        Figure(
            4,
            "server RSS per idle subscription",
            per_subscription,
            "KB",
            target=40,
            compare="<=",
            detail={
                "rss_kib_before": idle_before,
                "rss_kib_idle": idle_after,
                "rss_kib_under_load": busy_rss,
            },
        ),
        Figure(
            4,
            f"p99 send->push latency at {rate:g} msg/s",
            sent["p99_ms"],
            "ms",
            target=250,
            compare="<=",
            detail={**sent, "dynamodb_warm_up": warm_up},
            latency=LatencyDistribution(
                "t4-send-to-push-subscribed",
                f"send → unreadCount push at {rate:g} msg/s offered, "
                f"{subscribed:,} subscriptions open",
                LatencyHistogram.from_json(sent["histogram"]),
            ),
        ),
        Figure(4, "lost pushes", sent["lost"], "msgs", target=0, compare="<=", detail=sent),
        cpu_figure(
            4,
            "CPU: idle subscription, per hour",
            1000 * max(0.0, held.seconds - empty.seconds) / max(subscribed, 1) / hours,
            key="idle_subscription_hour",
            measured_on=(
                f"bench.serve stack with {subscribed:,} unreadCount subscriptions open and idle "
                f"for {window:g} s, less the same server's CPU over {window:g} s without them"
            ),
            detail={"cpu_seconds_held": held.seconds, "cpu_seconds_empty": empty.seconds},
        ),
        Figure(
            4, "failed sends", sent["failed_sends"], "msgs", target=0, compare="<=", detail=sent
        ),
        *send_phase_figures(send_phase, sent["delivered"]),
    ]


def send_phase_figures(send_phase: CpuShares, delivered: int) -> list[Figure]:
    """Where the machine's cores went from the first send to the last push: whether the
    server, the clients or the emulators set the pace, and what DynamoDB Local (which AWS
    would run elsewhere) spent a message."""
    cores = send_phase.cores()
    found = [
        Figure(
            4,
            "cores busy, first send to last push",
            sum(cores.values()),
            "cores",
            detail={
                "cores_by_process": cores,
                "cores_on_machine": os.cpu_count(),
                "seconds": round(send_phase.wall_seconds, 2),
            },
        )
    ]
    dynamodb = send_phase.turns.get("dynamodb")
    if dynamodb is not None and delivered:
        found.append(
            Figure(
                4,
                "  DynamoDB Local, per delivered message",
                dynamodb.per_operation_ms(delivered),
                UNIT,
                detail={
                    "measured_on": "DynamoDB Local's JVM (/proc), from the first send to the "
                    "last push",
                    "cpu_seconds": dynamodb.seconds,
                    "delivered": delivered,
                },
            )
        )
    return found
