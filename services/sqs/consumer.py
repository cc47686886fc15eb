"""The delivery queue's consumer side on SQS: long polls and batched deletes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from services.message_codec import decode_message_with_request_id
from services.ports import Delivery

log = logging.getLogger("inboxql.queue")


class SqsDeliveryConsumer:
    # The message attributes a receive asks for beside each body: none, unless a traced
    # consumer (services/sqs/traced_queue.py) wants the trace context's.
    attribute_names: tuple[str, ...] = ()

    def __init__(self, client: Any, queue_url: str) -> None:
        """`client`'s read timeout must outlast the longest `wait_seconds` it is given."""
        self._client = client
        self.url = queue_url

    async def receive(self, *, max_messages: int, wait_seconds: int) -> list[Delivery]:
        asked: dict[str, Any] = (
            {"MessageAttributeNames": list(self.attribute_names)} if self.attribute_names else {}
        )
        response = await self._client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            **asked,
        )
        return [self.decoded(raw) for raw in response.get("Messages", [])]

    def decoded(self, raw: dict[str, Any]) -> Delivery:
        return _delivery(raw)

    async def acknowledge(self, receipts: Sequence[str]) -> None:
        for offset in range(0, len(receipts), 10):
            chunk = receipts[offset : offset + 10]
            response = await self._client.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)],
            )
            # A failed delete only means a redelivery, which changes nothing; say so and go on.
            for failure in response.get("Failed", []):
                log.warning("could not delete a delivered queue message: %s", failure)


def _delivery(raw: dict[str, Any], trace: Mapping[str, str] | None = None) -> Delivery:
    message, request_id = decode_message_with_request_id(raw.get("Body", ""))
    return Delivery(
        receipt=raw["ReceiptHandle"],
        message=message,
        receive_count=int(raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
        request_id=request_id,
        trace=trace,
    )
