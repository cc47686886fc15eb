"""Capacity and storage by DynamoDB's rules: item and index entry sizes, the write units AWS
bills for a TransactWriteItems, and the bytes a delivered message occupies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.meter import Units, accumulate
from services.domain import Message, UserId, new_message_id
from services.dynamodb.keys import Item, entry_item, message_item
from services.dynamodb.provisioning import TABLE_DEFINITION

TRANSACTION_FACTOR = 2  # a transactional write costs twice a standard one
TABLE_KEYS = [k["AttributeName"] for k in TABLE_DEFINITION["KeySchema"]]


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[str, ...]
    projection: str
    included: tuple[str, ...] = ()

    def entry(self, item: Item | None) -> Item | None:
        """The index entry `item` has, or None when it lacks an index key (sparse index)."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        names = {*TABLE_KEYS, *self.keys, *self.included}
        return {name: value for name, value in item.items() if name in names}


def index_shapes() -> list[IndexShape]:
    shapes = []
    for kind, prefix in (("LocalSecondaryIndexes", "lsi"), ("GlobalSecondaryIndexes", "gsi")):
        for index in TABLE_DEFINITION.get(kind, []):
            projection = index["Projection"]
            shapes.append(
                IndexShape(
                    f"{prefix}:{index['IndexName']}",
                    tuple(k["AttributeName"] for k in index["KeySchema"]),
                    projection["ProjectionType"],
                    tuple(projection.get("NonKeyAttributes", ())),
                )
            )
    return shapes


def action_key(action: Item) -> tuple[str, Item]:
    ((kind, body),) = action.items()
    if kind == "Put":
        return body["TableName"], {name: body["Item"][name] for name in TABLE_KEYS}
    return body["TableName"], body["Key"]


def _write_units(size: int) -> float:
    return float(TRANSACTION_FACTOR * max(1, math.ceil(size / 1024)))


def transaction_units(
    actions: Sequence[Item], before: Sequence[Item | None], after: Sequence[Item | None]
) -> dict[str, Units]:
    """Write units AWS bills for a TransactWriteItems, from each item's image before and after:
    2 per started KB of the larger image per item, and for each index entry put or deleted (a
    changed index key is a delete plus a put, a changed projected attribute one write) 2 per
    started KB of that entry."""
    units: dict[str, Units] = {}
    for action, old, new in zip(actions, before, after, strict=True):
        ((kind, _),) = action.items()
        if kind == "ConditionCheck":
            accumulate(units, "table", Units(read=_write_units(item_size(old or {}))))
            continue
        size = max(item_size(old or {}), item_size(new or {}))
        accumulate(units, "table", Units(write=_write_units(size)))
        for index in index_shapes():
            was, now = index.entry(old), index.entry(new)
            if was == now:
                continue
            writes = 1
            if was is not None and now is not None:
                moved = any(was.get(key) != now.get(key) for key in index.keys)
                writes = 2 if moved else 1
            entry_size = max(item_size(was or {}), item_size(now or {}))
            accumulate(units, index.name, Units(write=writes * _write_units(entry_size)))
    return units


INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each index entry


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (strings as UTF-8, numbers as
    about one byte per two digits plus one, binary as its length, booleans one byte, a list or
    map 3 bytes plus its elements, each with one byte of its own and a map's with its key)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    if "S" in value:
        return len(value["S"].encode())
    if "N" in value:
        return (len(value["N"].lstrip("-").replace(".", "")) + 1) // 2 + 1
    if "B" in value:
        return len(value["B"])
    if "L" in value:
        return 3 + sum(_value_size(element) + 1 for element in value["L"])
    if "M" in value:
        return 3 + sum(
            len(key.encode()) + _value_size(element) + 1 for key, element in value["M"].items()
        )
    return 1


def storage_bytes(body_chars: int) -> dict[str, Any]:
    """Bytes a delivered message occupies in the table and its indexes, and how they grow with
    the body (one byte per ASCII character, stored once, in the message item)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    message = Message(new_message_id(at), UserId("u" * 12), UserId("v" * 12), "x" * body_chars, at)
    entry = entry_item(message)
    unread_keys = {key: entry[key] for key in ("pk", "sk", "unreadSk")}
    return {
        "user_id_chars": 12,
        "body_chars": body_chars,
        "message_item": item_size(message_item(message)),
        "inbox_entry_item": item_size(entry),
        "lsi_unread_entry_while_unread": item_size(unread_keys) + INDEX_ENTRY_OVERHEAD,
        "gsi_conversation_entry": item_size(entry) + INDEX_ENTRY_OVERHEAD,
        "per_message_excluding_body": (
            item_size(message_item(message))
            - body_chars
            + item_size(entry)
            + item_size(entry)
            + INDEX_ENTRY_OVERHEAD
        ),
    }
