"""deleteMessage on DynamoDB (docs/conversations-design.md, 4.7): the reads that decide what
a deletion touches, and its transaction, retried like every change to a user's inbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from services.change_log import Deletion, InboxChange, MessageDeletedChange
from services.domain import MessageId, UserId
from services.dynamodb.deletion_items import (
    DELETION_ENTRY,
    DELETION_MESSAGE,
    DELETION_RECEIVED_CHANGE,
    delivered_deletion_items,
    fallen_back,
    queued_deletion_items,
    recipient_summary,
)
from services.dynamodb.expiry_items import is_live
from services.dynamodb.keys import (
    CONVERSATION_INDEX,
    Item,
    conversation_pk,
    counter_key,
    entry_key,
    message_key,
    s,
    summary_key,
)
from services.dynamodb.paging import batch_get
from services.dynamodb.read_state_items import decode_counter, decode_entry_state, decode_summary
from services.dynamodb.transactions import (
    TRANSACTION_ATTEMPTS,
    TransactionConflict,
    cancellation_codes,
    conflict_pause,
    is_cancelled,
)
from services.dynamodb.user_turns import UserTurns
from services.read_state import ConversationSummary, CounterState, derive

_FAILED = "ConditionalCheckFailed"


@dataclass(frozen=True, slots=True)
class _Read:
    """What one attempt read, strongly consistent, in one BatchGetItem."""

    entry: Item | None
    counter: CounterState
    summaries: dict[UserId, ConversationSummary]


class Deletions:
    def __init__(
        self, client: Any, table: str, turns: UserTurns, clock: Callable[[], datetime]
    ) -> None:
        self._client = client
        self._table = table
        self._turns = turns
        self._clock = clock

    async def delete(self, sender_id: UserId, message_id: MessageId, at: datetime) -> Deletion:
        # Without the body: an unknown id and someone else's cost the same one read.
        response = await self._client.get_item(
            TableName=self._table,
            Key=message_key(message_id),
            ProjectionExpression="senderId, recipientId, deletedAt, expiresAt",
            ConsistentRead=True,
        )
        item: Item | None = response.get("Item")
        # An expired message is gone, though TTL has not deleted it yet.
        if item is None or not is_live(item, self._clock()):
            return Deletion(False)
        if item["senderId"]["S"] != sender_id or "deletedAt" in item:
            return Deletion(False)
        recipient = UserId(item["recipientId"]["S"])
        # It changes the recipient's inbox: in turn with the deliveries this process makes.
        async with self._turns.turn(recipient):
            return await self._delete(sender_id, recipient, message_id, at)

    async def _delete(
        self, sender_id: UserId, recipient_id: UserId, message_id: MessageId, at: datetime
    ) -> Deletion:
        mark_received = True
        for attempt in range(TRANSACTION_ATTEMPTS):
            read = await self._read(sender_id, recipient_id, message_id)
            marked = False
            if read.entry is None:
                items = queued_deletion_items(self._table, sender_id, recipient_id, message_id, at)
                change = None
            else:
                items, change, marked = await self._delivered_items(
                    sender_id, recipient_id, message_id, at, read, mark_received=mark_received
                )
            try:
                await self._client.transact_write_items(TransactItems=items)
                return Deletion(True, change, recipient_id)
            except ClientError as error:
                if not is_cancelled(error):
                    raise
                codes = cancellation_codes(error)
                if codes[DELETION_MESSAGE] == _FAILED:
                    # Another call deleted it first: this one is the second.
                    return Deletion(False)
                if marked and codes[DELETION_RECEIVED_CHANGE] == _FAILED:
                    # Its arrival's change has expired from the log: nothing left to mark.
                    mark_received = False
                    continue
                if read.entry is None and codes[DELETION_ENTRY] == _FAILED:
                    continue  # delivered meanwhile: delete it as delivered
                await conflict_pause(attempt)
        raise TransactionConflict(f"deletion of {message_id} kept conflicting")

    async def _read(self, sender_id: UserId, recipient_id: UserId, message_id: MessageId) -> _Read:
        keys = [
            entry_key(recipient_id, message_id),
            counter_key(recipient_id),
            summary_key(recipient_id, sender_id),
        ]
        if sender_id != recipient_id:
            keys.append(summary_key(sender_id, recipient_id))
        entry: Item | None = None
        counter = CounterState()
        summaries: dict[UserId, ConversationSummary] = {}
        for item in await batch_get(self._client, self._table, keys):
            sk = item["sk"]["S"]
            if sk == "COUNT":
                counter = decode_counter(item)
            elif sk.startswith("SUM#"):
                # Keyed by owner: the recipient's is about the sender, and the other way round.
                owner = UserId(item["pk"]["S"].removeprefix("USER#"))
                summaries[owner] = decode_summary(item)
            else:
                entry = item
        return _Read(entry, counter, summaries)

    async def _delivered_items(
        self,
        sender_id: UserId,
        recipient_id: UserId,
        message_id: MessageId,
        at: datetime,
        read: _Read,
        *,
        mark_received: bool,
    ) -> tuple[list[Item], InboxChange, bool]:
        assert read.entry is not None
        state = decode_entry_state(read.entry)
        mine = read.summaries.get(recipient_id)
        was_unread = not derive(state, mine, read.counter).is_read
        change = InboxChange(
            read.counter.version + 1,
            max(0, read.counter.unread - int(was_unread)),
            MessageDeletedChange(message_id),
        )
        previous = None
        if any(summary.last_message_id == message_id for summary in read.summaries.values()):
            previous = await self._previous(sender_id, recipient_id, message_id)
        planned: dict[UserId, tuple[ConversationSummary | None, ConversationSummary | None]] = {}
        if mine is not None:
            new = recipient_summary(
                fallen_back(mine, recipient_id, message_id, previous),
                read.counter,
                message_id=message_id,
                was_unread=was_unread,
                change=change,
                at=at,
            )
            if sender_id == recipient_id:
                new = replace(new, deleted_id=message_id)
            planned[recipient_id] = (mine, new)
        if sender_id != recipient_id:
            theirs = read.summaries.get(sender_id)
            # `dm` even where the sender's follow-up has not run yet: a late one must not
            # bring the deleted message back as the conversation's newest.
            base = theirs if theirs is not None else ConversationSummary(recipient_id)
            new = replace(fallen_back(base, sender_id, message_id, previous), deleted_id=message_id)
            planned[sender_id] = (theirs, new)
        # A legacy entry (no `v`) has no logged arrival to mark.
        received = state.version if mark_received and state.version else None
        items = delivered_deletion_items(
            self._table,
            sender_id=sender_id,
            recipient_id=recipient_id,
            message_id=message_id,
            at=at,
            committed_at=self._clock(),
            counter=read.counter,
            change=change,
            received_version=received,
            summaries=planned,
        )
        return items, change, received is not None

    async def _previous(
        self, sender_id: UserId, recipient_id: UserId, message_id: MessageId
    ) -> tuple[MessageId, UserId] | None:
        """The conversation's newest message older than the deleted one, from the conversation
        index (eventually consistent: a message a second old may be missed)."""
        response = await self._client.query(
            TableName=self._table,
            IndexName=CONVERSATION_INDEX,
            KeyConditionExpression="convPk = :c AND convSk < :id",
            ExpressionAttributeValues={
                ":c": s(conversation_pk(sender_id, recipient_id)),
                ":id": s(message_id),
            },
            ProjectionExpression="id, senderId",
            ScanIndexForward=False,
            Limit=1,
        )
        items = response.get("Items", [])
        if not items:
            return None
        return MessageId(items[0]["id"]["S"]), UserId(items[0]["senderId"]["S"])
