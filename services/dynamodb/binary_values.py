"""Binary attribute values on the lean DynamoDB path (services/dynamodb/lean_client.py).

JSON carries a blob as base64. botocore's serializer encodes the bytes a caller passes (so does
the lean path: services/lean_client.py) and its parser decodes every blob of an answer back to
bytes, by walking the operation's shapes. The change log stores message ids as 16-byte
binaries, so a `changes` page reads up to 101: the lean path decodes them itself, where
attribute values are, instead of walking every shape (a page of 101 changes parsed by botocore
costs about 1.8 ms of CPU; found and decoded here, about 0.13 ms).
"""

from __future__ import annotations

import base64
from typing import Any

# Where the lean path's answers (Query, BatchGetItem, GetItem, PutItem, UpdateItem,
# TransactWriteItems) hold items or keys, that is attribute values: the only place DynamoDB
# answers with blobs. tests/unit/test_binary_values.py checks this against botocore's model.
ITEMS = "Items"  # a list of items
ITEM_MAPS = ("Item", "Attributes", "LastEvaluatedKey")  # one item
TABLE_ITEMS = "Responses"  # {table: [item]}
TABLE_KEYS = "UnprocessedKeys"  # {table: {"Keys": [item]}}
COLLECTION_METRICS = "ItemCollectionMetrics"  # {"ItemCollectionKey": item} or {table: [that]}


def with_bytes(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer`, as JSON parsed it, with every binary attribute value decoded to bytes, as
    botocore's parser gives it (changed in place)."""
    for item in answer.get(ITEMS, ()):
        _item(item)
    for name in ITEM_MAPS:
        if name in answer:
            _item(answer[name])
    for items in answer.get(TABLE_ITEMS, {}).values():
        for item in items:
            _item(item)
    for request in answer.get(TABLE_KEYS, {}).values():
        for key in request.get("Keys", ()):
            _item(key)
    metrics = answer.get(COLLECTION_METRICS)
    if metrics:
        per_table = metrics.values() if "ItemCollectionKey" not in metrics else [[metrics]]
        for collections in per_table:
            for collection in collections:
                _item(collection.get("ItemCollectionKey", {}))
    return answer


def _item(item: dict[str, Any]) -> None:
    for value in item.values():
        _value(value)


def _value(value: dict[str, Any]) -> None:
    if "B" in value:
        value["B"] = base64.b64decode(value["B"])
    elif "BS" in value:
        value["BS"] = [base64.b64decode(one) for one in value["BS"]]
    elif "M" in value:
        _item(value["M"])
    elif "L" in value:
        for one in value["L"]:
            _value(one)
