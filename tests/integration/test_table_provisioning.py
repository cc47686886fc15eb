"""`ensure_table` on a table that exists: production tables predate the `activity` index, so
it must add the index online (UpdateTable), and the index must then serve the items that were
there before it."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from services.aws import AwsEndpoints, aws_session, client_config
from services.domain import MessageId, UserId
from services.dynamodb.keys import ACTIVITY_INDEX, s, user_pk
from services.dynamodb.provisioning import TABLE_DEFINITION, ensure_table
from services.dynamodb.read_state_items import decode_summary, summary_item
from services.local.stack import StackEndpoints
from services.read_state import ConversationSummary
from tests.conftest import new_user, stack_settings


def definition_before_the_activity_index() -> dict[str, Any]:
    old = copy.deepcopy(TABLE_DEFINITION)
    old["GlobalSecondaryIndexes"] = [
        index for index in old["GlobalSecondaryIndexes"] if index["IndexName"] != ACTIVITY_INDEX
    ]
    old["AttributeDefinitions"] = [
        a for a in old["AttributeDefinitions"] if a["AttributeName"] != "act"
    ]
    return old


async def test_an_existing_table_gains_the_activity_index_with_its_items(
    stack: StackEndpoints, session_tag: str
) -> None:
    table = f"inboxql-before-activity-{uuid.uuid4().hex[:8]}"
    settings = stack_settings(stack, session_tag, table_name=table)
    session = aws_session(settings, AwsEndpoints(dynamodb=stack.dynamodb_url))
    async with session.client(
        "dynamodb", endpoint_url=stack.dynamodb_url, config=client_config(settings)
    ) as client:
        await client.create_table(TableName=table, **definition_before_the_activity_index())
        alice, bob = UserId(new_user("alice")), UserId(new_user("bob"))
        summary = ConversationSummary(bob, MessageId("01J00000000000000000000000"), False, 2, 5)
        await client.put_item(TableName=table, Item=summary_item(alice, summary))

        await ensure_table(client, table)
        await ensure_table(client, table)  # and again: nothing left to add

        described = (await client.describe_table(TableName=table))["Table"]
        statuses = {
            index["IndexName"]: index["IndexStatus"]
            for index in described["GlobalSecondaryIndexes"]
        }
        assert statuses == {"conversation": "ACTIVE", ACTIVITY_INDEX: "ACTIVE"}
        rows = await client.query(
            TableName=table,
            IndexName=ACTIVITY_INDEX,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(user_pk(alice))},
        )
        assert [decode_summary(row) for row in rows["Items"]] == [summary]
        await client.delete_table(TableName=table)
