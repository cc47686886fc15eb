"""Target 3: the send pipeline on the local stack. Messages sent over HTTP as fast as a few
concurrent senders go, queued on SQS, delivered by the server's workers into DynamoDB and
pushed to live `unreadCount` subscribers, against the bound the emulators set by themselves
(`bench.aws_load pipeline`, bench/pipeline_baseline.py: every AWS call a send and its delivery
make, bare, with the same item shapes, same run)."""

from __future__ import annotations

import asyncio
from typing import Any

from bench import send_cpu
from bench.bare_pipeline import (
    DELIVERY_LOOPS,
    RECIPIENTS,
    SENDERS,
    baseline_queue,
    run_baseline,
)
from bench.context import BenchContext
from bench.cpu import UNIT
from bench.figures import Figure
from bench.latency import LatencyDistribution, LatencyHistogram
from bench.pipeline_baseline import NAME as BASELINE_NAME
from bench.processes import running_module, serving
from bench.subscriptions import _line


def _drive(port: int, prefix: str, load: list[str]) -> dict[str, Any]:
    args = ["--port", str(port), "--users", str(RECIPIENTS), "--prefix", prefix, *load]
    with running_module("bench.ws_clients", args) as clients:
        _line(clients)
        assert clients.stdin is not None
        clients.stdin.write(b"go\n")
        clients.stdin.flush()
        sent: dict[str, Any] = _line(clients)
    return sent


def run(context: BenchContext) -> list[Figure]:
    count = 100 if context.quick else 600
    queue_url = asyncio.run(baseline_queue(context))
    env = context.server_env() | {"INBOXQL_WORKER_CONCURRENCY": str(DELIVERY_LOOPS)}

    def baseline(messages: int) -> dict[str, Any]:
        return run_baseline(context, queue_url, messages, receivers=DELIVERY_LOOPS, env=env)

    # DynamoDB Local's JIT takes a few hundred transactions to warm up: a cold first pass would
    # make the bound (measured first) low, and flatter ours.
    baseline(count // 2)
    bound = baseline(count)
    with serving("stack", context.log_dir, env=env, workers=DELIVERY_LOOPS) as server:
        flood = ["--count", str(count), "--concurrency", str(SENDERS)]
        sent = _drive(server.port, f"bench-rcpt-{context.tag}-", flood)
        # Latency at saturation is queueing time; at half the rate it is the pipeline's own.
        rate = max(5.0, round(sent["delivered_per_second"] / 2, 1))
        paced = ["--rate", str(rate), "--seconds", str(context.seconds(10.0))]
        timed = _drive(server.port, f"bench-paced-{context.tag}-", paced)
    for phase in (sent, timed):
        if phase["failed_sends"]:
            raise RuntimeError(f"{phase['failed_sends']} sends failed: {phase['first_failure']}")
    figures = [
        Figure(
            3,
            "accepted-and-delivered messages/s",
            sent["delivered_per_second"],
            "msg/s",
            target=0.8,
            baseline=bound["messages_per_second"],
            baseline_name=BASELINE_NAME,
            detail={"ours": sent, "baseline": bound},
        ),
        # What the bare calls cost their client: the floor under the two CPU figures below.
        Figure(
            3,
            "CPU: the baseline's bare calls, per message",
            bound["cpu_ms_per_message"],
            UNIT,
            detail={"measured_on": "the baseline's own process (bench.aws_load pipeline)"},
        ),
        Figure(3, f"p50 send->unreadCount push at {rate:g} msg/s", timed["p50_ms"], "ms"),
        Figure(
            3,
            f"p99 send->unreadCount push at {rate:g} msg/s",
            timed["p99_ms"],
            "ms",
            detail=timed,
            latency=LatencyDistribution(
                "t3-send-to-push-paced",
                f"send → unreadCount push, paced at {rate:g} msg/s (half the saturated rate), "
                f"{RECIPIENTS} subscribers",
                LatencyHistogram.from_json(timed["histogram"]),
            ),
        ),
        Figure(3, "p50 send->push at saturation (queueing)", sent["p50_ms"], "ms"),
        Figure(
            3,
            "lost pushes",
            sent["lost"] + timed["lost"],
            "msgs",
            target=0,
            compare="<=",
            detail={"saturated": sent, "paced": timed},
        ),
    ]
    # Issue 14 target 6: the send's CPU, API and worker apart, after the throughput figures.
    return figures + send_cpu.run(context, env)
