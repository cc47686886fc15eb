"""Target 3's baseline run from the targets: the bare calls of a send and its delivery
(bench/pipeline_baseline.py), in a process of their own, on a queue of their own.

Target 3 measures its bound with it. Targets 3 and 4 also warm DynamoDB Local with it: the JVM's
JIT takes a few hundred transactions to compile the paths a delivery takes, and until then it
spends about twice the CPU a message (docs/performance.md). A cold emulator is no part of what
either target measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.context import BenchContext
from bench.processes import run_module
from bench.provision import provisioned

RECIPIENTS = 50
SENDERS = 16
# Delivery loops, in the targets' servers and in the baseline alike. On the local stack a loop
# waits out each round's calls, so two leave DynamoDB Local idle between batches: the bound was
# 181 msg/s with 2, 274 with 4 and 284 with 8.
DELIVERY_LOOPS = 4


async def baseline_queue(context: BenchContext) -> str:
    """Provisions the run's table and queues, and a queue of its own for the baseline."""
    async with provisioned(context) as stack:
        name = f"{context.settings.queue_name}-baseline"
        created = await stack.sqs.create_queue(QueueName=name)
        return str(created["QueueUrl"])


def run_baseline(
    context: BenchContext,
    queue_url: str,
    messages: int,
    *,
    receivers: int,
    env: Mapping[str, str],
) -> dict[str, Any]:
    """Sends and delivers `messages` through the bare calls; what `bench.aws_load pipeline`
    measured (messages a second, its own CPU a message)."""
    args = ["pipeline", "--table", context.settings.table_name, "--queue-url", queue_url]
    args += ["--count", str(messages), "--recipients", str(RECIPIENTS)]
    args += ["--senders", str(SENDERS), "--receivers", str(receivers)]
    measured: dict[str, Any] = run_module("bench.aws_load", args, env=env)
    return measured
