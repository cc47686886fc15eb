"""Issue 14 target 6 for a send: CPU per message of its two halves, each in a process of its own
on the local stack. The API part is `sendMessage` on a server with no delivery loops (store the
message, enqueue it); the worker part is a delivery worker alone (`bench.serve worker`, as
`server.py worker` builds it) delivering what those sends queued while they were sent. Each
process's CPU over the turn is divided by the messages sent."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.api_layer import CONCURRENCY, token_for
from bench.context import BenchContext
from bench.cpu import cpu_figure, cpu_seconds, cpu_turn
from bench.figures import Figure
from bench.processes import http_load, serving
from bench.provision import provisioned
from services.domain import UserId

SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }"
BODY = "lunch tomorrow? the deploy went fine, but the dashboard still shows yesterday's numbers"
DRAIN_SECONDS = 120.0
EMPTY_READS = 3  # consecutive empty reads of the queue's approximate counts


async def drained(context: BenchContext) -> float:
    """Seconds until the delivery queue holds nothing, waiting or in flight."""
    began = time.monotonic()
    empty = 0
    async with provisioned(context) as stack:
        while empty < EMPTY_READS:
            if time.monotonic() - began > DRAIN_SECONDS:
                raise RuntimeError("the worker did not drain the queue")
            found = await stack.sqs.get_queue_attributes(
                QueueUrl=stack.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
            counts = [int(v) for v in found["Attributes"].values()]
            empty = empty + 1 if not any(counts) else 0
            await asyncio.sleep(0.2)  # pacing a poll bounded by DRAIN_SECONDS
    return time.monotonic() - began


def run(context: BenchContext, env: dict[str, str]) -> list[Figure]:
    sender = UserId(f"bench-cpu-sender-{context.tag}")
    # A recipient per connection: concurrent deliveries to one inbox would conflict on its
    # counter, and retries are not what a send costs.
    bodies = [
        {"query": SEND, "variables": {"input": {"recipientId": f"bench-cpu-{n}", "body": BODY}}}
        for n in range(CONCURRENCY)
    ]
    idle_seconds = context.seconds(3.0)
    with (
        serving("stack", context.log_dir, env=env, workers=0) as api,
        serving("worker", context.log_dir, env=env) as worker,
    ):
        # What the worker's loops spend polling an empty queue, for comparison.
        with cpu_turn(worker.process.pid) as idle:
            time.sleep(idle_seconds)  # a measurement window, not synchronisation
        with cpu_turn(worker.process.pid) as delivering:
            sent = http_load(
                api.port,
                path="/graphql",
                bodies=bodies,
                token=token_for(sender),
                concurrency=CONCURRENCY,
                seconds=context.seconds(5.0),
                server_pid=api.process.pid,
            )
            if sent["errors"]:
                raise RuntimeError(f"sends failed under load: {sent['first_error']}")
            drain_seconds = asyncio.run(drained(context))
        worker_total = cpu_seconds(worker.process.pid)
    messages = sent["completed"]
    detail: dict[str, Any] = {
        "messages": messages,
        "worker_cpu_seconds": delivering.seconds,
        "worker_cpu_seconds_since_start": worker_total,
        "worker_idle_cpu_ms_per_second": 1000 * idle.seconds / idle_seconds,
        "drain_seconds_after_sends": drain_seconds,
    }
    where = "the local stack, {}"
    return [
        cpu_figure(
            3,
            "CPU: send, API part",
            sent["cpu_ms_per_request"],
            key="send_api",
            measured_on=where.format("bench.serve stack with 0 delivery loops, sendMessage"),
            detail={"run": sent},
        ),
        cpu_figure(
            3,
            "CPU: delivery, worker part",
            delivering.per_operation_ms(messages),
            key="delivery_worker",
            measured_on=where.format(
                f"bench.serve worker ({env.get('INBOXQL_WORKER_CONCURRENCY', 'default')} loops) "
                "delivering the sends as they were queued"
            ),
            detail=detail,
        ),
    ]
