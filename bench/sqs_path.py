"""The delivery queue's calls (a SendMessageBatch of ten, the ReceiveMessage that takes them and
the DeleteMessageBatch that acknowledges them) through aiobotocore and through the leaner path
(services/sqs/lean_client.py), side by side in one process on the local stack's SQS, in turns:

    uv run python -m bench.sqs_path [--seconds 4] [--rounds 3] [--concurrency 8] [--quick]

Prints, per path, messages through the queue per second and this process's CPU per call
(user + system over the turn, divided by the calls made; the SQS emulator runs in its own
process), and the lean path's ratio against aiobotocore's.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.context import BenchContext
from services.aws import aws_session, client_config
from services.local.stack import LocalStack
from services.sqs.lean_client import LeanSqs

CACHE_DIR = Path.home() / ".cache" / "inboxql"
BATCH = 10
# About the size of an encoded message of a few words (services/message_codec.py).
BODY = orjson.dumps(
    {"id": "01JF0000000000000000000000", "s": "bench-sender", "r": "bench-reader", "b": "x" * 120}
).decode()


async def cycle(client: Any, url: str) -> tuple[int, int]:
    """One batch through the queue: (calls made, messages deleted)."""
    entries = [{"Id": str(i), "MessageBody": BODY} for i in range(BATCH)]
    await client.send_message_batch(QueueUrl=url, Entries=entries)
    received = await client.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=BATCH,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    messages = received.get("Messages", [])
    if not messages:
        return 2, 0
    receipts = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    await client.delete_message_batch(QueueUrl=url, Entries=receipts)
    return 3, len(messages)


async def turn(client: Any, url: str, *, concurrency: int, seconds: float) -> dict[str, float]:
    calls = messages = 0
    stop = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal calls, messages
        while time.monotonic() < stop:
            made, deleted = await cycle(client, url)
            calls += made
            messages += deleted

    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    return {"calls": calls, "messages": messages, "seconds": elapsed, "cpu_seconds": cpu}


async def measure(
    context: BenchContext, *, concurrency: int, seconds: float, rounds: int
) -> dict[str, Any]:
    settings = context.settings
    session = aws_session(settings, context.endpoints)
    config = client_config(settings)
    async with session.client("sqs", endpoint_url=context.stack.sqs_url, config=config) as client:
        lean = LeanSqs(client)
        paths = {"aiobotocore": client, "lean": lean}
        urls = {}
        for name in paths:
            queue = f"bench-sqs-path-{name}-{uuid.uuid4().hex[:8]}"
            urls[name] = (await client.create_queue(QueueName=queue))["QueueUrl"]
        for name, path in paths.items():  # warm both: connections, routes, credentials
            await turn(path, urls[name], concurrency=concurrency, seconds=min(1.0, seconds))
        turns: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
        for _ in range(rounds):
            for name, path in paths.items():
                turns[name].append(
                    await turn(path, urls[name], concurrency=concurrency, seconds=seconds)
                )
    result: dict[str, Any] = {"concurrency": concurrency, "seconds": seconds, "turns": turns}
    for name, runs in turns.items():
        calls = sum(r["calls"] for r in runs)
        result[name] = {
            "messages_per_second": sum(r["messages"] for r in runs)
            / sum(r["seconds"] for r in runs),
            "cpu_ms_per_call": 1000 * sum(r["cpu_seconds"] for r in runs) / calls,
        }
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        with LocalStack(data_dir / "stack", CACHE_DIR, persist=False) as stack:
            context = BenchContext(quick=args.quick, log_dir=data_dir, stack=stack)
            return await measure(
                context,
                concurrency=args.concurrency,
                seconds=1.0 if args.quick else args.seconds,
                rounds=1 if args.quick else args.rounds,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = uvloop.run(run(args))
    print("path          messages/s   ms CPU per call")
    for name in ("aiobotocore", "lean"):
        figures = result[name]
        rate, cpu = figures["messages_per_second"], figures["cpu_ms_per_call"]
        print(f"{name:12} {rate:11.1f}   {cpu:.3f}")
    base, lean = result["aiobotocore"], result["lean"]
    speed = lean["messages_per_second"] / base["messages_per_second"]
    cpu = lean["cpu_ms_per_call"] / base["cpu_ms_per_call"]
    print(f"lean / aiobotocore: throughput {speed:.2f}x, CPU per call {cpu:.2f}x")
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
