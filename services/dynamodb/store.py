"""`MessageStore` on DynamoDB. Every change to read state and the unread counter happens in one
conditional transaction, so the counter is exact under redelivery and concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.change_log import ChangeBatch, Deletion, Delivered, MarkedRead
from services.disabled import NO_METRICS
from services.domain import (
    InboxEntry,
    Message,
    MessageId,
    Page,
    UnreadCount,
    UserId,
    utc_now,
)
from services.dynamodb import listing, message_reads
from services.dynamodb.change_reads import read_changes, read_counter
from services.dynamodb.deletion import Deletions
from services.dynamodb.deliveries import Deliveries
from services.dynamodb.expired_conversations import live_conversations
from services.dynamodb.expiry_walk import expire_read_step
from services.dynamodb.keys import (
    Item,
    decode_message,
    idempotency_key,
    message_attributes,
    message_item,
    n,
)
from services.dynamodb.read_inputs import read_counter_state
from services.dynamodb.read_marks import ReadMarks
from services.dynamodb.user_turns import UserTurns
from services.errors import DependencyUnavailable
from services.ports import Metrics
from services.read_state import ConversationPage, effective_unread
from services.retention import ExpiryStep, Retention

# What DynamoDB answers when it cannot take a write now, after botocore's retries.
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class DynamoMessageStore:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        retention: Retention | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._client = client
        self._table = table_name
        # When a change is committed, which sets when its log item expires, and "now" for
        # what has expired.
        self._clock = clock
        # None: read messages never get an expiry (those that have one still expire).
        self._retention = retention
        self._turns = UserTurns()
        self._marks = ReadMarks(
            client, table_name, clock=clock, turns=self._turns, retention=retention
        )
        self._deletions = Deletions(client, table_name, self._turns, clock)
        self._deliveries = Deliveries(client, table_name, self._turns, clock, metrics)

    async def deliver(self, message: Message) -> Delivered:
        return await self._deliveries.deliver(message)

    async def accept(self, message: Message) -> None:
        try:
            await self._client.put_item(
                TableName=self._table,
                Item=message_item(message),
                # The same message again (a send retried with its clientMessageId) keeps the
                # stored one: above all a tombstone, which must not get its body back.
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in UNAVAILABLE_CODES:
                raise DependencyUnavailable(f"DynamoDB refused the message: {code}") from error
            if code != "ConditionalCheckFailedException":
                raise
        except BotoCoreError as error:
            # Timed out or unreachable, after botocore's own retries.
            raise DependencyUnavailable(f"DynamoDB did not answer: {error}") from error

    async def delete_message(
        self, sender_id: UserId, message_id: MessageId, at: datetime
    ) -> Deletion:
        return await self._deletions.delete(sender_id, message_id, at)

    async def touch_sender_summary(self, message: Message) -> None:
        await self._deliveries.touch_sender_summary(message)

    async def reserve_client_message_id(
        self, message: Message, client_message_id: str, expires_at: datetime
    ) -> Message:
        item = (
            idempotency_key(message.sender_id, client_message_id)
            | message_attributes(message)
            | {"expiresAt": n(int(expires_at.timestamp()))}
        )
        try:
            await self._client.put_item(
                TableName=self._table,
                Item=item,
                # TTL deletion lags by hours, so an expired key is treated as free here.
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": n(int(message.sent_at.timestamp()))},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old: Item = error.response["Item"]  # type: ignore[typeddict-item]
            return decode_message(old)
        return message

    async def get_messages(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]:
        return await message_reads.get_messages(self._client, self._table, ids, now=self._clock())

    async def get_entries(
        self, user_id: UserId, ids: Sequence[MessageId]
    ) -> dict[MessageId, InboxEntry]:
        return await message_reads.get_entries(
            self._client, self._table, user_id, ids, now=self._clock()
        )

    async def message_parties(self, message_id: MessageId) -> tuple[UserId, UserId] | None:
        return await message_reads.message_parties(
            self._client, self._table, message_id, now=self._clock()
        )

    async def list_inbox(
        self, user_id: UserId, *, limit: int, before: MessageId | None, unread_only: bool
    ) -> Page:
        return await listing.list_inbox(
            self._client,
            self._table,
            user_id,
            limit=limit,
            before=before,
            unread_only=unread_only,
            now=self._clock(),
            retention=self._retention,
        )

    async def list_conversation(
        self, user_id: UserId, other_id: UserId, *, limit: int, before: MessageId | None
    ) -> Page:
        return await listing.list_conversation(
            self._client,
            self._table,
            user_id,
            other_id,
            limit=limit,
            before=before,
            now=self._clock(),
        )

    async def mark_read(
        self, user_id: UserId, ids: Sequence[MessageId], read_at: datetime
    ) -> MarkedRead:
        return await self._marks.mark(user_id, ids, read_at, read=True)

    async def mark_unread(
        self, user_id: UserId, ids: Sequence[MessageId], at: datetime
    ) -> MarkedRead:
        return await self._marks.mark(user_id, ids, at, read=False)

    async def mark_conversation_read(
        self, user_id: UserId, other_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        return await self._marks.mark_conversation_read(
            user_id, other_id, read_at, list_limit=list_limit
        )

    async def mark_all_read(
        self, user_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        return await self._marks.mark_all_read(user_id, read_at, list_limit=list_limit)

    async def list_conversations(
        self, user_id: UserId, *, limit: int, before: MessageId | None
    ) -> ConversationPage:
        # A summary's count lapses below the user's markAllRead horizon, on the counter.
        page, counter = await asyncio.gather(
            live_conversations(
                self._client,
                self._table,
                user_id,
                self._retention,
                limit=limit,
                before=before,
                now=self._clock(),
            ),
            read_counter_state(self._client, self._table, user_id),
        )
        return replace(
            page,
            summaries=[
                replace(summary, unread=effective_unread(summary, counter))
                for summary in page.summaries
            ],
        )

    async def expire_read(
        self,
        user_id: UserId,
        *,
        before: MessageId | None,
        limit: int,
        with_user: UserId | None = None,
    ) -> ExpiryStep:
        if self._retention is None:
            return ExpiryStep(0, None)
        async with self._turns.turn(user_id):
            return await expire_read_step(
                self._client,
                self._table,
                user_id,
                self._retention,
                before=before,
                limit=limit,
                with_user=with_user,
            )

    async def unread_count(self, user_id: UserId) -> UnreadCount:
        return await read_counter(self._client, self._table, user_id)

    async def changes(
        self, user_id: UserId, *, since: int, limit: int, now: datetime
    ) -> ChangeBatch:
        return await read_changes(
            self._client, self._table, user_id, since=since, limit=limit, now=now
        )
