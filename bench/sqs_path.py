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
import tempfile
import uuid
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.context import BenchContext
from bench.side_by_side import Work, in_turns, report
from services.aws import aws_session, client_config
from services.local.stack import LocalStack
from services.sqs.lean_client import LeanSqs

CACHE_DIR = Path.home() / ".cache" / "inboxql"
BATCH = 10
# About the size of an encoded message of a few words (services/message_codec.py).
BODY = orjson.dumps(
    {"id": "01JF0000000000000000000000", "s": "bench-sender", "r": "bench-reader", "b": "x" * 120}
).decode()


def batches(client: Any, url: str) -> Work:
    """One batch through the queue at a time: (calls made, messages deleted)."""
    entries = [{"Id": str(i), "MessageBody": BODY} for i in range(BATCH)]

    async def batch() -> tuple[int, int]:
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
        receipts = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        await client.delete_message_batch(QueueUrl=url, Entries=receipts)
        return 3, len(messages)

    return batch


async def measure(
    context: BenchContext, *, concurrency: int, seconds: float, rounds: int
) -> dict[str, Any]:
    settings = context.settings
    session = aws_session(settings, context.endpoints)
    config = client_config(settings)
    async with session.client("sqs", endpoint_url=context.stack.sqs_url, config=config) as client:
        paths = {}
        for name, path in {"aiobotocore": client, "lean": LeanSqs(client)}.items():
            queue = f"bench-sqs-path-{name}-{uuid.uuid4().hex[:8]}"
            paths[name] = batches(path, (await client.create_queue(QueueName=queue))["QueueUrl"])
        return await in_turns(paths, concurrency=concurrency, seconds=seconds, rounds=rounds)


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
    report(uvloop.run(run(args)), "messages/s")


if __name__ == "__main__":
    main()
