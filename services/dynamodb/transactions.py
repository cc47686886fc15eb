"""What the store's write transactions hold, and how DynamoDB says it cancelled one.

Every transaction that changes a user's inbox writes the counter at the next version, on the
condition that it is still at the version read, and puts that version's logged change beside
it: so versions step by exactly 1, every version has its change, and the log and the counts
cannot disagree. A delivery is one transaction: the message, the recipient's inbox entry, the
counter, the change and the recipient's conversation summary. A markRead is one per chunk of
entries, each flipped only while still unread, with the summaries of the chunk's senders. The
conditions are what keep the counter and the summaries' counts exact under redelivery and
concurrency (services/dynamodb/store.py retries and reads the outcome).

The sender's summary is not in the delivery: it holds no count, only the conversation's newest
message, so one monotonic UpdateItem after the transaction keeps it right
(`sender_summary_update`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from datetime import datetime

from botocore.exceptions import ClientError

from services.change_log import InboxChange, MessageReceivedChange, MessagesReadChange
from services.domain import (
    InboxEntry,
    Message,
    MessageId,
    UnreadCount,
    UserId,
    format_timestamp,
)
from services.dynamodb.change_items import change_item
from services.dynamodb.keys import (
    Item,
    counter_key,
    entry_item,
    entry_key,
    message_item,
    message_key,
    n,
    s,
    summary_key,
)
from services.read_state import ConversationSummary

# Changes to one user serialise on its counter's version, so under a flood of messages to one
# inbox most attempts lose to another writer and read again: many quick attempts with a short
# capped pause (`conflict_pause`), rather than few long ones. 32 bounds a change to ~2 s.
TRANSACTION_ATTEMPTS = 32
_FIRST_PAUSE_SECONDS = 0.005
_MAX_PAUSE_SECONDS = 0.1
# A transaction holds at most 100 items: the counter, the logged change and this many entries
# and conversation summaries together.
ITEMS_BESIDE_COUNTER = 98
# The positions of a delivery's items, as its cancellation reasons list them.
DELIVERY_MESSAGE, DELIVERY_ENTRY, DELIVERY_SUMMARY = 0, 1, 4


async def conflict_pause(attempt: int) -> None:
    """Full jitter, capped: contenders spread out instead of colliding again in step."""
    ceiling = min(_MAX_PAUSE_SECONDS, _FIRST_PAUSE_SECONDS * 2**attempt)
    await asyncio.sleep(random.uniform(0, ceiling))


class TransactionConflict(Exception):
    """Conflicting transactions kept cancelling this one; the caller retries later."""


def cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]


def message_check_failure(error: ClientError) -> Item | None:
    """The message item a delivery's check (its first item) found, None when there is none."""
    reasons = error.response.get("CancellationReasons") or []
    found = reasons[0].get("Item") if reasons else None
    return dict(found) if found else None


def is_cancelled(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "TransactionCanceledException"


def counter_update(table: str, user_id: UserId, before: UnreadCount, after: UnreadCount) -> Item:
    """The counter moved from `before` to `after`, only if nobody moved it since it was read:
    concurrent changes to one user serialise here, and the loser re-reads and retries."""
    update: Item = {
        "TableName": table,
        "Key": counter_key(user_id),
        "UpdateExpression": "SET unread = :unread, version = :version",
        "ExpressionAttributeValues": {":unread": n(after.count), ":version": n(after.version)},
    }
    if before.version:
        update["ConditionExpression"] = "version = :read"
        update["ExpressionAttributeValues"][":read"] = n(before.version)
    else:
        update["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Update": update}


def change_put(table: str, user_id: UserId, change: InboxChange, at: datetime) -> Item:
    return {
        "Put": {
            "TableName": table,
            "Item": change_item(user_id, change, at),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def recipient_summary_update(table: str, message: Message, version: int, *, move: bool) -> Item:
    """+1 unread in the recipient's summary of the conversation, at the delivery's version.
    `move` when the message is the conversation's newest; a late one (older than the newest)
    must not move the conversation back, so each variant is conditioned on the order it
    assumes, and a cancelled delivery retries with the other one."""
    values: Item = {":one": n(1), ":version": n(version), ":id": s(message.id)}
    expression = "ADD u :one SET uv = :version"
    if move:
        expression += ", act = :id, ls = :mine"
        # A note to self is both sent and received by its owner.
        values[":mine"] = n(int(message.sender_id == message.recipient_id))
        condition = "attribute_not_exists(act) OR act < :id"
    else:
        condition = "act > :id"
    return {
        "Update": {
            "TableName": table,
            "Key": summary_key(message.recipient_id, message.sender_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
    }


def sender_summary_update(table: str, message: Message) -> dict[str, object]:
    """The UpdateItem that makes `message` the newest of the sender's summary, unless a newer
    one already is: monotonic, so running it again (a redelivery) changes nothing. Nor does
    it after the sender deleted the message (`dm`): a follow-up that comes late must not
    bring a deleted message back as the conversation's newest."""
    return {
        "TableName": table,
        "Key": summary_key(message.sender_id, message.recipient_id),
        "UpdateExpression": "SET act = :id, ls = :one",
        "ConditionExpression": (
            "(attribute_not_exists(act) OR act < :id) AND (attribute_not_exists(dm) OR dm <> :id)"
        ),
        "ExpressionAttributeValues": {":id": s(message.id), ":one": n(1)},
    }


def accepted_message_check(table: str, message: Message) -> Item:
    """The API stored the message before queueing it (`DynamoMessageStore.accept`): deliver it
    only while it is there, not deleted, and to the recipient it was sent to (a repeated id
    is not another message). A cancellation returns the item, which tells a deletion
    (`deletedAt`) from a message an older API never stored (no item)."""
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": message_key(message.id),
            "ConditionExpression": (
                "attribute_exists(pk) AND attribute_not_exists(deletedAt) AND recipientId = :to"
            ),
            "ExpressionAttributeValues": {":to": s(message.recipient_id)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def delivery_items(
    table: str,
    message: Message,
    counter: UnreadCount,
    at: datetime,
    *,
    move: bool = True,
    unaccepted: bool = False,
) -> tuple[list[Item], InboxChange]:
    """The delivery of `message` to a recipient whose counter was read as `counter`; `move` as
    in `recipient_summary_update`. `unaccepted`: a message from an API that predates
    `accept`, which this transaction stores itself (as every delivery did before)."""
    not_there = "attribute_not_exists(pk)"
    change = InboxChange(counter.version + 1, counter.count + 1, MessageReceivedChange(message.id))
    entry = entry_item(message) | {"v": n(change.version)}
    message_write: Item = (
        {
            "Put": {
                "TableName": table,
                "Item": message_item(message),
                "ConditionExpression": not_there,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        if unaccepted
        else accepted_message_check(table, message)
    )
    items: list[Item] = [
        message_write,
        {"Put": {"TableName": table, "Item": entry, "ConditionExpression": not_there}},
        counter_update(
            table, message.recipient_id, counter, UnreadCount(change.count, change.version)
        ),
        change_put(table, message.recipient_id, change, at),
        recipient_summary_update(table, message, change.version, move=move),
    ]
    return items, change


def read_chunks(entries: Sequence[InboxEntry]) -> list[list[InboxEntry]]:
    """`entries` split into transactions: each holds its entries and one summary per sender
    among them, beside the counter and the change."""
    chunks: list[list[InboxEntry]] = []
    chunk: list[InboxEntry] = []
    senders: set[UserId] = set()
    for entry in entries:
        needed = len(chunk) + len(senders) + 1 + (entry.sender_id not in senders)
        if needed > ITEMS_BESIDE_COUNTER:
            chunks.append(chunk)
            chunk, senders = [], set()
        chunk.append(entry)
        senders.add(entry.sender_id)
    if chunk:
        chunks.append(chunk)
    return chunks


def summary_unread_update(
    table: str, user_id: UserId, summary: ConversationSummary, flipped: int, version: int
) -> Item:
    """`flipped` fewer unread in a summary read as `summary`, on the condition that no other
    change wrote its count since (every writer of `u` sets `uv`). A conversation whose older
    messages predate summaries holds fewer than it has unread: its count stops at 0."""
    values: Item = {":u": n(max(0, summary.unread - flipped)), ":version": n(version)}
    if summary.unread_version:
        condition = "uv = :read"
        values[":read"] = n(summary.unread_version)
    else:
        condition = "attribute_exists(pk) AND attribute_not_exists(uv)"
    return {
        "Update": {
            "TableName": table,
            "Key": summary_key(user_id, summary.other_id),
            "UpdateExpression": "SET u = :u, uv = :version",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
    }


def mark_read_items(
    table: str,
    user_id: UserId,
    entries: Sequence[InboxEntry],
    read_at: datetime,
    *,
    counter: UnreadCount,
    summaries: Mapping[UserId, ConversationSummary],
    at: datetime,
) -> tuple[list[Item], InboxChange]:
    """`entries` flipped read, for a user whose counter was read as `counter` and whose
    summaries of the senders' conversations as `summaries` (a conversation that predates
    summaries has none, and gets none)."""
    change = InboxChange(
        counter.version + 1,
        counter.count - len(entries),
        MessagesReadChange(tuple(entry.id for entry in entries)),
    )
    items: list[Item] = [
        {
            "Update": {
                "TableName": table,
                "Key": entry_key(user_id, entry.id),
                "UpdateExpression": "SET isRead = :true, readAt = :at REMOVE unreadSk",
                "ConditionExpression": "attribute_exists(pk) AND isRead = :false",
                "ExpressionAttributeValues": {
                    ":true": {"BOOL": True},
                    ":false": {"BOOL": False},
                    ":at": s(format_timestamp(read_at)),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for entry in entries
    ]
    flipped: dict[UserId, list[MessageId]] = {}
    for entry in entries:
        flipped.setdefault(entry.sender_id, []).append(entry.id)
    items.extend(
        summary_unread_update(table, user_id, summaries[sender], len(ids), change.version)
        for sender, ids in flipped.items()
        if sender in summaries
    )
    items.append(counter_update(table, user_id, counter, UnreadCount(change.count, change.version)))
    items.append(change_put(table, user_id, change, at))
    return items, change
