"""Reading messages and entries by id: the bodies (`get_messages`), a user's entries with their
read state (`get_entries`), and who sent and received a message (`message_parties`), read
without its body for the ownership check of `message(id)`. What has expired is left out, though
TTL has not deleted it yet (services/retention.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.domain import InboxEntry, Message, MessageId, UserId
from services.dynamodb.expiry_items import is_live
from services.dynamodb.keys import Item, decode_message, entry_key, message_key
from services.dynamodb.paging import batch_get
from services.dynamodb.read_inputs import derived_entries


async def get_messages(
    client: Any, table: str, ids: Sequence[MessageId], *, now: datetime
) -> dict[MessageId, Message]:
    # BatchGetItem refuses a request that names one key twice.
    items = await batch_get(client, table, [message_key(i) for i in dict.fromkeys(ids)])
    live = [item for item in items if is_live(item, now)]
    return {message.id: message for message in map(decode_message, live)}


async def get_entries(
    client: Any, table: str, user_id: UserId, ids: Sequence[MessageId], *, now: datetime
) -> dict[MessageId, InboxEntry]:
    items = await batch_get(client, table, [entry_key(user_id, i) for i in dict.fromkeys(ids)])
    live = [item for item in items if is_live(item, now)]
    return {entry.id: entry for entry in await derived_entries(client, table, live)}


async def message_parties(
    client: Any, table: str, message_id: MessageId, *, now: datetime
) -> tuple[UserId, UserId] | None:
    # The body stays in DynamoDB: a stranger's lookup transfers no more than an unknown id's
    # (the read is billed by the whole item's size all the same).
    response = await client.get_item(
        TableName=table,
        Key=message_key(message_id),
        ProjectionExpression="senderId, recipientId, expiresAt",
        ConsistentRead=True,
    )
    item: Item | None = response.get("Item")
    if item is None or not is_live(item, now):
        return None
    return UserId(item["senderId"]["S"]), UserId(item["recipientId"]["S"])
