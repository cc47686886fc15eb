"""The lean DynamoDB path against DynamoDB Local: the same answers and the same errors as the
aiobotocore client it wraps, which is what the adapters get (`app.clients.dynamodb`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.app import App
from services.domain import Message, MessageId, UserId, new_message_id
from services.dynamodb.keys import ENTRY_PREFIX, counter_key, entry_key, s, summary_key, user_pk
from services.dynamodb.lean_client import LeanDynamoDB
from tests.conftest import new_user


def without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


async def both(app: App, method: str, **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    lean = app.clients.dynamodb
    assert isinstance(lean, LeanDynamoDB)
    ours = await getattr(lean, method)(**params)
    theirs = await getattr(lean.wrapped, method)(**params)
    return without_metadata(ours), without_metadata(theirs)


async def delivered(app: App, count: int) -> tuple[UserId, UserId]:
    reader, sender = UserId(new_user("lean")), UserId(new_user("lean"))
    start = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(count):
        at = start + timedelta(seconds=i)
        await app.store.deliver(Message(new_message_id(at), sender, reader, f"body {i}", at))
    return reader, sender


async def test_query_pages_answer_as_the_client_does(app: App) -> None:
    reader, _ = await delivered(app, 5)
    query = {
        "TableName": app.settings.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :low)",
        "ExpressionAttributeValues": {":pk": s(user_pk(reader)), ":low": s(ENTRY_PREFIX)},
        "ScanIndexForward": False,
        "Limit": 3,
        "ConsistentRead": True,
    }
    first, expected = await both(app, "query", **query)
    assert first == expected and len(first["Items"]) == 3 and "LastEvaluatedKey" in first
    rest, expected = await both(app, "query", **query, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert rest == expected and len(rest["Items"]) == 2


async def test_batch_gets_answer_as_the_client_does(app: App) -> None:
    reader, sender = await delivered(app, 2)
    table = app.settings.table_name
    keys = [
        counter_key(reader),
        summary_key(reader, sender),
        entry_key(reader, MessageId("0" * 26)),
    ]
    ours, theirs = await both(
        app, "batch_get_item", RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
    )
    found = sorted(item["sk"]["S"] for item in ours["Responses"][table])
    assert found == sorted(item["sk"]["S"] for item in theirs["Responses"][table])
    assert len(found) == 2 and ours["UnprocessedKeys"] == theirs["UnprocessedKeys"] == {}


async def test_binary_values_either_way_match_the_client(app: App) -> None:
    """Binary attributes in an answer are bytes, as botocore's parser makes them, and binary
    parameters reach DynamoDB base64-encoded, as the client sends them."""
    reader = UserId(new_user("lean"))
    table = app.settings.table_name
    item = {"pk": s(user_pk(reader)), "sk": s("BIN#1"), "payload": {"B": b"\x00\xffbytes"}}
    await app.clients.dynamodb.put_item(TableName=table, Item=item)
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": s(user_pk(reader))},
        "ConsistentRead": True,
    }
    ours, theirs = await both(app, "query", **query)
    assert ours == theirs and ours["Items"][0]["payload"] == {"B": b"\x00\xffbytes"}
    values = {":pk": s(user_pk(reader)), ":blob": item["payload"]}
    filtered = {**query, "FilterExpression": "payload = :blob", "ExpressionAttributeValues": values}
    ours, theirs = await both(app, "query", **filtered)
    assert ours == theirs and len(ours["Items"]) == 1


async def test_errors_are_the_clients_own_exceptions(app: App) -> None:
    lean = app.clients.dynamodb
    missing = {"TableName": "no-such-table", "KeyConditionExpression": "pk = :pk"}
    missing["ExpressionAttributeValues"] = {":pk": s("x")}  # type: ignore[assignment]
    with pytest.raises(lean.exceptions.ResourceNotFoundException) as ours:
        await lean.query(**missing)
    with pytest.raises(ClientError) as theirs:
        await lean.wrapped.query(**missing)
    assert ours.value.response["Error"] == theirs.value.response["Error"]
    assert ours.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


async def test_writes_and_their_errors_answer_as_the_client_does(app: App) -> None:
    """A send's and a delivery's calls: the same answers, and the same errors with their
    modeled fields (the adapters read a failed condition's Item and a cancelled
    transaction's CancellationReasons)."""
    lean = app.clients.dynamodb
    table = app.settings.table_name
    reader = UserId(new_user("lean"))
    item = {"pk": s(user_pk(reader)), "sk": s("W#1"), "n": {"N": "1"}}
    await lean.put_item(TableName=table, Item=item)
    key = {"pk": item["pk"], "sk": item["sk"]}
    ours, theirs = await both(app, "get_item", TableName=table, Key=key, ConsistentRead=True)
    assert ours == theirs == {"Item": item}
    bump = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": "ADD n :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
        "ReturnValues": "UPDATED_NEW",
    }
    ours, theirs = await both(app, "update_item", **bump)
    assert (ours["Attributes"], theirs["Attributes"]) == ({"n": {"N": "2"}}, {"n": {"N": "3"}})

    again = {
        "TableName": table,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    with pytest.raises(lean.exceptions.ConditionalCheckFailedException) as refused:
        await lean.put_item(**again)
    with pytest.raises(ClientError) as expected:
        await lean.wrapped.put_item(**again)
    assert refused.value.response["Item"] == expected.value.response["Item"]  # type: ignore[typeddict-item]
    assert refused.value.response["Item"]["n"] == {"N": "3"}

    check = {"TableName": table, "Key": key, "ConditionExpression": "attribute_not_exists(pk)"}
    conflicting: dict[str, Any] = {
        "TransactItems": [
            {"Put": {"TableName": table, "Item": {**item, "sk": s("W#2")}}},
            {"ConditionCheck": check},
        ]
    }
    with pytest.raises(lean.exceptions.TransactionCanceledException) as cancelled:
        await lean.transact_write_items(**conflicting)
    with pytest.raises(ClientError) as expected:
        await lean.wrapped.transact_write_items(**conflicting)
    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert (
        cancelled.value.response["CancellationReasons"]
        == (expected.value.response["CancellationReasons"])
    )
    written = await lean.transact_write_items(TransactItems=conflicting["TransactItems"][:1])
    assert written["ResponseMetadata"]["HTTPStatusCode"] == 200
