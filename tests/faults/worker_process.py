"""A delivery worker as its own process, on the real code path (`DeliveryWorker.run` over the
real SQS and DynamoDB adapters), with test-only crash points a fault run aims a SIGKILL at:

    python -m tests.faults.worker_process [--block-at-ack] [--kill-after-writes N]

Settings come from the environment, in external mode (tests.conftest.external_env).
`--block-at-ack`: when a batch has been stored and is about to be deleted from SQS, print
"acknowledging <n>" and hang there, for the test to SIGKILL the process at that very point.
`--kill-after-writes N`: SIGKILL itself right after its Nth DynamoDB delivery write returns,
in the middle of a batch (the other deliveries of the batch may be anywhere).
Prints "ready" once its clients are built.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.change_log import Delivered
from services.delivery import DeliveryWorker
from services.domain import Message
from services.dynamodb.store import DynamoMessageStore
from services.observability.log_format import configure_logging
from services.settings import Settings
from services.sqs.consumer import SqsDeliveryConsumer


class HangingAtAcknowledge(SqsDeliveryConsumer):
    async def acknowledge(self, receipts: Sequence[str]) -> None:
        print(f"acknowledging {len(receipts)}", flush=True)
        await asyncio.Event().wait()


class DyingAfterWrites(DynamoMessageStore):
    def __init__(self, client: object, table_name: str, writes_before_death: int) -> None:
        super().__init__(client, table_name)
        self.left = writes_before_death

    async def deliver(self, message: Message) -> Delivered:
        created = await super().deliver(message)
        self.left -= 1
        if self.left <= 0:
            print(f"killing myself after writing {message.id}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return created


async def work(block_at_ack: bool, kill_after_writes: int) -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with bootstrap(settings, AwsEndpoints(), role="worker") as app:
        queue_type = HangingAtAcknowledge if block_at_ack else SqsDeliveryConsumer
        store = (
            DyingAfterWrites(app.clients.dynamodb, settings.table_name, kill_after_writes)
            if kill_after_writes
            else app.store
        )
        worker = DeliveryWorker(
            queue_type(app.clients.sqs, app.clients.queue_url),
            store,
            app.hub,
            wait_seconds=settings.long_poll_seconds,
        )
        print("ready", flush=True)
        await worker.run(stop)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="worker_process")
    parser.add_argument("--block-at-ack", action="store_true")
    parser.add_argument("--kill-after-writes", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(work(args.block_at_ack, args.kill_after_writes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
