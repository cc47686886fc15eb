"""Sending: a send is checked, counted against the sender's limit, made idempotent by its
`clientMessageId`, stored as a message (one PutItem) and handed to the delivery queue; the
delivery worker puts it in the recipient's inbox (services/delivery.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.disabled import NoSendLimit
from services.domain import (
    Message,
    UserId,
    new_message_id,
    normalize_body,
    parse_client_message_id,
    parse_user_id,
    to_millisecond,
    utc_now,
)
from services.errors import BadUserInput, DependencyUnavailable
from services.ports import DeliveryProducer, MessageStore, SendRateLimiter

log = logging.getLogger("inboxql.inbox")

IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass
class SendService:
    store: MessageStore
    queue: DeliveryProducer
    limiter: SendRateLimiter = field(default_factory=NoSendLimit)
    clock: Callable[[], datetime] = field(default=utc_now)

    async def send_message(
        self,
        sender_id: UserId,
        recipient_id: str,
        body: str,
        client_message_id: str | None = None,
    ) -> Message:
        # Counted before anything is stored or queued: a refused send writes nothing. Retries
        # with the same clientMessageId count too: they cost the same work.
        await self.limiter.admit(sender_id)
        recipient = parse_user_id(recipient_id, "recipientId")
        text = normalize_body(body)
        key = parse_client_message_id(client_message_id)
        now = to_millisecond(self.clock())
        message = Message(new_message_id(now), sender_id, recipient, text, now)
        if key is not None:
            held = await self.store.reserve_client_message_id(
                message, key, now + IDEMPOTENCY_WINDOW
            )
            if (held.recipient_id, held.body) != (recipient, text):
                raise BadUserInput(
                    "`clientMessageId` was already used for a different message in the last 24h"
                )
            message = held
        # Stored before it is queued, so that its sender can delete it while it waits: the
        # deletion tombstones this record, and delivery honours the tombstone. A retry with
        # the same key stores nothing new (not over a tombstone either) and enqueues again on
        # purpose: if the first attempt failed before the queue accepted the message, this is
        # what delivers it. Delivery is idempotent on the message id.
        try:
            await self.store.accept(message)
        except DependencyUnavailable as error:
            # The queue alone keeps a send, as it did before messages were stored first: the
            # delivery stores it. Until then its sender cannot delete it (deleteMessage does
            # not know it yet), the price of taking sends while DynamoDB is out.
            log.warning("message %s queued without its record: %s", message.id, error)
        await self.queue.enqueue(message)
        log.info(
            "accepted message %s from %s to %s",
            message.id,
            message.sender_id,
            message.recipient_id,
            extra={"message_id": message.id, "recipient_id": message.recipient_id},
        )
        return message
