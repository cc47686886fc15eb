"""The one definition of InboxQL's table. The local stack and the tests create it from here;
production creates the same shape (by name from settings) ahead of time, in deploy/inboxql.yaml."""

from __future__ import annotations

import asyncio
from typing import Any

from botocore.exceptions import ClientError

from services.dynamodb.keys import ACTIVITY_INDEX, CONVERSATION_INDEX, UNREAD_INDEX

TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "unreadSk", "AttributeType": "S"},
        {"AttributeName": "convPk", "AttributeType": "S"},
        {"AttributeName": "convSk", "AttributeType": "S"},
        {"AttributeName": "act", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    # Sparse: an inbox entry carries `unreadSk` only while unread. Local, so that reading it
    # can be strongly consistent (markAllRead must not miss a message the user has just seen).
    "LocalSecondaryIndexes": [
        {
            "IndexName": UNREAD_INDEX,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "unreadSk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": CONVERSATION_INDEX,
            "KeySchema": [
                {"AttributeName": "convPk", "KeyType": "HASH"},
                {"AttributeName": "convSk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        # Sparse: only conversation summaries carry `act` (their newest message's id), so a
        # user's partition in it is their conversation list, newest activity first. It
        # projects what a list row needs and nothing of the summary's read marks.
        {
            "IndexName": ACTIVITY_INDEX,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "act", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["ls", "u", "uv"]},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

TTL_ATTRIBUTE = "expiresAt"
# Building an index over a large production table takes minutes to hours; DynamoDB Local builds
# it at once. Ten minutes covers a fresh deploy's small table; a larger one is built ahead of
# the deploy by the CloudFormation template.
_INDEX_WAIT_DELAY = 0.5
_INDEX_WAIT_POLLS = 1200


async def ensure_table(client: Any, table_name: str) -> None:
    try:
        await client.create_table(TableName=table_name, **TABLE_DEFINITION)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
    waiter = client.get_waiter("table_exists")
    await waiter.wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    await _add_missing_indexes(client, table_name)
    try:
        await client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    except ClientError as error:
        # Raised when TTL is already enabled: nothing to do.
        if error.response["Error"]["Code"] != "ValidationException":
            raise


async def _add_missing_indexes(client: Any, table_name: str) -> None:
    """A table created before a global index was defined gains it online (UpdateTable builds it
    while the table keeps serving; DynamoDB allows one index creation per call). Until it is
    ACTIVE, queries against it fail, so this waits for it."""
    described = (await client.describe_table(TableName=table_name))["Table"]
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    wanted = TABLE_DEFINITION["GlobalSecondaryIndexes"]
    defined = {a["AttributeName"]: a for a in TABLE_DEFINITION["AttributeDefinitions"]}
    for index in wanted:
        if index["IndexName"] in present:
            continue
        keys = [key["AttributeName"] for key in index["KeySchema"]]
        await client.update_table(
            TableName=table_name,
            AttributeDefinitions=[defined[name] for name in keys],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        await _wait_until_active(client, table_name, index["IndexName"])


async def _wait_until_active(client: Any, table_name: str, index_name: str) -> None:
    for _ in range(_INDEX_WAIT_POLLS):
        described = (await client.describe_table(TableName=table_name))["Table"]
        statuses = {
            index["IndexName"]: index.get("IndexStatus")
            for index in described.get("GlobalSecondaryIndexes", [])
        }
        if statuses.get(index_name) == "ACTIVE":
            return
        await asyncio.sleep(_INDEX_WAIT_DELAY)
    raise TimeoutError(f"index {index_name} of {table_name} did not become ACTIVE")
