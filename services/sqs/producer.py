"""The delivery queue's producer side on SQS. The payload is the whole accepted message, so the
worker needs no other read to persist it.

With a batch linger, concurrent enqueues share `SendMessageBatch` calls (see
`services/sqs/send_batcher.py`); each still returns only once SQS accepted its own message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from services.domain import Message
from services.message_codec import encode_message
from services.observability.request_ids import current_request_id
from services.sqs.send_batcher import BatchEntry, BatchOutcome, SendBatcher

log = logging.getLogger("inboxql.queue")

# Errors by which SQS refuses a whole batch call for what one entry holds (a body too long,
# characters it does not allow, the bodies' sum too big).
_REFUSED_FOR_CONTENT = frozenset(
    {
        "InvalidParameterValue",
        "InvalidMessageContents",
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
    }
)


class SqsDeliveryProducer:
    def __init__(self, client: Any, queue_url: str, *, batch_linger_seconds: float = 0.0) -> None:
        """`batch_linger_seconds` is how long an enqueue may wait for others to share its
        call; 0 sends each message on its own."""
        self._client = client
        self.url = queue_url
        self._batcher = (
            SendBatcher(self._send_batch, linger_seconds=batch_linger_seconds)
            if batch_linger_seconds > 0
            else None
        )

    async def enqueue(self, message: Message) -> None:
        await self._enqueue(message, None)

    async def _enqueue(self, message: Message, attributes: dict[str, Any] | None) -> None:
        """`attributes`: the SQS message attributes a traced producer sends with it."""
        # The request being served travels with the message, for the worker's log lines.
        body = encode_message(message, request_id=current_request_id())
        if self._batcher is not None:
            await self._batcher.send(body, attributes)
        else:
            await self._client.send_message(QueueUrl=self.url, **_message(body, attributes))

    async def aclose(self) -> None:
        """Sends the enqueues still waiting for a batch; call it before the client closes."""
        if self._batcher is not None:
            await self._batcher.aclose()

    async def _send_batch(self, entries: Sequence[BatchEntry]) -> BatchOutcome:
        try:
            response = await self._client.send_message_batch(
                QueueUrl=self.url,
                Entries=[_batch_entry(entry) for entry in entries],
            )
        except ClientError as error:
            if len(entries) == 1 or _error_code(error) not in _REFUSED_FOR_CONTENT:
                raise
            # One sender's message must not fail everyone who shared its call.
            log.warning(
                "SQS refused a batch of %d for its content: sending each alone", len(entries)
            )
            return await self._send_each(entries)
        return BatchOutcome(
            accepted=frozenset(str(ok["Id"]) for ok in response.get("Successful", [])),
            refused={
                str(failed["Id"]): f"{failed.get('Code')}: {failed.get('Message')}"
                for failed in response.get("Failed", [])
            },
        )

    async def _send_each(self, entries: Sequence[BatchEntry]) -> BatchOutcome:
        async def send(entry: BatchEntry) -> None:
            await self._client.send_message(
                QueueUrl=self.url, **_message(entry.body, entry.attributes)
            )

        results = await asyncio.gather(*(send(e) for e in entries), return_exceptions=True)
        return BatchOutcome(
            accepted=frozenset(
                e.id for e, result in zip(entries, results, strict=True) if result is None
            ),
            refused={
                e.id: repr(result)
                for e, result in zip(entries, results, strict=True)
                if result is not None
            },
        )


def _message(body: str, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """A message's fields in a send, alone or in a batch: its attributes only when it has any."""
    if attributes:
        return {"MessageBody": body, "MessageAttributes": attributes}
    return {"MessageBody": body}


def _batch_entry(entry: BatchEntry) -> dict[str, Any]:
    return {"Id": entry.id, **_message(entry.body, entry.attributes)}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
