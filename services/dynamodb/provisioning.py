"""The one definition of InboxQL's table. The local stack and the tests create it from here;
production creates the same shape (by name from settings) ahead of time, in deploy/inboxql.yaml."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from services.dynamodb.keys import CONVERSATION_INDEX, UNREAD_INDEX

TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "unreadSk", "AttributeType": "S"},
        {"AttributeName": "convPk", "AttributeType": "S"},
        {"AttributeName": "convSk", "AttributeType": "S"},
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
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

TTL_ATTRIBUTE = "expiresAt"


async def ensure_table(client: Any, table_name: str) -> None:
    try:
        await client.create_table(TableName=table_name, **TABLE_DEFINITION)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
    waiter = client.get_waiter("table_exists")
    await waiter.wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    try:
        await client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    except ClientError as error:
        # Raised when TTL is already enabled: nothing to do.
        if error.response["Error"]["Code"] != "ValidationException":
            raise
