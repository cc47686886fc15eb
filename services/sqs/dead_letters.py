"""The dead-letter queue, for people: what is in it, and sending it back to be delivered.

SQS moves a delivery that failed `INBOXQL_MAX_RECEIVE_COUNT` times to the DLQ. Listing must not
consume anything, so it receives with a short hiding time and then makes every message it saw
visible again. Redriving sends each body back to the delivery queue *before* deleting it from
the DLQ: a crash in between leaves a copy in both, which is harmless, since delivery is
idempotent; the other order could lose a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.domain import Message
from services.message_codec import decode_message

log = logging.getLogger("inboxql.dead_letters")

BATCH = 10  # SQS's maximum per receive, send and delete
# Long enough to page through the whole DLQ without seeing a message twice.
HIDE_WHILE_LISTING_SECONDS = 30
HIDE_WHILE_REDRIVING_SECONDS = 60


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered queue message. `message` is None when its body does not decode."""

    queue_message_id: str
    receive_count: int
    sent_at: datetime | None
    message: Message | None
    body: str

    def describe(self) -> str:
        receives = f"receives {self.receive_count}"
        if self.message is None:
            return f"{self.queue_message_id}  {receives}  undecodable body: {self.body[:80]!r}"
        m = self.message
        return (
            f"{self.queue_message_id}  {receives}  message {m.id} "
            f"from {m.sender_id} to {m.recipient_id}, sent {m.sent_at.isoformat()}"
        )


class DeadLetterQueue:
    def __init__(self, client: Any, dead_letter_url: str, delivery_url: str) -> None:
        self._client = client
        self.url = dead_letter_url
        self.delivery_url = delivery_url

    async def peek(self, limit: int = 1000) -> list[DeadLetter]:
        """Up to `limit` dead letters, left in the queue as they were (visible again)."""
        seen: dict[str, DeadLetter] = {}
        receipts: list[str] = []
        try:
            while len(seen) < limit:
                batch = await self._receive(HIDE_WHILE_LISTING_SECONDS)
                fresh = [raw for raw in batch if raw["MessageId"] not in seen]
                if not fresh:
                    break
                for raw in fresh:
                    seen[raw["MessageId"]] = _dead_letter(raw)
                receipts += [raw["ReceiptHandle"] for raw in batch]
        finally:
            await self._make_visible(receipts)
        return list(seen.values())[:limit]

    async def redrive(self, limit: int = 1000) -> int:
        """Move up to `limit` dead letters back to the delivery queue; how many moved."""
        moved: set[str] = set()
        while len(moved) < limit:
            batch = [
                raw
                for raw in await self._receive(HIDE_WHILE_REDRIVING_SECONDS)
                if raw["MessageId"] not in moved
            ][: limit - len(moved)]
            if not batch:
                break
            sent = await self._client.send_message_batch(
                QueueUrl=self.delivery_url,
                Entries=[{"Id": str(i), "MessageBody": raw["Body"]} for i, raw in enumerate(batch)],
            )
            for failure in sent.get("Failed", []):
                log.warning("could not redrive a dead letter, left in the DLQ: %s", failure)
            delivered = {int(entry["Id"]) for entry in sent.get("Successful", [])}
            done = [raw for i, raw in enumerate(batch) if i in delivered]
            if done:
                await self._client.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": raw["ReceiptHandle"]}
                        for i, raw in enumerate(done)
                    ],
                )
            moved.update(raw["MessageId"] for raw in done)
            if not done:
                break
        return len(moved)

    async def _receive(self, hide_seconds: int) -> list[dict[str, Any]]:
        response = await self._client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=0,
            VisibilityTimeout=hide_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    async def _make_visible(self, receipts: list[str]) -> None:
        for offset in range(0, len(receipts), BATCH):
            chunk = receipts[offset : offset + BATCH]
            await self._client.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                    for i, receipt in enumerate(chunk)
                ],
            )


def _dead_letter(raw: dict[str, Any]) -> DeadLetter:
    attributes = raw.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    body = str(raw.get("Body", ""))
    return DeadLetter(
        queue_message_id=str(raw["MessageId"]),
        # Every receive counts, the delivery attempts and the listings' own.
        receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        message=decode_message(body),
        body=body,
    )
