"""What a deleteMessage transaction holds (docs/conversations-design.md, 4.7).

A message still queued has no entry: the deletion is the tombstone alone, beside a check that
the entry is still absent (a delivery that got in first makes it a delivered one). A delivered
message goes in one transaction with everything that showed it: the entry, the recipient's
counter at the next version with its logged `MessageDeletedChange`, `d` on the change that
logged its arrival, and both participants' summaries of the conversation, which fall back to
the previous message.

A summary is written whole (a Put of what was read, changed): the condition that `act` and
`uv` are still as read makes every concurrent writer of it (a delivery, a markRead, the
sender's follow-up) cancel this transaction, which then reads again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.change_log import InboxChange
from services.domain import MessageId, UserId
from services.dynamodb.change_items import change_item
from services.dynamodb.keys import (
    Item,
    counter_key,
    entry_key,
    epoch_ms,
    log_key,
    message_key,
    n,
    s,
)
from services.dynamodb.read_state_items import summary_item
from services.read_state import ConversationSummary, CounterState, compact, effective_unread

# The positions of a deletion's items, as its cancellation reasons list them.
DELETION_MESSAGE, DELETION_ENTRY, DELETION_RECEIVED_CHANGE = 0, 1, 4


def tombstone_update(table: str, sender_id: UserId, message_id: MessageId, at: datetime) -> Item:
    """Once, and only by its sender: a second call, or one racing it, is refused here."""
    return {
        "Update": {
            "TableName": table,
            "Key": message_key(message_id),
            "UpdateExpression": "SET deletedAt = :at REMOVE body",
            "ConditionExpression": "senderId = :me AND attribute_not_exists(deletedAt)",
            "ExpressionAttributeValues": {":at": n(epoch_ms(at)), ":me": s(sender_id)},
        }
    }


def queued_deletion_items(
    table: str, sender_id: UserId, recipient_id: UserId, message_id: MessageId, at: datetime
) -> list[Item]:
    return [
        tombstone_update(table, sender_id, message_id, at),
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": entry_key(recipient_id, message_id),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]


def _counter_update(
    table: str, user_id: UserId, counter: CounterState, change: InboxChange
) -> Item:
    """Conditioned on the version read, as every change to a user is: concurrent ones
    serialise here (services/dynamodb/transactions.py)."""
    values: Item = {":unread": n(change.count), ":version": n(change.version)}
    values[":read"] = n(counter.version)
    return {
        "Update": {
            "TableName": table,
            "Key": counter_key(user_id),
            "UpdateExpression": "SET unread = :unread, version = :version",
            "ConditionExpression": "version = :read",
            "ExpressionAttributeValues": values,
        }
    }


def received_change_marked(table: str, user_id: UserId, version: int, at: datetime) -> Item:
    """History keeps the arrival's change, now saying the message was deleted. Only while it is
    still kept: an expired one is left out (the caller retries without it)."""
    return {
        "Update": {
            "TableName": table,
            "Key": log_key(user_id, version),
            "UpdateExpression": "SET d = :at",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":at": n(epoch_ms(at))},
        }
    }


def summary_put(table: str, owner: UserId, read: ConversationSummary | None, new: Item) -> Item:
    """`new` in place of the summary read as `read` (None: there was none)."""
    values: Item = {}
    if read is None:
        condition = "attribute_not_exists(pk)"
    else:
        if read.last_message_id is None:
            condition = "attribute_not_exists(act)"
        else:
            condition = "act = :seen"
            values[":seen"] = s(read.last_message_id)
        condition += " AND (attribute_not_exists(uv) OR uv = :uv)"
        values[":uv"] = n(read.unread_version)
    put: Item = {"TableName": table, "Item": new, "ConditionExpression": condition}
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}


def fallen_back(
    summary: ConversationSummary,
    owner: UserId,
    message_id: MessageId,
    previous: tuple[MessageId, UserId] | None,
) -> ConversationSummary:
    """The summary without the deleted message as its newest: the previous message's (id,
    sender), or none, which takes the summary out of the activity index (the conversation
    leaves the list) while keeping its item and so its `dm`."""
    if summary.last_message_id != message_id:
        return summary
    if previous is None:
        return replace(summary, last_message_id=None, last_sent_by_owner=False)
    return replace(summary, last_message_id=previous[0], last_sent_by_owner=previous[1] == owner)


def recipient_summary(
    summary: ConversationSummary,
    counter: CounterState,
    *,
    message_id: MessageId,
    was_unread: bool,
    change: InboxChange,
    at: datetime,
) -> ConversationSummary:
    """The recipient's count without the message, and without its mark."""
    marks = {i: mark for i, mark in summary.marks.items() if i != message_id}
    unread = max(0, effective_unread(summary, counter) - int(was_unread))
    return compact(
        replace(summary, marks=marks), counter, unread=unread, version=change.version, at=at
    )


def delivered_deletion_items(
    table: str,
    *,
    sender_id: UserId,
    recipient_id: UserId,
    message_id: MessageId,
    at: datetime,
    committed_at: datetime,
    counter: CounterState,
    change: InboxChange,
    received_version: int | None,
    summaries: dict[UserId, tuple[ConversationSummary | None, ConversationSummary | None]],
) -> list[Item]:
    """`at` is the deletion's time (`deletedAt`), `committed_at` the store's clock, which sets
    when the logged change expires. `summaries`: per owner, the summary as read and as it is
    to be written (None: leave it alone)."""
    items: list[Item] = [
        tombstone_update(table, sender_id, message_id, at),
        {
            "Delete": {
                "TableName": table,
                "Key": entry_key(recipient_id, message_id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        _counter_update(table, recipient_id, counter, change),
        {
            "Put": {
                "TableName": table,
                "Item": change_item(recipient_id, change, committed_at),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    if received_version is not None:
        items.append(received_change_marked(table, recipient_id, received_version, at))
    for owner, (read, new) in summaries.items():
        if new is not None:
            item = summary_item(owner, new)
            if not new.unread_version:
                # Never counted (a summary made here for its `dm`, or one older than counts):
                # without `uv`, as the writers of counts expect such a summary to be.
                del item["uv"]
            items.append(summary_put(table, owner, read, item))
    return items
