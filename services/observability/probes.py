"""What /readyz and /metrics ask of the dependencies: does each answer now, and how full are
the queues. Each call has a short budget of its own, so a probe answers even when a dependency
does not."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from services.ports import Metrics, QueueName
from services.settings import Settings

log = logging.getLogger("inboxql.bootstrap")

READY_TIMEOUT_SECONDS = 2.0
# A scrape must answer even when SQS does not; a queue not measured in time reads as NaN.
QUEUE_MEASURE_TIMEOUT_SECONDS = 1.0
QUEUE_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]


@dataclass
class DependencyProbes:
    """On the raw clients bootstrap opened; a client it did not open reads as not ready."""

    settings: Settings
    metrics: Metrics
    dynamodb: Any
    sqs: Any
    redis: Any
    queue_url: str
    # See dead_letter_queue_url().
    _dead_letter_queue_url: str | None = field(default=None, repr=False)

    async def readiness(self) -> dict[str, bool]:
        """Whether each dependency answers now, each within a short budget."""

        async def probe(check: Awaitable[Any] | None) -> bool:
            if check is None:
                return False
            try:
                await asyncio.wait_for(check, READY_TIMEOUT_SECONDS)
            except Exception:
                return False
            return True

        results = await asyncio.gather(
            probe(
                self.dynamodb.describe_table(TableName=self.settings.table_name)
                if self.dynamodb is not None
                else None
            ),
            probe(
                self.sqs.get_queue_attributes(QueueUrl=self.queue_url)
                if self.sqs is not None
                else None
            ),
            probe(self.redis.ping() if self.redis is not None else None),
        )
        return dict(zip(("dynamodb", "sqs", "redis"), results, strict=True))

    async def measure_queues(self) -> None:
        """Both queues' approximate sizes, into the metrics. SQS has no lag figure that every
        endpoint serves (ApproximateAgeOfOldestMessage is CloudWatch's): lag shows in the
        delivery latency histogram instead."""
        await asyncio.gather(self._measure("delivery"), self._measure("dead_letter"))

    async def dead_letter_queue_url(self) -> str:
        """Looked up on first use, then kept: only /metrics and the `dlq` command need it."""
        if self._dead_letter_queue_url is None:
            name = self.settings.dead_letter_queue_name
            found = await self.sqs.get_queue_url(QueueName=name)
            self._dead_letter_queue_url = str(found["QueueUrl"])
        return self._dead_letter_queue_url

    async def _measure(self, queue: QueueName) -> None:
        try:
            attributes = await asyncio.wait_for(
                self._queue_attributes(queue), QUEUE_MEASURE_TIMEOUT_SECONDS
            )
            visible = float(attributes["ApproximateNumberOfMessages"])
            in_flight = float(attributes["ApproximateNumberOfMessagesNotVisible"])
        except Exception as error:
            log.warning("could not measure the %s queue: %r", queue, error)
            visible = in_flight = math.nan
        self.metrics.queue_measured(queue, visible=visible, in_flight=in_flight)

    async def _queue_attributes(self, queue: QueueName) -> dict[str, str]:
        url = self.queue_url if queue == "delivery" else await self.dead_letter_queue_url()
        response = await self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=QUEUE_ATTRIBUTES
        )
        return dict(response["Attributes"])
