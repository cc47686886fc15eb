"""The lean DynamoDB path's binary values (services/dynamodb/binary_values.py) against botocore's
own serializer and parser, on the shapes of the operations the lean path makes."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from botocore.parsers import create_parser
from botocore.session import get_session

from services.dynamodb import binary_values
from services.dynamodb.binary_values import with_bytes
from services.lean_client import blob

MODEL = get_session().get_service_model("dynamodb")
LEAN_OPERATIONS = (
    "Query",
    "BatchGetItem",
    "GetItem",
    "PutItem",
    "UpdateItem",
    "TransactWriteItems",
)


def holds_blob(shape: Any, seen: frozenset[str] = frozenset()) -> bool:
    if shape.type_name == "blob":
        return True
    if shape.name in seen:
        return False
    seen = seen | {shape.name}
    if shape.type_name == "structure":
        return any(holds_blob(member, seen) for member in shape.members.values())
    if shape.type_name == "list":
        return holds_blob(shape.member, seen)
    if shape.type_name == "map":
        return holds_blob(shape.value, seen)
    return False


@pytest.mark.parametrize("operation", LEAN_OPERATIONS)
def test_every_answer_member_that_can_hold_a_blob_is_decoded(operation: str) -> None:
    handled = {
        binary_values.ITEMS,
        *binary_values.ITEM_MAPS,
        binary_values.TABLE_ITEMS,
        binary_values.TABLE_KEYS,
        binary_values.COLLECTION_METRICS,
    }
    output = MODEL.operation_model(operation).output_shape
    assert output is not None
    with_blobs = {name for name, member in output.members.items() if holds_blob(member)}
    assert with_blobs and with_blobs <= handled


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


ITEM = {
    "pk": {"S": "USER#a"},
    "m": {"B": b64(b"\x01" * 16)},
    "set": {"BS": [b64(b"\x00\xff"), b64(b"ids")]},
    "nested": {"M": {"B": {"B": b64(b"inner")}, "list": {"L": [{"B": b64(b"x")}, {"N": "1"}]}}},
    "text": {"S": '"B": not binary'},
}
KEY = {"pk": {"S": "USER#a"}, "sk": {"B": b64(b"key")}}
METRICS = {"ItemCollectionKey": KEY, "SizeEstimateRangeGB": [0.0, 1.0]}
ANSWERS = {
    "Query": {"Items": [ITEM, KEY], "Count": 2, "LastEvaluatedKey": KEY},
    "GetItem": {"Item": ITEM},
    "BatchGetItem": {
        "Responses": {"t": [ITEM], "u": [KEY]},
        "UnprocessedKeys": {"t": {"Keys": [KEY], "ConsistentRead": True}},
    },
    "PutItem": {"Attributes": ITEM, "ItemCollectionMetrics": METRICS},
    "UpdateItem": {"Attributes": ITEM},
    "TransactWriteItems": {"ItemCollectionMetrics": {"t": [METRICS]}},
}


@pytest.mark.parametrize("operation", sorted(ANSWERS))
def test_answers_decode_as_botocores_parser_decodes_them(operation: str) -> None:
    body = orjson.dumps(ANSWERS[operation])
    raw = {"status_code": 200, "headers": {}, "body": body}
    output = MODEL.operation_model(operation).output_shape
    assert output is not None
    theirs = create_parser("json").parse(raw, output)
    theirs.pop("ResponseMetadata")
    ours = with_bytes(orjson.loads(body))
    assert ours == theirs and count_bytes(ours) > 0


def count_bytes(value: Any) -> int:
    if isinstance(value, bytes):
        return 1
    if isinstance(value, dict):
        return sum(count_bytes(one) for one in value.values())
    if isinstance(value, list):
        return sum(count_bytes(one) for one in value)
    return 0


def test_bytes_are_sent_as_botocores_serializer_sends_a_blob() -> None:
    assert blob(b"\x00\xff\x10ids") == "AP8QaWRz"
    assert blob(bytearray(b"ids")) == "aWRz"
    with pytest.raises(TypeError):
        blob({1, 2})
