"""What the store's write transactions hold, and how DynamoDB says it cancelled one.

Every transaction that changes a user's inbox writes the counter at the next version, on the
condition that it is still at the version read, and puts that version's logged change beside
it: so versions step by exactly 1, every version has its change, and the log and the counts
cannot disagree. A delivery is one transaction: the message, the recipient's inbox entry, the
counter, the change and the recipient's conversation summary. Changes to read state are built
in read_mark_items.py and read_marks.py. The conditions are what keep the counter and the
summaries' counts exact under redelivery and concurrency (services/dynamodb/store.py retries
and reads the outcome).

The sender's summary is not in the delivery: it holds no count, only the conversation's newest
message, so one monotonic UpdateItem after the transaction keeps it right
(`sender_summary_update`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from services.change_log import Delivered, InboxChange, MessageReceivedChange
from services.domain import InboxEntry, Message, UserId
from services.dynamodb.change_items import change_item
from services.dynamodb.keys import Item, entry_item, message_item, message_key, n, s, summary_key
from services.dynamodb.read_mark_items import counter_write, lowered_floor
from services.read_state import ConversationSummary, CounterState, effective_unread

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
DELIVERY_MESSAGE, DELIVERY_ENTRY = 0, 1
DELIVERY_ITEMS = 5


async def conflict_pause(attempt: int) -> None:
    """Full jitter, capped: contenders spread out instead of colliding again in step."""
    ceiling = min(_MAX_PAUSE_SECONDS, _FIRST_PAUSE_SECONDS * 2**attempt)
    await asyncio.sleep(random.uniform(0, ceiling))


class TransactionConflict(Exception):
    """Conflicting transactions kept cancelling this one; the caller retries later."""


def cancellation_codes(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in cancellation_reasons(error)]


def cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    return [dict(reason) for reason in error.response.get("CancellationReasons") or []]


def settled_by(message: Message, reasons: Sequence[dict[str, Any]]) -> Delivered | None:
    """What a cancelled delivery's own reasons (its five, in `delivery_items`' order) settle:
    a redelivery, another message's id, or a deletion by the sender. None: it must read again
    and retry (the counter or the summary moved, a message an older API never stored, or the
    cancellation was for another item's sake)."""
    codes = [reason.get("Code", "None") for reason in reasons]
    if codes[DELIVERY_ENTRY : DELIVERY_ENTRY + 1] == ["ConditionalCheckFailed"]:
        return Delivered(None)
    found = message_check_failure(reasons)
    if found is not None and found["recipientId"]["S"] != message.recipient_id:
        return Delivered(None)  # the id of another message: nothing to store
    if found is not None and "deletedAt" in found:
        return Delivered(None, deleted=True)
    return None


def message_check_failure(reasons: Sequence[dict[str, Any]]) -> Item | None:
    """The message item a delivery's check (its first item) found when it failed, None when
    it did not fail or found no item."""
    if not reasons or reasons[DELIVERY_MESSAGE].get("Code") != "ConditionalCheckFailed":
        return None
    found = reasons[DELIVERY_MESSAGE].get("Item")
    return dict(found) if found else None


def is_cancelled(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "TransactionCanceledException"


def change_put(table: str, user_id: UserId, change: InboxChange, at: datetime) -> Item:
    return {
        "Put": {
            "TableName": table,
            "Item": change_item(user_id, change, at),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def recipient_summary_update(
    table: str,
    message: Message,
    summary: ConversationSummary | None,
    counter: CounterState,
    version: int,
) -> Item:
    """+1 unread in the recipient's summary of the conversation (read as `summary`, beside
    `counter` in one batch read), at the delivery's version; the message becomes the
    conversation's newest unless a newer one is (a late message must not move it back).

    The batch read is not ordered, so the summary is conditioned on being as read: with the
    counter's version condition, a transaction cancelled by either reads both again."""
    values: Item = {
        ":u": n(effective_unread(summary, counter) + 1),
        ":version": n(version),
        ":id": s(message.id),
    }
    expression = "SET u = :u, uv = :version"
    if summary is None:
        unchanged = "attribute_not_exists(pk)"
    elif summary.unread_version:
        unchanged = "uv = :read"
        values[":read"] = n(summary.unread_version)
    else:
        unchanged = "attribute_not_exists(uv)"
    last = summary.last_message_id if summary is not None else None
    if last is None or last < message.id:
        expression += ", act = :id, ls = :mine"
        # A note to self is both sent and received by its owner.
        values[":mine"] = n(int(message.sender_id == message.recipient_id))
        # The owner's own reply may move `act` meanwhile (the sender's follow-up).
        order = "attribute_not_exists(act) OR act < :id"
    else:
        order = "act > :id"
    return {
        "Update": {
            "TableName": table,
            "Key": summary_key(message.recipient_id, message.sender_id),
            "UpdateExpression": expression,
            "ConditionExpression": f"({unchanged}) AND ({order})",
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
    counter: CounterState,
    summary: ConversationSummary | None,
    at: datetime,
    *,
    unaccepted: bool = False,
) -> tuple[list[Item], InboxChange]:
    """The delivery of `message` to a recipient whose counter and summary of the conversation
    were read as `counter` and `summary`. `unaccepted`: a message from an API that predates
    `accept`, which this transaction stores itself (as every delivery did before)."""
    not_there = "attribute_not_exists(pk)"
    change = InboxChange(counter.version + 1, counter.unread + 1, MessageReceivedChange(message.id))
    entry = entry_item(message) | {"v": n(change.version)}
    after = replace(
        counter,
        unread=change.count,
        version=change.version,
        floor=lowered_floor(counter, [message.id]),
    )
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
        counter_write(table, message.recipient_id, counter, after),
        change_put(table, message.recipient_id, change, at),
        recipient_summary_update(table, message, summary, counter, change.version),
    ]
    return items, change


def read_chunks(
    entries: Sequence[InboxEntry], items_of: Callable[[InboxEntry], int] = lambda _: 1
) -> list[list[InboxEntry]]:
    """`entries` split into transactions: each holds its entries' items (`items_of` each:
    one, or two when its message item is written too, for retention) and one summary per
    sender among them, beside the counter and the change."""
    chunks: list[list[InboxEntry]] = []
    chunk: list[InboxEntry] = []
    senders: set[UserId] = set()
    items = 0
    for entry in entries:
        needed = items + items_of(entry) + len(senders) + (entry.sender_id not in senders)
        if chunk and needed > ITEMS_BESIDE_COUNTER:
            chunks.append(chunk)
            chunk, senders, items = [], set(), 0
        chunk.append(entry)
        items += items_of(entry)
        senders.add(entry.sender_id)
    if chunk:
        chunks.append(chunk)
    return chunks
